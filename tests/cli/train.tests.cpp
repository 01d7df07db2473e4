// `fracnas train` end to end on a tiny corpus written in the token-file format: a run reports
// its checkpoints; a missing, corrupt or mismatched corpus and bad options are one line, exit 2.
#include <catch2/catch.hpp>

#ifdef FRACNAS_HAVE_TORCH
#include <sys/stat.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include <algorithm>
#include <cmath>
#include <map>

#include "cli_support.hpp"
#include "fracnas/data/token_file.hpp"
#include "fracnas/nas/architecture.hpp"
#ifdef FRACNAS_HAVE_HDF5
#include "fracnas/hdf5/archive_file.hpp"
#endif

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
    const outcome o = run_cli({"train", "--arch", tiny, "--data", dir, "--tokens", "4096", "--batch", "4", "--seq-len", "32", "--lr",
                               "3e-3", "--checkpoints", "2", "--device", "cpu", "--json"});
    INFO(o.err);
    REQUIRE(o.code == 0);
    REQUIRE_THAT(o.out, Catch::Matchers::Contains("\"status\": \"ok\""));
    REQUIRE_THAT(o.out, Catch::Matchers::Contains("\"architecture\": \"n_layer=1 d_model=32 d_inner=64 n_head=2 vocab=50 context=64\""));
    REQUIRE_THAT(o.out, Catch::Matchers::Contains("\"steps\": 32"));
    REQUIRE_THAT(o.out, Catch::Matchers::Contains("{\"step\": 16, \"tokens\": 2048"));
    REQUIRE_THAT(o.out, Catch::Matchers::Contains("{\"step\": 32, \"tokens\": 4096"));
    // the result records how it was trained: `all` on the CPU (fp32: no bf16 weights), or the list given
    REQUIRE_THAT(o.out, Catch::Matchers::Contains("\"speed\": [\"async\", \"fused_adamw\", \"fused_loss\", \"cuda_graph\"]}"));
    const outcome some = run_cli({"train", "--arch", tiny, "--data", dir, "--tokens", "1024", "--batch", "4", "--seq-len", "32", "--device",
                                  "cpu", "--speed", "fused_dense,fused_loss", "--json"});
    INFO(some.err);
    REQUIRE(some.code == 0);
    REQUIRE_THAT(some.out, Catch::Matchers::Contains("\"speed\": [\"fused_loss\", \"fused_dense\"]}"));
    const outcome table =
        run_cli({"train", "--arch", tiny, "--data", dir, "--tokens", "1024", "--batch", "4", "--seq-len", "32", "--device", "cpu"});
    REQUIRE(table.code == 0);
    REQUIRE_THAT(table.out, Catch::Matchers::Contains("3000 training tokens, 600 validation tokens scored, vocab 50"));
    REQUIRE_THAT(table.out, Catch::Matchers::Contains("status          ok"));
}

TEST_CASE("fracnas train --json: a diverged run is valid JSON, its non-finite numbers null", "[cli][train]") {
    const std::string dir = corpus("diverged");
    const outcome o =
        run_cli({"train", "--arch", tiny, "--data",   dir, "--tokens",      "19200", "--batch",  "4",   "--seq-len", "32", "--lr",
                 "30",    "--clip", "0",  "--warmup", "0", "--checkpoints", "150",   "--device", "cpu", "--json"});
    INFO(o.out);
    REQUIRE_THAT(o.out, Catch::Matchers::Contains("\"status\": \"diverged\""));
    // outside the strings (the message may quote the loss), no number is nan or inf
    std::string numbers;
    bool in_string = false;
    for (std::size_t i = 0; i < o.out.size(); ++i) {
        if (in_string && o.out[i] == '\\')
            ++i;
        else if (o.out[i] == '"')
            in_string = !in_string;
        else if (!in_string)
            numbers += o.out[i];
    }
    REQUIRE(numbers.find("nan") == std::string::npos);
    REQUIRE(numbers.find("inf") == std::string::npos);
    REQUIRE_THAT(o.out, Catch::Matchers::Contains("\"final_val_perplexity\": null"));
}

TEST_CASE("fracnas train: a missing, corrupt or mismatched corpus and bad options are one line and exit 2", "[cli][train]") {
    const std::string dir = corpus("bad");
    check_usage_error({"train", "--data", dir}, "give exactly one of --arch and --preset");
    check_usage_error({"train", "--vocab", "5"}, "unknown option '--vocab'; see 'fracnas train --help'");
    check_usage_error({"train", "--preset", "gpt2-small"}, "--data: give the prepared corpus directory");
    check_usage_error({"train", "--arch", tiny, "--data", dir + "/nowhere"}, "nowhere/train.tokens does not exist");
    check_usage_error({"train", "--arch", tiny, "--data", dir, "--device", "cpu", "--dtype", "bf16"}, "--dtype: bf16 autocast is for cuda");
    check_usage_error({"train", "--arch", tiny, "--data", dir, "--device", "cpu", "--seq-len", "65"}, "the architecture's context (64)");
    check_usage_error({"train", "--arch", tiny, "--data", dir, "--device", "cpu", "--batch", "0"}, "--batch must be in 1..1000000.");
    check_usage_error({"train", "--arch", tiny, "--data", dir, "--device", "cpu", "--lr", "fast"}, "--lr");
    check_usage_error(
        {"train", "--arch", "n_layer=1 d_model=32 d_inner=64 n_head=32 context=64 positions=rotary", "--data", dir, "--device", "cpu"},
        "rotary positions need an even number");
    const std::string mixed = corpus("mixed", 50, 60);
    check_usage_error({"train", "--arch", tiny, "--data", mixed, "--device", "cpu"}, "disagree on the vocabulary (50 and 60)");
    const std::string cut = corpus("cut");
    {
        std::ofstream f(cut + "/val.tokens", std::ios::binary | std::ios::trunc);
        f << "FNTOKENS";  // the header cut short
    }
    check_usage_error({"train", "--arch", tiny, "--data", cut, "--device", "cpu"}, "val.tokens");
    check_usage_error({"train", "--arch", tiny, "--data", dir, "--device", "cpu", "--speed", "warp"},
                      "--speed: unknown speed setting 'warp'");
    check_usage_error({"train", "--arch", tiny, "--data", dir, "--device", "cpu", "--speed", "bf16_weights"},
                      "--speed: bf16_weights trains bf16 weights: it needs --dtype bf16 (on cuda).");
    // settings that would act on nothing (fp32 on the CPU: no bf16 logits, no bf16 weights)
    check_usage_error({"train", "--arch", tiny, "--data", dir, "--device", "cpu", "--speed", "fused_loss,loss_kernel"},
                      "--speed: loss_kernel runs on the bf16 logits of fused_loss: it needs fused_loss and --dtype bf16 (on cuda).");
    for (const char* name : {"norm_kernel", "adam_kernel", "residual_fp32", "norm_add", "residual_sr"}) {
        CAPTURE(name);
        check_usage_error({"train", "--arch", tiny, "--data", dir, "--device", "cpu", "--speed", std::string("fused_adamw,") + name},
                          std::string("--speed: ") + name + " acts on bf16 weights: it needs bf16_weights");
    }
    check_usage_error({"train", "--arch", tiny, "--data", dir, "--device", "cpu", "--speed", "async,swiglu_kernel"},
                      "--speed: swiglu_kernel runs on bf16 activations: it needs --dtype bf16 (on cuda).");
    check_usage_error({"train", "--arch", tiny, "--data", dir, "--device", "cpu", "--speed", "async,gemm_tune"},
                      "--speed: gemm_tune times the GEMMs of fused_dense: it needs fused_dense.");
    check_usage_error({"train", "--arch", tiny, "--data", dir, "--device", "cpu", "--speed", "fused_adamw,residual_fp32,residual_sr"},
                      "--speed: residual_sr rounds a bf16 residual stream: it does not go with residual_fp32.");
    check_usage_error({"train", "--arch", tiny, "--data", dir, "--device", "cpu", "--schedule", "linear"},
                      "--schedule: unknown schedule 'linear'; valid: cosine, wsd.");
    check_usage_error({"train", "--arch", tiny, "--data", dir, "--device", "cpu", "--save-every", "5"},
                      "--save-every goes with --state-dir");
    check_usage_error({"train", "--arch", tiny, "--data", dir, "--device", "cpu", "--seq-len", "32", "--schedule", "wsd", "--decay", "1.5"},
                      "the decay share must be between 0 and 1");
    check_usage_error(
        {"train", "--arch", tiny, "--data", dir, "--device", "cpu", "--seq-len", "32", "--tokens", "4096", "--budgets", "1024"},
        "smaller budgets on the way need the wsd schedule");
    check_usage_error({"train", "--arch", tiny, "--data", dir, "--device", "cpu", "--seq-len", "32", "--tokens", "4096", "--schedule",
                       "wsd", "--budgets", "1024,4096"},
                      "the budget 4096 must be at least one step");
    check_usage_error({"train", "--arch", tiny, "--data", dir, "--device", "cpu", "--schedule", "wsd", "--budgets", "1024,many"},
                      "--budgets");
}

TEST_CASE("fracnas train --budgets: the smaller budgets' results in the JSON and the table", "[cli][train]") {
    const std::string dir = corpus("budgets");
    const std::vector<std::string> args = {"train", "--arch",          tiny,  "--data",    dir,        "--tokens", "4096", "--batch",
                                           "4",     "--seq-len",       "32",  "--lr",      "3e-3",     "--device", "cpu",  "--schedule",
                                           "wsd",   "--warmup-tokens", "256", "--budgets", "2048,1024"};
    auto json = args;
    json.push_back("--json");
    const outcome o = run_cli(json);
    INFO(o.err);
    REQUIRE(o.code == 0);
    // smallest first, whatever the order asked: 1,024 tokens are 8 steps of 4 x 32
    REQUIRE_THAT(o.out, Catch::Matchers::Contains("\"budgets\": [{\"budget\": 1024, \"steps\": 8, \"tokens\": 1024, \"train_loss\": "));
    REQUIRE_THAT(o.out, Catch::Matchers::Contains("}, {\"budget\": 2048, \"steps\": 16, \"tokens\": 2048, \"train_loss\": "));
    const outcome table = run_cli(args);
    REQUIRE(table.code == 0);
    REQUIRE_THAT(table.out, Catch::Matchers::Contains("budget          step      tokens  decay loss  val loss  val ppl  seconds\n"
                                                      "                     8        1024"));
}

TEST_CASE("fracnas train --state-dir: a stopped run continues with the same command, a corrupt state is exit 2", "[cli][train]") {
    const std::string dir = corpus("state");
    const std::string state = std::string(FRACNAS_TEST_TMP) + "/train_state_dir";
    REQUIRE(std::system(("rm -rf '" + state + "'").c_str()) == 0);
    const std::vector<std::string> base = {"train", "--arch", tiny,   "--data",        dir, "--tokens", "4096", "--batch", "4", "--seq-len",
                                           "32",    "--lr",   "3e-3", "--checkpoints", "2", "--device", "cpu",  "--json"};
    const outcome whole = run_cli(base);
    REQUIRE(whole.code == 0);
    auto with = [&](std::vector<std::string> extra) {
        auto a = base;
        a.insert(a.end(), extra.begin(), extra.end());
        return a;
    };
    const outcome stopped = run_cli(with({"--state-dir", state, "--stop-after-steps", "10"}));
    INFO(stopped.err);
    REQUIRE(stopped.code == 0);
    REQUIRE_THAT(stopped.out, Catch::Matchers::Contains("\"status\": \"stopped\", \"message\": \"stopped after step 10 of 32"));
    const outcome rest = run_cli(with({"--state-dir", state}));
    REQUIRE(rest.code == 0);
    REQUIRE_THAT(rest.out, Catch::Matchers::Contains("\"resumed_from_step\": 10"));
    // the same checkpoints as the uninterrupted run, to the last printed digit
    const auto checkpoints = [](const std::string& json) { return json.substr(json.find("\"checkpoints\"")); };
    const auto strip_seconds = [](std::string s) {
        std::string out;
        for (std::size_t i = 0; i < s.size();) {
            const auto at = s.find("\"seconds\": ", i);
            if (at == std::string::npos) {
                out += s.substr(i);
                break;
            }
            out += s.substr(i, at - i);
            i = s.find('}', at);
        }
        return out;
    };
    REQUIRE(strip_seconds(checkpoints(rest.out)) == strip_seconds(checkpoints(whole.out)));
    {
        std::ofstream f(state + "/latest.pt", std::ios::binary | std::ios::trunc);
        f << "damaged";
    }
    check_usage_error(with({"--state-dir", state}), "latest.pt is not a readable fracnas training state");
    REQUIRE(std::system(("rm -rf '" + state + "'").c_str()) == 0);
}

#ifdef FRACNAS_HAVE_HDF5
TEST_CASE("fracnas train --from: the best feasible architectures of a search, trained and written back", "[cli][train][hdf5]") {
    const std::string dir = corpus("from");
    const std::string h5 = std::string(FRACNAS_TEST_TMP) + "/train_from.h5";
    const outcome s = run_cli({"search", "--evaluator", "model", "--space", "homogeneous", "--max-layers", "2", "--max-width", "256",
                               "--min-params", "200000", "--budget", "30", "--progress-every", "1000", "--archive", h5, "--replace"});
    INFO(s.out << s.err);
    REQUIRE(s.code == 0);
    // the two best feasible by latency ratio, one per architecture, from the archive itself
    const auto before = hdf5::read_archive(h5);
    REQUIRE(before.trainings.empty());
    std::map<std::uint64_t, std::pair<double, std::string>> best;
    for (const auto& e : before.evaluations)
        if (e.feasible && !e.cached && e.out.status == eval::outcome_status::ok && std::isfinite(e.ratio)) {
            auto it = best.find(e.hash);
            if (it == best.end() || e.ratio < it->second.first) best[e.hash] = {e.ratio, e.arch};
        }
    std::vector<std::pair<double, std::string>> ranked;
    for (const auto& [h, v] : best) ranked.push_back(v);
    std::sort(ranked.begin(), ranked.end());
    REQUIRE(ranked.size() >= 2);
    const std::vector<std::string> args = {"train", "--from",    h5,   "--top",         "2", "--data",   dir,  "--tokens", "256", "--batch",
                                           "2",     "--seq-len", "32", "--checkpoints", "1", "--device", "cpu"};
    const outcome t = run_cli(args);
    INFO(t.out << t.err);
    REQUIRE(t.code == 0);
    const auto after = hdf5::read_archive(h5);
    REQUIRE(after.evaluations.size() == before.evaluations.size());
    REQUIRE(after.trainings.size() == 2);
    for (std::size_t i = 0; i < 2; ++i) {
        const auto& r = after.trainings[i];
        REQUIRE(r.arch == ranked[i].second);  // best ratio first, ties by the text
        REQUIRE(r.hash == nas::hash(nas::parse_architecture(r.arch)));
        REQUIRE(r.status == "ok");
        REQUIRE(r.tokens == 256);
        REQUIRE(std::isfinite(r.val_perplexity));
        REQUIRE(r.val_perplexity == Approx(std::exp(r.val_loss)));
        REQUIRE_THAT(r.recipe, Catch::Matchers::Contains("256 tokens, 2 x 32 per step (4 steps)"));
        REQUIRE(r.device == "cpu");
    }
    // a second run appends; the search's resume and analyze still read the archive
    REQUIRE(run_cli(args).code == 0);
    REQUIRE(hdf5::read_archive(h5).trainings.size() == 4);
    const outcome a = run_cli({"analyze", h5});
    REQUIRE(a.code == 0);
    REQUIRE_THAT(a.out, Catch::Matchers::Contains("trained     4 architecture(s) (fracnas train --from)"));
    REQUIRE_THAT(a.out, Catch::Matchers::Contains("  " + ranked[0].second));
    const outcome j = run_cli({"analyze", h5, "--json", "-"});
    REQUIRE(j.code == 0);
    REQUIRE_THAT(j.out, Catch::Matchers::Contains("\"trained\": [{\"architecture\": \"" + ranked[0].second + "\", \"status\": \"ok\""));
    // bad input, nothing trained
    check_usage_error({"train", "--from", h5, "--arch", tiny, "--data", dir}, "give --from or one of --arch and --preset, not both");
    check_usage_error({"train", "--arch", tiny, "--top", "2", "--data", dir}, "--top goes with --from");
    check_usage_error({"train", "--from", h5, "--top", "0", "--data", dir}, "--top must be at least 1");
    check_usage_error({"train", "--from", h5 + ".none", "--data", dir}, "does not exist");
    // refused before the first training: a recipe that fits no architecture, an archive a run holds
    auto too_long = args;
    too_long[std::find(too_long.begin(), too_long.end(), "--seq-len") - too_long.begin() + 1] = "4096";
    check_usage_error(too_long, "--seq-len: the sequence length must be between 1 and the architecture's context");
    {
        storage::archive_contents contents;
        const auto held = hdf5::archive_file::resume(h5, contents);  // a search writing it
        check_usage_error(args, "--from: archive '" + h5 + "' is being written by another run (process ");
    }
    REQUIRE(hdf5::read_archive(h5).trainings.size() == 4);
}

TEST_CASE("fracnas train --from an archive that a failed write cut: its end restored, said once, the training appended",
          "[cli][train][hdf5][resume]") {
    const std::string dir = corpus("from_cut");
    const std::string h5 = std::string(FRACNAS_TEST_TMP) + "/train_from_cut.h5";
    std::remove(h5.c_str());
    std::remove((h5 + ".lock").c_str());
    // ulimit -f 64: the search's writes past 64 KiB fail part-way (the search test's way to cut an archive)
    const outcome cut = fracnas::test::run_shell("ulimit -f 64; " + std::string(FRACNAS_BINARY) +
                                                 " search --evaluator model --space homogeneous --max-layers 2 --max-width 256 "
                                                 "--min-params 200000 --budget 3000 --seed 1 --archive " +
                                                 h5 + " 2>&1");
    INFO(cut.out);
    REQUIRE(cut.code == 1);
    REQUIRE_THAT(cut.out, Catch::Matchers::Contains("File too large (errno 27)."));
    const std::vector<std::string> args = {"train", "--from",    h5,   "--top",         "1", "--data",   dir,  "--tokens", "256", "--batch",
                                           "2",     "--seq-len", "32", "--checkpoints", "1", "--device", "cpu"};
    const outcome t = run_cli(args);
    INFO(t.out << t.err);
    REQUIRE(t.code == 0);
    REQUIRE_THAT(t.out, Catch::Matchers::Contains("restored        its end, cut short by a failed write, restored with zeros ("));
    const auto after = hdf5::read_archive(h5);
    REQUIRE_FALSE(after.evaluations.empty());
    REQUIRE(after.trainings.size() == 1);
    REQUIRE(after.trainings[0].status == "ok");
    // restored once: the next run has nothing to say
    const outcome again = run_cli(args);
    INFO(again.out << again.err);
    REQUIRE(again.code == 0);
    REQUIRE_THAT(again.out, !Catch::Matchers::Contains("restored"));
    REQUIRE(hdf5::read_archive(h5).trainings.size() == 2);
    std::remove(h5.c_str());
}
#endif
#endif
