#!/usr/bin/env python3
"""Checks the training search's calibration (--trend-calibration, training_books.hpp) on a finished
search: how far the estimates a candidate ranked by below the top rung fell from its measured ratio
at the top, as the search used them (uncalibrated: `top_ratio_estimate` of an archive searched
with --trend-calibration off) and as the calibration would have scaled them.

    fracnas analyze RUN.h5 --csv RUN_
    python3 benchmarks/calibration_check.py RUN_search_trainings.csv [--rung 0] [--bound 1.03] [--undo F]

For the candidates measured at the top rung (train_seed), in the order their top results ended:
the estimate at --rung, the calibration factor of the candidates measured before it (the geometric
mean of measured / estimated; 1 for the first), the calibrated estimate and the measured ratio.
Printed: each row, the verdicts (ratio <= --bound) the raw and the calibrated estimates got right,
their mean absolute errors, the leave-one-out error (each calibrated by all the others), and the
candidates that stopped below the top with their estimates scaled by the final factor. The
estimates are the trend's own: the CSV's `trend_estimate` (analyze since it has the column), else
`top_ratio_estimate`, which an archive searched with the calibration on reports calibrated by its
final factor (analyze's report: 'estimates xF'): --undo F divides it out. Standard library only.
"""
import argparse
import csv
import math
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("trainings", help="the search_trainings CSV that `fracnas analyze --csv PREFIX` writes")
    ap.add_argument("--rung", type=int, default=0, help="the rung whose estimates are checked (default 0)")
    ap.add_argument("--bound", type=float, default=1.03, help="the perplexity ratio bound (default 1.03)")
    ap.add_argument("--undo", type=float, default=1.0, help="the calibration factor the estimates carry (default 1: none)")
    args = ap.parse_args()
    with open(args.trainings, newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["reference"] == "0" and r["status"] == "ok"]
    if not rows:
        sys.exit(f"{args.trainings}: no successful candidate trainings")
    seed = min(int(r["seed"]) for r in rows)
    rows = [r for r in rows if int(r["seed"]) == seed]
    top = max(int(r["rung"]) for r in rows)
    if args.rung >= top:
        sys.exit(f"--rung {args.rung}: the search's top rung is {top}; the rung checked must be below it")
    below = {r["candidate"]: r for r in rows if int(r["rung"]) == args.rung and r["top_ratio_estimate"]}
    measured = sorted((r for r in rows if int(r["rung"]) == top and r["candidate"] in below), key=lambda r: float(r["ended"]))
    if not measured:
        sys.exit(f"{args.trainings}: no candidate has both an estimate at rung {args.rung} and a result at the top rung")

    def estimate(c):  # the trend's own estimate: analyze's trend_estimate, else top_ratio_estimate / --undo
        r = below[c]
        return float(r["trend_estimate"]) if r.get("trend_estimate") else float(r["top_ratio_estimate"]) / args.undo

    logs, right_raw, right_cal, err_raw, err_cal = [], 0, 0, [], []
    print(f"{'candidate':>9} {'latency':>8} {'estimate':>9} {'factor':>7} {'from':>4} {'calibrated':>10} {'measured':>9}  architecture")
    for r in measured:
        c, m = r["candidate"], float(r["perplexity_ratio"])
        factor = math.exp(sum(logs) / len(logs)) if logs else 1.0
        raw, cal = estimate(c), estimate(c) * factor
        right_raw += (raw <= args.bound) == (m <= args.bound)
        right_cal += (cal <= args.bound) == (m <= args.bound)
        err_raw.append(abs(m - raw))
        err_cal.append(abs(m - cal))
        print(f"{c:>9} {float(r['latency_ratio']):8.3f} {raw:9.4f} {factor:7.4f} {len(logs):4d} {cal:10.4f} {m:9.4f}  {r['architecture']}")
        logs.append(math.log(m / raw))
    n = len(measured)
    print(f"verdicts right (<= {args.bound}): uncalibrated {right_raw} of {n}, calibrated {right_cal} of {n}")
    print(f"mean |measured - estimate|: uncalibrated {sum(err_raw) / n:.4f}, calibrated {sum(err_cal) / n:.4f}")
    if n > 1:
        loo = [abs(float(r["perplexity_ratio"]) - estimate(r["candidate"]) * math.exp((sum(logs) - l) / (n - 1)))
               for r, l in zip(measured, logs)]
        print(f"leave-one-out mean |error| (each calibrated by the {n - 1} others): {sum(loo) / n:.4f}")
    final = math.exp(sum(logs) / n)
    rest = [r for c, r in below.items() if c not in {m["candidate"] for m in measured}]
    print(f"final factor {final:.4f}; the {len(rest)} candidates that stopped at rung {args.rung}:")
    for r in sorted(rest, key=lambda r: float(r["latency_ratio"])):
        e = estimate(r["candidate"])
        print(f"{r['candidate']:>9} {float(r['latency_ratio']):8.3f} {e:9.4f} -> {e * final:.4f}  {r['architecture']}")


if __name__ == "__main__":
    main()
