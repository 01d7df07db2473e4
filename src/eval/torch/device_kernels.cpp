// The kernels of device_kernels.hpp: their CUDA source as a string, NVRTC and the driver's
// functions looked up in the process (dlopen/dlsym, as fused_linear.cpp finds cuBLASLt: those of
// the CUDA that LibTorch came with), one module per device compiled at first use. It does not
// fall back by itself: the callers ask available() and run LibTorch's operators otherwise.
#include "device_kernels.hpp"

#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include <cuda.h>
#include <cuda_runtime_api.h>
#include <dlfcn.h>
#include <nvrtc.h>

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <mutex>
#include <vector>

namespace fracnas::eval::torch_kernels {

namespace {

constexpr unsigned threads_per_row = 512;  // the launch bounds below: 8 uint4 loads a thread for V = 32,768

// bf16 as its bits (no cuda_bf16.h: NVRTC finds no CUDA headers on every machine); every value
// computed in fp32; rounding to nearest even, as LibTorch's bf16 conversion
const char* const source = R"cuda(
#define FRACNAS_THREADS 512
__device__ __forceinline__ float neg_inf() { return __int_as_float(0xff800000); }
__device__ __forceinline__ float bf16_to_float(unsigned int bits) { return __uint_as_float((bits & 0xffffu) << 16); }
__device__ __forceinline__ unsigned int float_to_bf16(float f) {
    const unsigned int u = __float_as_uint(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return 0x7fc0u;
    return (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
}
__device__ __forceinline__ void unpack(const uint4& p, float* v) {
    v[0] = bf16_to_float(p.x); v[1] = bf16_to_float(p.x >> 16);
    v[2] = bf16_to_float(p.y); v[3] = bf16_to_float(p.y >> 16);
    v[4] = bf16_to_float(p.z); v[5] = bf16_to_float(p.z >> 16);
    v[6] = bf16_to_float(p.w); v[7] = bf16_to_float(p.w >> 16);
}
// two values rounded to bf16 and packed (a low, b high): one cvt where the architecture has it
// (sm_80 on), the same bits as float_to_bf16 for every value but NaN (its canonical 0x7fff)
__device__ __forceinline__ unsigned int pair(float a, float b) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    unsigned int r;
    asm("cvt.rn.bf16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(b), "f"(a));
    return r;
#else
    return float_to_bf16(a) | (float_to_bf16(b) << 16);
#endif
}
// the values a packed pair holds, as floats
__device__ __forceinline__ float low(unsigned int p) { return __uint_as_float(p << 16); }
__device__ __forceinline__ float high(unsigned int p) { return __uint_as_float(p & 0xffff0000u); }

// (m, s): a running maximum and the sum of exp(x - m) over the values seen; merged with (m2, s2)
__device__ __forceinline__ void merge(float& m, float& s, float m2, float s2) {
    const float mx = fmaxf(m, m2);
    if (mx == neg_inf()) return;
    s = s * expf(m - mx) + s2 * expf(m2 - mx);
    m = mx;
}
__device__ __forceinline__ void warp_merge(float& m, float& s) {
    for (int o = 16; o > 0; o >>= 1) {
        const float m2 = __shfl_xor_sync(0xffffffffu, m, o), s2 = __shfl_xor_sync(0xffffffffu, s, o);
        merge(m, s, m2, s2);
    }
}
// every thread of the block ends with the block's (m, s); a barrier inside
__device__ __forceinline__ void block_merge(float& m, float& s) {
    __shared__ float wm[32], ws[32];
    warp_merge(m, s);
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, warps = (blockDim.x + 31) >> 5;
    if (lane == 0) { wm[warp] = m; ws[warp] = s; }
    __syncthreads();
    m = lane < warps ? wm[lane] : neg_inf();
    s = lane < warps ? ws[lane] : 0.0f;
    warp_merge(m, s);
}

// One block a row of logits (n, V) in bf16: the row's loss, and with grad its softmax minus the
// target's one-hot written over it. Read twice (the second read mostly from L2), written once.
extern "C" __global__ void __launch_bounds__(FRACNAS_THREADS)
fracnas_softmax_xent_bf16(unsigned short* __restrict__ logits, const long long* __restrict__ y, float* __restrict__ loss,
                          long long V, int grad) {
    unsigned short* x = logits + (long long)blockIdx.x * V;
    const long long t = y[blockIdx.x];
    const bool valid = t >= 0 && t < V;
    float xt = 0.0f;
    if (threadIdx.x == 0 && valid) xt = bf16_to_float(x[t]);  // before the barrier that precedes any write
    const long long nvec = ((V & 7) == 0 && ((unsigned long long)x & 15) == 0) ? V / 8 : 0;
    float m = neg_inf(), s = 0.0f, v[8];
    for (long long i = threadIdx.x; i < nvec; i += blockDim.x) {
        unpack(reinterpret_cast<const uint4*>(x)[i], v);
        float lm = v[0];
        for (int k = 1; k < 8; ++k) lm = fmaxf(lm, v[k]);
        if (lm == neg_inf()) continue;
        float ls = 0.0f;
        for (int k = 0; k < 8; ++k) ls += expf(v[k] - lm);
        merge(m, s, lm, ls);
    }
    for (long long i = nvec * 8 + threadIdx.x; i < V; i += blockDim.x) merge(m, s, bf16_to_float(x[i]), 1.0f);
    block_merge(m, s);
    const float lse = m + logf(s);
    if (threadIdx.x == 0) loss[blockIdx.x] = valid ? lse - xt : __int_as_float(0x7fc00000);
    if (!grad) return;
    for (long long i = threadIdx.x; i < nvec; i += blockDim.x) {
        uint4* p = reinterpret_cast<uint4*>(x) + i;
        unpack(*p, v);
        for (int k = 0; k < 8; ++k) v[k] = expf(v[k] - lse) - (i * 8 + k == t ? 1.0f : 0.0f);
        *p = make_uint4(pair(v[0], v[1]), pair(v[2], v[3]), pair(v[4], v[5]), pair(v[6], v[7]));
    }
    for (long long i = nvec * 8 + threadIdx.x; i < V; i += blockDim.x)
        x[i] = (unsigned short)float_to_bf16(expf(bf16_to_float(x[i]) - lse) - (i == t ? 1.0f : 0.0f));
}

// every thread of the block ends with the block's maximum (op 0) or sum (op 1) of v; barriers
// inside (the shared array is free again when it returns)
__device__ __forceinline__ float block_reduce(float v, int op) {
    __shared__ float w[32];
    for (int o = 16; o > 0; o >>= 1) {
        const float u = __shfl_xor_sync(0xffffffffu, v, o);
        v = op == 0 ? fmaxf(v, u) : v + u;
    }
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, warps = (blockDim.x + 31) >> 5;
    if (lane == 0) w[warp] = v;
    __syncthreads();
    v = lane < warps ? w[lane] : (op == 0 ? neg_inf() : 0.0f);
    for (int o = 16; o > 0; o >>= 1) {
        const float u = __shfl_xor_sync(0xffffffffu, v, o);
        v = op == 0 ? fmaxf(v, u) : v + u;
    }
    __syncthreads();
    return v;
}

// The same as fracnas_softmax_xent_bf16 with the row held in registers, read once: for V a
// multiple of 8 of at most FRACNAS_THREADS * 8 * FRACNAS_XENT_VECS values and 16-byte-aligned
// rows (the host checks). The maximum, then the sum of exp(x - max), then the gradient, each over
// the registers. exp by the hardware's approximation (__expf: a multiply and ex2.approx, a few
// units in the last place for the arguments that matter, x - max near 0, far below the bf16
// rounding of the gradient): the kernel's two exps per value are much of its time.
#define FRACNAS_XENT_VECS 8
extern "C" __global__ void __launch_bounds__(FRACNAS_THREADS, 2)
fracnas_softmax_xent_rows_bf16(unsigned short* __restrict__ logits, const long long* __restrict__ y, float* __restrict__ loss,
                               long long V, int grad) {
    uint4* x = reinterpret_cast<uint4*>(logits + (long long)blockIdx.x * V);
    const long long t = y[blockIdx.x];
    const bool valid = t >= 0 && t < V;
    const int nvec = (int)(V / 8);
    float xt = 0.0f;
    if (threadIdx.x == 0 && valid) xt = bf16_to_float(logits[(long long)blockIdx.x * V + t]);  // before the barriers that precede any write
    uint4 p[FRACNAS_XENT_VECS];
    float v[8], m = neg_inf();
#pragma unroll
    for (int j = 0; j < FRACNAS_XENT_VECS; ++j) {
        const int i = threadIdx.x + j * FRACNAS_THREADS;
        if (i < nvec) p[j] = x[i];
    }
#pragma unroll
    for (int j = 0; j < FRACNAS_XENT_VECS; ++j)
        if (threadIdx.x + j * FRACNAS_THREADS < nvec) {
            unpack(p[j], v);
            for (int k = 0; k < 8; ++k) m = fmaxf(m, v[k]);
        }
    m = block_reduce(m, 0);
    float s = 0.0f;
#pragma unroll
    for (int j = 0; j < FRACNAS_XENT_VECS; ++j)
        if (threadIdx.x + j * FRACNAS_THREADS < nvec && m != neg_inf()) {
            unpack(p[j], v);
            for (int k = 0; k < 8; ++k) s += __expf(v[k] - m);
        }
    s = block_reduce(s, 1);
    const float lse = m + logf(s);
    if (threadIdx.x == 0) loss[blockIdx.x] = valid ? lse - xt : __int_as_float(0x7fc00000);
    if (!grad) return;
#pragma unroll
    for (int j = 0; j < FRACNAS_XENT_VECS; ++j) {
        const int i = threadIdx.x + j * FRACNAS_THREADS;
        if (i < nvec) {
            unpack(p[j], v);
            for (int k = 0; k < 8; ++k) v[k] = __expf(v[k] - lse) - ((long long)i * 8 + k == t ? 1.0f : 0.0f);
            x[i] = make_uint4(pair(v[0], v[1]), pair(v[2], v[3]), pair(v[4], v[5]), pair(v[6], v[7]));
        }
    }
}

// The LayerNorms' input x (and its gradient dx) in bf16 or in fp32 (an fp32 residual stream in a
// bf16 model); gamma, beta, y and dy are bf16. Eight values at a time from a 16-byte-aligned row
// (vec), or one.
__device__ __forceinline__ void load8(const unsigned short* p, long long i, float* v) { unpack(reinterpret_cast<const uint4*>(p)[i], v); }
__device__ __forceinline__ void load8(const float* p, long long i, float* v) {
    const float4 a = reinterpret_cast<const float4*>(p)[2 * i], b = reinterpret_cast<const float4*>(p)[2 * i + 1];
    v[0] = a.x; v[1] = a.y; v[2] = a.z; v[3] = a.w; v[4] = b.x; v[5] = b.y; v[6] = b.z; v[7] = b.w;
}
__device__ __forceinline__ void store8(unsigned short* p, long long i, const float* v) {
    reinterpret_cast<uint4*>(p)[i] = make_uint4(pair(v[0], v[1]), pair(v[2], v[3]), pair(v[4], v[5]), pair(v[6], v[7]));
}
__device__ __forceinline__ void store8(float* p, long long i, const float* v) {
    reinterpret_cast<float4*>(p)[2 * i] = make_float4(v[0], v[1], v[2], v[3]);
    reinterpret_cast<float4*>(p)[2 * i + 1] = make_float4(v[4], v[5], v[6], v[7]);
}
__device__ __forceinline__ float load1(const unsigned short* p, long long i) { return bf16_to_float(p[i]); }
__device__ __forceinline__ float load1(const float* p, long long i) { return p[i]; }
__device__ __forceinline__ void store1(unsigned short* p, long long i, float v) { p[i] = (unsigned short)float_to_bf16(v); }
__device__ __forceinline__ void store1(float* p, long long i, float v) { p[i] = v; }
__device__ __forceinline__ unsigned long long address(const void* p) { return (unsigned long long)p; }
// Eight values written to a residual stream and replaced by what was written: fp32 as they are;
// bf16 rounded to nearest even, or, for a nonzero salt, stochastically: up with the probability
// of the value's distance from the bf16 value below it, in units of the step (unbiased: the
// stream keeps, on average, updates smaller than its step, which rounding to nearest loses). The
// random bits are a hash of the value's bits, its index `at` and the salt (no state: the same bits
// on every run and under graph replay).
__device__ __forceinline__ unsigned int mix32(unsigned int v) {
    v ^= v >> 16; v *= 0x7feb352du; v ^= v >> 15; v *= 0x846ca68bu; v ^= v >> 16;
    return v;
}
__device__ __forceinline__ unsigned int float_to_bf16_stochastic(float f, unsigned int key) {
    const unsigned int u = __float_as_uint(f);
    if ((u & 0x7f800000u) == 0x7f800000u) return float_to_bf16(f);  // inf and NaN as they are
    return (u + (mix32(u ^ key) & 0xffffu)) >> 16;
}
__device__ __forceinline__ void round_store8(float* p, long long i, float* v, unsigned int, long long) { store8(p, i, v); }
__device__ __forceinline__ void round_store8(unsigned short* p, long long i, float* v, unsigned int salt, long long at) {
    unsigned int b[8];
    for (int k = 0; k < 8; ++k)
        b[k] = salt != 0u ? float_to_bf16_stochastic(v[k], salt ^ mix32((unsigned int)(at + k) * 0x9e3779b9u)) : float_to_bf16(v[k]);
    for (int k = 0; k < 8; ++k) v[k] = bf16_to_float(b[k]);
    reinterpret_cast<uint4*>(p)[i] = make_uint4(b[0] | (b[1] << 16), b[2] | (b[3] << 16), b[4] | (b[5] << 16), b[6] | (b[7] << 16));
}
// one value so (the key of value `at` the same as round_store8's): returns the value as written
__device__ __forceinline__ float round_store1(float* p, long long i, float v, unsigned int, long long) {
    p[i] = v;
    return v;
}
__device__ __forceinline__ float round_store1(unsigned short* p, long long i, float v, unsigned int salt, long long at) {
    const unsigned int b = salt != 0u ? float_to_bf16_stochastic(v, salt ^ mix32((unsigned int)at * 0x9e3779b9u)) : float_to_bf16(v);
    p[i] = (unsigned short)b;
    return bf16_to_float(b);
}

// LayerNorm's input gradient, one warp a row of d values: with g = dy gamma and xhat = (x - mean)
// rstd, dx = rstd (g - mean(g) - xhat mean(g xhat)). Two passes over the row (the second from L1/L2).
// Where dx_lo is given, dx's bf16 rounding is written there too (an fp32 stream's gradient in the
// dtype of the bf16 layers that read it). A bf16 dx is rounded as round_store8 says (stochastically
// for a nonzero salt, with the one-pass backward's draws).
__device__ __forceinline__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
// eight values' share of the row sums of g = dy gamma and g xhat (a = dy, b = x, c = gamma)
__device__ __forceinline__ void ln_row_sums8(const float* a, const float* b, const float* c, float mu, float rs, float& sg, float& sgx) {
    for (int k = 0; k < 8; ++k) {
        const float g = a[k] * c[k];
        sg += g;
        sgx += g * (b[k] - mu) * rs;
    }
}
template <typename X>
__device__ __forceinline__ void ln_dx(const unsigned short* __restrict__ dy, const X* __restrict__ x, const float* __restrict__ mean,
                                      const float* __restrict__ rstd, const unsigned short* __restrict__ gamma, const X* __restrict__ dres,
                                      X* __restrict__ dx, unsigned short* __restrict__ dx_lo, long long rows, int d, unsigned int salt) {
    const long long row = (long long)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
    if (row >= rows) return;
    const int lane = threadIdx.x & 31;
    const long long base = row * d;
    const float mu = mean[row], rs = rstd[row];
    const bool vec = (d & 7) == 0 && ((address(dy + base) | address(x + base) | address(dx + base) | address(gamma) |
                                       (dres != nullptr ? address(dres + base) : 0ull) | (dx_lo != nullptr ? address(dx_lo + base) : 0ull)) &
                                      15) == 0;
    const int nvec = vec ? d / 8 : 0;
    float sg = 0.0f, sgx = 0.0f, a[8], b[8], c[8], r[8];
    for (int i = lane; i < nvec; i += 32) {
        load8(dy + base, i, a);
        load8(x + base, i, b);
        load8(gamma, i, c);
        ln_row_sums8(a, b, c, mu, rs, sg, sgx);
    }
    for (int i = nvec * 8 + lane; i < d; i += 32) {
        const float g = load1(dy + base, i) * load1(gamma, i);
        sg += g;
        sgx += g * (load1(x + base, i) - mu) * rs;
    }
    const float mg = warp_sum(sg) / d, mgx = warp_sum(sgx) / d;
    for (int i = lane; i < nvec; i += 32) {
        load8(dy + base, i, a);
        load8(x + base, i, b);
        load8(gamma, i, c);
        if (dres != nullptr)
            load8(dres + base, i, r);
        else
            for (int k = 0; k < 8; ++k) r[k] = 0.0f;
        for (int k = 0; k < 8; ++k) a[k] = rs * (a[k] * c[k] - mg - (b[k] - mu) * rs * mgx) + r[k];
        round_store8(dx + base, i, a, salt, base + 8 * i);  // a := dx as written
        if (dx_lo != nullptr) store8(dx_lo + base, i, a);
    }
    for (int i = nvec * 8 + lane; i < d; i += 32) {
        const float g = load1(dy + base, i) * load1(gamma, i);
        const float v = rs * (g - mg - (load1(x + base, i) - mu) * rs * mgx) + (dres != nullptr ? load1(dres + base, i) : 0.0f);
        const float w = round_store1(dx + base, i, v, salt, base + i);
        if (dx_lo != nullptr) store1(dx_lo + base, i, w);
    }
}
extern "C" __global__ void __launch_bounds__(256)
fracnas_ln_dx_bf16(const unsigned short* dy, const unsigned short* x, const float* mean, const float* rstd, const unsigned short* gamma,
                   const unsigned short* dres, unsigned short* dx, unsigned short* dx_lo, long long rows, int d, unsigned int salt) {
    ln_dx(dy, x, mean, rstd, gamma, dres, dx, dx_lo, rows, d, salt);
}
extern "C" __global__ void __launch_bounds__(256)
fracnas_ln_dx_f32(const unsigned short* dy, const float* x, const float* mean, const float* rstd, const unsigned short* gamma,
                  const float* dres, float* dx, unsigned short* dx_lo, long long rows, int d, unsigned int salt) {
    ln_dx(dy, x, mean, rstd, gamma, dres, dx, dx_lo, rows, d, salt);
}

// Eight values of a row as loaded, unpacked to fp32 on use: bf16 one uint4, fp32 two float4s
template <typename X> struct raw8;
template <> struct raw8<unsigned short> { uint4 v; };
template <> struct raw8<float> { float4 a, b; };
__device__ __forceinline__ void load_raw(const unsigned short* p, long long i, raw8<unsigned short>& r) { r.v = reinterpret_cast<const uint4*>(p)[i]; }
__device__ __forceinline__ void load_raw(const float* p, long long i, raw8<float>& r) {
    r.a = reinterpret_cast<const float4*>(p)[2 * i];
    r.b = reinterpret_cast<const float4*>(p)[2 * i + 1];
}
__device__ __forceinline__ void unpack_raw(const raw8<unsigned short>& r, float* v) { unpack(r.v, v); }
__device__ __forceinline__ void unpack_raw(const raw8<float>& r, float* v) {
    v[0] = r.a.x; v[1] = r.a.y; v[2] = r.a.z; v[3] = r.a.w; v[4] = r.b.x; v[5] = r.b.y; v[6] = r.b.z; v[7] = r.b.w;
}

// LayerNorm's whole backward in one pass for rows of at most NG * 256 values, d a multiple of 8
// and every row 16-byte aligned: a block of FRACNAS_LN_WARPS warps a slab of rows, a warp a row
// at a time, with HOLD the row's dy and x read once into registers (as loaded) for both the row
// sums and dx, else read twice (the second from L1/L2: where holding them would spill). Each row's input gradient as ln_dx (plus dres, and into dx_lo, where given), and the
// weight gradients' sums over the slab in shared memory, each warp its own and each lane its own
// NG groups of 8 columns (no two threads touch one sum, and the registers stay few: more warps an
// SM than sums held in registers allow), then summed over the warps in a fixed order into
// partial (slabs, S, d): the same bits every run. With S = 3 the third sums are those of dx's
// bf16 rounding: the bias gradient of the linear layer whose output's gradient dx is.
#define FRACNAS_LN_WARPS 4
template <typename X, int NG, int S, bool HOLD>
__device__ __forceinline__ void ln_backward_slab(const unsigned short* __restrict__ dy, const X* __restrict__ x,
                                                 const float* __restrict__ mean, const float* __restrict__ rstd,
                                                 const unsigned short* __restrict__ gamma, const X* __restrict__ dres, X* __restrict__ dx,
                                                 unsigned short* __restrict__ dx_lo, float* __restrict__ partial, long long rows, int d,
                                                 int slab_rows, unsigned int salt) {
    // [warp][dgamma, dbeta, dx's][columns 8i..8i+3, 8i+4..8i+7][i]: a lane's float4s side by side
    // with its neighbours' (no bank conflicts)
    __shared__ float4 acc[FRACNAS_LN_WARPS][S][2][NG * 32];
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, nvec = d / 8;
    float a[8], b[8], c[8], r[8];
    uint4 pdy[HOLD ? NG : 1];
    raw8<X> px[HOLD ? NG : 1];
#pragma unroll
    for (int j = 0; j < NG; ++j)
        for (int q = 0; q < 2 * S; ++q) acc[warp][q >> 1][q & 1][lane + 32 * j] = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
    const long long r0 = (long long)blockIdx.x * slab_rows, r1 = min(rows, r0 + slab_rows);
    for (long long row = r0 + warp; row < r1; row += FRACNAS_LN_WARPS) {
        const long long base = row * d;
        if (HOLD) {
#pragma unroll
            for (int j = 0; j < NG; ++j) {
                const int i = lane + 32 * j;
                if (i < nvec) {
                    pdy[HOLD ? j : 0] = reinterpret_cast<const uint4*>(dy + base)[i];
                    load_raw(x + base, i, px[HOLD ? j : 0]);
                }
            }
        }
        const float mu = mean[row], rs = rstd[row];
        float sg = 0.0f, sgx = 0.0f;
        // a := dy, b := x (from the registers with HOLD, else loaded), c := gamma at group j (column group i)
        const auto row_values = [&](int j, int i, long long at) {
            if (HOLD) {
                unpack(pdy[HOLD ? j : 0], a);
                unpack_raw(px[HOLD ? j : 0], b);
            } else {
                load8(dy + at, i, a);
                load8(x + at, i, b);
            }
            load8(gamma, i, c);
        };
#pragma unroll
        for (int j = 0; j < NG; ++j) {
            const int i = lane + 32 * j;
            if (i >= nvec) break;
            row_values(j, i, base);
            ln_row_sums8(a, b, c, mu, rs, sg, sgx);
        }
        const float mg = warp_sum(sg) / d, mgx = warp_sum(sgx) / d;
#pragma unroll
        for (int j = 0; j < NG; ++j) {
            const int i = lane + 32 * j;
            if (i >= nvec) break;
            row_values(j, i, base);
            if (dres != nullptr)
                load8(dres + base, i, r);
            else
                for (int k = 0; k < 8; ++k) r[k] = 0.0f;
            float4 w0 = acc[warp][0][0][i], w1 = acc[warp][0][1][i], g0 = acc[warp][1][0][i], g1 = acc[warp][1][1][i];
            float xh[8];
            for (int k = 0; k < 8; ++k) xh[k] = (b[k] - mu) * rs;
            w0.x += a[0] * xh[0]; w0.y += a[1] * xh[1]; w0.z += a[2] * xh[2]; w0.w += a[3] * xh[3];
            w1.x += a[4] * xh[4]; w1.y += a[5] * xh[5]; w1.z += a[6] * xh[6]; w1.w += a[7] * xh[7];
            g0.x += a[0]; g0.y += a[1]; g0.z += a[2]; g0.w += a[3];
            g1.x += a[4]; g1.y += a[5]; g1.z += a[6]; g1.w += a[7];
            acc[warp][0][0][i] = w0; acc[warp][0][1][i] = w1; acc[warp][1][0][i] = g0; acc[warp][1][1][i] = g1;
            for (int k = 0; k < 8; ++k) a[k] = rs * (a[k] * c[k] - mg - xh[k] * mgx) + r[k];
            round_store8(dx + base, i, a, salt, base + 8 * i);  // a := dx as written (bf16: rounded)
            if (dx_lo != nullptr) store8(dx_lo + base, i, a);
            if (S == 3) {
                for (int k = 0; k < 8; ++k) r[k] = bf16_to_float(float_to_bf16(a[k]));
                float4 s0 = acc[warp][S - 1][0][i], s1 = acc[warp][S - 1][1][i];
                s0.x += r[0]; s0.y += r[1]; s0.z += r[2]; s0.w += r[3];
                s1.x += r[4]; s1.y += r[5]; s1.z += r[6]; s1.w += r[7];
                acc[warp][S - 1][0][i] = s0; acc[warp][S - 1][1][i] = s1;
            }
        }
    }
    // the warps' sums added in warp order, a thread a (sum, column) at a time
    __syncthreads();
    const float* sums = reinterpret_cast<const float*>(&acc[0][0][0][0]);
    for (int q = threadIdx.x; q < S * d; q += blockDim.x) {
        const int which = q / d, col = q - which * d, i = col >> 3, half = (col >> 2) & 1;
        float s = 0.0f;
        for (int w = 0; w < FRACNAS_LN_WARPS; ++w) s += sums[((w * S + which) * 2 + half) * (NG * 128) + i * 4 + (col & 3)];
        partial[((long long)blockIdx.x * S + which) * d + col] = s;
    }
}
// MINB: the blocks an SM holds by their shared memory (S NG 4 KiB each, 227 KiB an SM, at most
// 8): the registers a thread may take follow from it, and HOLD where the row fits in them
#define FRACNAS_LN_BACKWARD(NAME, X, NG, S, MINB, HOLD)                                                                            \
    extern "C" __global__ void __launch_bounds__(FRACNAS_LN_WARPS * 32, MINB) NAME(                                              \
        const unsigned short* dy, const X* x, const float* mean, const float* rstd, const unsigned short* gamma, const X* dres,   \
        X* dx, unsigned short* dx_lo, float* partial, long long rows, int d, int slab_rows, unsigned int salt) {                  \
        ln_backward_slab<X, NG, S, HOLD>(dy, x, mean, rstd, gamma, dres, dx, dx_lo, partial, rows, d, slab_rows, salt);          \
    }
// the bf16 and the fp32 kernel of NG groups and S sums (SUFFIX: "" for 2, s for 3)
#define FRACNAS_LN_BACKWARDS(NG, S, SUFFIX, MINB, HOLD_BF16, HOLD_F32)                                                         \
    FRACNAS_LN_BACKWARD(fracnas_ln_backward_bf16_##NG##SUFFIX, unsigned short, NG, S, MINB, HOLD_BF16)                          \
    FRACNAS_LN_BACKWARD(fracnas_ln_backward_f32_##NG##SUFFIX, float, NG, S, MINB, HOLD_F32)
FRACNAS_LN_BACKWARDS(1, 2, , 8, true, true)
FRACNAS_LN_BACKWARDS(2, 2, , 8, true, false)
FRACNAS_LN_BACKWARDS(3, 2, , 8, false, false)
FRACNAS_LN_BACKWARDS(4, 2, , 6, false, false)
FRACNAS_LN_BACKWARDS(1, 3, s, 8, true, true)
FRACNAS_LN_BACKWARDS(2, 3, s, 8, true, false)
FRACNAS_LN_BACKWARDS(3, 3, s, 6, true, true)
FRACNAS_LN_BACKWARDS(4, 3, s, 4, true, true)

// Column sums from partial (slabs, sums, d), sums 1 to 3: a block takes 32 columns and a chunk of
// slabs (gridDim.y chunks), its 16 phases each adding every 16th slab, then the phases added in
// order; with `stage` the chunk's sums go there (gridDim.y, sums, d) in fp32 for a second launch
// over the chunks, else they are rounded once to bf16 into out0 (and out1, out2): a fixed order,
// the same bits every run, and enough blocks to read a long partial at the memory's rate
extern "C" __global__ void __launch_bounds__(512) fracnas_column_sums_bf16(const float* __restrict__ partial, unsigned short* __restrict__ out0,
                                                                            unsigned short* __restrict__ out1, unsigned short* __restrict__ out2,
                                                                            float* __restrict__ stage, int slabs, int sums, int d, int chunk) {
    __shared__ float sh[3][16][33];
    const int c = blockIdx.x * 32 + threadIdx.x;
    const int first = blockIdx.y * chunk, last = min(slabs, first + chunk);
    float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f;
    if (c < d)
        for (int s = first + threadIdx.y; s < last; s += 16) {
            s0 += partial[(long long)s * sums * d + c];
            if (sums > 1) s1 += partial[((long long)s * sums + 1) * d + c];
            if (sums > 2) s2 += partial[((long long)s * sums + 2) * d + c];
        }
    sh[0][threadIdx.y][threadIdx.x] = s0;
    sh[1][threadIdx.y][threadIdx.x] = s1;
    sh[2][threadIdx.y][threadIdx.x] = s2;
    __syncthreads();
    if ((int)threadIdx.y < sums && c < d) {
        float t = 0.0f;
        for (int k = 0; k < 16; ++k) t += sh[threadIdx.y][k][threadIdx.x];
        if (stage != nullptr)
            stage[((long long)blockIdx.y * sums + threadIdx.y) * d + c] = t;
        else
            (threadIdx.y == 0 ? out0 : threadIdx.y == 1 ? out1 : out2)[c] = (unsigned short)float_to_bf16(t);
    }
}

// GELU's backward (tanh form, in fp32) for bf16 (rows, f), and the bias
// gradient of the layer before it: dpre = dh gelu'(pre) rounded once to bf16 (dpre may be dh:
// each thread reads its values before it writes them), and each block's sums of the rounded dpre
// over a slab of rows for 256 columns (32 x 8 threads, eight columns a thread) into partial
// (slabs, f), the 8 row phases added in order
__device__ __forceinline__ float gelu_tanh_backward(float dy, float x) {
    const float beta = 0.7978845608028654f, kappa = 0.044715f;  // sqrt(2 / pi), and GPT-2's cubic term
    const float x_sq = x * x, inner = beta * (x + kappa * x_sq * x);
    // with e = exp(2 inner) and r = 1 / (e + 1): (1 + tanh) / 2 = e r and 1 - tanh^2 = 4 e r^2, by
    // the hardware's exp and reciprocal and without the cancellation of 1 + tanh(inner) for inner
    // << 0 (where LibTorch's formula loses every digit); inner capped at 20, where tanh is 1 in fp32
    const float e = __expf(2.0f * fminf(inner, 20.0f)), r = __fdividef(1.0f, e + 1.0f), half_one_plus_t = e * r;
    const float inner_derivative = beta * (1.0f + 3.0f * kappa * x_sq);
    return dy * (half_one_plus_t + 0.5f * x * (4.0f * half_one_plus_t * r) * inner_derivative);
}
// s[k] += the k-th of the eight bf16 values packed in q
__device__ __forceinline__ void sum_rounded(const uint4& q, float* s) {
    s[0] += low(q.x); s[1] += high(q.x); s[2] += low(q.y); s[3] += high(q.y);
    s[4] += low(q.z); s[5] += high(q.z); s[6] += low(q.w); s[7] += high(q.w);
}
extern "C" __global__ void __launch_bounds__(256) fracnas_gelu_backward_bias_bf16(const unsigned short* dh, const unsigned short* __restrict__ pre,
                                                                                   unsigned short* dpre, float* __restrict__ partial,
                                                                                   long long rows, int f, int slab_rows) {
    __shared__ float sh[8][256];
    const int c0 = blockIdx.x * 256 + threadIdx.x * 8;
    const long long r0 = (long long)blockIdx.y * slab_rows, r1 = min(rows, r0 + slab_rows);
    const bool vec = (f & 7) == 0 && ((address(dh) | address(pre) | address(dpre)) & 15) == 0 && c0 + 8 <= f;
    float s[8], a[8], b[8];
    for (int k = 0; k < 8; ++k) s[k] = 0.0f;
    long long r = r0 + threadIdx.y;
    if (vec) {
        // four rows' loads issued before any of their arithmetic: more bytes in flight a thread
        for (; r + 24 < r1; r += 32) {
            uint4 h[4], p[4];
#pragma unroll
            for (int u = 0; u < 4; ++u) {
                h[u] = *reinterpret_cast<const uint4*>(dh + (r + 8 * u) * f + c0);
                p[u] = *reinterpret_cast<const uint4*>(pre + (r + 8 * u) * f + c0);
            }
#pragma unroll
            for (int u = 0; u < 4; ++u) {
                unpack(h[u], a);
                unpack(p[u], b);
                for (int k = 0; k < 8; ++k) a[k] = gelu_tanh_backward(a[k], b[k]);
                const uint4 q = make_uint4(pair(a[0], a[1]), pair(a[2], a[3]), pair(a[4], a[5]), pair(a[6], a[7]));
                *reinterpret_cast<uint4*>(dpre + (r + 8 * u) * f + c0) = q;
                sum_rounded(q, s);
            }
        }
    }
    for (; r < r1; r += 8) {
        const long long base = r * f;
        if (vec) {
            load8(dh + base + c0, 0, a);
            load8(pre + base + c0, 0, b);
            for (int k = 0; k < 8; ++k) a[k] = gelu_tanh_backward(a[k], b[k]);
            const uint4 q = make_uint4(pair(a[0], a[1]), pair(a[2], a[3]), pair(a[4], a[5]), pair(a[6], a[7]));
            *reinterpret_cast<uint4*>(dpre + base + c0) = q;
            sum_rounded(q, s);
        } else {
            for (int k = 0; k < 8 && c0 + k < f; ++k) {
                const float g = bf16_to_float(float_to_bf16(gelu_tanh_backward(load1(dh, base + c0 + k), load1(pre, base + c0 + k))));
                store1(dpre, base + c0 + k, g);
                s[k] += g;
            }
        }
    }
    for (int k = 0; k < 8; ++k) sh[threadIdx.y][threadIdx.x * 8 + k] = s[k];
    __syncthreads();
    const int t = threadIdx.y * 32 + threadIdx.x, col = blockIdx.x * 256 + t;
    float sum = 0.0f;
    for (int k = 0; k < 8; ++k) sum += sh[k][t];
    if (col < f) partial[(long long)blockIdx.y * f + col] = sum;
}

// Attention's q, k and v gradients, each (B, nh, T, hs) with its own strides (hs's 1), side by
// side in the (B T, 3 C) gradient of the projection that made them (C = nh hs: q's columns, then
// k's, then v's), and each block's sums of those values over a slab of rows for 256 columns (32 x
// 8 threads, eight columns a thread) into partial (slabs, 3 C), the 8 row phases added in order:
// the projection's bias gradient from the same pass (fracnas_column_sums_bf16 ends it). hs a
// multiple of 8, every stride but hs's a multiple of 8 and the pointers 16-byte aligned (the
// host checks): eight columns are one 16-byte load and store and never cross a head.
struct fracnas_heads {
    const unsigned short* p[3];
    long long batch[3], head[3], pos[3];  // strides in elements
};
extern "C" __global__ void __launch_bounds__(256) fracnas_qkv_pack_bf16(fracnas_heads in, unsigned short* __restrict__ out,
                                                                         float* __restrict__ partial, long long rows, int T, int hs, int C,
                                                                         int slab_rows) {
    __shared__ float sh[8][256];
    const int width = 3 * C, c0 = blockIdx.x * 256 + threadIdx.x * 8;
    float s[8];
    for (int k = 0; k < 8; ++k) s[k] = 0.0f;
    if (c0 < width) {
        const int which = c0 / C, within = c0 - which * C, h = within / hs;
        // selected, not indexed: an index into the parameters would copy them to local memory
        const unsigned short* __restrict__ src = (which == 0 ? in.p[0] : which == 1 ? in.p[1] : in.p[2]) +
                                                 h * (which == 0 ? in.head[0] : which == 1 ? in.head[1] : in.head[2]) + (within - h * hs);
        const long long sb = which == 0 ? in.batch[0] : which == 1 ? in.batch[1] : in.batch[2];
        const long long st = which == 0 ? in.pos[0] : which == 1 ? in.pos[1] : in.pos[2];
        const long long r0 = (long long)blockIdx.y * slab_rows, r1 = min(rows, r0 + slab_rows);
        long long r = r0 + threadIdx.y;
        // four rows' loads issued before their stores: more bytes in flight a thread
        for (; r + 24 < r1; r += 32) {
            uint4 q[4];
#pragma unroll
            for (int u = 0; u < 4; ++u) {
                const int row = (int)(r + 8 * u), b = row / T;  // rows < 2^31 (the host checks)
                q[u] = *reinterpret_cast<const uint4*>(src + b * sb + (long long)(row - b * T) * st);
            }
#pragma unroll
            for (int u = 0; u < 4; ++u) {
                *reinterpret_cast<uint4*>(out + (r + 8 * u) * width + c0) = q[u];
                sum_rounded(q[u], s);
            }
        }
        for (; r < r1; r += 8) {
            const int row = (int)r, b = row / T;
            const uint4 q = *reinterpret_cast<const uint4*>(src + b * sb + (long long)(row - b * T) * st);
            *reinterpret_cast<uint4*>(out + r * width + c0) = q;
            sum_rounded(q, s);
        }
    }
    for (int k = 0; k < 8; ++k) sh[threadIdx.y][threadIdx.x * 8 + k] = s[k];
    __syncthreads();
    const int t = threadIdx.y * 32 + threadIdx.x, col = blockIdx.x * 256 + t;
    float sum = 0.0f;
    for (int k = 0; k < 8; ++k) sum += sh[k][t];
    if (col < width) partial[(long long)blockIdx.y * width + col] = sum;
}

// LayerNorm's forward, one warp a row: the mean, then the variance about it (two passes, not the
// sum of squares: no cancellation on a residual stream far from zero), then y = xhat gamma + beta;
// mean and rstd kept for the backward. The row is read three times (the last two from L1/L2). With
// ADD, the row is x + yin, rounded to X as round_store8 says and written to s in the first pass
// (the stream ln_rows's ADD writes, with the same draws), and the later passes read s.
template <typename X, bool ADD>
__device__ __forceinline__ void ln_forward(const X* __restrict__ x, const unsigned short* __restrict__ yin,
                                           const unsigned short* __restrict__ gamma, const unsigned short* __restrict__ beta,
                                           X* __restrict__ s, unsigned short* __restrict__ y, float* __restrict__ mean,
                                           float* __restrict__ rstd, long long rows, int d, float eps, unsigned int salt) {
    const long long row = (long long)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
    if (row >= rows) return;
    const int lane = threadIdx.x & 31;
    const long long base = row * d;
    const bool vec = (d & 7) == 0 && ((address(x + base) | address(y + base) | address(gamma) | address(beta) |
                                       (ADD ? address(yin + base) | address(s + base) : 0ull)) &
                                      15) == 0;
    const int nvec = vec ? d / 8 : 0;
    float a[8], b[8], c[8], sum = 0.0f;
    for (int i = lane; i < nvec; i += 32) {
        load8(x + base, i, a);
        if (ADD) {
            load8(yin + base, i, b);
            for (int k = 0; k < 8; ++k) a[k] += b[k];
            round_store8(s + base, i, a, salt, base + 8 * i);  // a := the sum as written
        }
        for (int k = 0; k < 8; ++k) sum += a[k];
    }
    for (int i = nvec * 8 + lane; i < d; i += 32)
        sum += ADD ? round_store1(s + base, i, load1(x + base, i) + load1(yin + base, i), salt, base + i) : load1(x + base, i);
    // the same lane reads back what it wrote (s is written here: no read-only loads of it)
    const X* src = ADD ? s : x;
    const float mu = warp_sum(sum) / d;
    float var = 0.0f;
    for (int i = lane; i < nvec; i += 32) {
        load8(src + base, i, a);
        for (int k = 0; k < 8; ++k) var += (a[k] - mu) * (a[k] - mu);
    }
    for (int i = nvec * 8 + lane; i < d; i += 32) {
        const float v = load1(src + base, i) - mu;
        var += v * v;
    }
    const float rs = rsqrtf(warp_sum(var) / d + eps);
    if (lane == 0) {
        mean[row] = mu;
        rstd[row] = rs;
    }
    for (int i = lane; i < nvec; i += 32) {
        load8(src + base, i, a);
        load8(gamma, i, b);
        load8(beta, i, c);
        for (int k = 0; k < 8; ++k) a[k] = (a[k] - mu) * rs * b[k] + c[k];
        store8(y + base, i, a);
    }
    for (int i = nvec * 8 + lane; i < d; i += 32)
        store1(y + base, i, (load1(src + base, i) - mu) * rs * load1(gamma, i) + load1(beta, i));
}
// The same for d a multiple of 8 up to 1,024 with 16-byte-aligned rows, the row read once and
// held in registers (a lane 4 groups of 8 values); with ADD, the row is first x + yin (a layer's
// bf16 output added to the residual stream x), rounded to X and written to s: the stream that
// LayerNorm normalises and the next block reads. For a bf16 stream and a nonzero salt the rounding
// is stochastic (round_store8).
template <typename X, bool ADD>
__device__ __forceinline__ void ln_rows(const X* __restrict__ x, const unsigned short* __restrict__ yin,
                                        const unsigned short* __restrict__ gamma, const unsigned short* __restrict__ beta,
                                        X* __restrict__ s, unsigned short* __restrict__ y, float* __restrict__ mean,
                                        float* __restrict__ rstd, long long rows, int d, float eps, unsigned int salt) {
    const long long row = (long long)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
    if (row >= rows) return;
    const int lane = threadIdx.x & 31, nvec = d / 8;
    const long long base = row * d;
    float v[4][8], t[8], g[8], sum = 0.0f;
#pragma unroll
    for (int j = 0; j < 4; ++j) {
        const int i = lane + 32 * j;
        if (i < nvec) {
            load8(x + base, i, v[j]);
            if (ADD) {
                load8(yin + base, i, t);
                for (int k = 0; k < 8; ++k) v[j][k] += t[k];
                round_store8(s + base, i, v[j], salt, base + 8 * i);
            }
            for (int k = 0; k < 8; ++k) sum += v[j][k];
        }
    }
    const float mu = warp_sum(sum) / d;
    float var = 0.0f;
#pragma unroll
    for (int j = 0; j < 4; ++j)
        if (lane + 32 * j < nvec)
            for (int k = 0; k < 8; ++k) var += (v[j][k] - mu) * (v[j][k] - mu);
    const float rs = rsqrtf(warp_sum(var) / d + eps);
    if (lane == 0) {
        mean[row] = mu;
        rstd[row] = rs;
    }
#pragma unroll
    for (int j = 0; j < 4; ++j) {
        const int i = lane + 32 * j;
        if (i < nvec) {
            load8(gamma, i, g);
            load8(beta, i, t);
            for (int k = 0; k < 8; ++k) t[k] += (v[j][k] - mu) * rs * g[k];
            store8(y + base, i, t);
        }
    }
}
// the forwards, held rows (ln_rows) or any (ln_forward), one signature
#define FRACNAS_LN_ROWS(NAME, F, X, ADD)                                                                                                \
    extern "C" __global__ void __launch_bounds__(256)                                                                                   \
        NAME(const X* x, const unsigned short* yin, const unsigned short* gamma, const unsigned short* beta, X* s, unsigned short* y,    \
             float* mean, float* rstd, long long rows, int d, float eps, unsigned int salt) {                                            \
        F<X, ADD>(x, yin, gamma, beta, s, y, mean, rstd, rows, d, eps, salt);                                                            \
    }
FRACNAS_LN_ROWS(fracnas_ln_rows_bf16, ln_rows, unsigned short, false)
FRACNAS_LN_ROWS(fracnas_ln_rows_f32, ln_rows, float, false)
FRACNAS_LN_ROWS(fracnas_ln_add_bf16, ln_rows, unsigned short, true)
FRACNAS_LN_ROWS(fracnas_ln_add_f32, ln_rows, float, true)
FRACNAS_LN_ROWS(fracnas_ln_forward_bf16, ln_forward, unsigned short, false)
FRACNAS_LN_ROWS(fracnas_ln_forward_f32, ln_forward, float, false)
FRACNAS_LN_ROWS(fracnas_ln_add_wide_bf16, ln_forward, unsigned short, true)
FRACNAS_LN_ROWS(fracnas_ln_add_wide_f32, ln_forward, float, true)

// LayerNorm's weight and bias gradients, in two steps with a fixed order of sums (the same bits
// every run): each block sums dy xhat and dy over a slab of rows for 256 columns (32 x 8
// threads, eight columns a thread, 16-byte loads where the rows allow) into partial (slabs, 2,
// d) in fp32; then fracnas_column_sums_bf16 adds the slabs in a fixed order and rounds once.
template <typename X>
__device__ __forceinline__ void ln_dgamma_partial(const unsigned short* __restrict__ dy, const X* __restrict__ x,
                                                  const float* __restrict__ mean, const float* __restrict__ rstd,
                                                  float* __restrict__ partial, long long rows, int d, int slab_rows) {
    __shared__ float sh[8][2][256];
    const int c0 = blockIdx.x * 256 + threadIdx.x * 8;
    const long long r0 = (long long)blockIdx.y * slab_rows;
    const long long r1 = min(rows, r0 + slab_rows);
    const bool vec = (d & 7) == 0 && ((address(dy) | address(x)) & 15) == 0 && c0 + 8 <= d;
    float gw[8], gb[8], a[8], b[8];
    for (int k = 0; k < 8; ++k) gw[k] = gb[k] = 0.0f;
    for (long long r = r0 + threadIdx.y; r < r1; r += 8) {
        const float mu = mean[r], rs = rstd[r];
        const long long base = r * d;
        if (vec) {
            load8(dy + base + c0, 0, a);
            load8(x + base + c0, 0, b);
            for (int k = 0; k < 8; ++k) {
                gw[k] += a[k] * (b[k] - mu) * rs;
                gb[k] += a[k];
            }
        } else {
            for (int k = 0; k < 8 && c0 + k < d; ++k) {
                const float g = load1(dy, base + c0 + k);
                gw[k] += g * (load1(x, base + c0 + k) - mu) * rs;
                gb[k] += g;
            }
        }
    }
    for (int k = 0; k < 8; ++k) {
        sh[threadIdx.y][0][threadIdx.x * 8 + k] = gw[k];
        sh[threadIdx.y][1][threadIdx.x * 8 + k] = gb[k];
    }
    __syncthreads();
    // 256 columns x 2 sums, each over the 8 row phases in order: a thread a (column, sum)
    const int t = threadIdx.y * 32 + threadIdx.x;
    for (int q = t; q < 512; q += 256) {
        const int which = q >> 8, col = q & 255;
        float sum = 0.0f;
        for (int k = 0; k < 8; ++k) sum += sh[k][which][col];
        if (blockIdx.x * 256 + col < d) partial[((long long)blockIdx.y * 2 + which) * d + blockIdx.x * 256 + col] = sum;
    }
}
extern "C" __global__ void __launch_bounds__(256)
fracnas_ln_dgamma_partial_bf16(const unsigned short* dy, const unsigned short* x, const float* mean, const float* rstd, float* partial,
                               long long rows, int d, int slab_rows) {
    ln_dgamma_partial(dy, x, mean, rstd, partial, rows, d, slab_rows);
}
extern "C" __global__ void __launch_bounds__(256)
fracnas_ln_dgamma_partial_f32(const unsigned short* dy, const float* x, const float* mean, const float* rstd, float* partial,
                              long long rows, int d, int slab_rows) {
    ln_dgamma_partial(dy, x, mean, rstd, partial, rows, d, slab_rows);
}
// SwiGLU's product for inference: out[r, j] = silu(gate)[r, j] * up[r, j] for gate_up (rows, 2 f),
// gate the first f columns of a row and up the last f, out (rows, f); silu(gate) rounded to bf16
// first and the product rounded again, as LibTorch's silu then mul compute them. A row a grid row,
// eight values a thread where f is a multiple of 8 and the tensors 16-byte aligned
__device__ __forceinline__ float swiglu1(float g, float u) { return bf16_to_float(float_to_bf16(g / (1.0f + expf(-g)))) * u; }
extern "C" __global__ void __launch_bounds__(256) fracnas_swiglu_bf16(const unsigned short* __restrict__ gate_up,
                                                                       unsigned short* __restrict__ out, int rows, int f) {
    const bool vec = f % 8 == 0 && ((address(gate_up) | address(out)) & 15) == 0;
    const int first = blockIdx.x * blockDim.x + threadIdx.x, stride = gridDim.x * blockDim.x;
    for (int r = blockIdx.y; r < rows; r += gridDim.y) {
        const unsigned short* in = gate_up + (long long)r * 2 * f;
        unsigned short* o = out + (long long)r * f;
        if (vec) {
            for (int c = first; c < f / 8; c += stride) {
                float g[8], u[8];
                load8(in, c, g);
                load8(in + f, c, u);
                for (int k = 0; k < 8; ++k) g[k] = swiglu1(g[k], u[k]);
                store8(o, c, g);
            }
        } else {
            for (int c = first; c < f; c += stride) store1(o, c, swiglu1(load1(in, c), load1(in + f, c)));
        }
    }
}
// SwiGLU's gradient for training: for gate_up (rows, 2 f) and the product's gradient dout
// (rows, f), dgate_up (rows, 2 f): the up half dout bf16(silu(gate)), the gate half bf16(dout up)
// s (1 + gate (1 - s)) with s = sigmoid(gate), each rounded once: LibTorch's mul backward then
// silu backward. Rows and threads as fracnas_swiglu_bf16
__device__ __forceinline__ void swiglu_grad1(float g, float u, float d, float& dg, float& du) {
    const float e = 1.0f + expf(-g), s = 1.0f / e;
    du = d * bf16_to_float(float_to_bf16(g / e));
    dg = bf16_to_float(float_to_bf16(d * u)) * (s * (1.0f + g * (1.0f - s)));
}
extern "C" __global__ void __launch_bounds__(256) fracnas_swiglu_backward_bf16(const unsigned short* __restrict__ gate_up,
                                                                                const unsigned short* __restrict__ dout,
                                                                                unsigned short* __restrict__ dgate_up, int rows, int f) {
    const bool vec = f % 8 == 0 && ((address(gate_up) | address(dout) | address(dgate_up)) & 15) == 0;
    const int first = blockIdx.x * blockDim.x + threadIdx.x, stride = gridDim.x * blockDim.x;
    for (int r = blockIdx.y; r < rows; r += gridDim.y) {
        const unsigned short* in = gate_up + (long long)r * 2 * f;
        const unsigned short* dy = dout + (long long)r * f;
        unsigned short* o = dgate_up + (long long)r * 2 * f;
        if (vec) {
            for (int c = first; c < f / 8; c += stride) {
                float g[8], u[8], d[8];
                load8(in, c, g);
                load8(in + f, c, u);
                load8(dy, c, d);
                for (int k = 0; k < 8; ++k) swiglu_grad1(g[k], u[k], d[k], g[k], u[k]);
                store8(o, c, g);
                store8(o + f, c, u);
            }
        } else {
            for (int c = first; c < f; c += stride) {
                float dg, du;
                swiglu_grad1(load1(in, c), load1(in + f, c), load1(dy, c), dg, du);
                store1(o, c, dg);
                store1(o + f, c, du);
            }
        }
    }
}
// Rotary positions and the KV cache's write for inference, in one pass over a projection's
// output qkv (B, T, C + 2 kw): q (its first C columns, heads of hs) rotated into q_out (B, T, C);
// k (the next kw columns) rotated and v (the last kw) copied into the cache (B, context, 2, kw) at
// positions pos .. pos + T - 1. Rotation of t at row p of the tables cos and signed_sin (T, hs, rows
// from pos): bf16(bf16(t[i] cos[i]) + t[(i + hs / 2) % hs] signed_sin[i]), as rotate() computes it
// with LibTorch's mul, roll and addcmul. A row (b, t) a grid row; eight values a thread where hs is a
// multiple of 16 and the tensors 16-byte aligned (a chunk and its partner then lie in one head)
__device__ __forceinline__ float rotate1(float x, float partner, float c, float sn) {
    return bf16_to_float(float_to_bf16(x * c)) + partner * sn;
}
extern "C" __global__ void __launch_bounds__(256) fracnas_rotary_cache_bf16(
    const unsigned short* __restrict__ qkv, const unsigned short* __restrict__ cos, const unsigned short* __restrict__ signed_sin,
    unsigned short* __restrict__ q_out, unsigned short* __restrict__ cache, int B, int T, int C, int kw, int hs, long long context,
    long long pos) {
    const int width = C + 2 * kw;
    const bool vec = hs % 16 == 0 && ((address(qkv) | address(cos) | address(signed_sin) | address(q_out) | address(cache)) & 15) == 0;
    const int step = vec ? 8 : 1, chunks = width / step;
    const int first = blockIdx.x * blockDim.x + threadIdx.x, stride = gridDim.x * blockDim.x;
    for (int row = blockIdx.y; row < B * T; row += gridDim.y) {
        const int b = row / T, t = row - b * T;
        const unsigned short* in = qkv + (long long)row * width;
        const unsigned short* cs = cos + (long long)t * hs;
        const unsigned short* sn = signed_sin + (long long)t * hs;
        const long long slot = ((long long)b * context + pos + t) * 2;  // the cache's (b, pos + t, 0, 0) in units of kw
        for (int c = first; c < chunks; c += stride) {
            const int j = c * step;
            if (j >= C + kw) {  // v: copied
                unsigned short* dst = cache + (slot + 1) * kw + (j - C - kw);
                if (vec)
                    *reinterpret_cast<uint4*>(dst) = reinterpret_cast<const uint4*>(in)[c];
                else
                    *dst = in[j];
                continue;
            }
            unsigned short* dst = j < C ? q_out + (long long)row * C + j : cache + slot * kw + (j - C);
            const int part = j < C ? 0 : C;  // where this head's part starts: q at 0, k at C
            const int head_start = part + ((j - part) / hs) * hs, i = j - head_start, p = head_start + (i + hs / 2) % hs;
            if (vec) {
                float x[8], y[8], c8[8], s8[8];
                load8(in, j / 8, x);
                load8(in, p / 8, y);
                load8(cs, i / 8, c8);
                load8(sn, i / 8, s8);
                for (int k = 0; k < 8; ++k) x[k] = rotate1(x[k], y[k], c8[k], s8[k]);
                store8(dst, 0, x);
            } else {
                store1(dst, 0, rotate1(load1(in, j), load1(in, p), load1(cs, i), load1(sn, i)));
            }
        }
    }
}
// out = x + y for an fp32 residual stream x and a bf16 layer output y (n values), eight at a
// time where all three are 16-byte aligned
extern "C" __global__ void __launch_bounds__(256) fracnas_residual_add_f32(const float* __restrict__ x, const unsigned short* __restrict__ y,
                                                                            float* __restrict__ out, long long n) {
    const long long stride = (long long)gridDim.x * blockDim.x;
    const long long first = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    const bool vec = ((address(x) | address(y) | address(out)) & 15) == 0;
    const long long nvec = vec ? n / 8 : 0;
    float a[8], b[8];
    for (long long i = first; i < nvec; i += stride) {
        load8(x, i, a);
        load8(y, i, b);
        for (int k = 0; k < 8; ++k) a[k] += b[k];
        store8(out, i, a);
    }
    for (long long i = nvec * 8 + first; i < n; i += stride) out[i] = x[i] + bf16_to_float(y[i]);
}

// AdamW for bf16 weights with fp32 masters, over a batch of tensors a launch: the tensor of each
// block found from the blocks' prefix (first_block), a block a chunk of FRACNAS_ADAM_CHUNK values.
// The host's adam_batch (device_kernels.cpp) has this layout.
#define FRACNAS_ADAM_BATCH 48
#define FRACNAS_ADAM_CHUNK 4096
struct fracnas_adam_tensor {
    const unsigned short* g;  // the gradient, bf16
    float* p;                 // the master, fp32
    float* m;                 // the first moment
    float* v;                 // the second moment
    unsigned short* w;        // the model's weight, bf16, written as p's rounding
    const float* step;        // the step count, already counting this step
    long long n;
    float wd;
    int first_block;
};
struct fracnas_adam_batch {
    fracnas_adam_tensor t[FRACNAS_ADAM_BATCH];
    int count, partial_offset;
    unsigned long long vec;  // bit i set: tensor i's pointers are 16-byte aligned and its size a multiple of 8
};
__device__ __forceinline__ int adam_tensor_of(const fracnas_adam_batch& b) {
    int i = 0;
    while (i + 1 < b.count && b.t[i + 1].first_block <= (int)blockIdx.x) ++i;
    return i;
}
__device__ __forceinline__ float block_sum(float v) {  // every thread ends with the block's sum; fixed order
    __shared__ float ws[32];
    v = warp_sum(v);
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, warps = (blockDim.x + 31) >> 5;
    __syncthreads();
    if (lane == 0) ws[warp] = v;
    __syncthreads();
    return warp_sum(lane < warps ? ws[lane] : 0.0f);
}
// The squares of the gradients summed, a block a chunk, into partial[partial_offset + block]
extern "C" __global__ void __launch_bounds__(256) fracnas_grad_sumsq_bf16(const fracnas_adam_batch b, float* __restrict__ partial) {
    const int i = adam_tensor_of(b);
    const fracnas_adam_tensor& t = b.t[i];
    const long long c0 = (long long)(blockIdx.x - t.first_block) * FRACNAS_ADAM_CHUNK;
    const long long c1 = min(t.n, c0 + FRACNAS_ADAM_CHUNK);
    float s = 0.0f, a[8];
    if ((b.vec >> i) & 1ull) {
        for (long long j = c0 + threadIdx.x * 8; j < c1; j += blockDim.x * 8) {
            unpack(*reinterpret_cast<const uint4*>(t.g + j), a);
            for (int k = 0; k < 8; ++k) s += a[k] * a[k];
        }
    } else {
        for (long long j = c0 + threadIdx.x; j < c1; j += blockDim.x) {
            const float g = bf16_to_float(t.g[j]);
            s += g * g;
        }
    }
    s = block_sum(s);
    if (threadIdx.x == 0) partial[b.partial_offset + blockIdx.x] = s;
}
// The clip's factor min(1, max_norm / (norm + 1e-6)) from the partial sums, in a fixed order, one block
extern "C" __global__ void __launch_bounds__(1024) fracnas_clip_scale(const float* __restrict__ partial, int count, float max_norm,
                                                                       float* __restrict__ scale) {
    float s = 0.0f;
    for (int j = threadIdx.x; j < count; j += blockDim.x) s += partial[j];
    s = block_sum(s);
    if (threadIdx.x == 0) *scale = fminf(1.0f, max_norm / (sqrtf(s) + 1e-6f));
}
// one element's step: a = the constants below
struct fracnas_adam_constants {
    float decay, b1, c1, b2, c2, eps, step_size, bc2_sqrt;
};
__device__ __forceinline__ void adam_one(float g, float& p, float& m, float& v, const fracnas_adam_constants& a) {
    p -= a.decay * p;
    m = a.b1 * m + a.c1 * g;
    v = a.b2 * v + a.c2 * g * g;
    p -= a.step_size * m / (sqrtf(v) / a.bc2_sqrt + a.eps);
}
// torch.optim.AdamW's rule as at::_fused_adamw_ applies it, each element in fp32 (the bias
// corrections in double, as it takes them), on the gradient times the clip's factor (scale, or 1
// when null); the master, both moments and the bf16 weight written once
extern "C" __global__ void __launch_bounds__(256) fracnas_adamw_bf16(const fracnas_adam_batch b, const float* __restrict__ lr_ptr,
                                                                      const float* __restrict__ scale, double beta1, double beta2,
                                                                      float eps) {
    const int i = adam_tensor_of(b);
    const fracnas_adam_tensor& t = b.t[i];
    const long long c0 = (long long)(blockIdx.x - t.first_block) * FRACNAS_ADAM_CHUNK;
    const long long c1 = min(t.n, c0 + FRACNAS_ADAM_CHUNK);
    const double lr = *lr_ptr, step = *t.step;
    const float k = scale != nullptr ? *scale : 1.0f;
    fracnas_adam_constants a;
    a.decay = (float)(lr * t.wd);
    a.b1 = (float)beta1;
    a.c1 = (float)(1.0 - beta1);
    a.b2 = (float)beta2;
    a.c2 = (float)(1.0 - beta2);
    a.eps = eps;
    __shared__ float corrections[2];  // the bias corrections, computed once a block
    if (threadIdx.x == 0) {
        corrections[0] = (float)(lr / (1.0 - pow(beta1, step)));
        corrections[1] = (float)sqrt(1.0 - pow(beta2, step));
    }
    __syncthreads();
    a.step_size = corrections[0];
    a.bc2_sqrt = corrections[1];
    if ((b.vec >> i) & 1ull) {
        for (long long j = c0 + threadIdx.x * 4; j < c1; j += blockDim.x * 4) {
            const uint2 gb = *reinterpret_cast<const uint2*>(t.g + j);
            float4 p = *reinterpret_cast<float4*>(t.p + j), m = *reinterpret_cast<float4*>(t.m + j), v = *reinterpret_cast<float4*>(t.v + j);
            adam_one(bf16_to_float(gb.x) * k, p.x, m.x, v.x, a);
            adam_one(bf16_to_float(gb.x >> 16) * k, p.y, m.y, v.y, a);
            adam_one(bf16_to_float(gb.y) * k, p.z, m.z, v.z, a);
            adam_one(bf16_to_float(gb.y >> 16) * k, p.w, m.w, v.w, a);
            *reinterpret_cast<float4*>(t.p + j) = p;
            *reinterpret_cast<float4*>(t.m + j) = m;
            *reinterpret_cast<float4*>(t.v + j) = v;
            *reinterpret_cast<uint2*>(t.w + j) = make_uint2(pair(p.x, p.y), pair(p.z, p.w));
        }
    } else {
        for (long long j = c0 + threadIdx.x; j < c1; j += blockDim.x) {
            float p = t.p[j], m = t.m[j], v = t.v[j];
            adam_one(bf16_to_float(t.g[j]) * k, p, m, v, a);
            t.p[j] = p;
            t.m[j] = m;
            t.v[j] = v;
            t.w[j] = (unsigned short)float_to_bf16(p);
        }
    }
}
)cuda";

const char* const xent_name = "fracnas_softmax_xent_bf16";
const char* const xent_rows_name = "fracnas_softmax_xent_rows_bf16";  // the row in registers: V % 8 == 0, V <= xent_rows_max
constexpr long long xent_rows_max = threads_per_row * 8LL * 8;        // FRACNAS_THREADS x 8 values x FRACNAS_XENT_VECS
const char* const ln_dx_name = "fracnas_ln_dx_bf16";
const char* const ln_partial_name = "fracnas_ln_dgamma_partial_bf16";
const char* const ln_dx_f32_name = "fracnas_ln_dx_f32";
const char* const ln_partial_f32_name = "fracnas_ln_dgamma_partial_f32";
constexpr int ln_slab_rows = 128;  // rows a block sums for the weight gradients
const char* const sumsq_name = "fracnas_grad_sumsq_bf16";
const char* const clip_name = "fracnas_clip_scale";
const char* const adamw_name = "fracnas_adamw_bf16";
const char* const residual_add_name = "fracnas_residual_add_f32";
const char* const swiglu_name = "fracnas_swiglu_bf16";
const char* const swiglu_backward_name = "fracnas_swiglu_backward_bf16";
const char* const rotary_cache_name = "fracnas_rotary_cache_bf16";
// the one-pass LayerNorm backward for rows of at most 256, 512, 768 or 1,024 values, bf16 and fp32 input
constexpr int ln_backward_groups = 4;
// [with dx's column sums][fp32 input][groups of 256 columns - 1]
const char* const ln_backward_names[2][2][ln_backward_groups] = {
    {{"fracnas_ln_backward_bf16_1", "fracnas_ln_backward_bf16_2", "fracnas_ln_backward_bf16_3", "fracnas_ln_backward_bf16_4"},
     {"fracnas_ln_backward_f32_1", "fracnas_ln_backward_f32_2", "fracnas_ln_backward_f32_3", "fracnas_ln_backward_f32_4"}},
    {{"fracnas_ln_backward_bf16_1s", "fracnas_ln_backward_bf16_2s", "fracnas_ln_backward_bf16_3s", "fracnas_ln_backward_bf16_4s"},
     {"fracnas_ln_backward_f32_1s", "fracnas_ln_backward_f32_2s", "fracnas_ln_backward_f32_3s", "fracnas_ln_backward_f32_4s"}}};
constexpr int ln_backward_slab_rows = 16;      // the fewest rows a block of the one-pass backward takes: 4 a warp
constexpr unsigned ln_backward_threads = 128;  // FRACNAS_LN_WARPS warps
const char* const column_sums_name = "fracnas_column_sums_bf16";
const char* const gelu_backward_name = "fracnas_gelu_backward_bias_bf16";
constexpr int gelu_slab_rows = 128;  // rows a block of the GELU backward sums
const char* const qkv_pack_name = "fracnas_qkv_pack_bf16";
// LayerNorm's forward with the row in registers, [fp32 input], without and with the stream's add
const char* const ln_rows_names[2] = {"fracnas_ln_rows_bf16", "fracnas_ln_rows_f32"};
const char* const ln_add_names[2] = {"fracnas_ln_add_bf16", "fracnas_ln_add_f32"};
// the same for rows of any width (read three times), [fp32 input]
const char* const ln_forward_names[2] = {"fracnas_ln_forward_bf16", "fracnas_ln_forward_f32"};
const char* const ln_add_wide_names[2] = {"fracnas_ln_add_wide_bf16", "fracnas_ln_add_wide_f32"};
constexpr std::int64_t ln_rows_max = 1024;  // the widest row its registers hold
constexpr int qkv_pack_slab_rows = 128;     // rows a block of the q/k/v packing sums

// The kernels' fracnas_adam_tensor and fracnas_adam_batch, passed by value (under the 4 KiB of a
// launch's parameters)
constexpr int adam_batch_size = 48;        // FRACNAS_ADAM_BATCH
constexpr std::int64_t adam_chunk = 4096;  // FRACNAS_ADAM_CHUNK
struct adam_tensor {
    const void* g;
    void* p;
    void* m;
    void* v;
    void* w;
    const void* step;
    long long n;
    float wd;
    int first_block;
};
struct adam_batch {
    adam_tensor t[adam_batch_size];
    int count, partial_offset;
    unsigned long long vec;
};
static_assert(sizeof(adam_tensor) == 64 && sizeof(adam_batch) == adam_batch_size * 64 + 16, "the kernels' layout");

// NVRTC's entry points, from a library already in the process or opened here
struct nvrtc_api {
#define FRACNAS_NVRTC(name) decltype(&::name) name = nullptr;
    FRACNAS_NVRTC(nvrtcCreateProgram)
    FRACNAS_NVRTC(nvrtcDestroyProgram)
    FRACNAS_NVRTC(nvrtcCompileProgram)
    FRACNAS_NVRTC(nvrtcGetProgramLogSize)
    FRACNAS_NVRTC(nvrtcGetProgramLog)
    FRACNAS_NVRTC(nvrtcGetCUBINSize)
    FRACNAS_NVRTC(nvrtcGetCUBIN)
    FRACNAS_NVRTC(nvrtcGetPTXSize)
    FRACNAS_NVRTC(nvrtcGetPTX)
    FRACNAS_NVRTC(nvrtcGetErrorString)
    FRACNAS_NVRTC(nvrtcGetNumSupportedArchs)
    FRACNAS_NVRTC(nvrtcGetSupportedArchs)
#undef FRACNAS_NVRTC
    bool complete = false;
    std::string why;
};

template <typename F>
bool resolve(void* handle, F& f, const char* name) {
    f = reinterpret_cast<F>(dlsym(handle, name));
    return f != nullptr;
}

const nvrtc_api& nvrtc() {
    static const nvrtc_api api = [] {
        nvrtc_api a;
        void* handle = dlsym(RTLD_DEFAULT, "nvrtcCreateProgram") != nullptr ? RTLD_DEFAULT : nullptr;
        // NVRTC of the CUDA major the headers are of, any NVRTC, or the one LibTorch's own
        // run-time compilation loads (libcaffe2_nvrtc.so depends on it; dlsym searches there)
        const std::string names[] = {"libnvrtc.so." + std::to_string(CUDA_VERSION / 1000), "libnvrtc.so", "libcaffe2_nvrtc.so"};
        for (const auto& name : names) {
            if (handle != nullptr) break;
            handle = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
        }
        if (handle == nullptr) {
            a.why = "NVRTC (libnvrtc.so." + std::to_string(CUDA_VERSION / 1000) + ") is not installed beside LibTorch";
            return a;
        }
        a.complete =
            resolve(handle, a.nvrtcCreateProgram, "nvrtcCreateProgram") && resolve(handle, a.nvrtcDestroyProgram, "nvrtcDestroyProgram") &&
            resolve(handle, a.nvrtcCompileProgram, "nvrtcCompileProgram") &&
            resolve(handle, a.nvrtcGetProgramLogSize, "nvrtcGetProgramLogSize") &&
            resolve(handle, a.nvrtcGetProgramLog, "nvrtcGetProgramLog") && resolve(handle, a.nvrtcGetCUBINSize, "nvrtcGetCUBINSize") &&
            resolve(handle, a.nvrtcGetCUBIN, "nvrtcGetCUBIN") && resolve(handle, a.nvrtcGetPTXSize, "nvrtcGetPTXSize") &&
            resolve(handle, a.nvrtcGetPTX, "nvrtcGetPTX") && resolve(handle, a.nvrtcGetErrorString, "nvrtcGetErrorString") &&
            resolve(handle, a.nvrtcGetNumSupportedArchs, "nvrtcGetNumSupportedArchs") &&
            resolve(handle, a.nvrtcGetSupportedArchs, "nvrtcGetSupportedArchs");
        if (!a.complete) a.why = "the NVRTC found lacks an entry point fracnas uses";
        return a;
    }();
    return api;
}

// The source compiled for `arch`: a cubin for sm_XY, PTX for compute_XY; empty with the log in `log`
std::string compile(const std::string& arch, std::string& log) {
    const auto& api = nvrtc();
    if (!api.complete) {
        log = api.why;
        return {};
    }
    nvrtcProgram prog = nullptr;
    if (const auto r = api.nvrtcCreateProgram(&prog, source, "fracnas_kernels.cu", 0, nullptr, nullptr); r != NVRTC_SUCCESS) {
        log = std::string("nvrtcCreateProgram: ") + api.nvrtcGetErrorString(r);
        return {};
    }
    const std::string arch_option = "--gpu-architecture=" + arch;
    const char* options[] = {arch_option.c_str(), "--std=c++17"};
    const auto compiled = api.nvrtcCompileProgram(prog, 2, options);
    std::size_t log_size = 0;
    api.nvrtcGetProgramLogSize(prog, &log_size);
    log.assign(log_size, '\0');
    if (log_size > 0) api.nvrtcGetProgramLog(prog, log.data());
    while (!log.empty() && (log.back() == '\0' || log.back() == '\n')) log.pop_back();
    std::string image;
    if (compiled != NVRTC_SUCCESS) {
        log = std::string("nvrtcCompileProgram (") + arch_option + "): " + api.nvrtcGetErrorString(compiled) +
              (log.empty() ? "" : ": " + log);
    } else {
        const bool cubin = arch.rfind("sm_", 0) == 0;
        std::size_t size = 0;
        if ((cubin ? api.nvrtcGetCUBINSize(prog, &size) : api.nvrtcGetPTXSize(prog, &size)) == NVRTC_SUCCESS && size > 0) {
            image.assign(size, '\0');
            if ((cubin ? api.nvrtcGetCUBIN(prog, image.data()) : api.nvrtcGetPTX(prog, image.data())) != NVRTC_SUCCESS) image.clear();
        }
        if (image.empty()) log = "NVRTC compiled for " + arch + " but returned no image";
    }
    api.nvrtcDestroyProgram(&prog);
    return image;
}

// The driver's functions through the runtime (the driver LibTorch's runtime loaded)
struct driver_api {
    decltype(&::cuModuleLoadData) cuModuleLoadData = nullptr;
    decltype(&::cuModuleGetFunction) cuModuleGetFunction = nullptr;
    decltype(&::cuLaunchKernel) cuLaunchKernel = nullptr;
    decltype(&::cuGetErrorString) cuGetErrorString = nullptr;
    bool complete = false;
    // optional: without it the LayerNorm backward keeps its smallest slabs
    decltype(&::cuOccupancyMaxActiveBlocksPerMultiprocessor) cuOccupancyMaxActiveBlocksPerMultiprocessor = nullptr;
};

template <typename F>
bool entry_point(F& f, const char* name) {
    void* p = nullptr;
    cudaDriverEntryPointQueryResult found{};
    if (cudaGetDriverEntryPointByVersion(name, &p, 12000, cudaEnableDefault, &found) != cudaSuccess ||
        found != cudaDriverEntryPointSuccess || p == nullptr)
        return false;
    f = reinterpret_cast<F>(p);
    return true;
}

const driver_api& driver() {
    static const driver_api api = [] {
        driver_api a;
        a.complete = entry_point(a.cuModuleLoadData, "cuModuleLoadData") && entry_point(a.cuModuleGetFunction, "cuModuleGetFunction") &&
                     entry_point(a.cuLaunchKernel, "cuLaunchKernel") && entry_point(a.cuGetErrorString, "cuGetErrorString");
        entry_point(a.cuOccupancyMaxActiveBlocksPerMultiprocessor, "cuOccupancyMaxActiveBlocksPerMultiprocessor");
        return a;
    }();
    return api;
}

std::string driver_error(CUresult r) {
    const char* text = nullptr;
    if (driver().cuGetErrorString != nullptr) driver().cuGetErrorString(r, &text);
    return text != nullptr ? text : "CUresult " + std::to_string(static_cast<int>(r));
}

// the architecture to compile for: the device's own cubin where NVRTC knows it, else PTX for
// the newest architecture NVRTC knows below it (the driver compiles that for the device)
std::string target_arch(int device_arch) {
    const auto& api = nvrtc();
    int count = 0;
    if (api.nvrtcGetNumSupportedArchs(&count) != NVRTC_SUCCESS || count <= 0) return "sm_" + std::to_string(device_arch);
    std::vector<int> archs(static_cast<std::size_t>(count));
    if (api.nvrtcGetSupportedArchs(archs.data()) != NVRTC_SUCCESS) return "sm_" + std::to_string(device_arch);
    if (std::find(archs.begin(), archs.end(), device_arch) != archs.end()) return "sm_" + std::to_string(device_arch);
    int best = 0;
    for (const int a : archs)
        if (a <= device_arch) best = std::max(best, a);
    return best > 0 ? "compute_" + std::to_string(best) : "sm_" + std::to_string(device_arch);
}

struct device_module {
    bool ok = false;
    std::string why;
    CUmodule module = nullptr;
    CUfunction xent = nullptr, xent_rows = nullptr, ln_dx = nullptr, ln_partial = nullptr, sumsq = nullptr, clip = nullptr, adamw = nullptr,
               ln_dx_f32 = nullptr, ln_partial_f32 = nullptr, residual_add = nullptr, column_sums = nullptr, gelu_backward = nullptr,
               qkv_pack = nullptr, swiglu = nullptr, swiglu_backward = nullptr, rotary_cache = nullptr;
    CUfunction ln_backward[2][2][ln_backward_groups] = {};  // as ln_backward_names
    int ln_backward_blocks[2][2][ln_backward_groups] = {};  // the blocks of each an SM holds (0: not known)
    CUfunction ln_rows[2] = {}, ln_add[2] = {};             // as ln_rows_names, ln_add_names
    CUfunction ln_forward[2] = {}, ln_add_wide[2] = {};     // as ln_forward_names, ln_add_wide_names
};

const device_module& module_for(c10::DeviceIndex device) {
    static std::mutex mutex;
    static std::map<c10::DeviceIndex, device_module> modules;
    std::lock_guard<std::mutex> lock(mutex);
    auto [it, fresh] = modules.try_emplace(device);
    device_module& m = it->second;
    if (!fresh) return m;
    if (!nvrtc().complete) {
        m.why = nvrtc().why;
        return m;
    }
    if (!driver().complete) {
        m.why = "the CUDA driver's module functions were not found";
        return m;
    }
    const auto* props = at::cuda::getDeviceProperties(device);
    const auto arch = target_arch(props->major * 10 + props->minor);
    std::string log;
    const auto image = compile(arch, log);
    if (image.empty()) {
        m.why = log;
        return m;
    }
    // the device's primary context created and current (a process whose first CUDA work this is
    // has none yet: cudaFree(nullptr) is the runtime's way to make it)
    c10::cuda::CUDAGuard guard(device);
    if (const auto e = cudaFree(nullptr); e != cudaSuccess) {
        m.why = std::string("cudaFree(nullptr): ") + cudaGetErrorString(e);
        return m;
    }
    if (const auto r = driver().cuModuleLoadData(&m.module, image.data()); r != CUDA_SUCCESS) {
        m.why = "cuModuleLoadData (" + arch + "): " + driver_error(r);
        return m;
    }
    for (const auto& [f, name] :
         {std::pair{&m.xent, xent_name}, std::pair{&m.xent_rows, xent_rows_name}, std::pair{&m.ln_dx, ln_dx_name},
          std::pair{&m.ln_partial, ln_partial_name}, std::pair{&m.sumsq, sumsq_name}, std::pair{&m.clip, clip_name},
          std::pair{&m.adamw, adamw_name}, std::pair{&m.ln_dx_f32, ln_dx_f32_name}, std::pair{&m.ln_partial_f32, ln_partial_f32_name},
          std::pair{&m.residual_add, residual_add_name}, std::pair{&m.column_sums, column_sums_name},
          std::pair{&m.gelu_backward, gelu_backward_name}, std::pair{&m.qkv_pack, qkv_pack_name}, std::pair{&m.swiglu, swiglu_name},
          std::pair{&m.swiglu_backward, swiglu_backward_name}, std::pair{&m.rotary_cache, rotary_cache_name}})
        if (const auto r = driver().cuModuleGetFunction(f, m.module, name); r != CUDA_SUCCESS) {
            m.why = std::string("cuModuleGetFunction (") + name + "): " + driver_error(r);
            return m;
        }
    for (int t = 0; t < 2; ++t)
        for (const auto& [f, name] : {std::pair{&m.ln_rows[t], ln_rows_names[t]}, std::pair{&m.ln_add[t], ln_add_names[t]},
                                      std::pair{&m.ln_forward[t], ln_forward_names[t]}, std::pair{&m.ln_add_wide[t], ln_add_wide_names[t]}})
            if (const auto r = driver().cuModuleGetFunction(f, m.module, name); r != CUDA_SUCCESS) {
                m.why = std::string("cuModuleGetFunction (") + name + "): " + driver_error(r);
                return m;
            }
    for (int u = 0; u < 2; ++u)
        for (int t = 0; t < 2; ++t)
            for (int g = 0; g < ln_backward_groups; ++g) {
                if (const auto r = driver().cuModuleGetFunction(&m.ln_backward[u][t][g], m.module, ln_backward_names[u][t][g]);
                    r != CUDA_SUCCESS) {
                    m.why = std::string("cuModuleGetFunction (") + ln_backward_names[u][t][g] + "): " + driver_error(r);
                    return m;
                }
                int blocks = 0;
                if (driver().cuOccupancyMaxActiveBlocksPerMultiprocessor != nullptr &&
                    driver().cuOccupancyMaxActiveBlocksPerMultiprocessor(&blocks, m.ln_backward[u][t][g],
                                                                         static_cast<int>(ln_backward_threads), 0) == CUDA_SUCCESS)
                    m.ln_backward_blocks[u][t][g] = blocks;
            }
    m.ok = true;
    return m;
}

// The device's kernels, or an error naming the caller when they are not available.
const device_module& loaded(c10::DeviceIndex device, const char* who) {
    const auto& m = module_for(device);
    TORCH_CHECK(m.ok, who, ": the kernels are not available: ", m.why);
    return m;
}

// A contiguous tensor of `type` with `numel` elements on `like`'s CUDA device.
bool on_device(const torch::Tensor& t, const torch::Tensor& like, at::ScalarType type, std::int64_t numel) {
    return t.is_cuda() && t.device() == like.device() && t.scalar_type() == type && t.is_contiguous() && t.numel() == numel;
}

// One launch on the device's current stream (its guard held by the caller); a failed launch
// throws naming the caller and the kernel.
void launch(CUfunction f, unsigned grid_x, unsigned grid_y, unsigned block_x, unsigned block_y, void** args, c10::DeviceIndex device,
            const char* who, const char* kernel) {
    const auto r = driver().cuLaunchKernel(f, grid_x, grid_y, 1, block_x, block_y, 1, 0, c10::cuda::getCurrentCUDAStream(device).stream(),
                                           args, nullptr);
    TORCH_CHECK(r == CUDA_SUCCESS, who, ": cuLaunchKernel (", kernel, "): ", driver_error(r));
}

// A launch of the row-wise kernels' grid (SwiGLU's, rotary_cache's): a row a grid row (rows
// beyond the grid's 65,535 taken by stride), blocks of 256 threads across as many as a row's
// `row_threads` (its values over those a thread takes: 8 where the kernel's vector form reads
// them, else fewer threads than it takes)
void launch_rows(CUfunction fn, std::int64_t rows, std::int64_t row_threads, void** args, c10::DeviceIndex device, const char* who,
                 const char* kernel) {
    const auto blocks_x = (row_threads + 255) / 256;
    launch(fn, static_cast<unsigned>(blocks_x), static_cast<unsigned>(std::min<std::int64_t>(rows, 65535)), 256, 1, args, device, who,
           kernel);
}

// out0 (and out1, out2 as sums is 2 or 3) := the column sums over the slabs of partial (slabs,
// sums, d), in a fixed order, rounded once to bf16: a long partial in chunks of slabs first (their
// sums staged in fp32), then the chunks
void column_sums(const device_module& m, const torch::Tensor& partial, int slabs, int sums, int d, const torch::Tensor& out0,
                 const torch::Tensor& out1, c10::DeviceIndex device, const char* who, const torch::Tensor& out2 = {}) {
    constexpr int chunk = 64;  // slabs a block of the first launch adds
    const void* ppartial = partial.data_ptr();
    void* p0 = out0.data_ptr();
    void* p1 = sums > 1 ? out1.data_ptr() : nullptr;
    void* p2 = sums > 2 ? out2.data_ptr() : nullptr;
    const auto columns = static_cast<unsigned>((d + 31) / 32);
    if (slabs > 2 * chunk) {
        const int chunks = (slabs + chunk - 1) / chunk;
        TORCH_CHECK(chunks <= 65535, who, ": more rows than one launch takes");
        const auto staged = torch::empty({chunks, sums, d}, partial.options());
        void* pstage = staged.data_ptr();
        int n = slabs, k = chunk;
        void* first[] = {&ppartial, &p0, &p1, &p2, &pstage, &n, &sums, &d, &k};
        launch(m.column_sums, columns, static_cast<unsigned>(chunks), 32, 16, first, device, who, column_sums_name);
        const void* pstaged = staged.data_ptr();
        void* none = nullptr;
        int all = chunks;
        void* second[] = {&pstaged, &p0, &p1, &p2, &none, &all, &sums, &d, &all};
        launch(m.column_sums, columns, 1, 32, 16, second, device, who, column_sums_name);
        return;
    }
    void* none = nullptr;
    int all = slabs;
    void* args[] = {&ppartial, &p0, &p1, &p2, &none, &all, &sums, &d, &all};
    launch(m.column_sums, columns, 1, 32, 16, args, device, who, column_sums_name);
}

}  // namespace

bool available(c10::DeviceIndex device, std::string* why) {
    const auto& m = module_for(device);
    if (!m.ok && why != nullptr) *why = m.why;
    return m.ok;
}

std::size_t compile_for(const std::string& arch, std::string* log) {
    std::string text;
    const auto image = compile(arch, text);
    if (log != nullptr) *log = text;
    return image.size();
}

void softmax_cross_entropy(const torch::Tensor& logits, const torch::Tensor& y, const torch::Tensor& loss, bool grad) {
    TORCH_CHECK(logits.is_cuda() && logits.scalar_type() == at::kBFloat16 && logits.dim() == 2 && logits.is_contiguous(),
                "softmax_cross_entropy: logits must be a contiguous (n, V) bf16 CUDA tensor");
    const auto n = logits.size(0);
    TORCH_CHECK(y.device() == logits.device() && y.scalar_type() == at::kLong && y.dim() == 1 && y.size(0) == n && y.is_contiguous(),
                "softmax_cross_entropy: y must be n contiguous int64 ids on the logits' device");
    TORCH_CHECK(loss.device() == logits.device() && loss.scalar_type() == at::kFloat && loss.dim() == 1 && loss.size(0) == n &&
                    loss.is_contiguous(),
                "softmax_cross_entropy: loss must be n contiguous fp32 values on the logits' device");
    TORCH_CHECK(n <= 0x7fffffff, "softmax_cross_entropy: more rows than one launch takes");
    if (n == 0) return;
    const auto device = logits.device().index();
    const auto& m = loaded(device, "softmax_cross_entropy");
    c10::cuda::CUDAGuard guard(device);
    void* x = logits.data_ptr();
    const void* ids = y.data_ptr();
    void* out = loss.data_ptr();
    long long vocab = logits.size(1);
    int with_grad = grad ? 1 : 0;
    void* args[] = {&x, &ids, &out, &vocab, &with_grad};
    const bool in_registers = vocab % 8 == 0 && vocab <= xent_rows_max && reinterpret_cast<std::uintptr_t>(x) % 16 == 0;
    launch(in_registers ? m.xent_rows : m.xent, static_cast<unsigned>(n), 1, threads_per_row, 1, args, device, "softmax_cross_entropy",
           in_registers ? xent_rows_name : xent_name);
}

namespace {

// The rows a block of the one-pass LayerNorm backward takes: as few as gives every warp the device
// holds at once (blocks_per_sm of them an SM, 0 if not known) its share of the rows in one wave,
// at least 4 a warp. A slab is summed whole in a fixed order, so the bits depend on the rows and
// the device only; fewer, longer slabs leave less for the column sums to read, and no second wave
// with a few blocks in it (16,384 rows in slabs of 16 were 1.3 waves where 6 blocks fit an SM).
std::int64_t backward_slab_rows(std::int64_t rows, int blocks_per_sm, c10::DeviceIndex device) {
    constexpr std::int64_t warps = ln_backward_threads / 32;
    if (blocks_per_sm <= 0) return ln_backward_slab_rows;
    const std::int64_t resident = std::int64_t{at::cuda::getDeviceProperties(device)->multiProcessorCount} * blocks_per_sm * warps;
    const auto per_warp = std::max<std::int64_t>(ln_backward_slab_rows / warps, (rows + resident - 1) / resident);
    return per_warp * warps;
}

// Whether rows of d values fit the register-held LayerNorm: d a multiple of 8, every tensor's
// data 16-byte aligned
bool rows_fit(std::initializer_list<const torch::Tensor*> ts, std::int64_t d) {
    if (d % 8 != 0) return false;
    for (const auto* t : ts)
        if (reinterpret_cast<std::uintptr_t>(t->data_ptr()) % 16 != 0) return false;
    return true;
}

// One launch of the LayerNorm forward, a warp a row: with the row held in registers where it fits
// (d a multiple of 8 up to ln_rows_max, every tensor 16-byte aligned; ln_rows), else read three
// times (ln_forward); with the stream's add (yin into s, rounded as salt says) their ADD form. The
// tensors checked by the caller.
void launch_ln(bool add, const torch::Tensor& x, const torch::Tensor& yin, const torch::Tensor& gamma, const torch::Tensor& beta,
               const torch::Tensor& s, const torch::Tensor& y, const torch::Tensor& mean, const torch::Tensor& rstd, double eps,
               std::uint32_t salt, const char* who) {
    const auto device = x.device().index();
    const auto& m = loaded(device, who);
    c10::cuda::CUDAGuard guard(device);
    const auto d = gamma.numel();
    const bool held = d <= ln_rows_max && (add ? rows_fit({&x, &yin, &s, &y, &gamma, &beta}, d) : rows_fit({&x, &y, &gamma, &beta}, d));
    const void* px = x.data_ptr();
    const void* pyin = add ? yin.data_ptr() : nullptr;
    const void* pgamma = gamma.data_ptr();
    const void* pbeta = beta.data_ptr();
    void* ps = add ? s.data_ptr() : nullptr;
    void* py = y.data_ptr();
    void* pmean = mean.data_ptr();
    void* prstd = rstd.data_ptr();
    long long n = mean.numel();
    int width = static_cast<int>(d);
    float epsilon = static_cast<float>(eps);
    unsigned key = salt;
    const auto blocks = (n + 7) / 8;  // 8 warps a block, a warp a row
    TORCH_CHECK(blocks <= 0x7fffffff, who, ": more rows than one launch takes");
    void* args[] = {&px, &pyin, &pgamma, &pbeta, &ps, &py, &pmean, &prstd, &n, &width, &epsilon, &key};
    const int t = x.scalar_type() == at::kFloat ? 1 : 0;
    const auto& [f, name] =
        held ? (add ? std::pair{m.ln_add[t], ln_add_names[t]} : std::pair{m.ln_rows[t], ln_rows_names[t]})
             : (add ? std::pair{m.ln_add_wide[t], ln_add_wide_names[t]} : std::pair{m.ln_forward[t], ln_forward_names[t]});
    launch(f, static_cast<unsigned>(blocks), 1, 256, 1, args, device, who, name);
}

}  // namespace

void layer_norm_forward(const torch::Tensor& x, const torch::Tensor& gamma, const torch::Tensor& beta, double eps, const torch::Tensor& y,
                        const torch::Tensor& mean, const torch::Tensor& rstd) {
    const auto d = gamma.numel();
    const auto rows = d > 0 ? x.numel() / d : 0;
    const auto is = [&](const torch::Tensor& t, at::ScalarType type, std::int64_t numel) { return on_device(t, x, type, numel); };
    const bool f32 = x.scalar_type() == at::kFloat;
    TORCH_CHECK(
        d > 0 && d <= 0x7fffffff && (f32 || is(x, at::kBFloat16, rows * d)) && (!f32 || is(x, at::kFloat, rows * d)) &&
            is(y, at::kBFloat16, rows * d) && is(gamma, at::kBFloat16, d) && is(beta, at::kBFloat16, d) && is(mean, at::kFloat, rows) &&
            is(rstd, at::kFloat, rows),
        "layer_norm_forward: x (rows, d; bf16 or fp32), y (rows, d) and gamma, beta (d) must be contiguous bf16 CUDA tensors of one "
        "device, mean and rstd (rows) fp32");
    if (rows == 0) return;
    launch_ln(false, x, {}, gamma, beta, {}, y, mean, rstd, eps, 0, "layer_norm_forward");
}

void layer_norm_add_forward(const torch::Tensor& x, const torch::Tensor& yin, const torch::Tensor& gamma, const torch::Tensor& beta,
                            double eps, const torch::Tensor& s, const torch::Tensor& y, const torch::Tensor& mean,
                            const torch::Tensor& rstd, std::uint32_t salt) {
    const auto d = gamma.numel();
    const auto rows = d > 0 ? x.numel() / d : 0;
    const auto is = [&](const torch::Tensor& t, at::ScalarType type, std::int64_t numel) { return on_device(t, x, type, numel); };
    const auto xtype = x.scalar_type();
    const bool f32 = xtype == at::kFloat;
    TORCH_CHECK(d > 0 && d <= 0x7fffffff && (f32 || xtype == at::kBFloat16) && is(x, xtype, rows * d) && is(s, xtype, rows * d) &&
                    is(yin, at::kBFloat16, rows * d) && is(y, at::kBFloat16, rows * d) && is(gamma, at::kBFloat16, d) &&
                    is(beta, at::kBFloat16, d) && is(mean, at::kFloat, rows) && is(rstd, at::kFloat, rows) && !s.is_same(x),
                "layer_norm_add_forward: x and s (rows, d; bf16 or fp32, s another tensor than x), yin and y (rows, d) and gamma, "
                "beta (d) bf16, mean and rstd (rows) fp32, every tensor contiguous on one CUDA device");
    if (rows == 0) return;
    launch_ln(true, x, yin, gamma, beta, s, y, mean, rstd, eps, salt, "layer_norm_add_forward");
}

bool layer_norm_backward(const torch::Tensor& dy, const torch::Tensor& x, const torch::Tensor& mean, const torch::Tensor& rstd,
                         const torch::Tensor& gamma, const torch::Tensor& dx, const torch::Tensor& dgamma, const torch::Tensor& dbeta,
                         const torch::Tensor& dres, const torch::Tensor& dx_lo, const torch::Tensor& dx_sums, std::uint32_t salt) {
    const auto d = gamma.numel();
    const auto rows = d > 0 ? x.numel() / d : 0;
    const auto is = [&](const torch::Tensor& t, at::ScalarType type, std::int64_t numel) { return on_device(t, x, type, numel); };
    const auto xtype = x.scalar_type();
    TORCH_CHECK(d > 0 && d <= 0x7fffffff && (xtype == at::kBFloat16 || xtype == at::kFloat) && is(x, xtype, rows * d) &&
                    is(dx, xtype, rows * d) && is(dy, at::kBFloat16, rows * d) && is(gamma, at::kBFloat16, d) &&
                    is(dgamma, at::kBFloat16, d) && is(dbeta, at::kBFloat16, d) && is(mean, at::kFloat, rows) && is(rstd, at::kFloat, rows),
                "layer_norm_backward: x and dx (rows, d) must be contiguous bf16 or fp32 CUDA tensors of one dtype, dy (rows, d) and "
                "gamma, dgamma, dbeta (d) contiguous bf16 on the same device, mean and rstd (rows) fp32");
    TORCH_CHECK(!dres.defined() || (is(dres, xtype, rows * d) && !dres.is_same(dx)),
                "layer_norm_backward: dres, where given, must be a contiguous (rows, d) tensor of x's dtype on x's device, not dx");
    TORCH_CHECK(!dx_lo.defined() || is(dx_lo, at::kBFloat16, rows * d),
                "layer_norm_backward: dx_lo, where given, must be a contiguous (rows, d) bf16 tensor on x's device");
    TORCH_CHECK(!dx_sums.defined() || is(dx_sums, at::kBFloat16, d),
                "layer_norm_backward: dx_sums, where given, must be a contiguous (d) bf16 tensor on x's device");
    const bool f32 = xtype == at::kFloat;
    if (rows == 0) {
        dgamma.zero_();
        dbeta.zero_();
        if (dx_sums.defined()) dx_sums.zero_();
        return dx_sums.defined();
    }
    const auto device = x.device().index();
    const auto& m = loaded(device, "layer_norm_backward");
    c10::cuda::CUDAGuard guard(device);
    const void* pdy = dy.data_ptr();
    const void* px = x.data_ptr();
    const void* pmean = mean.data_ptr();
    const void* prstd = rstd.data_ptr();
    const void* pgamma = gamma.data_ptr();
    const void* pdres = dres.defined() ? dres.data_ptr() : nullptr;
    void* pdx = dx.data_ptr();
    void* pdx_lo = dx_lo.defined() ? dx_lo.data_ptr() : nullptr;
    long long n = rows;
    const auto aligned = [](const void* p) { return p == nullptr || reinterpret_cast<std::uintptr_t>(p) % 16 == 0; };
    const auto groups = (d + 255) / 256;
    if (d % 8 == 0 && groups <= ln_backward_groups && aligned(pdy) && aligned(px) && aligned(pgamma) && aligned(pdres) && aligned(pdx) &&
        aligned(pdx_lo)) {
        // one pass: dx and the slabs' weight-gradient sums, then the sums over the slabs
        const int sums = dx_sums.defined() ? 3 : 2;
        const auto g = static_cast<std::size_t>(groups - 1);
        const auto u = static_cast<std::size_t>(sums - 2), t = static_cast<std::size_t>(f32 ? 1 : 0);
        const auto slab_rows = backward_slab_rows(rows, m.ln_backward_blocks[u][t][g], device);
        const auto slabs = (rows + slab_rows - 1) / slab_rows;
        TORCH_CHECK(slabs <= 0x7fffffff, "layer_norm_backward: more rows than one launch takes");
        const auto partial = torch::empty({slabs, sums, d}, x.options().dtype(at::kFloat));
        void* ppartial = partial.data_ptr();
        int width = static_cast<int>(d), slab = static_cast<int>(slab_rows);
        unsigned key = salt;
        void* args[] = {&pdy, &px, &pmean, &prstd, &pgamma, &pdres, &pdx, &pdx_lo, &ppartial, &n, &width, &slab, &key};
        launch(m.ln_backward[u][t][g], static_cast<unsigned>(slabs), 1, ln_backward_threads, 1, args, device, "layer_norm_backward",
               ln_backward_names[u][t][g]);
        column_sums(m, partial, static_cast<int>(slabs), sums, width, dgamma, dbeta, device, "layer_norm_backward", dx_sums);
        return dx_sums.defined();
    }
    int width = static_cast<int>(d), slab_rows = ln_slab_rows;
    unsigned key = salt;
    void* dx_args[] = {&pdy, &px, &pmean, &prstd, &pgamma, &pdres, &pdx, &pdx_lo, &n, &width, &key};
    const auto row_blocks = (rows + 7) / 8;  // 8 warps a block, a warp a row
    TORCH_CHECK(row_blocks <= 0x7fffffff, "layer_norm_backward: more rows than one launch takes");
    launch(f32 ? m.ln_dx_f32 : m.ln_dx, static_cast<unsigned>(row_blocks), 1, 256, 1, dx_args, device, "layer_norm_backward",
           f32 ? ln_dx_f32_name : ln_dx_name);
    const auto slabs = (rows + ln_slab_rows - 1) / ln_slab_rows;
    TORCH_CHECK(slabs <= 65535, "layer_norm_backward: more rows than one launch takes");
    const auto partial = torch::empty({slabs, 2, d}, x.options().dtype(at::kFloat));  // (slabs, 2, d)
    void* ppartial = partial.data_ptr();
    void* partial_args[] = {&pdy, &px, &pmean, &prstd, &ppartial, &n, &width, &slab_rows};
    launch(f32 ? m.ln_partial_f32 : m.ln_partial, static_cast<unsigned>((d + 255) / 256), static_cast<unsigned>(slabs), 32, 8, partial_args,
           device, "layer_norm_backward", f32 ? ln_partial_f32_name : ln_partial_name);
    column_sums(m, partial, static_cast<int>(slabs), 2, width, dgamma, dbeta, device, "layer_norm_backward");
    return false;  // dx_sums (where given) not written: the one-pass kernel forms them
}

void adamw_bf16(const std::vector<torch::Tensor>& grads, const std::vector<torch::Tensor>& masters,
                const std::vector<torch::Tensor>& exp_avg, const std::vector<torch::Tensor>& exp_avg_sq,
                const std::vector<torch::Tensor>& weights, const std::vector<torch::Tensor>& steps, const std::vector<double>& weight_decay,
                const torch::Tensor& lr, double beta1, double beta2, double eps, double max_norm) {
    const auto n = grads.size();
    TORCH_CHECK(masters.size() == n && exp_avg.size() == n && exp_avg_sq.size() == n && weights.size() == n && steps.size() == n &&
                    weight_decay.size() == n,
                "adamw_bf16: the lists must have one entry per tensor");
    if (n == 0) return;
    const auto& like = masters[0];
    TORCH_CHECK(lr.is_cuda() && lr.device() == like.device() && lr.scalar_type() == at::kFloat && lr.numel() == 1,
                "adamw_bf16: lr must be one fp32 value on the masters' CUDA device");
    for (std::size_t i = 0; i < n; ++i) {
        const auto size = masters[i].numel();
        TORCH_CHECK(on_device(masters[i], like, at::kFloat, size) && on_device(exp_avg[i], like, at::kFloat, size) &&
                        on_device(exp_avg_sq[i], like, at::kFloat, size) && on_device(grads[i], like, at::kBFloat16, size) &&
                        on_device(weights[i], like, at::kBFloat16, size) && on_device(steps[i], like, at::kFloat, 1),
                    "adamw_bf16: tensor ", i,
                    ": the master and moments must be contiguous fp32, the gradient and weight contiguous bf16 of the same size, the "
                    "step one fp32 value, all on one CUDA device");
    }
    const auto device = like.device().index();
    const auto& m = loaded(device, "adamw_bf16");
    c10::cuda::CUDAGuard guard(device);
    // the tensors in batches of adam_batch_size, a block a chunk
    std::vector<adam_batch> batches;
    std::vector<int> blocks;  // each batch's
    int total = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const std::int64_t size = masters[i].numel();
        if (size == 0) continue;
        const std::int64_t chunks = (size + adam_chunk - 1) / adam_chunk;
        if (batches.empty() || batches.back().count == adam_batch_size || blocks.back() + chunks > 0x7fffffff) {
            batches.emplace_back();
            batches.back().count = 0;
            batches.back().partial_offset = total;
            batches.back().vec = 0;
            blocks.push_back(0);
        }
        TORCH_CHECK(total + chunks <= 0x7fffffff, "adamw_bf16: more values than one step takes");
        auto& b = batches.back();
        auto& t = b.t[b.count];
        t.g = grads[i].data_ptr();
        t.p = masters[i].data_ptr();
        t.m = exp_avg[i].data_ptr();
        t.v = exp_avg_sq[i].data_ptr();
        t.w = weights[i].data_ptr();
        t.step = steps[i].data_ptr();
        t.n = size;
        t.wd = static_cast<float>(weight_decay[i]);
        t.first_block = blocks.back();
        const auto address = [](const void* p) { return reinterpret_cast<std::uintptr_t>(p); };
        if (size % 8 == 0 && ((address(t.g) | address(t.p) | address(t.m) | address(t.v) | address(t.w)) & 15) == 0)
            b.vec |= 1ull << b.count;
        ++b.count;
        blocks.back() += static_cast<int>(chunks);
        total += static_cast<int>(chunks);
    }
    if (batches.empty()) return;
    const auto fp32 = like.options();
    torch::Tensor scale;
    const void* pscale = nullptr;
    if (max_norm > 0.0) {
        const auto partial = torch::empty({total}, fp32);
        scale = torch::empty({1}, fp32);
        void* ppartial = partial.data_ptr();
        for (std::size_t k = 0; k < batches.size(); ++k) {
            void* args[] = {&batches[k], &ppartial};
            launch(m.sumsq, static_cast<unsigned>(blocks[k]), 1, 256, 1, args, device, "adamw_bf16", sumsq_name);
        }
        const void* cpartial = ppartial;
        void* pout = scale.data_ptr();
        float limit = static_cast<float>(max_norm);
        void* clip_args[] = {&cpartial, &total, &limit, &pout};
        launch(m.clip, 1, 1, 1024, 1, clip_args, device, "adamw_bf16", clip_name);
        pscale = pout;
    }
    const void* plr = lr.data_ptr();
    double b1 = beta1, b2 = beta2;
    float epsilon = static_cast<float>(eps);
    for (std::size_t k = 0; k < batches.size(); ++k) {
        void* args[] = {&batches[k], &plr, &pscale, &b1, &b2, &epsilon};
        launch(m.adamw, static_cast<unsigned>(blocks[k]), 1, 256, 1, args, device, "adamw_bf16", adamw_name);
    }
}

void residual_add(const torch::Tensor& x, const torch::Tensor& y, const torch::Tensor& out) {
    const auto n = x.numel();
    TORCH_CHECK(on_device(x, x, at::kFloat, n) && on_device(out, x, at::kFloat, n) && on_device(y, x, at::kBFloat16, n),
                "residual_add: x and out must be contiguous fp32 CUDA tensors, y contiguous bf16, all of one size on one device");
    if (n == 0) return;
    const auto device = x.device().index();
    const auto& m = loaded(device, "residual_add");
    c10::cuda::CUDAGuard guard(device);
    const void* px = x.data_ptr();
    const void* py = y.data_ptr();
    void* pout = out.data_ptr();
    long long count = n;
    void* args[] = {&px, &py, &pout, &count};
    const std::int64_t sms = at::cuda::getDeviceProperties(device)->multiProcessorCount;
    const auto blocks = std::min<std::int64_t>((n / 8 + 255) / 256 + 1, sms * 8);
    launch(m.residual_add, static_cast<unsigned>(blocks), 1, 256, 1, args, device, "residual_add", residual_add_name);
}

void swiglu(const torch::Tensor& gate_up, const torch::Tensor& out) {
    const auto f = out.size(-1);
    const auto rows = f > 0 ? out.numel() / f : 0;
    TORCH_CHECK(f > 0 && gate_up.size(-1) == 2 * f && on_device(gate_up, gate_up, at::kBFloat16, rows * 2 * f) &&
                    on_device(out, gate_up, at::kBFloat16, rows * f) && rows <= 0x7fffffff && f <= 0x3fffffff,
                "swiglu: gate_up (rows, 2 f) and out (rows, f) must be contiguous bf16 tensors on one CUDA device");
    if (rows == 0) return;
    const auto device = gate_up.device().index();
    const auto& m = loaded(device, "swiglu");
    c10::cuda::CUDAGuard guard(device);
    const void* pin = gate_up.data_ptr();
    void* pout = out.data_ptr();
    int r = static_cast<int>(rows), width = static_cast<int>(f);
    void* args[] = {&pin, &pout, &r, &width};
    launch_rows(m.swiglu, rows, f % 8 == 0 ? f / 8 : f, args, device, "swiglu", swiglu_name);
}

torch::Tensor swiglu(const torch::Tensor& gate_up) {
    auto sizes = gate_up.sizes().vec();
    TORCH_CHECK(!sizes.empty(), "swiglu: gate_up must have a last dimension");
    sizes.back() /= 2;
    auto out = torch::empty(sizes, gate_up.options());
    swiglu(gate_up, out);
    return out;
}

void swiglu_backward(const torch::Tensor& gate_up, const torch::Tensor& dout, const torch::Tensor& dgate_up) {
    const auto f = dout.size(-1);
    const auto rows = f > 0 ? dout.numel() / f : 0;
    TORCH_CHECK(f > 0 && gate_up.size(-1) == 2 * f && on_device(gate_up, gate_up, at::kBFloat16, rows * 2 * f) &&
                    on_device(dout, gate_up, at::kBFloat16, rows * f) && on_device(dgate_up, gate_up, at::kBFloat16, rows * 2 * f) &&
                    rows <= 0x7fffffff && f <= 0x3fffffff,
                "swiglu_backward: gate_up and dgate_up (rows, 2 f) and dout (rows, f) must be contiguous bf16 tensors on one CUDA device");
    if (rows == 0) return;
    const auto device = gate_up.device().index();
    const auto& m = loaded(device, "swiglu_backward");
    c10::cuda::CUDAGuard guard(device);
    const void* pin = gate_up.data_ptr();
    const void* pdy = dout.data_ptr();
    void* pout = dgate_up.data_ptr();
    int r = static_cast<int>(rows), width = static_cast<int>(f);
    void* args[] = {&pin, &pdy, &pout, &r, &width};
    launch_rows(m.swiglu_backward, rows, f % 8 == 0 ? f / 8 : f, args, device, "swiglu_backward", swiglu_backward_name);
}

void rotary_cache(const torch::Tensor& qkv, const torch::Tensor& cos, const torch::Tensor& signed_sin, std::int64_t n_head,
                  std::int64_t n_kv_head, const torch::Tensor& q_out, const torch::Tensor& cache, std::int64_t pos) {
    TORCH_CHECK(qkv.dim() == 3 && cache.dim() == 4 && cache.size(2) == 2 && n_head > 0 && n_kv_head > 0,
                "rotary_cache: qkv must be (B, T, C + 2 kw) and the cache (B, context, 2, kw)");
    const auto B = qkv.size(0), T = qkv.size(1), kw = cache.size(3), C = qkv.size(2) - 2 * kw, hs = n_kv_head > 0 ? kw / n_kv_head : 0;
    const auto context = cache.size(1);
    TORCH_CHECK(C > 0 && hs > 0 && hs % 2 == 0 && C == n_head * hs && kw == n_kv_head * hs && cache.size(0) == B && pos >= 0 &&
                    pos + T <= context && on_device(qkv, qkv, at::kBFloat16, qkv.numel()) && on_device(cos, qkv, at::kBFloat16, T * hs) &&
                    on_device(signed_sin, qkv, at::kBFloat16, T * hs) && on_device(q_out, qkv, at::kBFloat16, B * T * C) &&
                    on_device(cache, qkv, at::kBFloat16, cache.numel()) && B * T <= 0x7fffffff && C + 2 * kw <= 0x7fffffff,
                "rotary_cache: qkv (B, T, n_head hs + 2 n_kv_head hs), cos and signed_sin (T, hs), q_out (B, T, n_head hs) and the "
                "cache (B, context, 2, n_kv_head hs) must be contiguous bf16 tensors on one CUDA device, hs even, positions within "
                "the cache");
    if (B * T == 0) return;
    const auto device = qkv.device().index();
    const auto& m = loaded(device, "rotary_cache");
    c10::cuda::CUDAGuard guard(device);
    const void* pqkv = qkv.data_ptr();
    const void* pcos = cos.data_ptr();
    const void* psin = signed_sin.data_ptr();
    void* pq = q_out.data_ptr();
    void* pcache = cache.data_ptr();
    int b = static_cast<int>(B), t = static_cast<int>(T), c = static_cast<int>(C), k = static_cast<int>(kw), h = static_cast<int>(hs);
    long long ctx = context, p = pos;
    void* args[] = {&pqkv, &pcos, &psin, &pq, &pcache, &b, &t, &c, &k, &h, &ctx, &p};
    launch_rows(m.rotary_cache, B * T, hs % 16 == 0 ? (C + 2 * kw) / 8 : C + 2 * kw, args, device, "rotary_cache", rotary_cache_name);
}

void gelu_backward_bias(const torch::Tensor& dh, const torch::Tensor& pre, const torch::Tensor& dpre, const torch::Tensor& db) {
    const auto f = db.numel();
    const auto rows = f > 0 ? pre.numel() / f : 0;
    const auto is = [&](const torch::Tensor& t, std::int64_t numel) { return on_device(t, pre, at::kBFloat16, numel); };
    TORCH_CHECK(f > 0 && f <= 0x7fffffff && pre.dim() == 2 && pre.size(1) == f && is(pre, rows * f) && is(dh, rows * f) &&
                    is(dpre, rows * f) && is(db, f) && !dpre.is_same(pre),
                "gelu_backward_bias: dh, pre and dpre (rows, f) and db (f) must be contiguous bf16 CUDA tensors of one device, dpre "
                "another tensor than pre");
    if (rows == 0) {
        db.zero_();
        return;
    }
    const auto device = pre.device().index();
    const auto& m = loaded(device, "gelu_backward_bias");
    c10::cuda::CUDAGuard guard(device);
    const auto slabs = (rows + gelu_slab_rows - 1) / gelu_slab_rows;
    TORCH_CHECK(slabs <= 65535, "gelu_backward_bias: more rows than one launch takes");
    const auto partial = torch::empty({slabs, f}, pre.options().dtype(at::kFloat));
    const void* pdh = dh.data_ptr();
    const void* ppre = pre.data_ptr();
    void* pdpre = dpre.data_ptr();
    void* ppartial = partial.data_ptr();
    long long n = rows;
    int width = static_cast<int>(f), slab_rows = gelu_slab_rows;
    void* args[] = {&pdh, &ppre, &pdpre, &ppartial, &n, &width, &slab_rows};
    launch(m.gelu_backward, static_cast<unsigned>((f + 255) / 256), static_cast<unsigned>(slabs), 32, 8, args, device, "gelu_backward_bias",
           gelu_backward_name);
    column_sums(m, partial, static_cast<int>(slabs), 1, width, db, db, device, "gelu_backward_bias");
}

bool qkv_pack(const torch::Tensor& dq, const torch::Tensor& dk, const torch::Tensor& dv, const torch::Tensor& out,
              const torch::Tensor& db) {
    TORCH_CHECK(dq.dim() == 4 && dk.sizes() == dq.sizes() && dv.sizes() == dq.sizes(),
                "qkv_pack: dq, dk and dv must be (B, nh, T, hs) alike");
    const auto B = dq.size(0), nh = dq.size(1), T = dq.size(2), hs = dq.size(3), C = nh * hs, rows = B * T;
    const auto is = [&](const torch::Tensor& t) { return t.is_cuda() && t.device() == dq.device() && t.scalar_type() == at::kBFloat16; };
    TORCH_CHECK(is(dq) && is(dk) && is(dv) && on_device(out, dq, at::kBFloat16, rows * 3 * C) && on_device(db, dq, at::kBFloat16, 3 * C),
                "qkv_pack: dq, dk, dv, out (B T, 3 nh hs) and db (3 nh hs) must be bf16 tensors on one CUDA device, out and db "
                "contiguous");
    const auto layout = [](const torch::Tensor& t) {
        return t.stride(3) == 1 && t.stride(0) % 8 == 0 && t.stride(1) % 8 == 0 && t.stride(2) % 8 == 0 &&
               reinterpret_cast<std::uintptr_t>(t.data_ptr()) % 16 == 0;
    };
    if (hs % 8 != 0 || 3 * C > 0x7fffffff || rows > 0x7fffffff || !layout(dq) || !layout(dk) || !layout(dv) ||
        reinterpret_cast<std::uintptr_t>(out.data_ptr()) % 16 != 0)
        return false;
    if (rows == 0 || C == 0) {
        db.zero_();
        return true;
    }
    const auto device = dq.device().index();
    const auto& m = loaded(device, "qkv_pack");
    c10::cuda::CUDAGuard guard(device);
    const auto slabs = (rows + qkv_pack_slab_rows - 1) / qkv_pack_slab_rows;
    TORCH_CHECK(slabs <= 65535, "qkv_pack: more rows than one launch takes");
    const auto partial = torch::empty({slabs, 3 * C}, dq.options().dtype(at::kFloat));
    struct {
        const void* p[3];
        long long batch[3], head[3], pos[3];
    } heads{};  // the kernel's fracnas_heads
    const torch::Tensor* parts[3] = {&dq, &dk, &dv};
    for (int i = 0; i < 3; ++i) {
        heads.p[i] = parts[i]->data_ptr();
        heads.batch[i] = parts[i]->stride(0), heads.head[i] = parts[i]->stride(1), heads.pos[i] = parts[i]->stride(2);
    }
    void* pout = out.data_ptr();
    void* ppartial = partial.data_ptr();
    long long n = rows;
    int t = static_cast<int>(T), head = static_cast<int>(hs), c = static_cast<int>(C), slab_rows = qkv_pack_slab_rows,
        width = static_cast<int>(3 * C);
    void* args[] = {&heads, &pout, &ppartial, &n, &t, &head, &c, &slab_rows};
    launch(m.qkv_pack, static_cast<unsigned>((width + 255) / 256), static_cast<unsigned>(slabs), 32, 8, args, device, "qkv_pack",
           qkv_pack_name);
    column_sums(m, partial, static_cast<int>(slabs), 1, width, db, db, device, "qkv_pack");
    return true;
}

}  // namespace fracnas::eval::torch_kernels
