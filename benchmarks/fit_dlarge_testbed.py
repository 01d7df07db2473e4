#!/usr/bin/env python3
"""Fits the D-large test bed of the model evaluator's simulated trainings (`--train-model dlarge`,
src/eval/model_evaluators.cpp) to the trainings measured on D-large on the H200, and prints its
coefficients, its fit and its leave-one-architecture-out error at one epoch.

    "${XDG_CACHE_HOME:-$HOME/.cache}/fracnas/torch-2.11.0/bin/python" benchmarks/fit_dlarge_testbed.py [--root .]

(the Python of the venv that cmake/dev.sh makes: it has numpy.)

Data (all in docs/results/, as the sessions left them): the D-large studies' trainings
(training_dlarge_2026-12-03 wsd at 16 M tokens with decays at 1-8 M, training_dlarge_epoch_2026-12-03
and training_epoch_candidates_2026-12-03 at one epoch, 71.5 M), and every training of the two
D-large searches (train_search_dlarge_2026-12-04, train_search_calibrated_2026-12-04: 16 M with a
probe at 8 M, one epoch), all with recipe A's wsd schedule at vocabulary 32,768. A point is the
mean log perplexity of an architecture at a budget over its seeds, minus GPT-2 small's (the
reference) at the same budget; budgets of 8 M tokens and more (the searches' rungs and probes).
The four features were chosen by the leave-one-out error at one epoch (printed below) among the
subsets of six candidates: these four, ln(n_layer / 12) and ln(decoder parameters / GPT-2 small's);
a capacity term (decoder parameters)^-0.34 beside them made it worse (0.029 to 0.050 against
0.023). With no capacity term the fit has no reason to call a small model worse: it holds within
the data's 25-87 M decoder parameters (a search on it needs a floor, as --min-params 42528000).

The model: log(ppl / ppl_ref) = sum over f of (b_f + c_f tau) x_f, tau = ln(T / 16 M), with
x = ln(d_embed / d_model), ln(mean d_inner / 4 d_model), 1/n_layer - 1/12, ln(d_model / 768): zero
for the reference at every budget. Depth and the MLP's width set how far a model falls behind as
the budget grows; measured on D-large, the decoder-parameter count adds nothing to them at these
budgets (docs/results/train_search.md). Least squares, each point weighted by its seeds.
"""
import argparse
import collections
import csv
import glob
import json
import math
import os
import re

import numpy as np

REFERENCE = (12, 768, 3072.0, 768)
FEATURES = ("ln(d_embed/d_model)", "ln(d_inner/4d_model)", "1/n_layer-1/12", "ln(d_model/768)")


def shape(arch):
    g = dict(re.findall(r"(\w+)=([\d,]+)", arch))
    d = int(g["d_model"])
    inner = [int(x) for x in g["d_inner"].split(",")]
    return int(g["n_layer"]), d, sum(inner) / len(inner), int(g.get("d_embed", d))


def features(n_layer, d, inner, e):
    return [math.log(e / d), math.log(inner / (4 * d)), 1 / n_layer - 1 / 12, math.log(d / 768)]


def row(n_layer, d, inner, e, tokens):
    tau = math.log(tokens / 16e6)
    x = features(n_layer, d, inner, e)
    return x + [v * tau for v in x]


def load(root):
    logs = collections.defaultdict(list)  # (shape, budget) -> log perplexities
    res = os.path.join(root, "docs", "results")
    for f in glob.glob(os.path.join(res, "training_dlarge*", "*", "train_*.json")) + glob.glob(
            os.path.join(res, "training_epoch_candidates*", "*", "train_*.json")):
        j = json.load(open(f))
        if j["status"] != "ok":
            continue
        s = shape(j["architecture"])
        tokens = 16000000 if abs(j["tokens"] - 16e6) < 1e5 else j["tokens"]
        logs[(s, tokens)].append(math.log(j["final_val_perplexity"]))
        for b in j.get("budgets", []):
            logs[(s, b["budget"])].append(math.log(b["val_perplexity"]))
    for f in glob.glob(os.path.join(res, "train_search*", "call*", "*search_trainings.csv")):
        for r in csv.DictReader(open(f)):
            if r["status"] != "ok":
                continue
            s = shape(r["architecture"])
            logs[(s, int(r["budget"]))].append(math.log(float(r["val_perplexity"])))
            if r.get("probe_perplexity") not in (None, "", "nan"):
                logs[(s, int(float(r["probe_budget"])))].append(math.log(float(r["probe_perplexity"])))
    return logs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", default=".", help="the repository's root (default .)")
    args = ap.parse_args()
    logs = load(args.root)
    ref = {t: float(np.mean(v)) for (s, t), v in logs.items() if s == REFERENCE}
    points = [(s, t, float(np.mean(v)) - ref[t], len(v)) for (s, t), v in logs.items()
              if s != REFERENCE and t in ref and t >= 8e6]
    a = np.array([row(*s, t) for s, t, _, _ in points])
    y = np.array([p[2] for p in points])
    w = np.sqrt([p[3] for p in points])
    coef, *_ = np.linalg.lstsq(a * w[:, None], y * w, rcond=None)
    print(f"{len(points)} points of {len({p[0] for p in points})} architectures at budgets of 8 M tokens and more")
    print("reference log perplexity by budget: " + ", ".join(f"{t} {v:.6f}" for t, v in sorted(ref.items())))
    print("coefficients (b_f, then c_f), features " + ", ".join(FEATURES) + ":")
    print("  b = {" + ", ".join(f"{c:.6f}" for c in coef[:4]) + "}")
    print("  c = {" + ", ".join(f"{c:.6f}" for c in coef[4:]) + "}")
    print(f"rms error of the log ratio over all points: {float(np.sqrt(np.mean((a @ coef - y) ** 2))):.4f}")
    print("one epoch: ratio measured, fitted, and fitted without the architecture (leave one out)")
    errors = []
    for s in sorted({p[0] for p in points}):
        keep = np.array([p[0] != s for p in points])
        c, *_ = np.linalg.lstsq((a * w[:, None])[keep], (y * w)[keep], rcond=None)
        for p, x in zip(points, a):
            if p[0] == s and p[1] > 7e7:
                errors.append(p[2] - x @ c)
                print(f"  {s[0]:2} x {s[1]:4} d_inner {s[2]:6.0f} d_embed {s[3]:4}: {math.exp(p[2]):.3f}  "
                      f"{math.exp(x @ coef):.3f}  {math.exp(x @ c):.3f}  ({p[3]} seed(s))")
    print(f"leave-one-out rms error of the log ratio at one epoch: {float(np.sqrt(np.mean(np.square(errors)))):.4f}")


if __name__ == "__main__":
    main()
