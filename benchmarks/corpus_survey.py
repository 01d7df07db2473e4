#!/usr/bin/env python3
# Survey of English text shipped by Debian 12 (bookworm) packages, for choosing the fixed
# training corpus D of the accuracy-proxy check (issue 12). For each candidate package it
# runs `apt-get download`, unpacks with `dpkg-deb -x` (no root install), extracts ONE chosen
# source per package (no html+rst+txt double counting), cleans it and counts it.
# It does not train a tokenizer and does not fetch anything but Debian/PyPI packages.
#
# Run:   python3 benchmarks/corpus_survey.py [--work /tmp/corpus_survey] [--only PKG,PKG]
#        (Python 3 standard library only; needs apt-get, dpkg-deb and pip on PATH.)
#        python3 benchmarks/corpus_survey.py --installed large [--jobs 2]
#        D-large's packages (or --installed PKG,PKG of them) as INSTALLED, read by D-large's own
#        definition (fracnas_corpus.corpora) and cleaned by the preparation's code: documents,
#        raw and clean size, clean words, seconds to clean, the licenses named in the package's
#        DEP-5 copyright file (issue 22; no dedup across packages, which the preparation adds).
# Prints a Markdown table: package, version, license (from the package copyright file, by
# hand, see LICENSES), Installed-Size, raw chars of the chosen source files, clean chars,
# clean words (whitespace split), estimated tokens (= 1.3 x words, a GPT-2-BPE-like ESTIMATE,
# no tokenizer is run), prose share (clean chars / raw chars), and the .deb's sha256.
#
# Cleaning (deterministic): the extraction and cleaning of the corpus D's packages, and the
# paragraph filter, are fracnas_corpus.extract's (src/python), which prepares D from the same
# code; roff (macros and escapes) and fortune files are cleaned here. The filter keeps a
# paragraph only if it has >= 4 words and >= 3 words a line, >= 75% "alphabetic" words, at
# least one English function word, and <= 5% non-ASCII characters; kept paragraphs are
# whitespace-normalised.

import argparse
import multiprocessing
import time
import glob
import hashlib
import os
import re
import subprocess
import sys
import zipfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src", "python"))
from fracnas_corpus.extract import (SOURCES, clean_paragraphs, documents, files,  # noqa: E402
                                    janeausten_books, kernel_source, read_text, sword_books)
from fracnas_corpus import corpora, extract as corpus_extract, prepare  # noqa: E402

# ---- candidates -------------------------------------------------------------------------
# package -> (extractor, description of the chosen source). License strings are read by hand
# from usr/share/doc/<pkg>/copyright of the downloaded .deb (the file is quoted in the doc).
LICENSES = {
    "bible-kjv-text": "public domain text (KJV 1611, copyright expired); program GPL-2+",
    "sword-text-web": "public domain (World English Bible); packaging GPL-2+",
    "r-cran-janeaustenr": "MIT (package); novels public domain",
    "python3.11-doc": "PSF License (Python docs)",
    "linux-doc-6.1": "GPL-2 (kernel Documentation/)",
    "linux-doc-6.12": "GPL-2 (kernel Documentation/)",
    "debian-reference-en": "GPL-2+",
    "debian-handbook": "GPL-2+ or CC-BY-SA-3.0",
    "debian-policy": "GPL-2+ (policy); FHS license; others",
    "developers-reference": "GPL-2",
    "maint-guide": "MIT / GPL-2+",
    "postgresql-doc-15": "PostgreSQL (BSD-like)",
    "perl-doc": "GPL-1+ or Artistic",
    "vim-doc": "Vim license (GPL-compatible)",
    "git-doc": "GPL-2",
    "bash-doc": "GPL-3+ (GFDL manual text packaged in main)",
    "abs-guide": "public domain",
    "gnu-standards": "GFDL (no invariant sections), in main",
    "manpages": "mixed: Linux-man-pages-copyleft, GPL, BSD",
    "cfi-en": "public domain",
    "jargon-text": "public domain",
    "fortunes": "BSD fortune(6) data, mixed/unstated per quote",
    "dict-gcide": "GPL-2+ (GCIDE, incl. 1913 Webster)",
    "dict-foldoc": "GFDL-1.1+ (no invariant sections)",
    "dict-devil": "public domain",
    "miscfiles": "GPL-2+ / public domain / Unicode",
}


def run(cmd, cwd=None):
    return subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, text=True).stdout


# The roff (man pages) and fortune cleaners are fracnas_corpus.extract's (D-large uses them).


# ---- special extractors ------------------------------------------------------------------
def kjv_text(root, work):
    """bible.data is BRS-compressed: decode it with the `bible` program of bible-kjv."""
    d = os.path.join(work, "deb")
    run(["apt-get", "download", "bible-kjv"], cwd=d)
    deb = sorted(glob.glob(os.path.join(d, "bible-kjv_*.deb")))[-1]
    x = os.path.join(work, "x", "bible-kjv")
    os.makedirs(x, exist_ok=True)
    run(["dpkg-deb", "-x", deb, x])
    out = run([os.path.join(x, "usr/bin/bible"), "-p", os.path.join(root, "usr/lib"),
               "-d", "bible.data", "-l1000000", "gen1:1-rev22:21"])
    return re.sub(r"(?m)^\s*\d+ ", "", out)  # drop verse numbers; chapters stay paragraphs


# The packages of the corpus D are read by fracnas_corpus.extract (SOURCES), which prepares D
# from the same code. Other packages read from one glob of one format: (format, pattern with DOC/ for usr/share/doc/,
# excluded paths or None).
SIMPLE_SOURCES = {
    "debian-reference-en": ("html", "usr/share/debian-reference/*.en.html", r"/index\.en\.html$"),
    "debian-handbook": ("html", "DOC/debian-handbook/html/en-US/*.html", r"/index\.html$"),
    "debian-policy": ("rst", "DOC/debian-policy/policy.html/_sources/*.rst.txt", None),
    "developers-reference": ("rst", "usr/share/developers-reference/_sources/*.rst.txt", None),
    "maint-guide": ("html", "DOC/maint-guide/html/*.en.html", r"/index\.en\.html$"),
    "vim-doc": ("html", "DOC/vim/html/*.html", None),
    "git-doc": ("html", "DOC/git-doc/**/*.html", None),
    "bash-doc": ("html", "DOC/bash/bashref.html", None),
    "abs-guide": ("html", "DOC/abs-guide/html/*.html", None),
    "gnu-standards": ("plain", "usr/share/info/*.info.gz", None),
    "manpages": ("roff", "usr/share/man/**/*.gz", None),
    "cfi-en": ("html", "DOC/cfi-en/**/*.htm*", None),
}


# package -> list of (format, raw text) ; "raw" is what the chosen source files contain
def extract(pkg, root, work):
    def fmt_files(fmt, pattern, exclude=None):
        return [(fmt, read_text(p)) for p in files(root, pattern, exclude)]

    doc = "usr/share/doc/"
    if pkg == "bible-kjv-text":
        return [("plain", kjv_text(root, work))]
    if pkg == "sword-text-web":
        return [("plain", "\n\n".join(text for _, text in sword_books(root)))]
    if pkg == "r-cran-janeaustenr":
        return [("plain", "\n\n".join(text for _, text in janeausten_books(root)))]
    if pkg in SOURCES or pkg.startswith("linux-doc-"):
        source = SOURCES.get(pkg) or kernel_source(pkg)
        return [(d.fmt, d.text) for d in documents(pkg, root, source)]
    if pkg in SIMPLE_SOURCES:
        fmt, pattern, exclude = SIMPLE_SOURCES[pkg]
        return fmt_files(fmt, pattern.replace("DOC/", doc), exclude)
    if pkg == "jargon-text":
        return fmt_files("plain", doc + "jargon-text/jargon.txt.gz") or \
            fmt_files("plain", doc + "jargon-text/*.gz", r"changelog|copyright")
    if pkg == "fortunes":
        return fmt_files("fortune", "usr/share/games/fortunes/*", r"\.(dat|u8)$")
    if pkg.startswith("dict-"):
        return fmt_files("plain", "usr/share/dictd/*.dict.dz")
    if pkg == "miscfiles":
        return fmt_files("plain", "usr/share/misc/*.gz") + fmt_files("plain", "usr/share/dict/*")
    raise KeyError(pkg)


CLEANERS = corpus_extract.CLEANERS


def survey(pkg, work, keep_text):
    d = os.path.join(work, "deb")
    os.makedirs(d, exist_ok=True)
    run(["apt-get", "download", pkg], cwd=d)
    deb = sorted(glob.glob(os.path.join(d, pkg + "_*.deb")))[-1]
    info = run(["dpkg-deb", "-f", deb, "Version", "Installed-Size"])
    version = re.search(r"Version: (\S+)", info).group(1)
    isize_kb = int(re.search(r"Installed-Size: (\d+)", info).group(1))
    sha = hashlib.sha256(open(deb, "rb").read()).hexdigest()
    root = os.path.join(work, "x", pkg)
    if not os.path.isdir(root):
        os.makedirs(root)
        run(["dpkg-deb", "-x", deb, root])
    raw_chars = clean_chars = clean_words = nfiles = 0
    sink = open(os.path.join(work, pkg + ".clean.txt"), "w") if keep_text else None
    for fmt, text in extract(pkg, root, work):
        nfiles += 1
        raw_chars += len(text)
        for clean in clean_paragraphs(fmt, text, CLEANERS):
            clean_words += len(clean.split())
            clean_chars += len(clean) + 2  # + paragraph separator
            if sink:
                sink.write(clean + "\n\n")
    if sink:
        sink.close()
    return dict(pkg=pkg, version=version, isize_mb=isize_kb / 1024, files=nfiles,
                raw=raw_chars, chars=clean_chars, words=clean_words, sha=sha[:16])


def pypi_probe(name, work):
    """Download a wheel/sdist with --no-deps; report its size and its largest member."""
    d = os.path.join(work, "pypi")
    os.makedirs(d, exist_ok=True)
    before = set(os.listdir(d))
    run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", name, "-d", d])
    new = sorted(set(os.listdir(d)) - before) or sorted(f for f in os.listdir(d)
                                                        if f.lower().startswith(name.replace("-", "_")))
    f = os.path.join(d, new[0])
    biggest = ("", 0)
    if f.endswith(".whl"):
        with zipfile.ZipFile(f) as z:
            for m in z.infolist():
                if m.file_size > biggest[1]:
                    biggest = (m.filename, m.file_size)
    return new[0], os.path.getsize(f), biggest


def licenses(pkg):
    """The distinct License: names of an installed package's DEP-5 copyright file, or '?'."""
    try:
        text = open("/usr/share/doc/%s/copyright" % pkg, errors="replace").read()
    except OSError:
        return "?"
    names = []
    for name in re.findall(r"(?m)^License:\s*(\S.*)$", text):
        if name.strip() not in names:
            names.append(name.strip())
    return ", ".join(names[:3]) + (", ..." if len(names) > 3 else "") if names else "(not DEP-5: read by hand)"


def survey_installed(pkg):
    started = time.monotonic()
    docs = documents(pkg, "/", corpora.LARGE_SOURCES[pkg], owned=prepare.package_files(pkg, "/"))
    raw = sum(len(d.text) for d in docs)
    clean = [p for d in docs for p in clean_paragraphs(d.fmt, d.text)]
    return dict(pkg=pkg, version=prepare.package_version(pkg, "/"), docs=len(docs), raw=raw,
                chars=sum(len(p) + 1 for p in clean), words=sum(len(p.split()) for p in clean),
                seconds=time.monotonic() - started, license=licenses(pkg))


def main_installed(which, jobs):
    pkgs = list(corpora.LARGE_SOURCES) if which == "large" else which.split(",")
    print("| package | version | kind | license (DEP-5 copyright) | documents | raw chars | clean chars | clean words |"
          " prose share | clean s |")
    print("|---|---|---|---|---:|---:|---:|---:|---:|---:|")
    with multiprocessing.Pool(jobs) as pool:
        for r in pool.imap(survey_installed, pkgs):
            print("| %s | %s | %s | %s | %d | %d | %d | %d | %.2f | %.0f |" % (
                r["pkg"], r["version"], corpora.LARGE.kinds[r["pkg"]], r["license"], r["docs"], r["raw"],
                r["chars"], r["words"], r["chars"] / r["raw"] if r["raw"] else 0.0, r["seconds"]), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--work", default="/tmp/corpus_survey")
    ap.add_argument("--only", default="")
    ap.add_argument("--keep-text", action="store_true", help="write <pkg>.clean.txt files")
    ap.add_argument("--installed", default="", help="'large' or PKG,PKG: survey D-large's installed packages")
    ap.add_argument("--jobs", type=int, default=1, help="with --installed: packages surveyed at once")
    args = ap.parse_args()
    if args.installed:
        return main_installed(args.installed, args.jobs)
    pkgs = [p for p in LICENSES if not args.only or p in args.only.split(",")]
    rows = []
    for p in pkgs:
        try:
            rows.append(survey(p, args.work, args.keep_text))
        except Exception as e:  # report and go on: the table is the product
            print("# %s: FAILED: %s" % (p, e), file=sys.stderr)
    rows.sort(key=lambda r: -r["words"])
    print("| package | version | license (copyright file) | installed MB | files | raw chars |"
          " clean chars | clean words | est. tokens (1.3 x words) | prose share | .deb sha256[:16] |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        print("| %s | %s | %s | %.1f | %d | %d | %d | %d | %d | %.2f | %s |" % (
            r["pkg"], r["version"], LICENSES[r["pkg"]], r["isize_mb"], r["files"], r["raw"],
            r["chars"], r["words"], round(1.3 * r["words"]),
            r["chars"] / r["raw"] if r["raw"] else 0.0, r["sha"]))
    if not args.only:
        print()
        print("PyPI probes (pip download --no-deps): file, bytes, largest member")
        for name in ("sentencepiece", "tinyshakespeareloader", "bechdel-corpus"):
            try:
                fn, size, big = pypi_probe(name, args.work)
                print("- %s: %s, %d bytes, largest member %s (%d bytes)" % (name, fn, size, *big))
            except Exception as e:
                print("- %s: FAILED: %s" % (name, e))
        print()
        print("apt tokenizer packages:")
        for name in ("libsentencepiece-dev", "sentencepiece", "python3-sentencepiece"):
            out = run(["apt-cache", "show", "--no-all-versions", name])
            v = re.search(r"Version: (\S+)", out).group(1)
            s = re.search(r"Installed-Size: (\d+)", out).group(1)
            print("- %s %s (Installed-Size %s kB)" % (name, v, s))


if __name__ == "__main__":
    main()
