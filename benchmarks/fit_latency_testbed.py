"""Fits the latency test bed (issue 11, step 5) to H200 decode measurements and states its error.

The test bed is a linear model of one decode step's milliseconds (batch 1, 1,023 cached tokens,
bf16, CUDA graphs, as `fracnas search --device cuda` measures) over per-architecture features:
  1, n_layer, the layers' weight GB (4 d^2 + 2 d d_inner per layer, bf16), the KV cache's GB
  (2 x 2 x 1,023 x d per layer), the tied output table's GB (50,257 x d), one per-layer term per
  d_model (n_layer where d_model == w, for each width w of the data: the GEMM and kernel choice
  at that width), and per-layer counts of head dimensions 64, 128 and any other (attention
  kernels).
Held-out error: 5 random 80/20 splits, and a fit on the unconstrained random searches tested on
the region searches end in (GPT-2 small's floor). The coefficients, fitted on every row, are
printed as the C++ table of src/eval/testbed.cpp.

    python3 benchmarks/fit_latency_testbed.py docs/results/testbed_2026-11-29/h200_latency_dataset.csv
"""
import csv
import sys

import numpy as np


def parse(text):
    d = dict(kv.split("=") for kv in text.split())
    return (int(d["n_layer"]), int(d["d_model"]), [int(x) for x in d["d_inner"].split(",")],
            [int(x) for x in d["n_head"].split(",")])


def features(arch, widths):
    n_layer, d, d_inner, n_head = arch
    head_dims = [d // h for h in n_head]
    return ([1.0, n_layer, sum(4 * d * d + 2 * d * f for f in d_inner) * 2 / 1e9, 2 * 2 * 1023 * d * n_layer / 1e9,
             50257 * d * 2 / 1e9]
            + [n_layer * (d == w) for w in widths]
            + [sum(h == 64 for h in head_dims), sum(h == 128 for h in head_dims),
               sum(h not in (64, 128) for h in head_dims)])


def ranks(v):
    return np.argsort(np.argsort(v))


def main():
    rows = list(csv.DictReader(open(sys.argv[1])))
    archs = [parse(r["arch"]) for r in rows]
    y = np.array([float(r["decode_ms"]) for r in rows])
    source = np.array([r["source"] for r in rows])
    widths = sorted({a[1] for a in archs})
    X = np.array([features(a, widths) for a in archs])

    def fit(mask):
        return np.linalg.lstsq(X[mask], y[mask], rcond=None)[0]

    def errors(c, mask):
        rel = (X[mask] @ c - y[mask]) / y[mask]
        return np.sqrt(np.mean(rel ** 2)), np.max(np.abs(rel)), np.corrcoef(ranks(X[mask] @ c), ranks(y[mask]))[0, 1]

    print("rows %d (%s), widths %d, decode %.4f-%.4f ms" % (
        len(y), ", ".join("%s %d" % (s, np.sum(source == s)) for s in sorted(set(source))), len(widths), y.min(), y.max()))
    rng = np.random.default_rng(0)
    for split in range(5):
        test = np.zeros(len(y), bool)
        test[rng.permutation(len(y))[: len(y) // 5]] = True
        rms, worst, rho = errors(fit(~test), test)
        print("random 80/20 split %d: held-out %d rows, rms %.2f%%, max %.1f%%, spearman %.4f" % (
            split, test.sum(), 100 * rms, 100 * worst, rho))
    unconstrained = (source == "random_het") | (source == "random_hom")
    rms, worst, rho = errors(fit(unconstrained), ~unconstrained)
    print("fitted on the unconstrained random searches, tested on the floor's region (%d rows): rms %.2f%%, max %.1f%%, "
          "spearman %.4f" % (np.sum(~unconstrained), 100 * rms, 100 * worst, rho))
    c = fit(np.ones(len(y), bool))
    rms, worst, rho = errors(c, np.ones(len(y), bool))
    print("fitted on every row: rms %.2f%%, max %.1f%% (in-sample)" % (100 * rms, 100 * worst))
    print("// base: 1, n_layer, layer weight GB, KV GB, output table GB")
    print("constexpr double base[5] = {%s};" % ", ".join("%.9g" % v for v in c[:5]))
    print("// per layer at d_model = %d + 64 k" % widths[0])
    assert widths == list(range(widths[0], widths[-1] + 1, 64))
    print("constexpr double per_width[%d] = {%s};" % (len(widths), ", ".join("%.9g" % v for v in c[5:5 + len(widths)])))
    print("// per layer with head dimension 64, 128, other")
    print("constexpr double per_head_dim[3] = {%s};" % ", ".join("%.9g" % v for v in c[5 + len(widths):]))


if __name__ == "__main__":
    main()
