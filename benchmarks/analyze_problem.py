"""The measured analysis of docs/problem.md: the size of the default GPT space, how well simple
proxies rank LiteTransformerSearch's 400 trained models, and least-squares fits of H200 decode and
prefill latency over depth and width. With --grad-norm FILE (benchmarks/proxy_ranking's CSV), also
how well the grad-norm training-free proxy ranks the same models, per seed and for its mean over
seeds, and how stable its ranking is from one seed to another.

Run from the repository root (needs numpy and scipy, e.g. in a venv):
    python benchmarks/analyze_problem.py [docs/results/gpu_eval_2026-11-28/sweep.jsonl] [--grad-norm FILE]
"""
import argparse
import csv
import itertools
import json
import math
import os
from collections import defaultdict

import numpy as np
from scipy.stats import spearmanr

# LiteTransformerSearch's trained architectures, kept in the repository (tests/data/lts/README.md)
DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "lts")


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
        rows = list(csv.DictReader(open(os.path.join(DATA, f"lts_gpt2_{name}.csv"))))
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


def read_grad_norm(path):
    """proxy_ranking's rows: the --out CSV, or its stdout (the CSV header line is looked for, and the
    rows end at the first blank line)."""
    lines = open(path).read().splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("dataset,id,")), None)
    if start is None:
        raise SystemExit(f"analyze_problem.py: {path} has no proxy_ranking header (dataset,id,...)")
    end = next((i for i in range(start + 1, len(lines)) if not lines[i].strip()), len(lines))
    return list(csv.DictReader(lines[start:end]))


def spearman(x, y):
    """Spearman's rho; NaN with fewer than 3 models or a constant column."""
    return spearmanr(x, y)[0] if len(x) > 2 else math.nan


def fmt(r):
    return "n/a" if math.isnan(r) else f"{r:+.3f}"


def rho(x, y):
    return fmt(spearman(x, y))


def grad_norm_ranking(rows):
    by_dataset = defaultdict(list)
    for r in rows:
        by_dataset[r["dataset"]].append(r)
    for name, drows in by_dataset.items():
        ok = [r for r in drows if r["status"] == "ok" and r["grad_norm"]]
        failed = len(drows) - len(ok)
        seeds = sorted({int(r["seed"]) for r in ok})
        # per model: its trained perplexity, our decoder count and its grad norm for each seed
        models = {}
        for r in ok:
            m = models.setdefault(r["id"], {"ppl": float(r["valid_ppl"]), "decoder": float(r["decoder_params"]), "gn": {}})
            m["gn"][int(r["seed"])] = float(r["grad_norm"])
        print(f"  {name}: {len(models)} models, seeds {','.join(map(str, seeds))}, {failed} failed evaluations")
        for s in seeds:
            ms = [m for m in models.values() if s in m["gn"]]
            gn = [m["gn"][s] for m in ms]
            print(f"    seed {s}: Spearman(grad_norm, valid_ppl) = {rho(gn, [m['ppl'] for m in ms])}, "
                  f"Spearman(grad_norm, decoder_params) = {rho(gn, [m['decoder'] for m in ms])}  ({len(ms)} models)")
        full = [m for m in models.values() if len(m["gn"]) == len(seeds)]  # ok for every seed
        mean = [float(np.mean(list(m["gn"].values()))) for m in full]
        ppl = [m["ppl"] for m in full]
        decoder = [m["decoder"] for m in full]
        print(f"    mean over seeds: Spearman(grad_norm, valid_ppl) = {rho(mean, ppl)}, "
              f"Spearman(grad_norm, decoder_params) = {rho(mean, decoder)}  ({len(full)} models)")
        print(f"    reference on the same models: Spearman(decoder_params, valid_ppl) = {rho(decoder, ppl)}")
        pairs = [(a, b, spearman([m["gn"][a] for m in full], [m["gn"][b] for m in full]))
                 for a, b in itertools.combinations(seeds, 2)]
        if pairs:
            text = ", ".join(f"{a}-{b} {fmt(r)}" for a, b, r in pairs)
            print(f"    seed-to-seed Spearman(grad_norm): {text} (mean {fmt(float(np.mean([r for _, _, r in pairs])))})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="The measured analysis of docs/problem.md.")
    parser.add_argument("sweep", nargs="?", default="docs/results/gpu_eval_2026-11-28/sweep.jsonl",
                        help="the H200 depth x width sweep (JSON lines)")
    parser.add_argument("--grad-norm", metavar="FILE",
                        help="benchmarks/proxy_ranking's CSV: rank the grad-norm proxy as well")
    args = parser.parse_args()
    grad_norm_rows = read_grad_norm(args.grad_norm) if args.grad_norm else None  # fail before printing anything
    print(f"default space: {space_size():.3e} architectures")
    print("proxies on LiteTransformerSearch's trained models:")
    proxies()
    print("H200 latency fits (bf16, CUDA-graph replay):")
    fits(args.sweep)
    if args.grad_norm:
        print(f"grad-norm proxy on LiteTransformerSearch's trained models ({args.grad_norm}):")
        grad_norm_ranking(grad_norm_rows)
