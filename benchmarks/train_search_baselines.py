#!/usr/bin/env python3
"""The training search against its baselines at equal simulated worker time, on the test bed (issue
24): dry runs of `fracnas search --evaluator model --latency-model h200` (the H200 test bed's
latencies, the model evaluator's simulated trainings) on one simulated worker, each stopped at the
same simulated --time-limit, for several seeds.

    python3 benchmarks/train_search_baselines.py --fracnas build/fracnas [--limit 1300] [--seeds 5]

The searches (the D-large problem of docs/results/train_search.md: rungs of 16 M tokens and one
epoch, eta 3, the floor at half GPT-2 small's decoder parameters, 12 layers, 1536 wide, vocabulary
32,768; a timing costs 3 s, a training 1.4 s per million tokens, lognormal with sigma 0.3):
  soo             the default: the fractal tree, the trend calibrated, head variants shared
  soo-uncalibrated  the same with --trend-calibration off --head-variants trained (the rules before)
  soo-homogeneous the default on the homogeneous space (every layer alike: 4 coordinates, not 26)
  random          random proposals, the default rules
  evolution       LiteTransformerSearch's evolution proposing, the default rules
  lts             LTS's recipe: evolution on the proxy (the floor at GPT-2 small's decoder
                  parameters), every candidate within it that could improve the answer trained
                  straight to the top budget (one rung)
Printed: per search and seed, the answer (latency ratio, both seeds' perplexity ratios) or none,
and per search the median answer and how many seeds found one. What the model evaluator's
trainings simulate (a Chinchilla-form loss in the decoder parameters, 0.5% noise) is not D-large:
this compares the searches' mechanics, not their answers on real data; --train-model dlarge uses
the test bed fitted to D-large's measured trainings instead (shallow-wide models ahead at 16 M
tokens, behind at one epoch, as measured). Standard library only.
"""
import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import os

PROBLEM = ["--evaluator", "model", "--latency-model", "h200", "--dispatcher", "dry-run", "--workers", "1",
           "--cost", "lognormal", "--cost-mean", "3", "--cost-spread", "0.3", "--train-cost", "1.4",
           "--max-layers", "12", "--max-width", "1536", "--vocab", "32768", "--budget", "1000000", "--grace", "150"]
TOP = "71499776"
SEARCHES = {
    "soo": ["--rungs", "16000000," + TOP, "--min-params", "42528000"],
    "soo-uncalibrated": ["--rungs", "16000000," + TOP, "--min-params", "42528000", "--trend-calibration", "off",
                         "--head-variants", "trained"],
    "soo-homogeneous": ["--space", "homogeneous", "--rungs", "16000000," + TOP, "--min-params", "42528000"],
    "random": ["--algorithm", "random", "--rungs", "16000000," + TOP, "--min-params", "42528000"],
    "evolution": ["--algorithm", "evolution", "--rungs", "16000000," + TOP, "--min-params", "42528000"],
    "lts": ["--algorithm", "evolution", "--rungs", TOP, "--min-params", "85054464"],
}
ANSWER = re.compile(r"^answer\s+latency x([0-9.]+), perplexity x([0-9.]+) \(seed \d+\)(?:, x([0-9.]+) \(seed \d+\))?")


def run(fracnas, search, seed, limit, folder, train_model="chinchilla"):
    archive = os.path.join(folder, f"{search}_{seed}.h5")
    cmd = [fracnas, "search", *PROBLEM, "--train-model", train_model, *SEARCHES[search], "--seed", str(seed),
           "--train-seed", str(seed), "--time-limit", str(limit), "--archive", archive]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"{' '.join(cmd)}: exit {out.returncode}\n{out.stderr}")
    for line in out.stdout.splitlines():
        m = ANSWER.match(line)
        if m and m.group(3):  # both seeds in: the answer
            return float(m.group(1)), float(m.group(2)), float(m.group(3))
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--fracnas", required=True, help="the fracnas binary")
    ap.add_argument("--limit", type=float, default=1300.0, help="simulated seconds of the one worker (default 1300)")
    ap.add_argument("--seeds", type=int, default=5, help="seeds 1..N of the optimizer and the trainings (default 5)")
    ap.add_argument("--train-model", default="chinchilla", choices=("chinchilla", "dlarge"),
                    help="the simulated trainings: chinchilla (in decoder parameters alone; the default) or dlarge "
                         "(fitted to D-large's measured trainings, benchmarks/fit_dlarge_testbed.py)")
    args = ap.parse_args()
    print(f"simulated worker time {args.limit:g} s ({args.limit / 3600:.3f} h), seeds 1-{args.seeds}, "
          f"simulated trainings {args.train_model}")
    print("search            seed  answer: latency ratio, perplexity ratios (seed, seed + 1)")
    summary = {}
    with tempfile.TemporaryDirectory() as folder:
        for search in SEARCHES:
            found = []
            for seed in range(1, args.seeds + 1):
                a = run(args.fracnas, search, seed, args.limit, folder, args.train_model)
                print(f"{search:17} {seed:4}  " + (f"x{a[0]:.4f}, x{a[1]:.4f} x{a[2]:.4f}" if a else "none"))
                if a:
                    found.append(a[0])
            summary[search] = found
    print("\nsearch            found  median answer  best")
    for search, found in summary.items():
        med = f"x{statistics.median(found):.4f}" if found else "-"
        best = f"x{min(found):.4f}" if found else "-"
        print(f"{search:17} {len(found)}/{args.seeds}    {med:>13}  {best}")


if __name__ == "__main__":
    main()
