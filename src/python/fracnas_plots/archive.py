"""Reading a fracnas archive into pandas, and the 2-objective front and hypervolume.

The front and hypervolume are computed here independently of `fracnas analyze` (the C++
`core::hypervolume`); the tests check that both agree on the same archive.
"""
import math
import os
import re
from dataclasses import dataclass, field

import h5py
import numpy as np
import pandas as pd

STATUS = {0: "ok", 1: "invalid", 2: "out_of_memory", 3: "error", 4: "timeout", 5: "device_lost"}
TRAINING_STATUS = {**STATUS, 6: "diverged", 7: "stopped"}
WORKER_EVENT = {0: "joined", 1: "calibrated", 2: "left_hung", 3: "left_device", 4: "late_result"}
MARK = "fracnas run archive"


class ArchiveError(Exception):
    """The file is missing, not HDF5, not a fracnas archive, or of another schema version."""


def _text(v):
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)


@dataclass
class Archive:
    path: str
    attrs: dict
    evaluations: pd.DataFrame
    workers: pd.DataFrame
    sessions: pd.DataFrame
    worker_events: pd.DataFrame = field(default_factory=pd.DataFrame)
    search_trainings: pd.DataFrame = field(default_factory=pd.DataFrame)  # a training search's (schema 2 on)

    @property
    def wall_seconds(self):
        """The run's time: the sessions' wall time summed, or the last answer's end when that is
        later (a run without a closed session; a dry run, whose answers carry simulated times)."""
        wall = float(self.sessions["wall_seconds"].sum()) if len(self.sessions) else 0.0
        last = float(np.nanmax(self.evaluations["ended"])) if len(self.evaluations) else 0.0
        return max(wall, last)

    @property
    def measured(self):
        """First measurements (not cache hits, not infeasible), every status."""
        e = self.evaluations
        return e[(e["feasible"] == 1) & (e["cached"] == 0)]

    @property
    def ok(self):
        m = self.measured
        return m[(m["status"] == "ok") & np.isfinite(m["value"])]


def _table(f, name):
    if name not in f:
        return pd.DataFrame()
    data = f[name][:]
    columns = {}
    for member in data.dtype.names:
        col = data[member]
        if col.dtype.kind == "S":
            columns[member] = [_text(v) for v in col]
        elif col.ndim > 1:
            columns[member] = list(col)
        else:
            columns[member] = col
    return pd.DataFrame(columns)


def _stored_eof(path):
    """The end of file that a version 2 or 3 superblock (what fracnas writes) records, or None.
    A file shorter than that is truncated; the HDF5 inside h5py reads the missing bytes as zeros
    (an uncompressed archive then looks whole), the HDF5 of fracnas analyze refuses it."""
    try:
        with open(path, "rb") as f:
            head = f.read(36)
    except OSError:
        return None
    if len(head) < 36 or head[:8] != b"\x89HDF\r\n\x1a\n" or head[8] not in (2, 3) or head[9] != 8:
        return None
    return int.from_bytes(head[28:36], "little")


def read_archive(path):
    """The archive's attributes and tables. Raises ArchiveError with one sentence naming the file."""
    eof = _stored_eof(path)
    if eof is not None and os.path.getsize(path) < eof:
        raise ArchiveError("{}: damaged (truncated: {} of its {} bytes)".format(path, os.path.getsize(path), eof))
    try:
        f = h5py.File(path, "r", swmr=True)
    except FileNotFoundError:
        raise ArchiveError("{}: no such file".format(path)) from None
    except OSError as e:
        raise ArchiveError("{}: not an HDF5 file or damaged ({})".format(path, str(e).split("(")[0].strip())) from None
    with f:
        attrs = {k: (_text(v) if isinstance(v, bytes) else v.item() if hasattr(v, "item") else v) for k, v in f.attrs.items()}
        if attrs.get("fracnas_archive") != MARK:
            raise ArchiveError("{}: not a fracnas archive (no 'fracnas_archive' mark)".format(path))
        # schema 2 added search_trainings (read when present), schema 3 its probe columns,
        # schema 4 names worker_events' kind (the same values) and schema 5 adds a serving mix's
        # scenario_ms and scenario_reference_ms (arrays, when the 'scenarios' attribute is > 0);
        # the other tables are schema 1's
        if int(attrs.get("schema_version", -1)) not in (1, 2, 3, 4, 5):
            raise ArchiveError("{}: schema version {}, this reader knows 1 to 5".format(path, attrs.get("schema_version")))
        try:
            e = _table(f, "evaluations")
            workers = _table(f, "workers")
            sessions = _table(f, "sessions")
            events = _table(f, "worker_events")
            trainings = _table(f, "search_trainings")
        except (OSError, KeyError, ValueError) as err:
            raise ArchiveError("{}: damaged ({})".format(path, err)) from None
    if len(e):
        e["status"] = [STATUS.get(int(s), str(s)) for s in e["status"]]
        dims = [_depth_width(a) for a in e["arch"]]
        e["n_layer"] = [d[0] for d in dims]
        e["d_model"] = [d[1] for d in dims]
    if len(events):
        events["kind"] = [WORKER_EVENT.get(int(k), str(k)) for k in events["kind"]]
    if len(trainings):
        trainings["status"] = [TRAINING_STATUS.get(int(s), str(s)) for s in trainings["status"]]
    return Archive(path, attrs, e, workers, sessions, events, trainings)


def _depth_width(arch):
    n = re.search(r"n_layer=(\d+)", arch)
    d = re.search(r"d_model=(\d+)", arch)
    return (int(n.group(1)) if n else math.nan, int(d.group(1)) if d else math.nan)


def front_2d(xs, ys):
    """Indices of the points (x minimised, y maximised) no other point dominates, by x ascending.
    Equal points: the first one only."""
    order = sorted(range(len(xs)), key=lambda i: (xs[i], -ys[i], i))
    front, best_y = [], -math.inf
    for i in order:
        if ys[i] > best_y:
            front.append(i)
            best_y = ys[i]
    return front


def hypervolume_2d(xs, ys, ref_x, ref_y):
    """The area dominated by the points (x minimised, y maximised) and bounded by (ref_x, ref_y)."""
    pts = sorted((x, y) for x, y in zip(xs, ys) if x < ref_x and y > ref_y)
    area, best_y = 0.0, ref_y
    for x, y in pts:
        if y > best_y:
            area += (ref_x - x) * (y - best_y)
            best_y = y
    return area


def growth(archive, ref_ratio=1.0, ref_params=0.0):
    """One row per answer, in the order answers ended: answered, time, best feasible ratio so far,
    the front's size and its hypervolume over (ratio min, decoder params in millions max)."""
    e = archive.evaluations.sort_values(["ended", "id"], kind="stable")
    rows, front, hv, best = [], [], 0.0, math.nan
    for r in e.itertuples(index=False):
        if r.feasible == 1 and r.cached == 0 and r.status == "ok" and math.isfinite(r.value) and math.isfinite(r.ratio):
            p = (r.ratio, r.decoder_params / 1e6)
            if not any(f[0] <= p[0] and f[1] >= p[1] for f in front):  # dominated or equal: no change
                front = [f for f in front if not (p[0] <= f[0] and p[1] >= f[1])] + [p]
                hv = hypervolume_2d([f[0] for f in front], [f[1] for f in front], ref_ratio, ref_params)
        if r.feasible == 1 and r.status == "ok" and math.isfinite(r.ratio) and not r.ratio >= best:
            best = r.ratio
        rows.append((len(rows) + 1, r.ended, best, len(front), hv))
    return pd.DataFrame(rows, columns=["answered", "time", "best_ratio", "front_size", "hypervolume"])


def config_value(archive, key, default=None):
    """A key of the archived configuration (the `config` attribute, INI lines `key = value`)."""
    for line in str(archive.attrs.get("config", "")).splitlines():
        k, sep, v = line.partition("=")
        if sep and k.strip() == key:
            return v.strip()
    return default


def ladder(archive):
    """A training search's trainings with the ratios a reader wants: the validation perplexity over
    the reference's of the same rung and seed, the same at the probe, and the candidate's latency
    ratio (from its timing; NaN for the reference's rows). Empty when the run trained nothing."""
    t = archive.search_trainings
    if not len(t):
        return pd.DataFrame()
    t = t.copy()
    ok = t["status"] == "ok"
    ref = t[(t["reference"] != 0) & ok]
    by_rung_seed = {(int(r.rung), int(r.seed)): float(r.val_perplexity) for r in ref.itertuples(index=False)}
    t["perplexity_ratio"] = [
        float(v) / by_rung_seed[(int(r), int(s))] if good and (int(r), int(s)) in by_rung_seed else math.nan
        for v, r, s, good in zip(t["val_perplexity"], t["rung"], t["seed"], ok)]
    if "probe_budget" in t:
        probe = {(int(r.probe_budget), int(r.rung)): float(r.probe_perplexity)
                 for r in ref.itertuples(index=False) if r.probe_budget > 0 and math.isfinite(r.probe_perplexity)}
        t["probe_ratio"] = [
            float(v) / probe[(int(b), int(r))] if good and (int(b), int(r)) in probe and math.isfinite(v) else math.nan
            for v, b, r, good in zip(t["probe_perplexity"], t["probe_budget"], t["rung"], ok)]
    else:
        t["probe_budget"], t["probe_ratio"] = 0, math.nan
    e = archive.evaluations
    latency = dict(zip(e[e["cached"] == 0]["id"], e[e["cached"] == 0]["ratio"])) if len(e) else {}
    t["latency_ratio"] = [math.nan if ref_row else latency.get(c, math.nan) for c, ref_row in zip(t["candidate"], t["reference"] != 0)]
    return t
