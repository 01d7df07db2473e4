#!/usr/bin/env python3
"""Reads a fracnas run archive with h5py, independently of the C++ reader, and checks what it is told.
Run by tests/storage/hdf5/archive_file.tests.cpp (also while fracnas still writes the file: --swmr);
it only reads, and knows the schema only through the checks it is given (docs/archive.md).

usage: read_archive.py ARCHIVE [--swmr] [--rows TABLE=N ...] [--attr NAME=VALUE ...]
                       [--value TABLE ROW MEMBER VALUE ...] [--members TABLE NAME,NAME,...]
                       [--enum TABLE MEMBER NAME=N,NAME=N,...] [--absent TABLE ...]
                       [--ratio TABLE ROW VALUE]
  a float VALUE is C's %a text (0x1.8p+1, inf, nan) or its IEEE bits (bits:0x7ff8000000000001),
  compared bit for bit; an array is such values joined by commas; an enum member is its name.
  --members: the table's members, all of them in this order; --enum: the member's enum type,
  exactly these names and values; --absent: the archive has no such dataset; --ratio: a training
  search's row's val_perplexity divided by that of the reference's row (reference 1) of the same
  rung and seed, as a reader computes it (docs/archive.md).
exit status: 0 every check holds, 1 a check failed (each printed), 77 h5py is not installed.
"""
import argparse
import struct
import sys


def bits(v):
    return struct.unpack("<Q", struct.pack("<d", float(v)))[0]


def parse_float(text):
    if text.startswith("bits:"):
        return int(text[5:], 16)
    return bits(float.fromhex(text))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("archive")
    p.add_argument("--swmr", action="store_true", help="open as a SWMR reader (a run is writing the file)")
    p.add_argument("--rows", nargs="*", default=[], metavar="TABLE=N")
    p.add_argument("--attr", nargs="*", default=[], metavar="NAME=VALUE")
    p.add_argument("--value", nargs=4, action="append", default=[], metavar=("TABLE", "ROW", "MEMBER", "VALUE"))
    p.add_argument("--members", nargs=2, action="append", default=[], metavar=("TABLE", "NAMES"))
    p.add_argument("--enum", nargs=3, action="append", default=[], metavar=("TABLE", "MEMBER", "MAPPING"))
    p.add_argument("--absent", nargs="*", default=[], metavar="TABLE")
    p.add_argument("--ratio", nargs=3, action="append", default=[], metavar=("TABLE", "ROW", "VALUE"))
    args = p.parse_args()
    try:
        import h5py
        import numpy as np
    except ImportError as e:
        print(f"read_archive.py: h5py is not installed ({e})")
        return 77

    failures = []
    with h5py.File(args.archive, "r", swmr=args.swmr) as f:
        marker = f.attrs.get("fracnas_archive")
        if marker is None or bytes(marker).decode() != "fracnas run archive":
            failures.append(f"no fracnas_archive marker (got {marker!r})")
        for item in args.rows:
            name, n = item.split("=", 1)
            got = f[name].shape[0]
            if got != int(n):
                failures.append(f"{name}: {got} rows, expected {n}")
        for item in args.attr:
            name, want = item.split("=", 1)
            got = f.attrs[name]
            got = bytes(got).decode() if isinstance(got, (bytes, np.bytes_)) else str(int(got))
            if got != want:
                failures.append(f"attribute {name}: {got!r}, expected {want!r}")
        for table, row, member, want in args.value:
            ds = f[table]
            value = ds[int(row)][member]
            dtype = ds.dtype[member]
            enum = h5py.check_enum_dtype(dtype)
            if enum is not None:
                names = {v: k for k, v in enum.items()}
                ok, got = names.get(int(value)) == want, names.get(int(value))
            elif dtype.kind == "S":
                got = bytes(value).decode("utf-8")
                ok = got == want
            elif dtype.subdtype is not None:  # the point x: an array of doubles
                got = [bits(v) for v in value]
                ok = got == [parse_float(t) for t in want.split(",")]
                got = ",".join(float(v).hex() for v in value)
            elif dtype.kind == "f":
                got = f"bits:{bits(value):#018x}"
                ok = bits(value) == parse_float(want)
            else:
                got = int(value)
                ok = got == int(want)
            if not ok:
                failures.append(f"{table}[{row}].{member}: {got!r}, expected {want!r}")
        for table, want in args.members:
            got = ",".join(f[table].dtype.names)
            if got != want:
                failures.append(f"{table} members: {got}, expected {want}")
        for table, member, want in args.enum:
            enum = h5py.check_enum_dtype(f[table].dtype[member])
            got = "none" if enum is None else ",".join(f"{k}={int(v)}" for k, v in sorted(enum.items(), key=lambda kv: int(kv[1])))
            if got != want:
                failures.append(f"{table}.{member} enum: {got}, expected {want}")
        for table in args.absent:
            if table in f:
                failures.append(f"{table}: present, expected absent")
        for table, row, want in args.ratio:
            rows = f[table][:]  # a numpy structured array, one field per member
            r = rows[int(row)]
            ref = rows[(rows["reference"] == 1) & (rows["rung"] == r["rung"]) & (rows["seed"] == r["seed"])]
            if len(ref) != 1:
                failures.append(f"{table}[{row}]: {len(ref)} reference rows of rung {r['rung']} seed {r['seed']}, expected 1")
                continue
            ratio = float(r["val_perplexity"]) / float(ref[0]["val_perplexity"])
            if bits(ratio) != parse_float(want):
                failures.append(f"{table}[{row}] perplexity ratio: {ratio.hex()}, expected {want}")
        tables = ("evaluations", "events", "workers", "worker_events", "sessions", "search_trainings", "trainings")
        counts = ", ".join(f"{k} {f[k].shape[0]}" for k in tables if k in f)
    for line in failures:
        print("read_archive.py:", line)
    print(f"read_archive.py: {args.archive}: {counts}; {len(failures)} failed checks")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
