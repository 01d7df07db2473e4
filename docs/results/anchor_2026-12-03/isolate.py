#!/usr/bin/env python3
"""GPT-2 small compiled (torch.compile mode default, replayed through a hand-captured graph) and
timed as deployment_anchor.py times it, in a process that did nothing else before, or after one of
the things the anchor does before its models (issue 23: the anchor's compiled decode was 12% slower
than the same model compiled in a clean process). One JSON line on stdout.
  python3 isolate.py [--before none|alloc|floors|floors_empty]
    none          nothing before the model
    alloc         the floors' two 2 GiB buffers allocated, filled and freed (kept by the allocator)
    floors        deployment_anchor.measure_floors (the same buffers, 55 copies, 55 8192^3 GEMMs)
    floors_empty  the same, then torch.cuda.empty_cache() (the buffers handed back to the driver)
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "benchmarks"))
import deployment_anchor as da  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("--before", choices=("none", "alloc", "floors", "floors_empty"), default="none")
args = p.parse_args()
out = {"before": args.before}
if args.before == "alloc":
    a = torch.empty(1 << 30, dtype=torch.bfloat16, device="cuda").normal_()
    b = torch.empty_like(a).copy_(a)
    torch.cuda.synchronize()
    del a, b
elif args.before.startswith("floors"):
    f = da.measure_floors(50)
    out["gemm_tflops"] = f["bf16_flops_per_s"] / 1e12
    if args.before == "floors_empty":
        torch.cuda.empty_cache()
out["reserved_gib"] = torch.cuda.memory_reserved() / 2**30
a = da.parse_arch(da.MODELS["gpt2-small"], 50257, 1024)
torch.manual_seed(0)
model = da.Gpt(a, torch.bfloat16, "cuda").eval()
prompt = torch.randint(0, a["vocab"], (1, 1024), device="cuda")
token = torch.randint(0, a["vocab"], (1, 1), device="cuda")
with torch.inference_mode():
    model(torch.randint(0, a["vocab"], (1, 1023), device="cuda"), 0)
    for phase, fn in {"prefill": lambda: model(prompt, 0), "decode": lambda: model(token, 1023)}.items():
        torch._dynamo.reset()
        compiled = torch.compile(fn, mode="default", fullgraph=True)
        for _ in range(3):
            compiled()
        torch.cuda.synchronize()
        out[phase + "_ms"] = da.time_runs(da.graphed(compiled), 10, 50)["median_ms"]
m = 8192
x = torch.randn(m, m, dtype=torch.bfloat16, device="cuda")
y = torch.randn(m, m, dtype=torch.bfloat16, device="cuda")
out["gemm_after_tflops"] = 2 * m ** 3 / (da.time_runs(lambda: x @ y, 5, 50)["median_ms"] * 1e-3) / 1e12
print(json.dumps(out), flush=True)
