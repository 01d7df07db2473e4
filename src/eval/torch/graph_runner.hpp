// CUDA-graph capture of a candidate's measured steps, and the wall-clock accounting of an
// evaluation's phases. Private to src/eval/torch/ (the [gpu] tests include it to check the stream
// order and a failed capture).
#pragma once

#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAStream.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace fracnas::eval::torch_graphs {

/// The one stream per device on which this process captures: each new stream would get a cuBLAS
/// workspace of its own from the caching allocator, held for the process's life.
c10::cuda::CUDAStream capture_stream();

/// Adds the seconds between its construction and its destruction to `into`; on CUDA it first
/// waits for the device, so that the phase's queued work is counted in the phase.
class phase_timer {
public:
    phase_timer(bool cuda, double& into);
    ~phase_timer();
    phase_timer(const phase_timer&) = delete;
    phase_timer& operator=(const phase_timer&) = delete;

private:
    bool cuda_;
    double& into_;
    std::chrono::steady_clock::time_point start_;
};

/// Captured replays of `steps`, in order (their inputs must stay at fixed addresses), or the steps
/// themselves when graphs are off. The graphs share one memory pool, which is safe because they
/// always replay in the order they were captured and never concurrently.
class graph_runner {
public:
    /// With use_graph: runs the steps `warmups` times on the capture stream, which first waits for
    /// the work queued on the current stream, then captures each step into a graph; an exception
    /// during a capture ends that capture before it propagates. The seconds of the warm-up and of
    /// the capture are added to warmup_seconds and capture_seconds.
    std::function<void()> wrap(std::vector<std::function<void()>> steps, bool use_graph, double& warmup_seconds, double& capture_seconds,
                               int warmups = 3);

    /// The kernels of the captured graphs, in graph order: the kernel's name where the CUDA
    /// runtime knows it ("?" for kernels launched through the driver, as cuBLAS and cuDNN do),
    /// then memory copies and sets as "memcpy" and "memset". Empty without graphs.
    const std::vector<std::string>& nodes() const noexcept { return nodes_; }

private:
    std::vector<std::unique_ptr<at::cuda::CUDAGraph>> graphs_;
    std::vector<std::string> nodes_;
};

}  // namespace fracnas::eval::torch_graphs
