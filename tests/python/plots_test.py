"""Tests of the fracnas_plots package (src/python) on archives a real fracnas writes here.

    python tests/python/plots_test.py FRACNAS_BINARY

Runs two dry-run searches (4 and 16 simulated workers, some failures) and a dry-run training
search, plots them, and checks: every PNG is written, non-empty and a readable image of a sensible
size; the package's front and hypervolume, and the training search's perplexity and probe ratios,
equal `fracnas analyze --json`'s (an independent implementation); a missing, foreign or damaged
archive is one error line and exit 2. Exit 0 when every check passes.
"""
import json
import math
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE = os.path.join(HERE, "..", "..", "src", "python")
sys.path.insert(0, PACKAGE)

import matplotlib.image  # noqa: E402

from fracnas_plots import read_archive  # noqa: E402
from fracnas_plots.archive import front_2d, growth, hypervolume_2d, ladder  # noqa: E402

failures = []


def check(condition, what):
    print(("ok    " if condition else "FAIL  ") + what)
    if not condition:
        failures.append(what)


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def search(binary, path, workers, failure_rate):
    r = run([binary, "search", "--evaluator", "model", "--space", "homogeneous", "--budget", "150", "--dispatcher",
             "dry-run", "--workers", str(workers), "--failure-rate", str(failure_rate), "--archive", path, "--replace"])
    if r.returncode != 0:
        sys.exit("the search failed: " + r.stderr)


def main():
    binary = sys.argv[1]
    env = dict(os.environ, PYTHONPATH=PACKAGE)
    with tempfile.TemporaryDirectory() as tmp:
        a, b = os.path.join(tmp, "w4.h5"), os.path.join(tmp, "w16.h5")
        search(binary, a, 4, 0.0)
        search(binary, b, 16, 0.05)

        # hand cases of the 2-objective helpers (x minimised, y maximised)
        check(front_2d([1, 2, 3, 2.5], [3, 4, 5, 3.5]) == [0, 1, 2], "front_2d drops a dominated point")
        check(abs(hypervolume_2d([0.5, 0.8], [2, 3], 1.0, 0.0) - (0.5 * 2 + 0.2 * 1)) < 1e-12, "hypervolume_2d of two points")
        check(hypervolume_2d([1.5], [9], 1.0, 0.0) == 0.0, "a point beyond the reference adds nothing")

        # the package agrees with fracnas analyze on the same archives
        for path in (a, b):
            r = run([binary, "analyze", path, "--json", "-"])
            check(r.returncode == 0, "fracnas analyze reads " + os.path.basename(path))
            analysis = json.loads(r.stdout)
            archive = read_archive(path)
            g = growth(archive, 1.0, 0.0)
            check(len(archive.evaluations) == analysis["answered"], "same number of answers")
            check(len(archive.measured) == analysis["measured"], "same number of measurements")
            hv = float(g["hypervolume"].iloc[-1])
            check(math.isclose(hv, analysis["hypervolume"], rel_tol=1e-9, abs_tol=1e-12),
                  "hypervolume {:.9g} (Python) = {:.9g} (fracnas analyze)".format(hv, analysis["hypervolume"]))
            check(int(g["front_size"].iloc[-1]) == len(analysis["front"]), "same front size")
            check(math.isclose(archive.wall_seconds, analysis["wall_seconds"], rel_tol=1e-9), "same run time")

        # every plot is written and is an image a reader can look at
        out = os.path.join(tmp, "plots")
        r = run([sys.executable, "-m", "fracnas_plots", a, b, "--out", out], env=env)
        check(r.returncode == 0, "python -m fracnas_plots exits 0 ({})".format(r.stderr.strip()[-200:]))
        expected = ["w4_front.png", "w4_progress.png", "w4_timeline.png", "w4_space.png", "w16_front.png",
                    "w16_progress.png", "w16_timeline.png", "w16_space.png", "scaling.png"]
        check(sorted(r.stdout.split()) == sorted(os.path.join(out, f) for f in expected), "the paths printed are the plots")
        for name in expected:
            path = os.path.join(out, name)
            size = os.path.getsize(path) if os.path.exists(path) else 0
            ok = size > 10000
            if ok:
                img = matplotlib.image.imread(path)
                ok = img.shape[0] >= 300 and img.shape[1] >= 500 and float(img[..., :3].std()) > 0.01  # not blank
            check(ok, "{} written ({} bytes), an image with content".format(name, size))

        # a training search (simulated trainings on dry-run workers): its trained front and ladder,
        # and the ladder's ratios are fracnas analyze's
        tr = os.path.join(tmp, "tr.h5")
        r = run([binary, "search", "--evaluator", "model", "--space", "homogeneous", "--max-layers", "8", "--max-width",
                 "1280", "--budget", "60", "--rungs", "1000000,3000000,9000000", "--min-params", "42000000",
                 "--dispatcher", "dry-run", "--workers", "8", "--archive", tr])
        check(r.returncode == 0, "a training search ran ({})".format(r.stderr.strip()[-200:]))
        analysis = json.loads(run([binary, "analyze", tr, "--json", "-"]).stdout)
        t = ladder(read_archive(tr))
        check(len(t) == len(analysis["search_trainings"]) > 0, "every training read ({})".format(len(t)))
        # (analyze writes 12 significant digits)
        same = lambda a, b: (a is None and not math.isfinite(b)) or (a is not None and math.isclose(a, b, rel_tol=1e-10))
        check(all(same(j["perplexity_ratio"], p) for j, p in zip(analysis["search_trainings"], t["perplexity_ratio"])),
              "perplexity ratios as fracnas analyze's")
        check(all(same(j["probe_ratio"], p) for j, p in zip(analysis["search_trainings"], t["probe_ratio"])),
              "probe ratios as fracnas analyze's")
        check(sum(1 for j in analysis["search_trainings"] if j["probe_ratio"] is not None) > 0, "probes measured")
        r = run([sys.executable, "-m", "fracnas_plots", tr, "--out", out], env=env)
        check(r.returncode == 0, "the training search plotted ({})".format(r.stderr.strip()[-200:]))
        for name in ("tr_trained_front.png", "tr_ladder.png"):
            path = os.path.join(out, name)
            check(path in r.stdout.split() and os.path.exists(path) and os.path.getsize(path) > 10000
                  and float(matplotlib.image.imread(path)[..., :3].std()) > 0.01, name + " written, an image with content")
        check(not any(p.endswith("_ladder.png") for p in run([sys.executable, "-m", "fracnas_plots", a, "--out", out],
                                                              env=env).stdout.split()), "no ladder for a search that trains nothing")

        # bad archives: one line, exit 2
        text = os.path.join(tmp, "text.h5")
        with open(text, "w") as f:
            f.write("hello\n")
        cut = os.path.join(tmp, "cut.h5")
        with open(a, "rb") as f:
            data = f.read()
        with open(cut, "wb") as f:
            f.write(data[: len(data) // 2])
        for bad in (os.path.join(tmp, "missing.h5"), text, cut):
            r = run([sys.executable, "-m", "fracnas_plots", bad, "--out", out], env=env)
            lines = r.stderr.strip().splitlines()
            check(r.returncode == 2 and len(lines) == 1 and lines[0].startswith("fracnas_plots: error: ") and bad in lines[0],
                  "{} refused with one line and exit 2 ({})".format(os.path.basename(bad), r.stderr.strip()[-160:]))
    print("{} check(s) failed".format(len(failures)) if failures else "all checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
