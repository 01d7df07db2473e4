// The LibTorch adapter's public face: measure one GPT candidate (evaluate_gpt), a job evaluator
// for search workers built on it, and what LibTorch and CUDA this process sees. Standard types
// only (no LibTorch include): callers link fracnas_torch, the one target that defines these.
#pragma once

#include <memory>
#include <string>

#include "fracnas/eval/gpt_evaluator.hpp"
#include "fracnas/eval/outcome.hpp"
#include "fracnas/nas/architecture.hpp"

namespace fracnas::eval {

/// Never throws: every failure is in the returned status and message.
gpt_evaluation evaluate_gpt(const nas::architecture& arch, const gpt_measure_config& cfg) noexcept;

/// A search worker's evaluator: a job's spec is a canonical architecture, measured with cfg; its
/// outcome's value is the decode latency's median (or the prefill's when cfg.decode is off), and
/// time_reference() measures `reference` the same way. Throws config_error("--device") when cfg
/// asks for a CUDA device this process does not see.
std::unique_ptr<job_evaluator> make_gpt_job_evaluator(const gpt_measure_config& cfg, const nas::architecture& reference);

/// The LibTorch version the adapter was compiled with, e.g. "2.11.0".
std::string torch_version();
/// Whether LibTorch sees a usable CUDA device from this process.
bool torch_cuda_available();
/// CUDA devices visible to this process (0 without CUDA).
int cuda_device_count();
/// Multiplies two small CPU matrices through LibTorch and returns the sum of the product;
/// proves the library loads and computes (for `fracnas --version` and the tests).
double torch_smoke_product();

}  // namespace fracnas::eval
