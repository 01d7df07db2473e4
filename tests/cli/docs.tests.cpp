// The user guide's option tables are the binary's own --help output, verbatim, and docs/cli.md
// names exactly the search options a resume keeps: a changed option that the docs do not follow
// fails here.
#include <catch2/catch.hpp>

#include <fstream>
#include <iterator>
#include <set>
#include <string>

#include "cli_support.hpp"
#include "fracnas/app/search_config.hpp"

using namespace fracnas::test;

namespace {

// The fenced block after the marker line "<!-- fracnas <command> --help -->" in the guide.
std::string read_doc(const std::string& name) {
    std::ifstream in(std::string(FRACNAS_DOCS) + "/" + name);
    REQUIRE(in.good());
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

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
    const std::string guide = read_doc("user_guide.md");
    for (const std::string command : {"search", "analyze"}) {
        INFO("fracnas " << command << " --help");
        const outcome o = run_cli({command, "--help"});
        REQUIRE(o.code == 0);
        CHECK(block_after(guide, "<!-- fracnas " + command + " --help -->") == o.out);
    }
}

TEST_CASE("docs/cli.md: the options a resume refuses to change are the search's problem keys", "[cli][docs]") {
    const std::string cli = read_doc("cli.md");
    const std::string open = "an option that would change the search (", close = ") is refused";
    const auto from = cli.find(open);
    REQUIRE(from != std::string::npos);
    const auto to = cli.find(close, from);
    REQUIRE(to != std::string::npos);
    const std::string listed = cli.substr(from + open.size(), to - from - open.size());
    std::set<std::string> named;  // the `key`s of the list
    for (auto tick = listed.find('`'); tick != std::string::npos; tick = listed.find('`', listed.find('`', tick + 1) + 1))
        named.insert(listed.substr(tick + 1, listed.find('`', tick + 1) - tick - 1));
    const auto& keys = fracnas::app::search_config::problem_keys();
    REQUIRE(named == std::set<std::string>(keys.begin(), keys.end()));
}
