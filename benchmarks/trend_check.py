#!/usr/bin/env python3
"""Checks the training search's trend rule (training_books.hpp, extrapolated_ratio) on measured
trainings: how well a candidate's perplexity ratio to the reference at a small budget, alone or
carried on by its trend from a smaller budget, predicts its ratio at the full budget.

    python3 benchmarks/trend_check.py --small-dirs DIR[,DIR...] --full-dirs DIR[,DIR...] \
        [--reference gpt2_small] [--top TOKENS] [--bound 1.03]

--small-dirs: folders of train_NAME.json with `budgets` (decays branched off one wsd run) and the
final budget (e.g. the 16 M study); --full-dirs: folders of train_NAME.json trained to the full
budget (seeds averaged). For each budget b of the small runs and each earlier budget e < b, every
architecture trained to both gets: the ratio at b, the ratio carried from e to b and on to --top
(r_b x (r_b / r_e)^(ln(top / b) / ln(b / e))), and its measured ratio at the full budget. Printed:
per pair (e, b), the verdicts (ratio <= --bound) that agree with the full budget's and Spearman's
rho of the prediction with the full ratio; then the table of the best pair. Standard library only
(Spearman's rho from train_report.py).
"""
import argparse
import glob
import json
import math
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_report import spearman  # noqa: E402


def load(dirs):
    runs = {}
    for d in dirs:
        for f in sorted(glob.glob(os.path.join(d, "train_*.json"))):
            j = json.load(open(f))
            if j.get("status") != "ok":
                continue
            runs.setdefault(os.path.basename(f)[len("train_"):-len(".json")], []).append(j)
    return runs


def by_budget(j):
    d = {b["budget"]: b["val_perplexity"] for b in j.get("budgets", [])}
    d[j["recipe"]["tokens"] if "recipe" in j and "tokens" in j["recipe"] else j["tokens"]] = j["final_val_perplexity"]
    return d


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--small-dirs", required=True)
    p.add_argument("--full-dirs", required=True)
    p.add_argument("--reference", default="gpt2_small")
    p.add_argument("--top", type=float, default=71499776)
    p.add_argument("--bound", type=float, default=1.03)
    a = p.parse_args()
    small, full = load(a.small_dirs.split(",")), load(a.full_dirs.split(","))
    if a.reference not in small or a.reference not in full:
        raise SystemExit("trend_check: the reference %s is missing from the small or the full runs." % a.reference)
    ref = {}
    for j in small[a.reference]:
        for b, v in by_budget(j).items():
            ref.setdefault(b, []).append(v)
    ref = {b: statistics.mean(v) for b, v in ref.items()}
    ref_full = statistics.mean(j["final_val_perplexity"] for j in full[a.reference])
    names = sorted(n for n in small if n in full and n != a.reference)
    truth = {n: statistics.mean(j["final_val_perplexity"] for j in full[n]) / ref_full for n in names}
    ratio = {n: {b: v / ref[b] for b, v in by_budget(small[n][0]).items() if b in ref} for n in names}
    budgets = sorted(ref)
    print("%d architectures trained to both; full-budget ratios to the reference (%.2f):" % (len(names), ref_full))
    print("  " + ", ".join("%s %.3f" % (n, truth[n]) for n in names))
    print("\n| from | to | verdicts right, the ratio at `to` | rho | verdicts right, carried to the top | rho |")
    print("|---|---|---|---|---|---|")
    best = None
    for bi, b in enumerate(budgets):
        for e in budgets[:bi]:
            have = [n for n in names if b in ratio[n] and e in ratio[n]]
            if len(have) < 3:
                continue
            raw = [ratio[n][b] for n in have]
            pred = [ratio[n][b] * (ratio[n][b] / ratio[n][e]) ** (math.log(a.top / b) / math.log(b / e)) for n in have]
            t = [truth[n] for n in have]
            right = lambda xs: sum((x <= a.bound) == (y <= a.bound) for x, y in zip(xs, t))
            row = (e, b, right(raw), spearman(raw, t), right(pred), spearman(pred, t), have, raw, pred)
            print("| %.0f M | %.0f M | %d of %d | %.3f | %d of %d | %.3f |" % (e / 1e6, b / 1e6, row[2], len(have), row[3], row[4], len(have), row[5]))
            if best is None or (row[4], row[5]) > (best[4], best[5]):
                best = row
    if best:
        e, b, _, _, _, _, have, raw, pred = best
        print("\nfrom %.0f M to %.0f M, carried to %.1f M:\n" % (e / 1e6, b / 1e6, a.top / 1e6))
        print("| model | ratio at %.0f M | at %.0f M | carried to the top | measured at the top |" % (e / 1e6, b / 1e6))
        print("|---|---|---|---|---|")
        for n, r, q in sorted(zip(have, raw, pred), key=lambda x: truth[x[0]]):
            print("| %s | %.3f | %.3f | %.3f | %.3f |" % (n, ratio[n][e], r, q, truth[n]))


if __name__ == "__main__":
    main()
