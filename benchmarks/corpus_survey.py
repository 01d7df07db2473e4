#!/usr/bin/env python3
# Survey of English text shipped by Debian 12 (bookworm) packages, for choosing the fixed
# training corpus D of the accuracy-proxy check (issue 12). For each candidate package it
# runs `apt-get download`, unpacks with `dpkg-deb -x` (no root install), extracts ONE chosen
# source per package (no html+rst+txt double counting), cleans it and counts it.
# It does not train a tokenizer and does not fetch anything but Debian/PyPI packages.
#
# Run:   python3 benchmarks/corpus_survey.py [--work /tmp/corpus_survey] [--only PKG,PKG]
#        (Python 3 standard library only; needs apt-get, dpkg-deb and pip on PATH.)
# Prints a Markdown table: package, version, license (from the package copyright file, by
# hand, see LICENSES), Installed-Size, raw chars of the chosen source files, clean chars,
# clean words (whitespace split), estimated tokens (= 1.3 x words, a GPT-2-BPE-like ESTIMATE,
# no tokenizer is run), prose share (clean chars / raw chars), and the .deb's sha256.
#
# Cleaning (deterministic): format-specific markup removal (HTML: html.parser, dropping
# script/style/nav/pre/head, sidebars; rst: literal blocks, directives, roles, tables; pod:
# verbatim blocks, X<> codes; roff: macros and escapes), then a paragraph filter that keeps
# a paragraph only if it has >= 4 words and >= 3 words a line, >= 75% "alphabetic" words,
# at least one English function word, and <= 5% non-ASCII characters. Kept paragraphs are
# whitespace-normalised.

import argparse
import bz2
import glob
import gzip
import hashlib
import html.parser
import lzma
import os
import re
import struct
import subprocess
import sys
import textwrap
import zipfile
import zlib

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

EN_FUNCTION_WORDS = frozenset(
    "the of and to is that for with this are be it you from by which not was his he shall "
    "unto will can have has should there their they we when what if or an as at on".split())
ALPHA_WORD = re.compile(r"^[\"'(\[]*[A-Za-z][A-Za-z'\-]*[.,;:!?\"')\]]*$")


def run(cmd, cwd=None):
    return subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, text=True).stdout


def read_text(path):
    """File contents as text; .gz/.dz decompressed; undecodable bytes replaced."""
    data = open(path, "rb").read()
    if path.endswith((".gz", ".dz")):
        data = gzip.decompress(data)
    return data.decode("utf-8", "replace")


def files(root, pattern, exclude=None):
    out = sorted(glob.glob(os.path.join(root, pattern), recursive=True))
    out = [p for p in out if os.path.isfile(p) and not os.path.islink(p)]
    if exclude:
        rx = re.compile(exclude)
        out = [p for p in out if not rx.search(p)]
    return out


# ---- format cleaners: raw text -> list of paragraphs (strings) ---------------------------
def paragraphs_plain(text):
    return [p for p in re.split(r"\n\s*\n", text) if p.strip()]


class _HtmlText(html.parser.HTMLParser):
    SKIP = {"script", "style", "nav", "pre", "head", "header", "footer", "title", "svg"}
    SKIP_CLASS = re.compile(r"sphinxsidebar|related|footer|navheader|navfooter|toc|headerlink")
    BLOCK = {"p", "div", "li", "dd", "dt", "h1", "h2", "h3", "h4", "h5", "h6", "br", "tr",
             "td", "th", "table", "section", "blockquote", "ul", "ol", "dl", "hr", "body"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out, self.skip_stack = [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if self.skip_stack:
            if tag == self.skip_stack[-1][0]:
                self.skip_stack[-1][1] += 1
            return
        cls = (a.get("class") or "") + " " + (a.get("role") or "")
        if tag in self.SKIP or (tag in ("div", "a", "span", "ul") and self.SKIP_CLASS.search(cls)):
            if tag not in ("br", "hr"):
                self.skip_stack.append([tag, 1])
            return
        if tag in self.BLOCK:
            self.out.append("\n\n")

    def handle_endtag(self, tag):
        if self.skip_stack:
            if tag == self.skip_stack[-1][0]:
                self.skip_stack[-1][1] -= 1
                if self.skip_stack[-1][1] == 0:
                    self.skip_stack.pop()
            return
        if tag in self.BLOCK:
            self.out.append("\n\n")

    def handle_data(self, data):
        if not self.skip_stack:
            self.out.append(data.replace("\n", " "))


def paragraphs_html(text):
    p = _HtmlText()
    p.feed(text)
    p.close()
    return paragraphs_plain("".join(p.out))


RST_CODE_DIRECTIVES = frozenset(
    "code code-block sourcecode literalinclude highlight doctest testcode testoutput testsetup "
    "productionlist math raw image figure toctree csv-table list-table table index include "
    "kernel-doc kernel-include kernel-abi kernel-feat flat-table c cpp graphviz "
    "only ifconfig".split())


def _rst_lines(lines):
    """rst lines -> prose lines; directive bodies are dedented and processed recursively."""
    keep, i = [], 0
    while i < len(lines):
        line = lines[i]
        s = line.strip()
        # directive ('.. name::'): keep the indented body of prose directives (function,
        # note, ...), drop code-like ones; a comment ('..' without '::') is dropped whole
        if s.startswith(".."):
            m = re.match(r"\.\.\s+([\w:-]+)::", s)
            drop_body = not m or m.group(1).split(":")[-1] in RST_CODE_DIRECTIVES
            i += 1
            body = []
            while i < len(lines) and (not lines[i].strip() or lines[i][:1] in " \t"):
                if not re.match(r"\s+:[\w -]+:", lines[i]):  # directive options
                    body.append(lines[i])
                i += 1
            keep.append("")
            if not drop_body:
                keep.extend(_rst_lines(textwrap.dedent("\n".join(body)).split("\n")))
            keep.append("")
            continue
        # literal block after a line ending in '::': drop the indented body
        if s.endswith("::"):
            keep.append(line[:-1] if not s == "::" else "")
            i += 1
            while i < len(lines) and (not lines[i].strip() or lines[i][:1] in " \t"):
                i += 1
            keep.append("")
            continue
        # heading underlines / transitions, grid tables
        if re.fullmatch(r"([=\-~^\"'`#*+_:.])\1{2,}", s) or s.startswith(("+-", "+=", "|")):
            keep.append("")
            i += 1
            continue
        keep.append(line)
        i += 1
    return keep


def paragraphs_rst(text):
    text = "\n".join(_rst_lines(text.split("\n")))
    text = re.sub(r":[\w:+-]+:`([^`<]*?)(?:\s*<[^>]*>)?`", r"\1", text)  # :role:`text <tgt>`
    text = re.sub(r"`([^`<]+?)\s*<[^>]+>`_+", r"\1", text)  # `text <url>`_
    text = re.sub(r"``([^`]+)``", r"\1", text)
    text = re.sub(r"`([^`]+)`_*", r"\1", text)
    text = re.sub(r"\*\*([^*]+)\*\*|\*([^*\s][^*]*)\*", lambda m: m.group(1) or m.group(2), text)
    return paragraphs_plain(text)


def paragraphs_pod(text):
    keep = []
    for para in paragraphs_plain(text):
        if para[:1] in " \t":  # verbatim (code) paragraph
            continue
        if para.startswith("="):
            m = re.match(r"=(head\d|item)\s+(.*)", para, re.S)
            if not m:
                continue
            para = m.group(2)
        for _ in range(3):  # nested formatting codes
            para = re.sub(r"[A-Z]<+\s*([^<>]*?)\s*>+", r"\1", para)
        keep.append(para)
    return keep


def paragraphs_roff(text):
    keep = []
    for line in text.split("\n"):
        if line.startswith((".\\\"", "'\\\"")):
            continue
        if line.startswith((".", "'")):
            m = re.match(r"[.'](B|I|BR|BI|IR|IB|RB|RI|SM|SB)\s+(.*)", line)
            if m:
                line = m.group(2).replace('"', "")
            elif re.match(r"[.'](PP|P|LP|SH|SS|TP|IP|HP|sp|br)\b", line):
                m2 = re.match(r"[.'](SH|SS)\s+(.*)", line)
                keep.append("")
                if m2:
                    keep.append(m2.group(2).replace('"', ""))
                    keep.append("")
                continue
            else:
                continue
        keep.append(line)
    text = "\n".join(keep)
    text = re.sub(r"\\f(\[[^\]]*\]|\(..|.)", "", text)
    text = re.sub(r"\\\(..|\\\[[^\]]*\]", " ", text)
    text = text.replace("\\-", "-").replace("\\&", "").replace("\\e", "\\")
    return paragraphs_plain(text)


def paragraphs_fortune(text):
    return [p for p in re.split(r"\n%\n", text) if p.strip()]


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


def sword_text(root):
    """SWORD zText: zlib blocks (.bzs index) + verse index (.bzv: block u32, off u32, len u16)."""
    texts = []
    for testament in ("ot", "nt"):
        base = glob.glob(os.path.join(root, "usr/share/sword/modules/texts/ztext/*/"))[0] + testament
        bzs, bzz, bzv = (open(base + e, "rb").read() for e in (".bzs", ".bzz", ".bzv"))
        blocks = []
        for k in range(len(bzs) // 12):
            off, size, _ = struct.unpack_from("<III", bzs, 12 * k)
            blocks.append(zlib.decompress(bzz[off:off + size]) if size else b"")
        book = []
        for k in range(len(bzv) // 10):
            blk, off, size = struct.unpack_from("<IIH", bzv, 10 * k)
            if size and blk < len(blocks):
                book.append((blk, blocks[blk][off:off + size].decode("utf-8", "replace")))
        cur, buf = None, []
        for blk, verse in book:  # one paragraph per block (= per book)
            if blk != cur and buf:
                texts.append(" ".join(buf))
                buf = []
            cur = blk
            v = re.sub(r"<note\b.*?</note>", " ", verse, flags=re.S)
            buf.append(re.sub(r"<[^>]+>", " ", v))
        if buf:
            texts.append(" ".join(buf))
    return "\n\n".join(texts)


class _RUnserialize:
    """Minimal reader of R's XDR serialization: enough for character vectors (janeaustenr)."""

    def __init__(self, b):
        self.b, self.p, self.refs = b, 0, []

    def i(self):
        self.p += 4
        return struct.unpack_from(">i", self.b, self.p - 4)[0]

    def top(self):
        assert self.b[:2] == b"X\n"
        self.p = 2
        version = self.i()
        self.i(); self.i()
        if version == 3:
            n = self.i()  # length of the native encoding name, then the name
            self.p += n
        return self.obj()

    def obj(self):
        f = self.i()
        t, has_attr, has_tag = f & 0xFF, f & (1 << 9), f & (1 << 10)
        if t in (242, 251, 253, 254):
            return None
        if t == 255:
            return self.refs[(f >> 8) - 1]
        if t == 1:  # SYMSXP
            v = self.obj()
            self.refs.append(v)
            return v
        if t == 9:  # CHARSXP
            n = self.i()
            if n == -1:
                return None
            self.p += n
            return self.b[self.p - n:self.p].decode("utf-8", "replace")
        if t == 2:  # pairlist
            if has_attr:
                self.obj()
            tag = self.obj() if has_tag else None
            car, cdr = self.obj(), self.obj()
            return [(tag, car)] + (cdr if isinstance(cdr, list) else [])
        if t in (16, 19, 20):
            v = [self.obj() for _ in range(self.i())]
        elif t in (10, 13):
            n = self.i()
            v = list(struct.unpack_from(">%di" % n, self.b, self.p))
            self.p += 4 * n
        elif t == 14:
            n = self.i()
            v = list(struct.unpack_from(">%dd" % n, self.b, self.p))
            self.p += 8 * n
        else:
            raise ValueError("unsupported R SEXP type %d" % t)
        if has_attr:
            self.obj()
        return v


def janeausten_text(root):
    d = glob.glob(os.path.join(root, "usr/lib/R/site-library/janeaustenr/data/"))[0]
    index = _RUnserialize(gzip.decompress(open(d + "Rdata.rdx", "rb").read())).top()
    rdb = open(d + "Rdata.rdb", "rb").read()
    books = []
    for off, size in index[0]:
        rec = rdb[off:off + size]
        kind = rec[4:5]
        raw = (lzma.decompress(rec[5:]) if kind == b"X" else
               bz2.decompress(rec[5:]) if kind == b"2" else
               zlib.decompress(rec[5:]) if kind == b"Z" else zlib.decompress(rec[4:]))
        books.append("\n".join(s or "" for s in _RUnserialize(raw).top()))
    return "\n\n".join(books)


# Packages read from one glob of one format: (format, pattern with DOC/ for usr/share/doc/,
# excluded paths or None).
SIMPLE_SOURCES = {
    "debian-reference-en": ("html", "usr/share/debian-reference/*.en.html", r"/index\.en\.html$"),
    "debian-handbook": ("html", "DOC/debian-handbook/html/en-US/*.html", r"/index\.html$"),
    "debian-policy": ("rst", "DOC/debian-policy/policy.html/_sources/*.rst.txt", None),
    "developers-reference": ("rst", "usr/share/developers-reference/_sources/*.rst.txt", None),
    "maint-guide": ("html", "DOC/maint-guide/html/*.en.html", r"/index\.en\.html$"),
    "postgresql-doc-15": ("html", "DOC/postgresql-doc-15/html/*.html", None),
    "perl-doc": ("pod", "usr/share/perl/*/pod/*.pod", None),
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
        return [("plain", sword_text(root))]
    if pkg == "r-cran-janeaustenr":
        return [("plain", janeausten_text(root))]
    if pkg == "python3.11-doc":
        return fmt_files("rst", doc + "python3.11/html/_sources/**/*.rst.txt")
    if pkg.startswith("linux-doc-"):
        ver = pkg[len("linux-doc-"):]
        base = doc + "linux-doc-%s/Documentation/" % ver
        ex = r"/Documentation/(translations|devicetree/bindings)/"
        out = fmt_files("rst", base + "**/*.rst.gz", ex) + fmt_files("rst", base + "**/*.rst", ex)
        out += fmt_files("plain", base + "**/*.txt.gz", ex) + fmt_files("plain", base + "**/*.txt", ex)
        return out
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


CLEANERS = {"plain": paragraphs_plain, "html": paragraphs_html, "rst": paragraphs_rst,
            "pod": paragraphs_pod, "roff": paragraphs_roff, "fortune": paragraphs_fortune}


def keep_paragraph(words, nlines):
    if len(words) < 4 or len(words) < 3 * nlines:  # word lists: one word a line
        return False
    alpha = sum(1 for w in words if ALPHA_WORD.match(w))
    if alpha < 0.75 * len(words):
        return False
    if not any(w.strip(".,;:!?\"'()").lower() in EN_FUNCTION_WORDS for w in words):
        return False
    text = " ".join(words)
    return sum(1 for c in text if ord(c) > 127) <= 0.05 * len(text)


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
        for para in CLEANERS[fmt](text):
            words = para.split()
            if keep_paragraph(words, para.strip().count("\n") + 1):
                clean = " ".join(words)
                clean_words += len(words)
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


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--work", default="/tmp/corpus_survey")
    ap.add_argument("--only", default="")
    ap.add_argument("--keep-text", action="store_true", help="write <pkg>.clean.txt files")
    args = ap.parse_args()
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
