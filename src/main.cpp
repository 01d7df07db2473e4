// fracnas entry point: everything lives in cli::main so that tests can drive it in-process.
#include "fracnas/cli/cli.hpp"

int main(int argc, char** argv) {
    return fracnas::cli::main(argc, argv);
}
