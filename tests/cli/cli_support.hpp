// Test support for the command line: run it in-process and capture out, err and the exit code;
// check the one-line bad-input form; run the real executable through a shell.
#pragma once

#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "fracnas/cli/cli.hpp"

namespace fracnas::test {

struct outcome {
    int code = -1;
    std::string out;
    std::string err;
};

inline outcome run_cli(const std::vector<std::string>& args) {
    std::ostringstream out, err;
    outcome o;
    o.code = fracnas::cli::run(args, out, err);
    o.out = out.str();
    o.err = err.str();
    return o;
}

/// Bad input: exit 2, exactly one "fracnas: error: " line on err naming the problem, out empty.
inline void check_usage_error(const std::vector<std::string>& args, const std::string& fragment) {
    const outcome o = run_cli(args);
    INFO("err: " << o.err);
    CHECK(o.code == 2);
    CHECK(o.out.empty());
    CHECK_THAT(o.err, Catch::Matchers::StartsWith("fracnas: error: "));
    CHECK(std::count(o.err.begin(), o.err.end(), '\n') == 1);
    CHECK((!o.err.empty() && o.err.back() == '\n'));
    CHECK_THAT(o.err, Catch::Matchers::Contains(fragment));
}

/// Runs a shell command; returns its exit code (-1 when it did not exit normally) and its
/// standard output (stderr too when the command redirects it).
inline outcome run_shell(const std::string& command) {
    outcome o;
    FILE* pipe = popen(command.c_str(), "r");
    if (pipe == nullptr) return o;
    char buffer[4096];
    while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) o.out += buffer;
    const int status = pclose(pipe);
    o.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return o;
}

}  // namespace fracnas::test
