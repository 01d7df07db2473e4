#!/usr/bin/env python3
"""What a good deployment of the same architecture achieves, next to `fracnas eval`.

For each model (GPT-2 small, GPT-2 medium and three shallow-wide ones by default; with --models,
also GPT-2 small's shape with the Llama block and a Llama-3.2-1B shape), in one process on one GPU,
bf16, batch 1:
  - the same GPT in plain PyTorch (by default GPT-2's block: learned positions, pre-LayerNorm
    blocks, tanh-GELU MLP, tied output projection; or the block options of fracnas's architecture
    text: RMSNorm, SwiGLU, rotary positions applied to q and k, grouped KV heads through SDPA's
    enable_gqa, a parallel block, an untied output table, no biases; a static KV cache of the full
    context), timed for the two things
    `fracnas eval` times: a prefill of T tokens that returns the last position's logits, and
    one decode step at context C (the cache holds C tokens; logits of the new one);
  - eager, under a hand-captured CUDA graph, and under torch.compile (each mode asked for, then
    replayed through a hand-captured CUDA graph so that launch overhead is the same as ours);
  - `fracnas eval --json` on the same architecture, run as a child process in the same run;
  - the floors: the bytes a step must read over the measured copy bandwidth, and its matrix
    FLOPs over the measured bf16 GEMM rate (a 2 GiB device-to-device copy and an
    8192 x 8192 x 8192 bf16 matmul, timed here), next to the H200's nominal 4.8 TB/s and
    989 TFLOP/s.
Writes one JSON object per line (--out) and prints a table. Timings: CUDA events around each
run, `--warmup` untimed runs then `--repeats` timed ones; median and IQR. Nothing here is
asserted: docs/results/gpu_worker.md reads the output.

Usage (on the GPU machine, after building fracnas):
  python3 benchmarks/deployment_anchor.py --fracnas build-gpu/fracnas --out anchor.jsonl
"""
import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

MODELS = {
    "gpt2-small": "n_layer=12 d_model=768 d_inner=3072 n_head=12",
    "gpt2-medium": "n_layer=24 d_model=1024 d_inner=4096 n_head=16",
    "3x1728": "n_layer=3 d_model=1728 d_inner=5184 n_head=27",
    "2x2048": "n_layer=2 d_model=2048 d_inner=8192 n_head=16",
    "4x1536": "n_layer=4 d_model=1536 d_inner=6144 n_head=12",
    # the block options (issue 25): GPT-2 small's shape with Llama's block (untied) and 4 KV heads,
    # with a parallel block, and a Llama-3.2-1B shape (its vocabulary, tied as the real one; the
    # anchor's context of 1,024)
    "small-llama": "n_layer=12 d_model=768 d_inner=2048 n_head=12 norm=rmsnorm mlp=swiglu positions=rotary "
                   "n_kv_head=4 bias=off output=untied",
    "small-parallel": "n_layer=12 d_model=768 d_inner=3072 n_head=12 block=parallel",
    "llama-3.2-1b": "n_layer=16 d_model=2048 d_inner=8192 n_head=32 norm=rmsnorm mlp=swiglu positions=rotary "
                    "n_kv_head=8 bias=off vocab=128256",
}
DEFAULT_MODELS = ("gpt2-small", "gpt2-medium", "3x1728", "2x2048", "4x1536")
BLOCK_KEYS = {"norm": "layernorm", "mlp": "gelu", "positions": "learned", "block": "sequential", "output": "tied",
              "bias": "on"}
NOMINAL_BANDWIDTH = 4.8e12  # H200 HBM3e, bytes/s (NVIDIA's figure)
NOMINAL_BF16 = 989e12       # H200 dense bf16 tensor-core FLOP/s (NVIDIA's figure, no sparsity)


def parse_arch(text, vocab, context):
    """The homogeneous canonical form fracnas prints, one value per key (or one per layer)."""
    kv = dict(item.split("=") for item in text.split())
    n = int(kv["n_layer"])
    per_layer = lambda key: [int(v) for v in kv[key].split(",")] * (n if "," not in kv[key] else 1)
    a = dict(n_layer=n, d_model=int(kv["d_model"]), d_inner=per_layer("d_inner"), n_head=per_layer("n_head"),
             vocab=int(kv.get("vocab", vocab)), context=int(kv.get("context", context)))
    a["n_kv_head"] = per_layer("n_kv_head") if "n_kv_head" in kv else list(a["n_head"])
    for key, default in BLOCK_KEYS.items():
        a[key] = kv.get(key, default)
    assert len(a["d_inner"]) == n and len(a["n_head"]) == n and len(a["n_kv_head"]) == n, text
    return a


def spec(a):
    """fracnas's --arch form of the architecture."""
    text = "n_layer={} d_model={} d_inner={} n_head={} vocab={} context={}".format(
        a["n_layer"], a["d_model"], ",".join(map(str, a["d_inner"])), ",".join(map(str, a["n_head"])),
        a["vocab"], a["context"])
    options = ["{}={}".format(key, a[key]) for key, default in BLOCK_KEYS.items() if a[key] != default]
    if a["n_kv_head"] != a["n_head"]:
        options.append("n_kv_head=" + ",".join(map(str, a["n_kv_head"])))
    return " ".join([text] + options)


def norm_layer(a, d, kw):
    if a["norm"] == "rmsnorm":
        return nn.RMSNorm(d, eps=1e-5, **kw)
    return nn.LayerNorm(d, eps=1e-5, bias=a["bias"] == "on", **kw)


def rotary_tables(hs, context, device, theta=10000.0):
    """cos and sin (context, hs) in fp32, rotate-half layout (transformers' Llama)."""
    inv = 1.0 / theta ** (torch.arange(0, hs, 2, dtype=torch.float32, device=device) / hs)
    angles = torch.outer(torch.arange(context, dtype=torch.float32, device=device), inv)
    angles = torch.cat([angles, angles], dim=-1)
    return angles.cos(), angles.sin()


def rotate(t, cos, sin):
    half = t.size(-1) // 2
    turned = torch.cat([-t[..., half:], t[..., :half]], dim=-1)
    return (t * cos + turned * sin).to(t.dtype)


class Block(nn.Module):
    def __init__(self, a, l, dtype, device):
        super().__init__()
        kw = dict(dtype=dtype, device=device)
        d, d_inner, context = a["d_model"], a["d_inner"][l], a["context"]
        bias = a["bias"] == "on"
        self.n_head, self.n_kv, self.hs = a["n_head"][l], a["n_kv_head"][l], d // a["n_head"][l]
        self.parallel, self.swiglu = a["block"] == "parallel", a["mlp"] == "swiglu"
        self.ln_1 = norm_layer(a, d, kw)
        self.c_attn = nn.Linear(d, d + 2 * self.n_kv * self.hs, bias=bias, **kw)
        self.attn_proj = nn.Linear(d, d, bias=bias, **kw)
        self.ln_2 = None if self.parallel else norm_layer(a, d, kw)
        self.c_fc = nn.Linear(d, (2 if self.swiglu else 1) * d_inner, bias=bias, **kw)  # SwiGLU: gate and up
        self.mlp_proj = nn.Linear(d_inner, d, bias=bias, **kw)
        shape = (1, self.n_kv, context, self.hs)
        self.register_buffer("k_cache", torch.zeros(shape, **kw), persistent=False)
        self.register_buffer("v_cache", torch.zeros(shape, **kw), persistent=False)

    def mlp(self, x):
        h = self.c_fc(x)
        if self.swiglu:
            gate, up = h.chunk(2, dim=-1)
            return self.mlp_proj(F.silu(gate) * up)
        return self.mlp_proj(F.gelu(h, approximate="tanh"))

    def forward(self, x, pos, rotary):
        B, T, C = x.shape
        h = self.ln_1(x)
        q, k, v = self.c_attn(h).split([C, self.n_kv * self.hs, self.n_kv * self.hs], dim=2)
        q = q.view(B, T, self.n_head, self.hs).transpose(1, 2)
        k, v = (t.view(B, T, self.n_kv, self.hs).transpose(1, 2) for t in (k, v))
        if rotary is not None:
            cos, sin = rotary[0][pos:pos + T], rotary[1][pos:pos + T]
            q, k = rotate(q, cos, sin), rotate(k, cos, sin)
        self.k_cache[:, :, pos:pos + T] = k
        self.v_cache[:, :, pos:pos + T] = v
        gqa = self.n_kv != self.n_head
        if pos == 0:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=gqa)
        else:  # one new token (T = 1) sees every cached position
            y = F.scaled_dot_product_attention(q, self.k_cache[:, :, :pos + T], self.v_cache[:, :, :pos + T],
                                               enable_gqa=gqa)
        attn = self.attn_proj(y.transpose(1, 2).reshape(B, T, C))
        if self.parallel:  # attention and MLP from one norm (GPT-J, PaLM)
            return x + attn + self.mlp(h)
        x = x + attn
        return x + self.mlp(self.ln_2(x))


class Gpt(nn.Module):
    def __init__(self, a, dtype, device):
        super().__init__()
        kw = dict(dtype=dtype, device=device)
        d = a["d_model"]
        self.wte = nn.Embedding(a["vocab"], d, **kw)
        self.wpe = nn.Embedding(a["context"], d, **kw) if a["positions"] == "learned" else None
        self.h = nn.ModuleList(Block(a, l, dtype, device) for l in range(a["n_layer"]))
        self.ln_f = norm_layer(a, d, kw)
        self.lm_head = nn.Linear(d, a["vocab"], bias=False, **kw) if a["output"] == "untied" else None
        self.rotary = None
        if self.wpe is None:  # one head size for every layer (d_model over the heads)
            self.rotary = rotary_tables(d // a["n_head"][0], a["context"], device)
        for p in self.parameters():  # GPT-2's initialisation scale; latency does not depend on it
            if p.dim() == 2:
                nn.init.normal_(p, std=0.02)

    def forward(self, idx, pos):
        T = idx.size(1)
        x = self.wte(idx)
        if self.wpe is not None:
            x = x + self.wpe.weight[pos:pos + T]
        for block in self.h:
            x = block(x, pos, self.rotary)
        x = self.ln_f(x[:, -1:, :])
        table = self.lm_head.weight if self.lm_head is not None else self.wte.weight
        return x @ table.t()  # (B, 1, vocab): the last position's logits


def time_runs(fn, warmup, repeats, queued=True):
    """Median and IQR in ms over `repeats` CUDA-event-timed runs after `warmup` untimed ones. Queued
    (graph replays and the floors' kernels), as fracnas times graphs: the runs are queued behind a
    spin kernel and run back to back, so that the host's launch latency is not in the timings; when
    the spin ended before the last run was queued, they are timed again behind a spin twice as long
    (at most 4 times). Not queued (eager): each run launched and timed on its own, the host's
    launches included, since they are an eager model's cost."""
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    cycles = 2_000_000
    for attempt in range(5 if queued else 1):
        if queued:
            torch.cuda._sleep(cycles)
        spun = torch.cuda.Event()
        spun.record()
        pairs = []
        for _ in range(repeats):
            start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            stop.record()
            if not queued:
                stop.synchronize()
            pairs.append((start, stop))
        covered = queued and not spun.query()
        pairs[-1][1].synchronize()
        if covered:
            break
        cycles *= 2
    ms = [start.elapsed_time(stop) for start, stop in pairs]
    q = statistics.quantiles(ms, n=4)
    return {"median_ms": statistics.median(ms), "iqr_ms": q[2] - q[0], "min_ms": min(ms), "repeats": repeats,
            "queued": covered}


def graphed(fn, warmups=3):
    """A hand-captured CUDA graph of fn (warm-up on a side stream, as torch.cuda.graph requires)."""
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(warmups):
            fn()
    torch.cuda.current_stream().wait_stream(side)
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        fn()
    return g.replay


def measure_floors(repeats):
    n = 1 << 30  # 2 GiB of bf16
    a = torch.empty(n, dtype=torch.bfloat16, device="cuda").normal_()
    b = torch.empty_like(a)
    copy = time_runs(lambda: b.copy_(a), 5, repeats)
    bandwidth = 2 * a.numel() * a.element_size() / (copy["median_ms"] * 1e-3)
    del a, b
    m = 8192
    x = torch.randn(m, m, dtype=torch.bfloat16, device="cuda")
    y = torch.randn(m, m, dtype=torch.bfloat16, device="cuda")
    gemm = time_runs(lambda: x @ y, 5, repeats)
    rate = 2 * m ** 3 / (gemm["median_ms"] * 1e-3)
    return {"copy_bytes": 2 * n * 2, "copy": copy, "bandwidth_bytes_per_s": bandwidth,
            "gemm_n": m, "gemm": gemm, "bf16_flops_per_s": rate,
            "nominal_bandwidth_bytes_per_s": NOMINAL_BANDWIDTH, "nominal_bf16_flops_per_s": NOMINAL_BF16}


def model_floors(a, tokens, context, floors):
    """Bytes each step must read and matrix FLOPs it must do, and the time each takes at the measured
    and the nominal rates. Decode reads every weight once (the output projection is the embedding)
    and the cache's C + 1 keys and values; a prefill reads the weights once and does 2 x weights x T
    matrix FLOPs plus causal attention (the output projection for one position). The matrices of a
    layer: q and the projection d x d each, k and v d x (KV heads x head size) each, the MLP 2 (GELU)
    or 3 (SwiGLU) x d x d_inner; an untied table is read besides the embedding's rows."""
    d, n, V = a["d_model"], a["n_layer"], a["vocab"]
    mlp_mats = 3 if a["mlp"] == "swiglu" else 2
    kv_width = [a["n_kv_head"][l] * (d // a["n_head"][l]) for l in range(n)]
    layer_w = sum(2 * d * d + 2 * d * kv_width[l] + mlp_mats * d * a["d_inner"][l] for l in range(n))
    weight_bytes = 2 * (layer_w + V * d)
    kv_bytes = 2 * 2 * (context + 1) * sum(kv_width)
    decode_flops = 2 * (layer_w + V * d) + 4 * n * (context + 1) * d
    prefill_flops = 2 * layer_w * tokens + 2 * n * tokens * tokens * d + 2 * V * d  # causal QK^T and PV: half of 4 n T^2 d
    out = {"weight_bytes": weight_bytes, "decode_bytes": weight_bytes + kv_bytes, "decode_flops": decode_flops,
           "prefill_flops": prefill_flops}
    for tag, bw, rate in (("measured", floors["bandwidth_bytes_per_s"], floors["bf16_flops_per_s"]),
                          ("nominal", NOMINAL_BANDWIDTH, NOMINAL_BF16)):
        out["decode_floor_ms_" + tag] = 1e3 * max((weight_bytes + kv_bytes) / bw, decode_flops / rate)
        out["prefill_floor_ms_" + tag] = 1e3 * max(weight_bytes / bw, prefill_flops / rate)
    return out


def fracnas_eval(binary, a, tokens, context, warmup, repeats, attention="auto"):
    cmd = [binary, "eval", "--arch", spec(a), "--device", "cuda", "--tokens", str(tokens), "--context", str(context),
           "--warmup", str(warmup), "--repeats", str(repeats), "--attention", attention, "--json"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        return {"error": (r.stderr or r.stdout).strip()[-500:]}
    j = json.loads(r.stdout)
    return {"prefill": j["prefill"], "decode": j["decode"], "prefill_attention": j.get("prefill_attention"),
            "decode_attention": j.get("decode_attention"), "peak_memory_bytes": j.get("peak_memory_bytes")}


def run_model(name, a, args):
    torch.manual_seed(0)
    row = {"model": name, "architecture": spec(a), "tokens": args.tokens, "context": args.context}
    model = Gpt(a, torch.bfloat16, "cuda").eval()
    prompt = torch.randint(0, a["vocab"], (1, args.tokens), device="cuda")
    token = torch.randint(0, a["vocab"], (1, 1), device="cuda")
    with torch.inference_mode():
        model(torch.randint(0, a["vocab"], (1, args.context), device="cuda"), 0)  # fill the cache for decode
        steps = {"prefill": lambda: model(prompt, 0), "decode": lambda: model(token, args.context)}
        for phase, fn in steps.items():
            row[phase] = {"eager": time_runs(fn, args.warmup, args.repeats, queued=False),
                          "graph": time_runs(graphed(fn), args.warmup, args.repeats)}
        # which SDPA kernel PyTorch picks at each phase's shapes (layer 0), and the graph timed with
        # each kernel allowed alone
        nh, hs = a["n_head"][0], a["d_model"] // a["n_head"][0]
        q = torch.empty(1, nh, args.tokens, hs, dtype=torch.bfloat16, device="cuda")
        kv = torch.empty(1, nh, args.context + 1, hs, dtype=torch.bfloat16, device="cuda")
        names = {0: "math", 1: "flash", 2: "efficient", 3: "cudnn", 4: "overrideable"}
        row["prefill"]["sdpa_default"] = names.get(torch._fused_sdp_choice(q, q, q, is_causal=True), "?")
        row["decode"]["sdpa_default"] = names.get(torch._fused_sdp_choice(q[:, :, :1], kv, kv), "?")
        from torch.nn.attention import SDPBackend, sdpa_kernel
        kernels = {"flash": SDPBackend.FLASH_ATTENTION, "efficient": SDPBackend.EFFICIENT_ATTENTION,
                   "cudnn": SDPBackend.CUDNN_ATTENTION}
        for kernel in args.attention:
            for phase, fn in steps.items():
                try:
                    with sdpa_kernel([kernels[kernel]]):
                        runner = graphed(fn)
                    row[phase]["graph:" + kernel] = time_runs(runner, args.warmup, args.repeats)
                except Exception as e:  # noqa: BLE001 - a kernel that cannot take these inputs
                    row[phase]["graph:" + kernel] = {"error": "{}: {}".format(type(e).__name__, str(e)[:200])}
        for mode in args.compile_modes:
            if mode == "none":
                continue
            for phase, fn in steps.items():
                key = "compile:" + mode
                try:
                    torch._dynamo.reset()
                    t0 = time.perf_counter()
                    compiled = torch.compile(fn, mode=mode, fullgraph=True)
                    for _ in range(3):
                        compiled()
                    torch.cuda.synchronize()
                    compile_s = time.perf_counter() - t0
                    runner = compiled if "no-cudagraphs" not in mode and mode != "default" else graphed(compiled)
                    row[phase][key] = dict(time_runs(runner, args.warmup, args.repeats), compile_seconds=compile_s,
                                           hand_graph=runner is not compiled)
                except Exception as e:  # noqa: BLE001 - recorded as data, the table says so
                    row[phase][key] = {"error": "{}: {}".format(type(e).__name__, str(e)[:300])}
    del model
    torch.cuda.empty_cache()
    if args.fracnas:
        row["fracnas"] = fracnas_eval(args.fracnas, a, args.tokens, args.context, args.warmup, args.repeats)
        for kernel in args.attention:
            row["fracnas:" + kernel] = fracnas_eval(args.fracnas, a, args.tokens, args.context, args.warmup,
                                                    args.repeats, kernel)
    return row


def best_compiled(phase_row):
    ok = [(v["median_ms"], k) for k, v in phase_row.items() if k.startswith("compile:") and "median_ms" in v]
    return min(ok) if ok else (math.nan, "-")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--fracnas", help="the fracnas binary; its `eval --json` is run on each model")
    p.add_argument("--models", default=",".join(DEFAULT_MODELS), help="comma list of: " + ", ".join(MODELS) +
                   " (default: " + ",".join(DEFAULT_MODELS) + ")")
    p.add_argument("--compile-modes", default="max-autotune-no-cudagraphs",
                   help="comma list of torch.compile modes, or none (a mode without CUDA graphs is replayed "
                        "through a hand-captured graph)")
    p.add_argument("--attention", default="flash,efficient,cudnn",
                   help="also time the graph and fracnas with each of these SDPA kernels alone (comma list, or none)")
    p.add_argument("--tokens", type=int, default=1024, help="prefill tokens (default 1024)")
    p.add_argument("--context", type=int, default=1023, help="tokens in the cache for the decode step (default 1023)")
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--repeats", type=int, default=50)
    p.add_argument("--floors", choices=("first", "last"), default="first",
                   help="measure the copy and GEMM floors before the models (default) or after them; on the H200 "
                        "the order changed no timing (docs/results/gpu_worker.md, 'The anchor's 12%%, checked')")
    p.add_argument("--out", help="JSON lines: the machine, the floors, one line per model")
    args = p.parse_args()
    args.compile_modes = args.compile_modes.split(",")
    args.attention = [] if args.attention == "none" else args.attention.split(",")
    if any(k not in ("flash", "efficient", "cudnn") for k in args.attention):
        p.error("--attention takes flash, efficient and cudnn")
    names = args.models.split(",")
    for n in names:
        if n not in MODELS:
            p.error("unknown model '{}'; known: {}".format(n, ", ".join(MODELS)))
    if not torch.cuda.is_available():
        p.error("no CUDA device: this benchmark times a GPU")
    if args.context + 1 > 1024 or args.tokens > 1024:
        p.error("--tokens must be at most 1024 and --context at most 1023 (the models' context)")
    out = open(args.out, "w") if args.out else None
    machine = {"host": platform.node(), "gpu": torch.cuda.get_device_name(), "torch": torch.__version__,
               "cuda": torch.version.cuda, "python": platform.python_version(),
               "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()), "command": " ".join(sys.argv)}
    print(json.dumps(machine))

    def floors_now():
        f = measure_floors(args.repeats)
        f["measured"] = args.floors
        print("floors ({}): copy {:.3f} TB/s (nominal 4.8), bf16 GEMM {:.1f} TFLOP/s (nominal 989)".format(
            args.floors, f["bandwidth_bytes_per_s"] / 1e12, f["bf16_flops_per_s"] / 1e12), flush=True)
        if out:
            out.write(json.dumps({"machine": machine, "floors": f}) + "\n")
        return f

    floors = floors_now() if args.floors == "first" else None
    rows = []
    for name in names:
        a = parse_arch(MODELS[name], 50257, 1024)
        rows.append((a, run_model(name, a, args)))
        if floors is None:
            print("measured {}".format(name), flush=True)
    if floors is None:
        floors = floors_now()
    print("{:12s} {:8s} {:>9s} {:>9s} {:>9s} {:>9s} {:>7s} {:>9s} {:>9s}  {}".format(
        "model", "phase", "eager", "graph", "compiled", "fracnas", "ours/c", "floor(m)", "floor(n)", "best compile mode"))
    for a, row in rows:
        name = row["model"]
        row.update(model_floors(a, args.tokens, args.context, floors))
        if out:
            out.write(json.dumps(row) + "\n")
            out.flush()
        for phase in ("prefill", "decode"):
            best, mode = best_compiled(row[phase])
            ours = row.get("fracnas", {}).get(phase, {}) or {}
            ours_ms = ours.get("median_ms", math.nan)
            print("{:12s} {:8s} {:9.4f} {:9.4f} {:9.4f} {:9.4f} {:7.3f} {:9.4f} {:9.4f}  {}".format(
                name, phase, row[phase]["eager"]["median_ms"], row[phase]["graph"]["median_ms"], best, ours_ms,
                ours_ms / best if best == best else math.nan, row[phase + "_floor_ms_measured"],
                row[phase + "_floor_ms_nominal"], mode), flush=True)
        if "error" in row.get("fracnas", {}):
            print("  fracnas eval failed:", row["fracnas"]["error"])
        for phase in ("prefill", "decode"):
            parts = ["default " + row[phase]["sdpa_default"]]
            for kernel in args.attention:
                g = row[phase].get("graph:" + kernel, {})
                f = (row.get("fracnas:" + kernel, {}) or {}).get(phase) or {}
                parts.append("{} graph {} fracnas {}".format(
                    kernel, "{:.4f}".format(g["median_ms"]) if "median_ms" in g else "-",
                    "{:.4f}".format(f["median_ms"]) if "median_ms" in f else "-"))
            print("  {:8s} SDPA: {}".format(phase, "; ".join(parts)))


if __name__ == "__main__":
    main()
