#!/usr/bin/env python3
"""Compares trainings of one architecture under several settings, seed by seed.

Each NAME=GLOB argument names a setting and the `fracnas train --json` results of its seeds (the
seed read from the file name's trailing `_s<seed>.json`; several globs joined by commas add up). Prints each setting's final validation
perplexity per seed, its mean and spread, and, against the first setting, the mean difference over
the seeds both have, how many seeds are higher, and the paired t statistic (mean difference over
its standard error), so that "within seed noise" is a number. Standard library only.

  python3 benchmarks/seed_compare.py autocast='docs/results/training_adamw_2026-12-03/calls*/curve_all_s*.json' \\
      bf16='docs/results/training_adamw_2026-12-03/calls*/curve_bf16kernels_s*.json'
"""
import glob
import json
import math
import re
import statistics
import sys


def load(pattern):
    runs = {}
    for path in sorted(p for one in pattern.split(",") for p in glob.glob(one)):
        m = re.search(r"_s(\d+)\.json$", path)
        if not m:
            sys.exit(f"seed_compare: {path} does not end in _s<seed>.json")
        with open(path) as f:
            d = json.load(f)
        if d.get("status") != "ok":
            sys.exit(f"seed_compare: {path} is not a finished training (status {d.get('status')})")
        seed = int(m.group(1))
        if seed in runs:
            sys.exit(f"seed_compare: seed {seed} appears twice for {pattern}")
        runs[seed] = (d["final_val_perplexity"], d.get("steady_tokens_per_second", float("nan")))
    if not runs:
        sys.exit(f"seed_compare: no file matches {pattern}")
    return runs


def main(argv):
    if len(argv) < 2 or any("=" not in a for a in argv[1:]):
        sys.exit(__doc__)
    settings = [(a.split("=", 1)[0], load(a.split("=", 1)[1])) for a in argv[1:]]
    base_name, base = settings[0]
    print("| setting | perplexity per seed | mean | spread (sd) | tokens/s (median) | against " + base_name + " |")
    print("|---|---|---|---|---|---|")
    for name, runs in settings:
        ppl = [runs[s][0] for s in sorted(runs)]
        per_seed = ", ".join(f"s{s} {runs[s][0]:.2f}" for s in sorted(runs))
        sd = statistics.stdev(ppl) if len(ppl) > 1 else float("nan")
        tps = statistics.median(runs[s][1] for s in runs)
        against = ""
        common = sorted(set(runs) & set(base))
        if name != base_name and common:
            diff = [runs[s][0] - base[s][0] for s in common]
            mean = statistics.mean(diff)
            higher = sum(d > 0 for d in diff)
            rel = 100.0 * mean / statistics.mean(base[s][0] for s in common)
            t = mean / (statistics.stdev(diff) / math.sqrt(len(diff))) if len(diff) > 1 and statistics.stdev(diff) > 0 else float("nan")
            against = f"{mean:+.2f} ({rel:+.1f}%), {higher} of {len(diff)} seeds higher, paired t {t:.2f}"
        print(f"| {name} | {per_seed} | {statistics.mean(ppl):.2f} | {sd:.2f} | {tps:,.0f} | {against} |")


if __name__ == "__main__":
    main(sys.argv)
