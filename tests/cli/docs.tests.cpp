// The user guide's option tables are the binary's own --help output, verbatim: a changed option
// that the guide does not follow fails here.
#include <catch2/catch.hpp>

#include <fstream>
#include <iterator>
#include <string>

#include "cli_support.hpp"

using namespace fracnas::test;

namespace {

// The fenced block after the marker line "<!-- fracnas <command> --help -->" in the guide.
std::string block_after(const std::string& text, const std::string& marker) {
    const auto at = text.find(marker);
    if (at == std::string::npos) return "marker '" + marker + "' not found";
    const auto open = text.find("```\n", at);
    const auto close = text.find("\n```\n", open + 4);
    if (open == std::string::npos || close == std::string::npos) return "no fenced block after '" + marker + "'";
    return text.substr(open + 4, close + 1 - (open + 4));
}

}  // namespace

TEST_CASE("docs/user_guide.md: the option tables are the binary's --help", "[cli][docs]") {
    std::ifstream in(std::string(FRACNAS_DOCS) + "/user_guide.md");
    REQUIRE(in.good());
    const std::string guide{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    for (const std::string command : {"search", "analyze"}) {
        INFO("fracnas " << command << " --help");
        const outcome o = run_cli({command, "--help"});
        REQUIRE(o.code == 0);
        CHECK(block_after(guide, "<!-- fracnas " + command + " --help -->") == o.out);
    }
}
