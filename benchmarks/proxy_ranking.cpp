// Proxy ranking: the grad-norm training-free proxy (eval::evaluate_gpt with only grad_norm on) of
// each of LiteTransformerSearch's trained architectures (tests/data/lts/lts_gpt2_*.csv), for
// several seeds, written as one CSV line per architecture and seed beside the authors' trained
// valid_ppl. It times no inference and computes no correlation: benchmarks/analyze_problem.py
// --grad-norm FILE ranks the CSV against perplexity and the decoder parameter count.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "bench_common.hpp"
#include "bench_device.hpp"
#include "fracnas/eval/gpt_evaluator.hpp"
#include "fracnas/nas/architecture.hpp"
#include "fracnas/torch/evaluator.hpp"

namespace {

using namespace fracnas;
using bench::usage;

// ---- command line ------------------------------------------------------------------------

struct options {
    std::vector<std::string> data;  // the LTS CSVs
    eval::device_kind device = eval::device_kind::cpu;
    std::vector<std::uint64_t> seeds = {0, 1, 2};  // each seeds the weights and the random tokens
    std::uint32_t batch = 4;                       // grad-norm sequences
    std::uint32_t tokens = 128;                    // grad-norm tokens per sequence (>= 2)
    std::size_t limit = 0;                         // > 0: only the first N rows of each file
    std::string out;                               // the CSV; empty: stdout only
};

const char* const usage_text =
    "usage: proxy_ranking --data FILE[,FILE] [--device cpu|cuda] [--seeds 0,1,2 | 0-2] [--batch 4]\n"
    "       [--tokens 128] [--limit N] [--out FILE]\n"
    "  FILE: LiteTransformerSearch's CSV (e.g. tests/data/lts/lts_gpt2_wt103.csv,tests/data/lts/lts_gpt2_lm1b.csv)\n"
    "  the CSV goes to stdout after the machine header and, with --out, to FILE as well\n";

options parse(int argc, char** argv) {
    options opt;
    bench::for_each_flag(argc, argv, [&](const std::string& flag, const std::string& value) {
        if (flag == "--data")
            opt.data = bench::split(value);
        else if (flag == "--device")
            opt.device = bench::device_flag(value);
        else if (flag == "--seeds")
            opt.seeds = bench::integers(value, flag);
        else if (flag == "--batch")
            opt.batch = bench::to_u32(value, flag, 1, 1000000);
        else if (flag == "--tokens")
            opt.tokens = bench::to_u32(value, flag, 2, 1000000);
        else if (flag == "--limit")
            opt.limit = bench::to_u32(value, flag, 1, 1000000);
        else if (flag == "--out")
            opt.out = value;
        else
            usage("unknown option " + flag);
    });
    if (opt.data.empty()) usage("--data FILE[,FILE] is required");
    if (opt.device == eval::device_kind::cuda && !eval::torch_cuda_available()) usage("--device cuda: LibTorch sees no CUDA device");
    return opt;
}

// ---- LiteTransformerSearch's CSV -----------------------------------------------------------

struct lts_row {
    std::string id;
    nas::architecture arch;
    std::string nonembedding;  // the authors' count, as written
    std::string valid_ppl;     // as written (read back exactly)
};

struct lts_file {
    std::string dataset;  // "wt103" for .../lts_gpt2_wt103.csv
    std::vector<lts_row> rows;
};

std::vector<std::string> split_on(const std::string& s, char sep) {
    std::vector<std::string> out;
    std::stringstream in(s);
    std::string item;
    while (std::getline(in, item, sep)) out.push_back(item);
    if (!s.empty() && s.back() == sep) out.emplace_back();
    return out;
}

std::uint32_t field_u32(const std::string& text, const std::string& where) {
    if (text.empty() || text.size() > 9 || text.find_first_not_of("0123456789") != std::string::npos)
        usage(where + ": expected a non-negative integer, got '" + text + "'");
    return static_cast<std::uint32_t>(std::stoul(text));
}

std::string dataset_name(const std::string& path) {
    std::string name = path.substr(path.find_last_of('/') == std::string::npos ? 0 : path.find_last_of('/') + 1);
    if (name.size() > 4 && name.compare(name.size() - 4, 4, ".csv") == 0) name.resize(name.size() - 4);
    const std::string prefix = "lts_gpt2_";
    if (name.rfind(prefix, 0) == 0 && name.size() > prefix.size()) name = name.substr(prefix.size());
    return name;
}

// Reads one file whole before anything runs; a missing file, column or malformed number is a
// usage_error naming the file and line (the input is rejected, exit 2). Architectures are not
// validated here: an unbuildable one comes back from evaluate_gpt as an "invalid" row.
lts_file read_lts(const std::string& path, std::size_t limit, std::uint32_t tokens) {
    std::ifstream in(path);
    if (!in) usage("cannot read --data file " + path);
    lts_file file{dataset_name(path), {}};
    std::string line;
    if (!std::getline(in, line)) usage(path + " is empty");
    const auto header = split_on(line, ',');
    auto column = [&](const char* name) {
        const auto it = std::find(header.begin(), header.end(), name);
        if (it == header.end()) usage(path + " has no column '" + name + "'");
        return static_cast<std::size_t>(it - header.begin());
    };
    const std::size_t c_id = column("id"), c_layer = column("n_layer"), c_model = column("d_model"), c_inner = column("d_inner"),
                      c_head = column("n_head"), c_tgt = column("tgt_len"), c_token = column("n_token"),
                      c_nonemb = column("nonembedding_params"), c_ppl = column("valid_ppl");
    for (std::size_t number = 2; std::getline(in, line) && (limit == 0 || file.rows.size() < limit); ++number) {
        if (line.empty()) continue;
        const std::string where = path + " line " + std::to_string(number);
        const auto f = split_on(line, ',');
        if (f.size() != header.size())
            usage(where + ": " + std::to_string(f.size()) + " fields, the header has " + std::to_string(header.size()));
        lts_row r;
        r.id = f[c_id];
        r.arch.n_layer = field_u32(f[c_layer], where + " n_layer");
        r.arch.d_model = field_u32(f[c_model], where + " d_model");
        for (const auto& v : split_on(f[c_inner], ';')) r.arch.d_inner.push_back(field_u32(v, where + " d_inner"));
        for (const auto& v : split_on(f[c_head], ';')) r.arch.n_head.push_back(field_u32(v, where + " n_head"));
        // the authors' vocabulary; a context long enough for both their training length and the proxy's tokens
        r.arch.vocab = field_u32(f[c_token], where + " n_token");
        r.arch.context = std::max(field_u32(f[c_tgt], where + " tgt_len"), tokens);
        r.nonembedding = f[c_nonemb];
        r.valid_ppl = f[c_ppl];
        if (r.valid_ppl.empty()) usage(where + ": empty valid_ppl");
        file.rows.push_back(std::move(r));
    }
    if (file.rows.empty()) usage(path + " has no data rows");
    return file;
}

// ---- the run -------------------------------------------------------------------------------

const char* const csv_header =
    "dataset,id,n_layer,d_model,nonembedding_params,decoder_params,valid_ppl,seed,grad_norm,status,wall_seconds\n";

std::string csv_line(const std::string& dataset, const lts_row& r, std::uint64_t seed, const eval::gpt_evaluation& e) {
    char grad[32] = "", wall[32];
    if (e.grad_norm) std::snprintf(grad, sizeof grad, "%.10g", *e.grad_norm);
    std::snprintf(wall, sizeof wall, "%.3f", e.wall_seconds);
    // decoder_params is empty when the architecture did not validate (nothing was counted)
    const std::string decoder = e.params.decoder > 0 ? std::to_string(e.params.decoder) : std::string();
    return dataset + "," + r.id + "," + std::to_string(r.arch.n_layer) + "," + std::to_string(r.arch.d_model) + "," + r.nonembedding + "," +
           decoder + "," + r.valid_ppl + "," + std::to_string(seed) + "," + grad + "," + eval::to_string(e.status) + "," + wall + "\n";
}

struct tally {  // one per --data file, in their order
    std::string dataset;
    std::size_t ok = 0, failed = 0;  // evaluations
    std::size_t count_mismatch = 0;  // architectures
    std::vector<double> wall;        // seconds per ok evaluation
};

int run(const options& opt, const std::vector<lts_file>& files) {
    std::ofstream out;
    if (!opt.out.empty()) {
        out.open(opt.out);
        if (!out) {
            std::fprintf(stderr, "proxy_ranking: cannot write %s\n", opt.out.c_str());
            return 1;
        }
        out << csv_header << std::flush;
    }
    eval::gpt_measure_config cfg;
    cfg.device = opt.device;
    cfg.dtype = eval::dtype_kind::fp32;  // the proxy is computed in fp32 anyway; skip the bf16 cast
    cfg.prefill = cfg.decode = cfg.scenario = false;
    cfg.grad_norm = true;
    cfg.grad_norm_batch = opt.batch;
    cfg.grad_norm_tokens = opt.tokens;

    std::size_t rows = 0;
    for (const auto& f : files) rows += f.rows.size();
    std::printf("libtorch %s | device %s | %zu architectures x %zu seeds | grad-norm batch %u x %u tokens\n", eval::torch_version().c_str(),
                opt.device == eval::device_kind::cuda ? "cuda" : "cpu", rows, opt.seeds.size(), opt.batch, opt.tokens);
    std::printf("%s", csv_header);
    std::fflush(stdout);

    const auto start = bench::clock_type::now();
    std::vector<tally> tallies;
    std::string device_name;
    for (const auto& f : files) {
        tallies.push_back({f.dataset, 0, 0, 0, {}});
        auto& t = tallies.back();
        for (const auto& r : f.rows) {
            bool mismatch = false;  // our decoder count differs from the authors' (any seed: they all agree)
            for (const auto seed : opt.seeds) {
                cfg.seed = seed;
                const auto e = eval::evaluate_gpt(r.arch, cfg);
                const std::string line = csv_line(f.dataset, r, seed, e);
                std::printf("%s", line.c_str());
                std::fflush(stdout);
                if (out.is_open()) out << line << std::flush;  // a killed run keeps what it measured
                if (e.status == eval::eval_status::ok && e.grad_norm) {
                    ++t.ok;
                    t.wall.push_back(e.wall_seconds);
                    if (device_name.empty()) device_name = e.device_name;
                } else {
                    ++t.failed;
                    std::fprintf(stderr, "proxy_ranking: %s %s seed %llu: %s: %s\n", f.dataset.c_str(), r.id.c_str(),
                                 static_cast<unsigned long long>(seed), eval::to_string(e.status), e.message.c_str());
                }
                if (e.params.decoder > 0 && std::to_string(e.params.decoder) != r.nonembedding) mismatch = true;
            }
            if (mismatch) ++t.count_mismatch;
        }
    }
    if (out.is_open() && !out) {
        std::fprintf(stderr, "proxy_ranking: writing %s failed\n", opt.out.c_str());
        return 1;
    }
    std::printf("\nsummary (device %s):\n", device_name.empty() ? "-" : device_name.c_str());
    for (const auto& t : tallies) {
        const auto s = bench::summarise(t.wall);
        std::printf(
            "  %-8s %zu ok, %zu failed; seconds per evaluation: median %.3f (min %.3f, max %.3f); "
            "rows whose decoder_params differ from the authors' nonembedding_params: %zu\n",
            t.dataset.c_str(), t.ok, t.failed, s.median, s.min, s.max, t.count_mismatch);
    }
    std::printf("wall time: %.1f s\n", bench::seconds_since(start));
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    options opt;
    std::vector<lts_file> files;
    try {
        opt = parse(argc, argv);
        for (const auto& path : opt.data) files.push_back(read_lts(path, opt.limit, opt.tokens));
    } catch (const std::exception& e) {  // usage_error, or a number std::sto* could not read
        if (std::string(e.what()) == "help") {
            std::printf("%s", usage_text);
            return 0;
        }
        std::fprintf(stderr, "proxy_ranking: %s (--help for usage)\n", e.what());
        return 2;
    }
    try {
        bench::print_header(argc, argv);
        return run(opt, files);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "proxy_ranking: %s\n", e.what());
        return 1;
    }
}
