// Graph capture on one side stream per device, ordered after the current stream's queued work.
#include "graph_runner.hpp"

#include <ATen/cuda/CUDAEvent.h>
#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAGuard.h>

#include <cuda_runtime_api.h>

#include <optional>

namespace fracnas::eval::torch_graphs {

c10::cuda::CUDAStream capture_stream() {
    static std::vector<std::optional<c10::cuda::CUDAStream>> streams(64);
    const auto device = c10::cuda::current_device();
    auto& s = streams.at(static_cast<std::size_t>(device));
    if (!s) s = c10::cuda::getStreamFromPool(false, device);
    return *s;
}

namespace {

// Appends what each node of g is: a kernel's name (or "?"), "memcpy", "memset" or "other".
void list_nodes(cudaGraph_t g, std::vector<std::string>& out) {
    std::size_t n = 0;
    if (cudaGraphGetNodes(g, nullptr, &n) != cudaSuccess) return;
    std::vector<cudaGraphNode_t> nodes(n);
    if (cudaGraphGetNodes(g, nodes.data(), &n) != cudaSuccess) return;
    for (auto node : nodes) {
        cudaGraphNodeType type{};
        if (cudaGraphNodeGetType(node, &type) != cudaSuccess) continue;
        if (type == cudaGraphNodeTypeKernel) {
            cudaKernelNodeParams p{};
            const char* name = nullptr;
            if (cudaGraphKernelNodeGetParams(node, &p) != cudaSuccess || p.func == nullptr ||
                cudaFuncGetName(&name, p.func) != cudaSuccess || name == nullptr)
                name = "?";
            out.emplace_back(name);
        } else if (type == cudaGraphNodeTypeMemcpy) {
            out.emplace_back("memcpy");
        } else if (type == cudaGraphNodeTypeMemset) {
            out.emplace_back("memset");
        } else {
            out.emplace_back("other");
        }
    }
    (void)cudaGetLastError();  // a name the runtime does not know leaves an error behind: clear it
}

}  // namespace

phase_timer::phase_timer(bool cuda, double& into) : cuda_(cuda), into_(into), start_(std::chrono::steady_clock::now()) {}

phase_timer::~phase_timer() {
    if (cuda_) (void)cudaDeviceSynchronize();  // an error here surfaces at the next LibTorch call
    into_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

std::function<void()> graph_runner::wrap(std::vector<std::function<void()>> steps, bool use_graph, double& warmup_seconds,
                                         double& capture_seconds, int warmups) {
    if (!use_graph)
        return [steps = std::move(steps)] {
            for (const auto& step : steps) step();
        };
    // CUDA graphs are captured on a side stream after a warm-up there. The side stream first
    // waits for what is queued on the current one (the random tokens, the cache prefill).
    auto stream = capture_stream();
    {
        at::cuda::CUDAEvent queued;
        queued.record(c10::cuda::getCurrentCUDAStream());
        queued.block(stream);
        c10::cuda::CUDAStreamGuard guard(stream);
        {
            phase_timer t(true, warmup_seconds);
            for (int i = 0; i < warmups; ++i)
                for (const auto& step : steps) step();
        }
        phase_timer t(true, capture_seconds);
        const auto pool = at::cuda::graph_pool_handle();
        for (const auto& step : steps) {
            graphs_.push_back(std::make_unique<at::cuda::CUDAGraph>(/*keep_graph=*/true));
            graphs_.back()->capture_begin(pool);
            try {
                step();
            } catch (...) {
                // close the capture, or every later CUDA call of the process fails
                try {
                    graphs_.back()->capture_end();
                } catch (...) {
                }
                graphs_.pop_back();
                throw;
            }
            graphs_.back()->capture_end();
            graphs_.back()->instantiate();
            list_nodes(graphs_.back()->raw_cuda_graph(), nodes_);
        }
    }
    // the replays run on the current stream: it waits for the capture stream's warm-up
    at::cuda::CUDAEvent captured;
    captured.record(stream);
    captured.block(c10::cuda::getCurrentCUDAStream());
    return [this] {
        for (const auto& g : graphs_) g->replay();
    };
}

}  // namespace fracnas::eval::torch_graphs
