#include "failures.hpp"

#include <c10/cuda/CUDACachingAllocator.h>
#include <torch/torch.h>

#include <exception>
#include <new>

#include "fracnas/error.hpp"

namespace fracnas::eval::torch_failures {

failure current(const char* host_oom, const char* unknown) noexcept {
    try {
        throw;
    } catch (const c10::OutOfMemoryError& e) {
        return {kind::out_of_memory, "out of memory: " + std::string(e.what_without_backtrace())};
    } catch (const c10::Error& e) {
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
