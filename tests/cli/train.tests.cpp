// `fracnas train` end to end on a tiny corpus written in the token-file format: a run reports
// its checkpoints; a missing, corrupt or mismatched corpus and bad options are one line, exit 2.
#include <catch2/catch.hpp>

#ifdef FRACNAS_HAVE_TORCH
#include <sys/stat.h>

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "cli_support.hpp"
#include "fracnas/data/token_file.hpp"

using namespace fracnas;
using fracnas::test::check_usage_error;
using fracnas::test::outcome;
using fracnas::test::run_cli;

namespace {

// A corpus folder under the test scratch space: a counting stream (token i is i mod vocab).
std::string corpus(const std::string& name, std::uint32_t train_vocab = 50, std::uint32_t val_vocab = 50) {
    const std::string dir = std::string(FRACNAS_TEST_TMP) + "/train_" + name;
    ::mkdir(dir.c_str(), 0755);
    std::vector<std::uint32_t> t(3000);
    for (std::size_t i = 0; i < t.size(); ++i) t[i] = static_cast<std::uint32_t>(i % 50);
    data::write_token_file(dir + "/train.tokens", t, train_vocab);
    t.resize(600);
    data::write_token_file(dir + "/val.tokens", t, val_vocab);
    return dir;
}

const char* const tiny = "n_layer=1 d_model=32 d_inner=64 n_head=2 context=64";

}  // namespace

TEST_CASE("fracnas train: a tiny model on a tiny corpus reports each checkpoint", "[cli][train]") {
    const std::string dir = corpus("ok");
    const outcome o = run_cli({"train", "--arch", tiny, "--data", dir, "--tokens", "4096", "--batch", "4", "--seq-len", "32",
                               "--lr", "3e-3", "--checkpoints", "2", "--device", "cpu", "--json"});
    INFO(o.err);
    REQUIRE(o.code == 0);
    REQUIRE_THAT(o.out, Catch::Matchers::Contains("\"status\": \"ok\""));
    REQUIRE_THAT(o.out, Catch::Matchers::Contains("\"architecture\": \"n_layer=1 d_model=32 d_inner=64 n_head=2 vocab=50 context=64\""));
    REQUIRE_THAT(o.out, Catch::Matchers::Contains("\"steps\": 32"));
    REQUIRE_THAT(o.out, Catch::Matchers::Contains("{\"step\": 16, \"tokens\": 2048"));
    REQUIRE_THAT(o.out, Catch::Matchers::Contains("{\"step\": 32, \"tokens\": 4096"));
    const outcome table = run_cli({"train", "--arch", tiny, "--data", dir, "--tokens", "1024", "--batch", "4", "--seq-len", "32",
                                   "--device", "cpu"});
    REQUIRE(table.code == 0);
    REQUIRE_THAT(table.out, Catch::Matchers::Contains("3000 training tokens, 600 validation tokens scored, vocab 50"));
    REQUIRE_THAT(table.out, Catch::Matchers::Contains("status          ok"));
}

TEST_CASE("fracnas train: a missing, corrupt or mismatched corpus and bad options are one line and exit 2", "[cli][train]") {
    const std::string dir = corpus("bad");
    check_usage_error({"train", "--data", dir}, "give exactly one of --arch and --preset");
    check_usage_error({"train", "--preset", "gpt2-small"}, "--data: give the prepared corpus directory");
    check_usage_error({"train", "--arch", tiny, "--data", dir + "/nowhere"}, "nowhere/train.tokens does not exist");
    check_usage_error({"train", "--arch", tiny, "--data", dir, "--device", "cpu", "--dtype", "bf16"}, "--dtype: bf16 autocast is for cuda");
    check_usage_error({"train", "--arch", tiny, "--data", dir, "--device", "cpu", "--seq-len", "65"}, "the architecture's context (64)");
    check_usage_error({"train", "--arch", tiny, "--data", dir, "--device", "cpu", "--batch", "0"}, "--batch: the value 0 must be between 1");
    check_usage_error({"train", "--arch", tiny, "--data", dir, "--device", "cpu", "--lr", "fast"}, "--lr");
    const std::string mixed = corpus("mixed", 50, 60);
    check_usage_error({"train", "--arch", tiny, "--data", mixed, "--device", "cpu"}, "disagree on the vocabulary (50 and 60)");
    const std::string cut = corpus("cut");
    {
        std::ofstream f(cut + "/val.tokens", std::ios::binary | std::ios::trunc);
        f << "FNTOKENS";  // the header cut short
    }
    check_usage_error({"train", "--arch", tiny, "--data", cut, "--device", "cpu"}, "val.tokens");
}
#endif
