"""The PNG plots of one or more archives. Each function draws one figure and returns its path;
a training search's archive also gets its trained front and its rung ladder."""
import math
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .archive import config_value, front_2d, growth, ladder  # noqa: E402

FAILED = ("invalid", "out_of_memory", "error", "timeout", "device_lost")


def _name(archive):
    return os.path.splitext(os.path.basename(archive.path))[0]


def _reference_params(archive):
    """The reference's decoder parameters: the floor most records carry (0 when none)."""
    floors = archive.evaluations["min_params"]
    floors = floors[floors > 0]
    return float(floors.mode().iloc[0]) / 1e6 if len(floors) else math.nan


def _save(fig, path):
    fig.savefig(path, dpi=130, bbox_inches="tight")
    plt.close(fig)
    return path


def plot_front(archive, path, ref_ratio=1.0):
    ok = archive.ok
    ok = ok[np.isfinite(ok["ratio"])]
    xs, ys = list(ok["ratio"]), list(ok["decoder_params"] / 1e6)
    fig, ax = plt.subplots(figsize=(7, 5))
    ax.scatter(xs, ys, s=14, c="0.7", label="measured ({})".format(len(xs)))
    idx = front_2d(xs, ys)
    fx, fy = [xs[i] for i in idx], [ys[i] for i in idx]
    if fx:
        ax.step(fx, fy, where="post", color="tab:blue", lw=1.2)
        ax.scatter(fx, fy, s=30, c="tab:blue", zorder=3, label="front ({})".format(len(fx)))
    ref_p = _reference_params(archive)
    if math.isfinite(ref_p):
        ax.scatter([ref_ratio], [ref_p], marker="*", s=220, c="tab:red", zorder=4, label="reference model")
        ax.axhline(ref_p, color="tab:red", lw=0.6, ls=":")
    ax.axvline(ref_ratio, color="tab:red", lw=0.6, ls=":")
    ax.set_xlabel("latency / reference latency (lower is faster)")
    ax.set_ylabel("decoder parameters (millions)")
    ax.set_title("{}: measured architectures and the front".format(_name(archive)))
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    return _save(fig, path)


def plot_progress(archive, path, ref_ratio=1.0):
    g = growth(archive, ref_ratio, 0.0)
    fig, axes = plt.subplots(2, 2, figsize=(10, 7), sharey="row")
    for col, x, label in ((0, "answered", "answers"), (1, "time", "seconds since the run started")):
        axes[0][col].step(g[x], g["best_ratio"], where="post", color="tab:blue")
        axes[1][col].step(g[x], g["hypervolume"], where="post", color="tab:green")
        axes[1][col].set_xlabel(label)
        for row in (0, 1):
            axes[row][col].grid(alpha=0.3)
    axes[0][0].set_ylabel("best feasible latency ratio")
    axes[1][0].set_ylabel("hypervolume (ratio x M params,\nreference ({:g}, 0))".format(ref_ratio))
    fig.suptitle("{}: best so far and hypervolume".format(_name(archive)))
    return _save(fig, path)


def plot_timeline(archive, path):
    m = archive.measured
    m = m[m["worker"] >= 0]
    fig, ax = plt.subplots(figsize=(10, 1.2 + 0.45 * max(1, m["worker"].nunique())))
    ranks = sorted(m["worker"].unique())
    for row, rank in enumerate(ranks):
        w = m[m["worker"] == rank]
        good = w[w["status"] == "ok"]
        bad = w[w["status"].isin(FAILED)]
        ax.broken_barh(list(zip(good["started"], good["ended"] - good["started"])), (row - 0.35, 0.7),
                       facecolors="tab:blue", edgecolor="white", linewidth=0.3)
        if len(bad):
            ax.broken_barh(list(zip(bad["started"], bad["ended"] - bad["started"])), (row - 0.35, 0.7),
                           facecolors="tab:red", edgecolor="white", linewidth=0.3)
            ax.scatter(bad["ended"], [row] * len(bad), marker="x", c="darkred", s=25, zorder=3)
    ax.set_yticks(range(len(ranks)))
    ax.set_yticklabels(["rank {}".format(r) for r in ranks])
    ax.set_xlabel("seconds since the run started")
    busy = (m["ended"] - m["started"]).sum()
    wall = archive.wall_seconds
    util = busy / (len(ranks) * wall) if ranks and wall > 0 else 0.0
    nfail = int(m["status"].isin(FAILED).sum())
    ax.set_title("{}: evaluations per worker (blue ok, red failed: {}), busy {:.1f}%".format(
        _name(archive), nfail, 100 * util))
    ax.grid(axis="x", alpha=0.3)
    return _save(fig, path)


def plot_space(archive, path):
    e = archive.evaluations
    fig, ax = plt.subplots(figsize=(7, 5))
    inf = e[e["feasible"] == 0]
    ax.scatter(inf["d_model"], inf["n_layer"], marker="x", s=14, c="0.6", label="below the parameter floor ({})".format(len(inf)))
    ok = archive.ok
    ok = ok[np.isfinite(ok["ratio"])]
    counts = e[e["feasible"] == 1].groupby(["d_model", "n_layer"]).size()
    sizes = [12 + 10 * counts.get((d, n), 1) for d, n in zip(ok["d_model"], ok["n_layer"])]
    sc = ax.scatter(ok["d_model"], ok["n_layer"], c=ok["ratio"], s=sizes, cmap="viridis_r", alpha=0.8,
                    edgecolors="k", linewidths=0.3, label="measured ({}; size: answers there)".format(len(ok)))
    fig.colorbar(sc, ax=ax, label="latency / reference latency")
    bad = archive.measured[archive.measured["status"].isin(FAILED)]
    if len(bad):
        ax.scatter(bad["d_model"], bad["n_layer"], marker="x", s=30, c="tab:red", label="failed ({})".format(len(bad)))
    ax.set_xlabel("width (d_model)")
    ax.set_ylabel("depth (n_layer)")
    ax.set_title("{}: where the search measured".format(_name(archive)))
    ax.grid(alpha=0.3)
    legend = ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=3, fontsize=8, frameon=False)
    for handle in legend.legend_handles:
        handle.set_sizes([30])
    return _save(fig, path)


def plot_scaling(archives, path):
    """Speed-up and efficiency against workers, from measurements per second (cache hits and
    infeasible candidates, which the master answers at once, left out); one point per archive."""
    rows = []
    for a in archives:
        workers = int(a.measured[a.measured["worker"] >= 0]["worker"].nunique()) or len(a.workers)
        rate = len(a.measured) / a.wall_seconds if a.wall_seconds > 0 else math.nan
        rows.append((max(workers, 1), rate, _name(a)))
    rows.sort()
    n0, r0 = rows[0][0], rows[0][1]
    n = np.array([r[0] for r in rows], dtype=float)
    speedup = np.array([r[1] / r0 for r in rows])
    efficiency = speedup / (n / n0)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    ax1.plot(n, speedup, "o-", label="measured")
    ax1.plot(n, n / n0, "k--", lw=0.8, label="ideal")
    ax1.set_xlabel("workers")
    ax1.set_ylabel("speed-up (measurements/s over the {}-worker run)".format(n0))
    ax2.plot(n, efficiency, "o-")
    ax2.axhline(1.0, color="k", ls="--", lw=0.8)
    ax2.set_ylim(0, max(1.1, float(np.nanmax(efficiency)) * 1.1))
    ax2.set_xlabel("workers")
    ax2.set_ylabel("parallel efficiency")
    ax1.set_yscale("log", base=2)  # log-log: the ideal is the diagonal
    for ax in (ax1, ax2):
        ax.set_xscale("log", base=2)
        ax.set_xticks(n)
        ax.set_xticklabels(["{:g}".format(v) for v in n])
        ax.grid(alpha=0.3)
    ax1.set_yticks(n / n0)
    ax1.set_yticklabels(["{:g}".format(v) for v in n / n0])
    ax1.legend(fontsize=8)
    fig.suptitle("scaling: {}".format(", ".join(r[2] for r in rows)))
    return _save(fig, path)


def _bound(archive):
    return float(config_value(archive, "max-perplexity-ratio", "1.03"))


def plot_trained_front(archive, path):
    """A training search's trained candidates: perplexity ratio against latency ratio, one colour
    per rung (each ratio to the reference trained to the same budget and seed), the bound, the
    answer's front at the top rung (the fastest within the bound, and who beats it on perplexity)."""
    t = ladder(archive)
    c = t[(t["reference"] == 0) & (t["status"] == "ok") & np.isfinite(t["perplexity_ratio"])]
    seed = int(c["seed"].min()) if len(c) else 1
    fig, ax = plt.subplots(figsize=(7, 5))
    rungs = sorted(int(r) for r in c["rung"].unique())
    colours = plt.cm.viridis(np.linspace(0.15, 0.85, max(1, len(rungs))))
    for colour, rung in zip(colours, rungs):
        at = c[(c["rung"] == rung) & (c["seed"] == seed)]
        ax.scatter(at["latency_ratio"], at["perplexity_ratio"], s=26, color=colour, edgecolors="k", linewidths=0.3,
                   label="rung {} ({:g} M tokens): {}".format(rung, float(at["budget"].iloc[0]) / 1e6, len(at)))
    if rungs:
        top = c[(c["rung"] == rungs[-1]) & (c["seed"] == seed)]
        xs, ys = list(top["latency_ratio"]), list(-top["perplexity_ratio"])
        idx = front_2d(xs, ys)
        if idx:
            ax.step([xs[i] for i in idx], [-ys[i] for i in idx], where="post", color="tab:blue", lw=1.0,
                    label="front at the top rung ({})".format(len(idx)))
    bound = _bound(archive)
    ax.axhline(bound, color="tab:red", lw=0.8, ls="--", label="bound x{:g}".format(bound))
    ax.scatter([1.0], [1.0], marker="*", s=220, c="tab:red", zorder=4, label="reference model")
    ax.set_xlabel("latency / reference latency (lower is faster)")
    ax.set_ylabel("validation perplexity / reference's (same budget, seed {})".format(seed))
    ax.set_title("{}: trained candidates by rung".format(_name(archive)))
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    return _save(fig, path)


def plot_ladder(archive, path):
    """The rung ladder: each trained candidate's perplexity ratio against the tokens it was trained
    with, its probes (measured on the way, hollow) and rungs joined, coloured by latency ratio; a
    line that reaches a higher rung is a promotion."""
    t = ladder(archive)
    seed = int(t["seed"].min()) if len(t) else 1
    c = t[(t["reference"] == 0) & (t["status"] == "ok") & (t["seed"] == seed)]
    fig, ax = plt.subplots(figsize=(8, 5))
    lat = c["latency_ratio"]
    lo, hi = (float(np.nanmin(lat)), float(np.nanmax(lat))) if len(c) and np.isfinite(lat).any() else (0.0, 1.0)
    norm = matplotlib.colors.Normalize(vmin=lo, vmax=max(hi, lo + 1e-9))
    cmap = plt.cm.viridis_r
    for cand, rows in c.groupby("candidate"):
        rows = rows.sort_values("rung")
        xs, ys = [], []
        for r in rows.itertuples(index=False):
            if r.probe_budget > 0 and math.isfinite(r.probe_ratio):
                xs.append(r.probe_budget)
                ys.append(r.probe_ratio)
                ax.scatter([r.probe_budget], [r.probe_ratio], s=18, facecolors="none", edgecolors=cmap(norm(r.latency_ratio)))
            xs.append(r.budget)
            ys.append(r.perplexity_ratio)
        colour = cmap(norm(float(rows["latency_ratio"].iloc[0])))
        ax.plot(xs, ys, "-", color=colour, lw=0.8, alpha=0.8)
        ax.scatter(rows["budget"], rows["perplexity_ratio"], s=22, color=colour, edgecolors="k", linewidths=0.3, zorder=3)
    bound = _bound(archive)
    ax.axhline(bound, color="tab:red", lw=0.8, ls="--", label="bound x{:g}".format(bound))
    ax.axhline(1.0, color="0.4", lw=0.6, ls=":")
    ax.set_xscale("log")
    ax.set_xlabel("training tokens (rungs filled, probes hollow)")
    ax.set_ylabel("validation perplexity / reference's (seed {})".format(seed))
    sm = plt.cm.ScalarMappable(norm=norm, cmap=cmap)
    fig.colorbar(sm, ax=ax, label="latency / reference latency")
    promoted = int((c["rung"] > 0).sum())
    ax.set_title("{}: the rung ladder, {} candidates trained, {} promotions".format(_name(archive), c["candidate"].nunique(), promoted))
    ax.grid(alpha=0.3, which="both")
    ax.legend(loc="best", fontsize=8)
    return _save(fig, path)


def plot_all(archives, out_dir, ref_ratio=1.0):
    """Every plot of every archive, and the scaling plot for two or more; returns the paths."""
    os.makedirs(out_dir, exist_ok=True)
    paths = []
    for a in archives:
        stem = os.path.join(out_dir, _name(a) + "_")
        paths.append(plot_front(a, stem + "front.png", ref_ratio))
        paths.append(plot_progress(a, stem + "progress.png", ref_ratio))
        paths.append(plot_timeline(a, stem + "timeline.png"))
        paths.append(plot_space(a, stem + "space.png"))
        if len(a.search_trainings):  # a training search
            paths.append(plot_trained_front(a, stem + "trained_front.png"))
            paths.append(plot_ladder(a, stem + "ladder.png"))
    if len(archives) >= 2:
        paths.append(plot_scaling(archives, os.path.join(out_dir, "scaling.png")))
    return paths
