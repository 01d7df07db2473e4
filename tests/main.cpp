// Catch2's main for all fracnas tests.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
