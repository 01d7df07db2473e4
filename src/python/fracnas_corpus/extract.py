"""Extraction and cleaning of the Debian packages of the training corpus D (issue 12).

Reads the files of INSTALLED packages under a source root (/ on a real machine, a fixture tree in
the tests), one chosen source per package (no html + rst + txt copies of one text), and turns each
into documents and clean paragraphs. Standard library only; it counts nothing and writes nothing
(benchmarks/corpus_survey.py counts, fracnas_corpus.prepare tokenizes).

Cleaning (deterministic): format-specific markup removal (HTML: html.parser, dropping
script/style/nav/pre/head, sidebars; rst: literal blocks, directives, roles, tables; pod:
verbatim blocks, X<> codes), then a paragraph filter that keeps a paragraph only if it has >= 4
words and >= 3 words a line, >= 75% "alphabetic" words, at least one English function word, and
<= 5% non-ASCII characters. Kept paragraphs are whitespace-normalised.
"""
import bz2
import collections
import glob
import gzip
import html
import html.parser
import lzma
import os
import re
import struct
import textwrap
import zlib

EN_FUNCTION_WORDS = frozenset(
    "the of and to is that for with this are be it you from by which not was his he shall "
    "unto will can have has should there their they we when what if or an as at on".split())
ALPHA_WORD = re.compile(r"^[\"'(\[]*[A-Za-z][A-Za-z'\-]*[.,;:!?\"')\]]*$")


def read_text(path):
    """File contents as text; .gz/.dz decompressed; undecodable bytes replaced."""
    data = open(path, "rb").read()
    if path.endswith((".gz", ".dz")):
        data = gzip.decompress(data)
    return data.decode("utf-8", "replace")


def files(root, pattern, exclude=None):
    """Regular files under root matching the recursive glob, sorted, minus exclude. Links are
    skipped, and so are files reached through a linked folder (an installed perl has
    usr/share/perl/5.36 -> 5.36.0), so that no file is read twice."""
    real_root = os.path.realpath(root)
    out = sorted(glob.glob(os.path.join(root, pattern), recursive=True))
    out = [p for p in out if os.path.isfile(p) and not os.path.islink(p) and
           os.path.realpath(p) == os.path.join(real_root, os.path.relpath(p, root))]
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




class _RVector(list):
    """An R vector with attributes: names is its names attribute (a list of str) or None."""
    names = None


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
            attrs = self.obj()
            v = _RVector(v)
            v.names = next((val for tag, val in attrs if tag == "names"), None)
        return v


def paragraphs_roff(text):
    """man(7) roff: comments and unknown requests dropped, font macros (.B, .IR, ...) reduced to
    their words, paragraph and section macros (.PP, .SH, .TP, ...) break paragraphs, escapes
    (\\fB, \\(em, \\-) removed or replaced."""
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
    """fortune(6) data: one quotation a paragraph, separated by lines holding only '%'."""
    return [p for p in re.split(r"\n%\n", text) if p.strip()]


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


def paragraphs_code(text):
    """Source code (D-large's fill): blocks of lines between blank lines, as they are."""
    return paragraphs_plain(text)


def keep_code(words, nlines):
    """A code block is kept when it has >= 4 tokens and <= 5% non-ASCII characters: no English
    test (it is code), and only the block-size and encoding tests of keep_paragraph."""
    text = " ".join(words)
    return len(words) >= 4 and sum(1 for c in text if ord(c) > 127) <= 0.05 * len(text)


CLEANERS["code"] = paragraphs_code
FILTERS = {"code": keep_code}  # format -> paragraph filter; keep_paragraph for the others


def clean_paragraphs(fmt, text, cleaners=None):
    """The kept paragraphs of one text of format fmt, each whitespace-normalised (one space)."""
    out = []
    keep = FILTERS.get(fmt, keep_paragraph)
    for para in (cleaners or CLEANERS)[fmt](text):
        words = para.split()
        if keep(words, para.strip().count("\n") + 1):
            out.append(" ".join(words))
    return out


# ---- the special sources: their text is not in plain files ------------------------------
def sword_books(root):
    """The WEB's books from its SWORD zText files, as (name, text), in the module's order.

    zText: zlib blocks (.bzs index: offset u32, size u32, uncompressed size u32) and a verse
    index (.bzv: block u32, offset u32, size u16); the module is compressed per book
    (BlockType=BOOK), so one block is one book. A book's verses are joined by spaces, notes and
    markup dropped: one paragraph per book. Named ot/NNN and nt/NNN by block number.
    """
    books = []
    modules = sorted(glob.glob(os.path.join(root, "usr/share/sword/modules/texts/ztext/*/")))
    if not modules:
        raise FileNotFoundError("no SWORD zText module under " + os.path.join(root, "usr/share/sword"))
    for testament in ("ot", "nt"):
        base = modules[0] + testament
        bzs, bzz, bzv = (open(base + e, "rb").read() for e in (".bzs", ".bzz", ".bzv"))
        blocks = []
        for k in range(len(bzs) // 12):
            off, size, _ = struct.unpack_from("<III", bzs, 12 * k)
            blocks.append(zlib.decompress(bzz[off:off + size]) if size else b"")
        verses = collections.defaultdict(list)
        for k in range(len(bzv) // 10):
            blk, off, size = struct.unpack_from("<IIH", bzv, 10 * k)
            if size and blk < len(blocks):
                verse = blocks[blk][off:off + size].decode("utf-8", "replace")
                verse = re.sub(r"<note\b.*?</note>", " ", verse, flags=re.S)
                verses[blk].append(re.sub(r"<[^>]+>", " ", verse))
        for blk in sorted(verses):
            books.append(("%s/%03d" % (testament, blk), " ".join(verses[blk])))
    return books


def sword_entries(root, module):
    """A SWORD commentary's entries (zCom or zCom4, e.g. module 'comments/zcom/mhcc'), as
    (name, text), one document per compressed block (a book or a chapter, by the module's
    BlockType), named ot/NNN or nt/NNN by block number.

    Same files as zText (.bzs block index, .bzz zlib blocks, .bzv entry index; .czs, .czz,
    .czv when the blocks are chapters), but a zCom4
    entry's size is a u32 (12-byte .bzv records) where zCom's is a u16 (10 bytes); the two are
    told apart by which record size divides the index and decodes in-bounds entries. Entries
    are commentary paragraphs in OSIS/ThML markup: tags dropped, <p>, <br> and </div> become
    paragraph breaks, entries are separated by blank lines. An entry that covers a range of
    verses is indexed under each of them and read once.
    """
    base = os.path.join(root, "usr/share/sword/modules", module)
    docs = []
    for testament in ("ot", "nt"):
        stem = os.path.join(base, testament)
        kind = next((k for k in "bc" if os.path.isfile(stem + ".%czs" % k) and os.path.getsize(stem + ".%czs" % k)),
                    None)
        if kind is None:  # no such testament (a module of the Psalms only)
            continue
        bzs, bzz, bzv = (open(stem + "." + kind + e, "rb").read() for e in ("zs", "zz", "zv"))
        blocks = []
        for k in range(len(bzs) // 12):
            off, size, _ = struct.unpack_from("<III", bzs, 12 * k)
            blocks.append(zlib.decompress(bzz[off:off + size]) if size else b"")
        wide = len(bzv) % 12 == 0 and (len(bzv) % 10 != 0 or _entries_fit(bzv, blocks, "<III", 12))
        record, width = ("<III", 12) if wide else ("<IIH", 10)
        entries, seen = collections.defaultdict(list), set()
        for k in range(len(bzv) // width):
            blk, off, size = struct.unpack_from(record, bzv, width * k)
            # an entry on a range of verses is indexed once per verse: read it once
            if size and blk < len(blocks) and (blk, off) not in seen:
                seen.add((blk, off))
                entry = blocks[blk][off:off + size].decode("utf-8", "replace")
                entry = re.sub(r"<note\b.*?</note>", " ", entry, flags=re.S)
                entry = re.sub(r"<(p|br|lb|/p|/div|div)\b[^>]*>", "\n\n", entry)
                entries[blk].append(html.unescape(re.sub(r"<[^>]+>", " ", entry)))
        for blk in sorted(entries):
            docs.append(("%s/%03d" % (testament, blk), "\n\n".join(entries[blk])))
    if not docs:
        raise FileNotFoundError("no SWORD commentary under " + base)
    return docs


def _entries_fit(bzv, blocks, record, width):
    """True when every record of the entry index, read with this layout, lies inside its block."""
    for k in range(len(bzv) // width):
        blk, off, size = struct.unpack_from(record, bzv, width * k)
        if size and (blk >= len(blocks) or off + size > len(blocks[blk])):
            return False
    return True


def tar_members(root, path, member):
    """The regular files of the tarball root/path (xz, gz or plain, read by tarfile) whose
    member name matches the regex member, as (path/member name, text), in name order.
    For packages that ship a source tree as one tarball (linux-source-6.1)."""
    import tarfile
    rx, out = re.compile(member), []
    with tarfile.open(os.path.join(root, path)) as tar:
        for info in tar:
            if info.isfile() and rx.search(info.name):
                out.append((path + "/" + info.name, tar.extractfile(info).read().decode("utf-8", "replace")))
    if not out:
        raise FileNotFoundError("no member matching %s in %s" % (member, os.path.join(root, path)))
    return sorted(out)


def janeausten_books(root):
    """Jane Austen's six novels from janeaustenr's lazy-load R data, as (name, text).

    Rdata.rdx (gzip, R serialization) indexes Rdata.rdb: one record per data set (4-byte length,
    a compression type byte X/2/Z, or zlib data directly), each a character vector, one element
    per printed line; blank elements separate paragraphs. Named by the data set's name.
    """
    d = os.path.join(root, "usr/lib/R/site-library/janeaustenr/data/")
    index = _RUnserialize(gzip.decompress(open(d + "Rdata.rdx", "rb").read())).top()
    rdb = open(d + "Rdata.rdb", "rb").read()
    variables = index[0]
    names = variables.names or ["book%d" % k for k in range(len(variables))]
    books = []
    for name, (off, size) in zip(names, variables):
        rec = rdb[off:off + size]
        kind = rec[4:5]
        raw = (lzma.decompress(rec[5:]) if kind == b"X" else
               bz2.decompress(rec[5:]) if kind == b"2" else
               zlib.decompress(rec[5:]) if kind == b"Z" else zlib.decompress(rec[4:]))
        books.append((name, "\n".join(s or "" for s in _RUnserialize(raw).top())))
    return books


# ---- the packages of D ------------------------------------------------------------------
Document = collections.namedtuple("Document", "name fmt text")
"""One document of a package: name (stable, relative, '/'-separated), format, raw text."""

# package -> (format, pattern with DOC/ for usr/share/doc/, excluded paths or None), or the
# name of a special reader. The order is D's order (docs/data.md); the survey reads the same.
_DOC = "usr/share/doc/"
_KERNEL_EXCLUDE = r"/Documentation/(translations|devicetree/bindings)/"
SOURCES = collections.OrderedDict([
    ("r-cran-janeaustenr", "janeausten"),
    ("sword-text-web", "sword"),
    ("linux-doc-6.1", [("rst", "DOC/linux-doc-6.1/Documentation/**/*.rst.gz", _KERNEL_EXCLUDE),
                       ("rst", "DOC/linux-doc-6.1/Documentation/**/*.rst", _KERNEL_EXCLUDE),
                       ("plain", "DOC/linux-doc-6.1/Documentation/**/*.txt.gz", _KERNEL_EXCLUDE),
                       ("plain", "DOC/linux-doc-6.1/Documentation/**/*.txt", _KERNEL_EXCLUDE)]),
    ("python3.11-doc", [("rst", "DOC/python3.11/html/_sources/**/*.rst.txt", None)]),
    ("perl-doc", [("pod", "usr/share/perl/*/pod/*.pod", None)]),
    ("postgresql-doc-15", [("html", "DOC/postgresql-doc-15/html/*.html", None)]),
])


def kernel_source(pkg):
    """The SOURCES entry of another linux-doc-<version> package (the survey compares two)."""
    return [(fmt, pattern.replace("linux-doc-6.1", pkg), exclude)
            for fmt, pattern, exclude in SOURCES["linux-doc-6.1"]]


def documents(pkg, root, source=None, owned=None):
    """The documents of an installed package under root, sorted by name.

    source is a list of (format, pattern, exclude) or a special reader's name: "janeausten",
    "sword" (the WEB's zText), "sword-commentary:<module path>" (see sword_entries),
    "tar:<format>:<tarball>:<member regex>" (see tar_members). A file's
    name is its path relative to root; janeaustenr's, the WEB's and a commentary's are their
    books' (or chapters').
    owned, when given, is the set of the package's own paths ('/usr/...', dpkg -L): files that
    another package put in the same folder are skipped (perl-modules' perldiag.pod is not
    perl-doc's). Raises FileNotFoundError when the package's source has no file under root.
    """
    source = source or SOURCES[pkg]
    if source == "janeausten":
        docs = [Document(name, "plain", text) for name, text in janeausten_books(root)]
    elif source == "sword":
        docs = [Document(name, "plain", text) for name, text in sword_books(root)]
    elif isinstance(source, str) and source.startswith("sword-commentary:"):
        module = source.split(":", 1)[1]
        docs = [Document(name, "plain", text) for name, text in sword_entries(root, module)]
    elif isinstance(source, str) and source.startswith("tar:"):
        _, fmt, path, member = source.split(":", 3)
        docs = [Document(name, fmt, text) for name, text in tar_members(root, path, member)]
    else:
        docs = []
        for fmt, pattern, exclude in source:
            for path in files(root, pattern.replace("DOC/", _DOC), exclude):
                name = os.path.relpath(path, root).replace(os.sep, "/")
                if owned is None or "/" + name in owned:
                    docs.append(Document(name, fmt, read_text(path)))
    if not docs:
        raise FileNotFoundError("%s: no source file under %s" % (pkg, root))
    return sorted(docs, key=lambda d: d.name)
