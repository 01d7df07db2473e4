# Cross-checks of fracnas's DIRECT against independent implementations.
#
#   ellipsoid (default): SciPy's scipy.optimize.direct (Gablonsky's DIRECT and DIRECT-L) on the
#     shifted 30-d ellipsoid at 10,000 evaluations: both stall near the same error as fracnas, so
#     the stall is DIRECT's, not a fracnas bug. Shifts are drawn like fracnas's (uniform in
#     [0.1,0.45) U [0.55,0.9)) but from NumPy's generator; compare orders of magnitude.
#   rastrigin FRACNAS: the shifted 10-d Rastrigin of seeds 1-5, on fracnas's own instances (the
#     optimum printed by `FRACNAS optimize`, 6 digits), at 5,000 / 10,000 / 20,000 / 50,000
#     evaluations: fracnas's direct and direct-l, SciPy's DIRECT and DIRECT-L (eps 1e-4), and a
#     textbook DIRECT written here from Jones, Perttunen and Stuckman (1993): potentially optimal
#     cells on the lower-right hull of (half-diagonal, best value per size) with the epsilon
#     test, trisection of the longest sides in increasing order of w.
#
# Run: python3 -m venv /tmp/sv && /tmp/sv/bin/pip install numpy scipy &&
#      /tmp/sv/bin/python benchmarks/direct_reference.py [rastrigin build/fracnas]
import subprocess
import sys

import numpy as np
from scipy.optimize import direct


def ellipsoid():
    d = 30
    res = {}
    for seed in range(1, 6):
        rng = np.random.default_rng(seed)
        t = 0.1 + 0.7 * rng.random(d)
        t[t >= 0.45] += 0.1
        lo, hi = -5.12, 5.12
        zs = lo + (hi - lo) * t
        w = 10.0 ** (6 * np.arange(d) / (d - 1))
        f = lambda u: float(np.sum(w * ((lo + (hi - lo) * np.asarray(u)) - zs) ** 2))
        for lb in (False, True):
            r = direct(f, [(0, 1)] * d, maxfun=10000, maxiter=100000, locally_biased=lb, eps=1e-4,
                       len_tol=1e-12, vol_tol=0)
            res.setdefault(lb, []).append(r.fun)
    for lb, v in res.items():
        print("scipy direct", "locally_biased" if lb else "original", "median", np.median(v), "nfev<=10000")


def textbook_direct(f, d, budgets, eps=1e-4):
    """Best value after each budget of Jones' DIRECT on [0,1]^d (whole batches only)."""
    c0 = np.full(d, 0.5)
    by_sum = {0: [(f(c0), 0, c0, np.zeros(d, int))]}  # open cells by thirds summed: (value, id, centre, thirds)
    nfev, best, out, ids = 1, by_sum[0][0][0], {}, 1
    while nfev < max(budgets):
        groups = {k: (0.5 * np.sqrt(np.sum(3.0 ** (-2.0 * v[0][3]))), min(c[0] for c in v))
                  for k, v in by_sum.items() if v}  # Jones' boxes of one sum have one shape
        fmin = min(v for _, v in groups.values())
        chosen = []
        for k, (dj, fj) in groups.items():
            lo, hi = 0.0, np.inf
            for di, fi in groups.values():
                if di < dj:
                    lo = max(lo, (fj - fi) / (dj - di))
                elif di > dj:
                    hi = min(hi, (fi - fj) / (di - dj))
            if lo > hi or hi <= 0 or (np.isfinite(hi) and fj - hi * dj > fmin - eps * abs(fmin)):
                continue
            chosen += [c for c in by_sum[k] if c[0] <= fj]
            by_sum[k] = [c for c in by_sum[k] if c[0] > fj]
        for fc, _, c, thirds in sorted(chosen, key=lambda c: c[1]):
            longest = np.flatnonzero(thirds == thirds.min())
            delta = 3.0 ** -(thirds.min() + 1)
            probes = {}
            for k in longest:
                e = np.zeros(d)
                e[k] = delta
                probes[k] = (f(c - e), f(c + e))
                nfev += 2
                best = min(best, *probes[k])
            split = thirds.copy()
            for k in sorted(longest, key=lambda k: min(probes[k])):
                split[k] += 1
                e = np.zeros(d)
                e[k] = delta
                for sign, v in ((-1, probes[k][0]), (1, probes[k][1])):
                    by_sum.setdefault(int(split.sum()), []).append((v, ids, c + sign * e, split.copy()))
                    ids += 1
            by_sum.setdefault(int(split.sum()), []).append((fc, ids, c, split.copy()))
            ids += 1
        for b in budgets:
            if nfev <= b:
                out[b] = best
    return [out.get(b, best) for b in budgets]


def rastrigin(fracnas):
    d, budgets = 10, [5000, 10000, 20000, 50000]
    rows = {}
    for seed in range(1, 6):
        run = lambda *args: subprocess.run([fracnas, "optimize", "--function", "rastrigin", "--dim", str(d),
                                            "--seed", str(seed), "--quiet", *args],
                                           check=True, capture_output=True, text=True).stdout
        field = lambda text, name: next(l[len(name):].strip() for l in text.splitlines() if l.startswith(name))
        t = np.array([float(x) for x in field(run("--budget", "1"), "optimum").strip("[]").split(",")])
        f = lambda u: float(np.sum((10.24 * (np.asarray(u) - t)) ** 2 + 10 * (1 - np.cos(2 * np.pi * 10.24 * (np.asarray(u) - t)))))
        for alg in ("direct", "direct-l"):
            rows.setdefault("fracnas " + alg, []).append(
                [float(field(run("--algorithm", alg, "--budget", str(b)), "best value")) for b in budgets])
        for lb in (False, True):
            rows.setdefault("scipy " + ("DIRECT-L" if lb else "DIRECT"), []).append(
                [direct(f, [(0, 1)] * d, maxfun=b, maxiter=10**6, locally_biased=lb, eps=1e-4, len_tol=1e-12,
                        vol_tol=0).fun for b in budgets])
        rows.setdefault("textbook DIRECT", []).append(textbook_direct(f, d, budgets))
        print("seed", seed, {name: v[-1] for name, v in rows.items()}, flush=True)
    print("shifted 10-d Rastrigin, seeds 1-5: median best value at", ", ".join(map(str, budgets)), "evaluations")
    for name, v in rows.items():
        print(f"{name:18s}", " ".join(f"{m:8.3f}" for m in np.median(np.array(v), axis=0)),
              "  per seed @50000:", " ".join(f"{x[-1]:.3f}" for x in v))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "rastrigin":
        rastrigin(sys.argv[2] if len(sys.argv) > 2 else "build/fracnas")
    else:
        ellipsoid()
