// What the LibTorch adapter was built against, and a one-line proof that it runs.
// This header does not include LibTorch: callers link fracnas_torch and see only std types.
#pragma once

#include <string>

namespace fracnas::eval {

/// The LibTorch version the adapter was compiled with, e.g. "2.11.0".
std::string torch_version();

/// Whether LibTorch sees a usable CUDA device from this process.
bool torch_cuda_available();

/// Multiplies two small CPU matrices through LibTorch and returns the sum of the product;
/// proves the library loads and computes (for `fracnas --version` and the tests).
double torch_smoke_product();

}  // namespace fracnas::eval
