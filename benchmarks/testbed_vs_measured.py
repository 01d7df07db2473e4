#!/usr/bin/env python3
"""The H200 latency test bed (`--latency-model h200`, src/eval/testbed.cpp) against decode ratios
measured on the H200 by a search: for each timed candidate of `fracnas analyze --csv`'s
evaluations file, the measured ratio to GPT-2 small's shape and the test bed's ratio for the same
architecture (and the same vocabulary), then the median of measured / test bed.

    python3 benchmarks/testbed_vs_measured.py EVALUATIONS.csv [...]

The test bed's coefficients are read from src/eval/testbed.cpp, so this computes what the binary
computes. Standard library only.
"""
import csv
import os
import re
import statistics
import sys


def coefficients():
    text = open(os.path.join(os.path.dirname(__file__), "..", "src", "eval", "testbed.cpp")).read()
    tables = {}
    for name in ("base", "per_width", "per_head_dim"):
        body = re.search(name + r"\[\d+\] = \{([^}]*)\}", text).group(1)
        tables[name] = [float(v) for v in body.replace("\n", " ").split(",") if v.strip()]
    return tables


def decode_ms(arch, t):
    g = dict(re.findall(r"(\w+)=([\d,]+)", arch))
    layers, d, vocab = int(g["n_layer"]), int(g["d_model"]), int(g["vocab"])
    inner = [int(v) for v in g["d_inner"].split(",")]
    heads = [int(v) for v in g["n_head"].split(",")]
    weights = sum(4 * d * d + 2 * d * f for f in inner)
    table = vocab * d  # nas::embedding_matmul_weights of a tied table as wide as d_model
    b = t["base"]
    ms = b[0] + b[1] * layers + b[2] * weights * 2 / 1e9 + b[3] * 4 * 1023 * d * layers / 1e9 + b[4] * table * 2 / 1e9
    ms += layers * t["per_width"][min(max(round((d - 128) / 64), 0), 30)]
    for h in heads:
        ms += t["per_head_dim"][0 if d // h == 64 else 1 if d // h == 128 else 2]
    return ms


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    t = coefficients()
    quotients = []
    for path in sys.argv[1:]:
        for r in csv.DictReader(open(path)):
            if r["status"] != "ok" or not r["ratio"] or "d_embed=" in r["architecture"]:
                continue  # unmeasured, or a narrow embedding (its projections are not computed here)
            vocab = re.search(r"vocab=(\d+)", r["architecture"]).group(1)
            ref = "n_layer=12 d_model=768 d_inner=" + ",".join(["3072"] * 12) + " n_head=" + ",".join(["12"] * 12) + f" vocab={vocab}"
            bed = decode_ms(r["architecture"], t) / decode_ms(ref, t)
            quotients.append(float(r["ratio"]) / bed)
            print(f"measured {float(r['ratio']):.3f}  test bed {bed:.3f}  {r['architecture'][:90]}")
    print(f"{len(quotients)} timings: measured / test bed median {statistics.median(quotients):.3f}, "
          f"range {min(quotients):.3f}-{max(quotients):.3f}")


if __name__ == "__main__":
    main()
