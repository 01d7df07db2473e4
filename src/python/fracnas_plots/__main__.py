"""python -m fracnas_plots ARCHIVE [ARCHIVE...] [--out DIR] [--reference-ratio R]"""
import argparse
import sys

from .archive import ArchiveError, read_archive
from .plots import plot_all


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m fracnas_plots",
                                description="PNG plots of fracnas search archives (docs/cli.md)")
    p.add_argument("archives", nargs="+", help="fracnas archives (.h5)")
    p.add_argument("--out", default="plots", help="folder for the PNG files (default: plots)")
    p.add_argument("--reference-ratio", type=float, default=1.0,
                   help="latency ratio of the reference point (default 1: the reference model)")
    args = p.parse_args(argv)
    try:
        archives = [read_archive(path) for path in args.archives]
    except ArchiveError as e:
        print("fracnas_plots: error: {}.".format(e), file=sys.stderr)
        return 2
    for path in plot_all(archives, args.out, args.reference_ratio):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
