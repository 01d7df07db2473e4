"""Runs the examples of the docs and compares their output with what the docs show.

    python3 tests/docs/examples_test.py SOURCE_DIR BUILD_DIR [FILE.md ...]

An example is a fenced block whose first line starts with "$ ": each "$ " line is a command
(run by bash, stderr merged into stdout), the lines up to the next command are its output. Every
block runs in a fresh temporary directory that holds `build` (the build directory), `include`,
`docs` and `benchmarks` (the source tree's) and an empty `runs/`; its commands share that
directory and run in order. With no file named, README.md and docs/*.md are read.

Matching, line by line:
- a line that is "..." (or starts with spaces and "...") stands for any number of lines;
- what always varies from run to run is replaced on both sides before comparing: durations
  ("0.4 s"), rates ("78.1/s", "120626 eval/s"), ISO times, commit hashes, this machine's host
  name (the docs show "vm"), the busy percentages of worker lines.

An HTML comment on the line before a block changes how it is checked:
- `<!-- example: skip REASON -->`: not run (a GPU, a cluster);
- `<!-- example: numbers -->`: every number is replaced too (timings measured on a CPU, a
  search whose order depends on which worker answers first): the commands must succeed and
  print lines of the shown shape;
- `<!-- example: file PATH -->` before a block that is not an example: its text is written to
  PATH first (a source file that an example then compiles).

Exit 0 when every example matches; otherwise each difference is printed, and the exit is 1.
"""
import glob
import os
import re
import socket
import subprocess
import sys
import tempfile

DIRECTIVE = re.compile(r"^<!--\s*example:\s*(skip|numbers|file)\b\s*(.*?)\s*-->\s*$")
FENCE = re.compile(r"^```")


def blocks(path):
    """(line number, directive, argument, lines) of each fenced block of a markdown file."""
    lines = open(path, encoding="utf-8").read().split("\n")
    out, i, directive, arg = [], 0, None, ""
    while i < len(lines):
        m = DIRECTIVE.match(lines[i])
        if m:
            directive, arg = m.group(1), m.group(2)
            i += 1
            continue
        if FENCE.match(lines[i]):
            start = i + 1
            j = start
            while j < len(lines) and not FENCE.match(lines[j]):
                j += 1
            out.append((start, directive, arg, lines[start:j]))
            directive, arg = None, ""
            i = j + 1
            continue
        if lines[i].strip():
            directive, arg = None, ""
        i += 1
    return out


def split_commands(lines):
    """[(command, expected output lines)] of an example block."""
    steps = []
    for line in lines:
        if line.startswith("$ "):
            steps.append((line[2:], []))
        elif steps:
            steps[-1][1].append(line)
    return steps


HOST = socket.gethostname()
VOLATILE = [
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"), "<time>"),
    (re.compile(r"\bcommit [0-9a-f]{7,40}\b"), "commit <hash>"),
    (re.compile(r"\d+(?:\.\d+)?\s*(?:eval/s|answers/s|/s)"), "<rate>"),
    (re.compile(r"\d+(?:\.\d+)? s\b"), "<seconds>"),
]
NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?")


def normalise(line, numbers):
    if HOST and HOST != "vm":
        line = re.sub(r"\b" + re.escape(HOST) + r"\b", "vm", line)
    for pattern, placeholder in VOLATILE:
        line = pattern.sub(placeholder, line)
    if "busy" in line:
        line = re.sub(r"\d+(?:\.\d+)?%", "<percent>", line)
    if numbers:
        line = NUMBER.sub("<n>", line)
    return line.rstrip()


def is_ellipsis(line):
    return line.strip().startswith("...")


def matches(expected, actual, numbers):
    """Whether actual (lines) has the shape of expected, "..." standing for any lines."""
    exp = [normalise(e, numbers) for e in expected]
    act = [normalise(a, numbers) for a in actual]
    memo = {}

    def m(i, j):
        if (i, j) in memo:
            return memo[(i, j)]
        if i == len(exp):
            r = j == len(act)
        elif is_ellipsis(expected[i]):
            r = any(m(i + 1, k) for k in range(j, len(act) + 1))
        else:
            r = j < len(act) and exp[i] == act[j] and m(i + 1, j + 1)
        memo[(i, j)] = r
        return r

    return m(0, 0)


def run_block(source, build, steps, numbers):
    """The differences of one example block (empty when it matches)."""
    problems = []
    with tempfile.TemporaryDirectory(prefix="fracnas-docs-") as work:
        os.symlink(os.path.abspath(build), os.path.join(work, "build"))
        for name in ("include", "docs", "benchmarks"):
            os.symlink(os.path.join(os.path.abspath(source), name), os.path.join(work, name))
        os.mkdir(os.path.join(work, "runs"))
        env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", LC_ALL="C")
        for command, expected in steps:
            r = subprocess.run(["bash", "-c", "exec 2>&1\n" + command], cwd=work, env=env, capture_output=True, text=True,
                               timeout=600)
            actual = r.stdout.rstrip("\n").split("\n") if r.stdout.strip() else []
            while expected and not expected[-1].strip():
                expected = expected[:-1]
            if not matches(expected, actual, numbers):
                problems.append("$ {}\n--- the docs show:\n{}\n--- this build prints:\n{}".format(
                    command, "\n".join(expected), "\n".join(actual)))
    return problems


def main(argv):
    if len(argv) < 3:
        print(__doc__.strip().split("\n\n")[1].strip())
        return 2
    source, build = argv[1], argv[2]
    files = argv[3:] or [os.path.join(source, "README.md")] + sorted(glob.glob(os.path.join(source, "docs", "*.md")))
    checked, skipped, failed = 0, 0, 0
    for path in files:
        for start, directive, arg, lines in blocks(path):
            where = "{}:{}".format(os.path.relpath(path, source), start)
            if directive == "file":
                with open(arg, "w", encoding="utf-8") as f:
                    f.write("\n".join(lines) + "\n")
                continue
            steps = split_commands(lines)
            if not steps or not lines[0].startswith("$ "):
                continue
            if directive == "skip":
                print("skip  {} ({})".format(where, arg))
                skipped += 1
                continue
            problems = run_block(source, build, steps, directive == "numbers")
            checked += 1
            print(("ok    " if not problems else "FAIL  ") + where + ("  (shape)" if directive == "numbers" else ""))
            for p in problems:
                failed += 1
                print(p)
    print("{} example blocks checked, {} skipped, {} commands differ".format(checked, skipped, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
