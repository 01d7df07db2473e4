// The --device flag of the benchmarks that build models (proxy_ranking, worker_throughput): one
// parse, one sentence for a bad value.
#pragma once

#include <string>

#include "bench_common.hpp"
#include "fracnas/eval/gpt_evaluator.hpp"

namespace fracnas::bench {

/// "cpu" or "cuda"; anything else is a usage error naming the value.
inline eval::device_kind device_flag(const std::string& value) {
    if (value == "cpu") return eval::device_kind::cpu;
    if (value == "cuda") return eval::device_kind::cuda;
    usage("--device is cpu or cuda, got '" + value + "'");
}

}  // namespace fracnas::bench
