# The warnings every fracnas target is built with; FRACNAS_WERROR (on in CI) makes them errors.
add_library(fracnas_warnings INTERFACE)
target_compile_options(fracnas_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wnon-virtual-dtor
  -Woverloaded-virtual -Wcast-align -Wunused -Wdouble-promotion -Wformat=2)
if(FRACNAS_WERROR)
  target_compile_options(fracnas_warnings INTERFACE -Werror)
endif()
