"""Plots of fracnas search archives (HDF5, docs/archive.md) with h5py, pandas and matplotlib.

    python -m fracnas_plots run.h5 [more.h5 ...] --out DIR

reads each archive (also one a run is still writing) and writes PNG files: the front with the
reference marked, best-so-far and hypervolume against answers and against time, a per-worker
timeline with failures marked, where in the space the search measured (depth against width,
coloured by latency), for a training search its trained front (perplexity ratio against latency
ratio, per rung) and its rung ladder, and for several archives the speed-up and efficiency against
workers.
"""
from .archive import Archive, read_archive, front_2d, hypervolume_2d, ladder  # noqa: F401
from .plots import plot_all  # noqa: F401

__all__ = ["Archive", "read_archive", "front_2d", "hypervolume_2d", "plot_all"]
