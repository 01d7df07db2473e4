// Three valid `fracnas search` configurations as option texts that between them give every option a
// config file may set a value other than its default (the Pareto objective excludes
// --measurements and --rungs with its training options, the h200 latency model a prefill latency,
// a batch and a serving mix). The schema's tests read them through
// app::search_options (tests/app) and through a config file into an archive (tests/cli).
#pragma once

#include <map>
#include <string>

namespace fracnas::test {

inline std::map<std::string, std::string> pareto_sample() {
    return {{"algorithm", "direct"},
            {"tree", "plain"},
            {"objective", "pareto"},
            {"levels", "0.5,2"},
            {"budget", "77"},
            {"measurements", "0"},
            {"seed", "9"},
            {"space", "homogeneous"},
            {"min-layers", "3"},
            {"max-layers", "12"},
            {"max-width", "1024"},
            {"max-ffn-ratio", "3.5"},
            {"embed-widths", "0,256"},
            {"norm", "rmsnorm"},
            {"mlp", "gelu,swiglu"},
            {"positions", "rotary"},
            {"block", "parallel"},
            {"output", "tied,untied"},
            {"bias", "off"},
            {"kv-heads", "0,2"},
            {"reference", "gpt2-medium"},
            {"min-params", "1234567"},
            {"vocab", "32000"},
            {"evaluator", "model"},
            {"latency-model", "analytic"},
            {"train-model", "chinchilla"},
            {"device", "cpu"},
            {"dtype", "bf16"},
            {"latency", "prefill"},
            {"context", "100"},
            {"tokens", "512"},
            {"batch", "4"},
            {"scenarios", ""},
            {"warmup", "1"},
            {"repeats", "7"},
            {"rungs", ""},
            {"eta", "4"},
            {"train-seed", "7"},
            {"max-perplexity-ratio", "1.05"},
            {"trend-probe", "0.25"},
            {"trend-calibration", "off"},
            {"head-variants", "trained"},
            {"train-data", ""},
            {"train-states", ""},
            {"train-states-limit", "0"},
            {"train-ms-per-mtoken", "0"},
            {"train-deadline", "60"},
            {"train-cost", "0.75"},
            {"dispatcher", "dry-run"},
            {"reference-every", "5"},
            {"reference-builds", "3"},
            {"queued", "1"},
            {"task-deadline", "30.5"},
            {"join-timeout", "60"},
            {"model-cost-ms", "0.5"},
            {"inject", "fail:0.25"},
            {"workers", "8"},
            {"cost", "lognormal"},
            {"cost-mean", "0.5"},
            {"cost-spread", "0.25"},
            {"failure-rate", "0.125"},
            {"hang-rate", "0.015625"},
            {"time-limit", "3600"},
            {"grace", "10"},
            {"flush-seconds", "0"},
            {"progress-every", "20"},
            {"top", "3"}};
}

inline std::map<std::string, std::string> constrained_sample() {
    auto s = pareto_sample();
    s["objective"] = "constrained";
    s["levels"] = "";
    s["measurements"] = "5";
    s["latency-model"] = "h200";
    s["latency"] = "decode";
    s["context"] = "1023";
    s["batch"] = "1";
    s["rungs"] = "1000,4000";
    s["train-data"] = "corpus";
    s["train-states"] = "states";
    s["train-states-limit"] = "20";
    s["train-ms-per-mtoken"] = "2.5";
    s["train-model"] = "dlarge";
    return s;
}

/// The constrained sample with a serving mix (which replaces the one scenario, and which the h200
/// test bed does not time).
inline std::map<std::string, std::string> mix_sample() {
    auto s = constrained_sample();
    s["latency-model"] = "analytic";
    s["tokens"] = "1024";
    s["scenarios"] = "decode:1x1023,decode:16x2047:0.5,prefill:2x512:0.25";
    return s;
}

/// The settings as a config file's "key = value" lines.
inline std::string as_ini(const std::map<std::string, std::string>& settings) {
    std::string text;
    for (const auto& [key, value] : settings) text += key + " = " + value + "\n";
    return text;
}

}  // namespace fracnas::test
