#include "failures.hpp"

#include <c10/cuda/CUDACachingAllocator.h>
#include <torch/torch.h>

#include <exception>
#include <new>
#include <string>

#include "fracnas/error.hpp"

namespace fracnas::eval::torch_failures {

namespace {

// LibTorch's CPU allocator fails with a plain c10::Error ("[enforce fail at alloc_cpu.cpp:N] ...
// DefaultCPUAllocator: not enough memory: you tried to allocate N bytes."): host memory, said
// as host_oom with the size, not as the allocator's text.
bool host_allocation_failed(const std::string& what, const char* host_oom, std::string& sentence) {
    const auto at = what.find("DefaultCPUAllocator: ");
    if (at == std::string::npos) return false;
    std::string said = host_oom;
    if (!said.empty() && said.back() == '.') said.pop_back();
    const auto tried = what.find("you tried to allocate ", at);
    if (tried != std::string::npos) {
        const auto from = tried + std::string("you tried to allocate ").size();
        const auto to = what.find_first_not_of("0123456789", from);
        if (to > from) said += " (LibTorch's CPU allocator could not allocate " + what.substr(from, to - from) + " bytes)";
    }
    sentence = said + ".";
    return true;
}

}  // namespace

failure current(const char* host_oom, const char* unknown) noexcept {
    try {
        throw;
    } catch (const c10::OutOfMemoryError& e) {
        return {kind::out_of_memory, "out of memory: " + std::string(e.what_without_backtrace())};
    } catch (const c10::Error& e) {
        std::string sentence;
        if (host_allocation_failed(e.what_without_backtrace(), host_oom, sentence)) return {kind::out_of_memory, sentence};
        return {kind::error, e.what_without_backtrace()};
    } catch (const config_error& e) {
        return {kind::invalid, e.what()};
    } catch (const std::bad_alloc&) {
        return {kind::out_of_memory, host_oom};
    } catch (const std::exception& e) {
        return {kind::error, e.what()};
    } catch (...) {
        return {kind::error, unknown};
    }
}

void release_device_cache(device_kind device) noexcept {
    try {
        if (device == device_kind::cuda && torch::cuda::is_available()) c10::cuda::CUDACachingAllocator::emptyCache();
    } catch (...) {
    }
}

}  // namespace fracnas::eval::torch_failures
