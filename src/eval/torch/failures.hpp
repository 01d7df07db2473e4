// What the LibTorch evaluator and trainer do with a failure, in one place: the exception in
// flight becomes a kind and a sentence (a result, never a crash), and the device's cached
// memory is released so that the next candidate finds the device as it expects.
#pragma once

#include <string>
#include <utility>

#include "fracnas/eval/gpt_evaluator.hpp"

namespace fracnas::eval::torch_failures {

enum class kind { invalid, out_of_memory, error };

struct failure {
    kind what = kind::error;
    std::string message;
};

/// Call from a catch block only: classifies the exception being handled. A LibTorch
/// out-of-memory, std::bad_alloc and LibTorch's CPU allocator failing are out_of_memory
/// (`host_oom` is the sentence of the last two, with the size asked when the allocator says it),
/// a config_error is invalid, anything else an error (`unknown` when it is no std::exception).
failure current(const char* host_oom, const char* unknown) noexcept;

/// The failure as the caller's status (eval_status, train_status: outcome.hpp's invalid,
/// out_of_memory or error), with its message.
template <class Status, class Result>
void record(Result& out, failure f) {
    out.status = f.what == kind::invalid ? Status::invalid : f.what == kind::out_of_memory ? Status::out_of_memory : Status::error;
    out.message = std::move(f.message);
}

/// Empties LibTorch's CUDA caching allocator when `device` is cuda and a GPU is visible; never throws.
void release_device_cache(device_kind device) noexcept;

}  // namespace fracnas::eval::torch_failures
