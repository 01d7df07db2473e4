// The latency test bed (issue 11, step 5): one decode step's milliseconds on the H200 (batch 1,
// 1,023 cached tokens, bf16, CUDA graphs, as `fracnas search --device cuda` measures), a linear
// model fitted to 1,400 architectures measured there (docs/results/testbed_2026-11-29/, fitted and
// its held-out error stated by benchmarks/fit_latency_testbed.py, whose output these tables are).
#include "fracnas/eval/model_evaluators.hpp"

#include <algorithm>
#include <cmath>

#include "fracnas/nas/counts.hpp"

namespace fracnas::eval {

namespace {

// 1, n_layer, the layers' weight GB, the KV cache's GB, the tied output table's GB
constexpr double base[5] = {0.0215820937, 0.0273261804, 0.157784465, 0.000435214607, 0.277146151};
// per layer, at d_model = 128 + 64 k (the GEMMs' and kernels' efficiency at that width)
constexpr double per_width[31] = {
    -0.0086983067,  -0.00711137863, -0.00641705626, -0.00535825606, -0.00555092695, -0.00460852164, -0.00451252398, -0.00198267836,
    -0.001303972,   -0.00107924366, 0.000661761188, 0.00056724074,  0.00124624077,  0.00128586581,  0.00497031164,  0.00166367372,
    0.000859397507, 0.00189203492,  0.0014608088,   0.00145435159,  0.0020485294,   0.00294351914,  0.00306349521,  0.00603154994,
    0.0044551065,   0.00505287806,  0.00480244161,  0.00628406576,  0.00699580101,  0.00822849972,  0.00798147162};
// per layer whose head dimension is 64, 128 or another
constexpr double per_head_dim[3] = {0.00779694843, 0.00846403513, 0.0110651969};

}  // namespace

double testbed_decode_ms(const nas::architecture& a) {
    // fitted on GPT-2's block: other blocks (grouped KV heads, SwiGLU) are extrapolated through
    // their weights and KV bytes
    const double d = a.d_model;
    const double mlp = a.mlp == nas::mlp_kind::swiglu ? 3.0 : 2.0;
    double weights = 0.0;
    for (std::uint32_t l = 0; l < a.n_layer; ++l) {
        const double k = static_cast<double>(nas::kv_heads(a, l)) * (d / a.n_head[l]);
        weights += 2.0 * d * d + 2.0 * d * k + mlp * d * static_cast<double>(a.d_inner[l]);
    }
    const double layers = static_cast<double>(a.n_layer);
    double ms = base[0] + base[1] * layers + base[2] * weights * 2.0 / 1e9 +
                base[3] * 1023.0 * static_cast<double>(nas::kv_bytes_per_token(a, 2)) / 1e9 +
                // fitted on e = d only: narrower tables and their projections are extrapolated
                base[4] * static_cast<double>(nas::embedding_matmul_weights(a)) * 2.0 / 1e9;
    // widths between the fitted ones take the nearest; outside, the nearest end
    const double k = std::round((d - 128.0) / 64.0);
    ms += layers * per_width[static_cast<std::size_t>(std::clamp(k, 0.0, 30.0))];
    for (std::uint32_t i = 0; i < a.n_layer; ++i) {
        const std::uint32_t head_dim = a.d_model / a.n_head[i];
        ms += per_head_dim[head_dim == 64 ? 0 : head_dim == 128 ? 1 : 2];
    }
    return ms;
}

}  // namespace fracnas::eval
