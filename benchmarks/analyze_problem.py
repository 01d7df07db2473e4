"""The measured analysis of docs/problem.md: the size of the default GPT space, how well simple
proxies rank LiteTransformerSearch's 400 trained models, and least-squares fits of H200 decode and
prefill latency over depth and width.

Run from the repository root (needs numpy and scipy, e.g. in a venv):
    python benchmarks/analyze_problem.py [docs/results/gpu_eval_2026-11-28/sweep.jsonl]
"""
import csv
import json
import math
import sys

import numpy as np
from scipy.stats import spearmanr


def space_size():
    """Architectures of the default space (nas::gpt_space_config defaults)."""
    total = 0
    for d in range(128, 2049, 64):
        lo = (math.floor(1.7 * d / 64) + 1) * 64
        hi = math.floor(4 * d / 64) * 64
        ffn = (hi - lo) // 64 + 1

        def heads(size):
            h = max(1, d // size)
            while h > 1 and d % h:
                h -= 1
            return h

        per_layer = ffn * len({heads(64), heads(128)})
        total += sum(per_layer ** n for n in range(2, 25))
    return total


def proxies():
    for name in ("wt103", "lm1b"):
        rows = list(csv.DictReader(open(f"../shared/data/lts_gpt2_{name}.csv")))
        ppl = [float(r["valid_ppl"]) for r in rows]
        for col in ("nonembedding_params", "total_params", "attn_params", "ffn_params", "n_layer", "d_model"):
            rho = spearmanr([float(r[col]) for r in rows], ppl)[0]
            print(f"  {name:5s} Spearman({col}, valid_ppl) = {rho:+.3f}")


def fits(path):
    rows = [json.loads(line) for line in open(path)]
    depth = np.array([int(r["architecture"].split()[0].split("=")[1]) for r in rows])
    width = np.array([int(r["architecture"].split()[1].split("=")[1]) for r in rows])
    decode = np.array([r["decode"]["median_ms"] for r in rows])
    prefill = np.array([r["prefill"]["median_ms"] for r in rows])
    gbytes = np.array([r["decode_bytes"] for r in rows]) / 1e9
    tflop = np.array([r["prefill_flops"] for r in rows]) / 1e12
    for label, y, x, unit in (("decode", decode, gbytes, "GB read"), ("prefill 1x1024", prefill, tflop, "TFLOP")):
        a = np.column_stack([np.ones_like(y), depth, x])
        coef = np.linalg.lstsq(a, y, rcond=None)[0]
        pred = a @ coef
        r2 = 1 - ((y - pred) ** 2).sum() / ((y - y.mean()) ** 2).sum()
        print(f"  {label}: ms = {coef[0]:.4f} + {coef[1]:.4f} x n_layer + {coef[2]:.4f} x {unit}"
              f"  (R^2 {r2:.4f}, worst relative error {np.max(np.abs(pred - y) / y):.3f}, {len(y)} models)")
    for w in sorted(set(width)):
        m = width == w
        s = np.polyfit(depth[m], decode[m], 1)
        p = np.polyfit(depth[m], prefill[m], 1)
        print(f"  d_model {w}: decode {s[0] * 1000:.1f} us/layer (+{s[1]:.3f} ms), prefill {p[0] * 1000:.1f} us/layer (+{p[1]:.3f} ms)")


if __name__ == "__main__":
    print(f"default space: {space_size():.3e} architectures")
    print("proxies on LiteTransformerSearch's trained models:")
    proxies()
    print("H200 latency fits (bf16, CUDA-graph replay):")
    fits(sys.argv[1] if len(sys.argv) > 1 else "docs/results/gpu_eval_2026-11-28/sweep.jsonl")
