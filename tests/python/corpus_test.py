"""Tests of the corpus preparation (src/python/fracnas_corpus) on fixture trees of D's and D-large's packages.

    python tests/python/corpus_test.py [--update]

Builds, in a temporary folder, a source root that mimics where the six packages of D install
their text (janeaustenr's R lazy-load data, the WEB's SWORD zText module, the kernel's, Python's,
Perl's and PostgreSQL's documentation files) and dpkg's database for them, with generated
English-like text. Checks: two preparations give byte-identical files, and the validation file
equals the committed tests/data/corpus/val.tokens (which the C++ reader's test reads; --update
rewrites it); train and validation are disjoint, cover every clean paragraph once, and a piece
stays on its side when a document is added or the share grows; the manifest's counts, versions
and sha256s are right; an up-to-date preparation is skipped and a changed version redone; a
missing package or a bad option is one error line and exit 2. Then D-large (corpora.LARGE) on a
fixture of all its packages, one tiny file each in its format (check_large), and pack/unpack of
D's prepared fixture in parts (check_transfer). Exit 0 when every check passes.
"""
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tarfile
import tempfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE = os.path.join(HERE, "..", "..", "src", "python")
GOLDEN = os.path.join(HERE, "..", "data", "corpus", "val.tokens")
sys.path.insert(0, PACKAGE)

import sentencepiece as spm  # noqa: E402

from fracnas_corpus import corpora, extract, prepare, token_file, transfer  # noqa: E402

VOCAB = 400
SHARE = "0.3"
failures = []


def check(condition, what):
    print(("ok    " if condition else "FAIL  ") + what)
    if not condition:
        failures.append(what)


# ---- generated text: English-like, so that the cleaning filter keeps it -----------------------
WORDS = ("the of and to is that for with this are be it you from by which not was his he when "
         "what if or an as at on kernel memory driver table query server module river garden "
         "letter sister morning evening house carriage village window letter answer question "
         "function value return list string number system process thread lock page cache "
         "device buffer index column row quickly slowly always never often gently happy proud "
         "modest gracious settled walked returned spoke wrote began found seemed called").split()


def sentences(seed, n):
    """n sentences of 6-14 words from a fixed LCG: the same text on every machine."""
    state, out = seed, []
    for _ in range(n):
        state = (state * 6364136223846793005 + 1442695040888963407) % 2 ** 64
        k = 6 + (state >> 33) % 9
        words = []
        for _ in range(k):
            state = (state * 6364136223846793005 + 1442695040888963407) % 2 ** 64
            words.append(WORDS[(state >> 33) % len(WORDS)])
        out.append(" ".join(words).capitalize() + ".")
    return out


def paragraph(seed, n=4):
    return " ".join(sentences(seed, n))


# ---- R's serialization (the writer mirroring extract._RUnserialize) ---------------------------
def r_int(v):
    return struct.pack(">i", v)


def r_chars(s):
    b = s.encode("utf-8")
    return r_int(0x00040009) + r_int(len(b)) + b


def r_pairlist(items):
    out = b""
    for tag, value in items:
        out += r_int(2 | 1 << 10) + r_int(1) + r_chars(tag) + value
    return out + r_int(254)


def r_vector(sexp_type, elements, names=None):
    flags = sexp_type | (1 << 9 if names else 0)
    out = r_int(flags) + r_int(len(elements))
    if sexp_type in (10, 13):  # logical, integer
        out += b"".join(r_int(e) for e in elements)
    else:
        out += b"".join(elements)
    if names:
        out += r_pairlist([("names", r_vector(16, [r_chars(n) for n in names]))])
    return out


def r_serialize(obj):
    return b"X\n" + r_int(3) + r_int(0x040201) + r_int(0x030500) + r_int(5) + b"UTF-8" + obj


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode("utf-8"))


# ---- the fixture tree ---------------------------------------------------------------------------
def build_fixture(root, extra_doc=False, versions=None, large=False):
    """D's six packages; with large, every other package of D-large too (build_large)."""
    owned = {p: [] for p in (corpora.LARGE_SOURCES if large else extract.SOURCES)}

    def put(pkg, rel, data):
        write(os.path.join(root, rel), data)
        owned[pkg].append("/" + rel)

    # janeaustenr: two novels of 40 wrapped paragraphs each, blank lines between paragraphs
    data = "usr/lib/R/site-library/janeaustenr/data/"
    rdb, index = b"", []
    for k, name in enumerate(("emma", "persuasion")):
        lines = []
        for p in range(40):
            text = paragraph(100 * k + p, 3)
            lines += [text[i:i + 70] for i in range(0, len(text), 70)] + [""]
        rec = zlib.compress(r_serialize(r_vector(16, [r_chars(s) for s in lines])))
        rec = struct.pack(">i", len(rec)) + rec  # no type byte: zlib data straight after the length
        index.append((len(rdb), len(rec)))
        rdb += rec
    variables = r_vector(19, [r_vector(13, list(pair)) for pair in index], names=["emma", "persuasion"])
    rdx = r_serialize(r_vector(19, [variables, r_vector(19, []), r_vector(10, [1])],
                               names=["variables", "references", "compressed"]))
    put("r-cran-janeaustenr", data + "Rdata.rdx", gzip.compress(rdx, mtime=0))
    put("r-cran-janeaustenr", data + "Rdata.rdb", rdb)

    # the WEB: zText, one zlib block per book, a verse index with an empty entry and a note
    module = "usr/share/sword/modules/texts/ztext/engwebfixture/"
    for t, testament in enumerate(("ot", "nt")):
        bzs = bzz = bzv = b""
        for book in range(3):
            # one long book (about 13 k characters): one paragraph cut into segments and pieces
            verses = sentences(1000 + 10 * t + book, 200 if (t, book) == (1, 0) else 60)
            verses[1] = verses[1][:-1] + " <note>a translator's note that is dropped</note>."
            block = "".join('<w lemma="x">%s</w>' % v for v in verses).encode("utf-8")
            bzv += struct.pack("<IIH", book, 0, 0)  # a heading entry: no text
            off = 0
            for v in verses:
                size = len(('<w lemma="x">%s</w>' % v).encode("utf-8"))
                bzv += struct.pack("<IIH", book, off, size)
                off += size
            z = zlib.compress(block)
            bzs += struct.pack("<III", len(bzz), len(z), len(block))
            bzz += z
        for ext, blob in ((".bzs", bzs), (".bzz", bzz), (".bzv", bzv)):
            put("sword-text-web", module + testament + ext, blob)

    # the kernel: rst, rst.gz, txt; translations/ and devicetree/bindings/ are left out
    doc = "usr/share/doc/linux-doc-6.1/Documentation/"
    rst = "Memory management\n=================\n\n%s\n\n.. code-block:: c\n\n   int x = 1;\n\n%s\n" % (
        paragraph(2000), paragraph(2001))
    put("linux-doc-6.1", doc + "mm/overview.rst", rst)
    put("linux-doc-6.1", doc + "admin-guide/locks.rst.gz", gzip.compress(
        ("Locks\n-----\n\n%s\n\n%s\n" % (paragraph(2002), paragraph(2003))).encode(), mtime=0))
    put("linux-doc-6.1", doc + "process/notes.txt", "%s\n\n%s\n" % (paragraph(2004), paragraph(2005)))
    put("linux-doc-6.1", doc + "translations/it_IT/index.rst", paragraph(2006))
    put("linux-doc-6.1", doc + "devicetree/bindings/board.txt", paragraph(2007))
    if extra_doc:
        put("linux-doc-6.1", doc + "mm/added.rst", "%s\n\n%s\n" % (paragraph(2008), paragraph(2009)))

    # Python: Sphinx sources
    src = "usr/share/doc/python3.11/html/_sources/"
    put("python3.11-doc", src + "library/os.rst.txt", ":mod:`os` --- interfaces\n\n%s\n\nExample::\n\n   import os\n\n%s\n"
        % (paragraph(3000), paragraph(3001)))
    put("python3.11-doc", src + "tutorial/intro.rst.txt", "%s\n\n%s\n" % (paragraph(3002), paragraph(3003)))

    # Perl: pod; perldiag.pod is another package's, and 5.36 is a link to 5.36.0
    pod = "usr/share/perl/5.36.0/pod/"
    put("perl-doc", pod + "perlintro.pod", "=head1 NAME\n\n%s\n\n    my $x = 1;\n\n=item B<%s>\n\n%s\n"
        % (paragraph(4000), "bold words are kept here", paragraph(4001)))
    write(os.path.join(root, pod + "perldiag.pod"), paragraph(4002))
    os.symlink("5.36.0", os.path.join(root, "usr/share/perl/5.36"))

    # PostgreSQL: HTML; the navigation and <pre> are dropped
    html = "usr/share/doc/postgresql-doc-15/html/"
    for k, name in enumerate(("tutorial.html", "sql-select.html")):
        put("postgresql-doc-15", html + name,
            "<html><head><title>t</title></head><body><div class=\"navheader\">Prev Next Up</div>"
            "<p>%s</p><pre>SELECT 1;</pre><p>%s</p></body></html>" % (paragraph(5000 + 2 * k), paragraph(5001 + 2 * k)))

    if large:
        build_large(put)

    # dpkg's database: status and every package's file list
    dpkg = os.path.join(root, "var/lib/dpkg")
    os.makedirs(os.path.join(dpkg, "info"), exist_ok=True)
    versions = versions or {}
    with open(os.path.join(dpkg, "status"), "w") as f:
        for pkg in owned:
            f.write("Package: %s\nStatus: install ok installed\nVersion: %s\nArchitecture: all\n"
                    "Maintainer: fixture <fixture@example.org>\nDescription: fixture\n\n"
                    % (pkg, versions.get(pkg, "1.0-fixture")))
    for pkg, paths in owned.items():
        write(os.path.join(dpkg, "info", pkg + ".list"), "/.\n/usr\n" + "\n".join(paths) + "\n")


# ---- D-large's further packages: one tiny file per package in its format, at a path its glob finds
DUPLICATE = paragraph(7777)  # in fortunes and again in jargon-text: D-large keeps the first only
C_CODE = "/* fixture */\nstatic int twice_c(int x)\n{\n\treturn x * 2 + 0;\n}\n"
GO = "package fixture\n\n// Twice returns x + x.\nfunc Twice(x int) int {\n\treturn x + x\n}\n\nfunc f() {}\n"


def fixture_text(fmt, seed, pkg):
    p1, p2 = paragraph(seed), paragraph(seed + 1)
    if pkg == "fortunes":
        p2 = DUPLICATE
    if pkg == "jargon-text":
        p1 = DUPLICATE
    if fmt == "html":
        return "<html><head><title>t</title></head><body><p>%s</p><pre>int y = 2;</pre><p>%s</p></body></html>" % (p1, p2)
    if fmt == "rst":
        return "Title\n=====\n\n%s\n\n.. code-block:: c\n\n   int y = 2;\n\n%s\n" % (p1, p2)
    if fmt == "roff":
        return ('.\\" a comment\n.TH PAGE 3\n.SH DESCRIPTION\n.B roff bold words are kept\n%s\n.PP\n'
                "\\fB%s\\fR\n" % (p1, p2))
    if fmt == "fortune":
        return "%s\n%%\n%s\n%%\n" % (p1, p2)
    if fmt == "code":
        return GO
    return "%s\n\n%s\n" % (p1, p2)


def sword_commentary(put, pkg, module, testaments, chapters, base):
    """A zCom module (10-byte entry index, blocks per book: .bz?) or a zCom4 one (12-byte index,
    blocks per chapter: .cz?), whose first entry is indexed twice (an entry on two verses)."""
    k, width = ("c", 12) if chapters else ("b", 10)
    for t, testament in enumerate(testaments):
        zs = zz = zv = b""
        for blk in range(2):
            entries = ["<div><p>%s</p><p>%s</p></div>" % (paragraph(base + 10 * t + 2 * blk + e),
                                                          paragraph(base + 50 + 10 * t + 2 * blk + e))
                       for e in range(2)]
            block, off = "".join(entries).encode("utf-8"), 0
            for e, entry in enumerate(entries):
                size = len(entry.encode("utf-8"))
                rec = struct.pack("<III" if chapters else "<IIH", blk, off, size)
                zv += rec + (rec if e == 0 else b"")  # the first entry covers two verses
                off += size
            z = zlib.compress(block)
            zs += struct.pack("<III", len(zz), len(z), len(block))
            zz += z
        assert len(zv) % width == 0
        for ext, blob in (("zs", zs), ("zz", zz), ("zv", zv)):
            put(pkg, "usr/share/sword/modules/%s/%s.%s%s" % (module, testament, k, ext), blob)


def build_large(put):
    for seed, (pkg, source) in enumerate(corpora.LARGE_SOURCES.items()):
        if pkg in extract.SOURCES:
            continue
        if isinstance(source, str) and source.startswith("tar:"):  # a source tree in a tarball
            _, fmt, path, member = source.split(":", 3)
            buf = io.BytesIO()
            with tarfile.open(fileobj=buf, mode="w:xz") as tar:
                for name, text in (("linux-source-6.1/kernel/fixture.c", C_CODE),
                                   ("linux-source-6.1/drivers/left_out.c", "int left_out_of_the_corpus = 1;\n" * 3),
                                   ("linux-source-6.1/Documentation/left_out.rst", paragraph(31))):
                    info = tarfile.TarInfo(name)
                    info.size, info.mtime = len(text.encode()), 0
                    tar.addfile(info, io.BytesIO(text.encode()))
            put(pkg, path, buf.getvalue())
            continue
        if isinstance(source, str):  # a SWORD commentary
            module = source.split(":", 1)[1]
            sword_commentary(put, pkg, module, ("ot",) if pkg == "sword-comm-tdavid" else ("ot", "nt"),
                             chapters=pkg == "sword-comm-tdavid", base=9000 + 100 * seed)
            continue
        fmt, pattern, exclude = source[0]
        stem = pkg.replace(".", "_")
        rel = (pattern.replace("DOC/", "usr/share/doc/").replace("**/", "sub/").replace("[1-8]", "1")
               .replace("*", stem, 1).replace("*", "page"))
        assert not exclude or not re.search(exclude, "/" + rel), rel
        text = fixture_text(fmt, 6000 + 10 * seed, pkg).encode("utf-8")
        put(pkg, rel, gzip.compress(text, mtime=0) if rel.endswith((".gz", ".dz")) else text)


# ---- helpers ------------------------------------------------------------------------------------
def stage_package(root, staged, pkg):
    """Moves pkg's files and its dpkg entries from root's database into staged's, as cmake/dev.sh
    stages a package that apt cannot install beside the machine's."""
    src_db, dst_db = os.path.join(root, "var/lib/dpkg"), os.path.join(staged, "var/lib/dpkg")
    os.makedirs(os.path.join(dst_db, "info"))
    with open(os.path.join(src_db, "info", pkg + ".list")) as f:
        paths = f.read().splitlines()
    for path in paths:
        src = os.path.join(root, path.lstrip("/"))
        if os.path.isfile(src) and not os.path.islink(src):
            os.makedirs(os.path.dirname(os.path.join(staged, path.lstrip("/"))), exist_ok=True)
            os.rename(src, os.path.join(staged, path.lstrip("/")))
    os.rename(os.path.join(src_db, "info", pkg + ".list"), os.path.join(dst_db, "info", pkg + ".list"))
    with open(os.path.join(src_db, "status")) as f:
        stanzas = f.read().split("\n\n")
    mine = [st for st in stanzas if st.startswith("Package: %s\n" % pkg)]
    with open(os.path.join(src_db, "status"), "w") as f:
        f.write("\n\n".join(st for st in stanzas if st not in mine))
    with open(os.path.join(dst_db, "status"), "w") as f:
        f.write("\n\n".join(mine) + "\n\n")


def run_module(*args):
    env = dict(os.environ, PYTHONPATH=PACKAGE)
    return subprocess.run([sys.executable, "-m", "fracnas_corpus"] + list(args), capture_output=True, text=True, env=env)


def run_prepare(root, out, *extra):
    env = dict(os.environ, PYTHONPATH=PACKAGE)
    return subprocess.run([sys.executable, "-m", "fracnas_corpus", "prepare", "--out", out, "--source-root", root,
                           "--vocab-size", str(VOCAB), "--validation-share", SHARE] + list(extra),
                          capture_output=True, text=True, env=env)


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def piece_texts(out, side):
    """The text of every piece of a split: the token file cut at eos, each part decoded."""
    sp = spm.SentencePieceProcessor(model_file=os.path.join(out, "tokenizer.model"))
    _, eos, tokens = token_file.read(os.path.join(out, side + ".tokens"))
    texts, cur = [], []
    for t in tokens:
        if t == eos:
            texts.append(sp.decode(cur))
            cur = []
        else:
            cur.append(t)
    check(not cur, "%s.tokens ends with eos" % side)
    return texts


def main():
    update = "--update" in sys.argv[1:]
    with tempfile.TemporaryDirectory() as tmp:
        root, a, b = (os.path.join(tmp, d) for d in ("root", "a", "b"))
        build_fixture(root)
        ra, rb = run_prepare(root, a), run_prepare(root, b)
        check(ra.returncode == 0 and rb.returncode == 0, "prepare runs on the fixture tree: " + ra.stderr[-300:])
        if ra.returncode != 0:
            return 1

        # deterministic: byte-identical outputs, and the committed validation file
        for name in ("tokenizer.model", "train.tokens", "val.tokens", "manifest.json"):
            check(sha(os.path.join(a, name)) == sha(os.path.join(b, name)), "two preparations give the same " + name)
        if update:
            os.makedirs(os.path.dirname(GOLDEN), exist_ok=True)
            with open(os.path.join(a, "val.tokens"), "rb") as f, open(GOLDEN, "wb") as g:
                g.write(f.read())
            print("updated " + os.path.relpath(GOLDEN))
        check(os.path.isfile(GOLDEN) and sha(GOLDEN) == sha(os.path.join(a, "val.tokens")),
              "val.tokens equals the committed tests/data/corpus/val.tokens (--update rewrites it)")

        # the split: every clean paragraph in exactly one piece of one side, sides disjoint
        train, val = piece_texts(a, "train"), piece_texts(a, "val")
        check(len(val) > 0 and len(train) > len(val), "both sides have pieces (%d train, %d val)" % (len(train), len(val)))
        check(not set(train) & set(val), "no piece is in both train and validation")
        expected = []
        for pkg in extract.SOURCES:
            owned = prepare.package_files(pkg, root)
            for doc in extract.documents(pkg, root, owned=owned):
                expected += extract.clean_paragraphs(doc.fmt, doc.text)
        joined = " ".join(train + val)
        check(all(p in joined for p in expected) and sum(len(p) + 1 for p in expected) == len(joined) + 1,
              "train + validation hold every clean paragraph once (%d paragraphs), decoded exactly" % len(expected))
        check("translator's note" not in joined and "SELECT 1" not in joined and "Prev Next" not in joined
              and "int x = 1" not in joined and "my $x" not in joined, "notes, code and navigation are not in the text")
        check("bold words are kept here" in joined, "pod formatting codes are dropped, their text kept")

        # stable: a piece stays on its side when a document is added, and when the share grows
        root2, c, d = os.path.join(tmp, "root2"), os.path.join(tmp, "c"), os.path.join(tmp, "d")
        build_fixture(root2, extra_doc=True)
        check(run_prepare(root2, c).returncode == 0, "prepare runs with one more document")
        train2, val2 = piece_texts(c, "train"), piece_texts(c, "val")
        check(set(val) <= set(val2) and set(train) <= set(train2) and len(train2) + len(val2) == len(train) + len(val) + 1,
              "with one more document, every old piece keeps its side")
        check(run_prepare(root, d, "--validation-share", "0.6").returncode == 0, "prepare runs with a larger share")
        val3 = piece_texts(d, "val")
        check(set(val) < set(val3), "a larger share only moves pieces into validation")

        # the manifest
        with open(os.path.join(a, "manifest.json")) as f:
            m = json.load(f)
        pk = {p["name"]: p for p in m["packages"]}
        check([p["name"] for p in m["packages"]] == list(extract.SOURCES), "the manifest lists the six packages in D's order")
        check(all(p["version"] == "1.0-fixture" for p in m["packages"]), "versions come from dpkg's database under the root")
        check([pk[p]["documents"] for p in extract.SOURCES] == [2, 6, 3, 2, 1, 2],
              "documents: 2 novels, 6 books, 3 kernel files (translations and bindings left out), "
              "2 Python, 1 Perl (perldiag is perl-modules', the 5.36 link not followed), 2 PostgreSQL")
        web = pk["sword-text-web"]["pieces"]
        check(web["train"] + web["val"] == 7, "the long book, one paragraph of 13 k characters, is cut into two pieces")
        for side in ("train", "val"):
            vocab, eos, tokens = token_file.read(os.path.join(a, side + ".tokens"))
            check(m["tokens"][side] == len(tokens) and vocab == VOCAB == m["vocab_size"] and eos == m["token_file"]["eos_id"],
                  "the manifest's %s token count, vocabulary and eos match the file" % side)
            check(sum(p["tokens"][side] + p["pieces"][side] for p in m["packages"]) == len(tokens),
                  "per-package %s tokens plus one eos a piece add up to the file" % side)
        check(sum(p["clean_words"] for p in m["packages"]) == sum(len(p.split()) for p in expected) ==
              sum(p["words"]["train"] + p["words"]["val"] for p in m["packages"]), "clean words add up over the split")
        check(all(m["files"][n]["sha256"] == sha(os.path.join(a, n)) and m["files"][n]["bytes"] == os.path.getsize(os.path.join(a, n))
                  for n in prepare.OUTPUTS), "the manifest's sha256 and size of every output are right")
        check(m["tokenizer"]["version"] == spm.__version__ and m["tokenizer"]["options"]["model_type"] == "bpe"
              and m["split"]["validation_share"] == float(SHARE), "the manifest names the tokenizer, its options and the split")

        # a package apt could not install here, staged by cmake/dev.sh under a second root with a
        # dpkg database of its own: the same bytes, read from there
        root5, staged, e = (os.path.join(tmp, d) for d in ("root5", "staged", "e5"))
        build_fixture(root5)
        stage_package(root5, staged, "perl-doc")
        r = run_prepare(root5, e, "--staged-root", staged)
        check(r.returncode == 0 and all(sha(os.path.join(a, n)) == sha(os.path.join(e, n)) for n in prepare.OUTPUTS),
              "a package read from the staged root gives the same files: " + r.stderr[-300:])
        r = run_prepare(root5, e, "--force")
        check(r.returncode == 2 and "perl-doc is not installed under %s" % root5 in r.stderr,
              "without --staged-root the staged package is missing: exit 2 (%r)" % r.stderr.strip())
        r = run_prepare(root5, e, "--staged-root", os.path.join(tmp, "nowhere"))
        check(r.returncode == 2 and r.stderr.strip() == "fracnas_corpus: error: the staged root %s has no dpkg database "
              "(var/lib/dpkg)." % os.path.join(tmp, "nowhere"), "a staged root without dpkg's database: exit 2, one line")

        # idempotent: skipped when up to date, redone when a version changes
        before = os.stat(os.path.join(a, "train.tokens")).st_mtime_ns
        r = run_prepare(root, a)
        check(r.returncode == 0 and "up to date" in r.stdout and os.stat(os.path.join(a, "train.tokens")).st_mtime_ns == before,
              "an up-to-date preparation is skipped")
        root3 = os.path.join(tmp, "root3")
        build_fixture(root3, versions={"perl-doc": "2.0-fixture"})
        r = run_prepare(root3, a)
        check(r.returncode == 0 and "up to date" not in r.stdout and json.load(open(os.path.join(a, "manifest.json")))
              ["packages"][4]["version"] == "2.0-fixture", "a changed package version prepares again")

        # bad input: one line, exit 2
        os.remove(os.path.join(root3, "var/lib/dpkg/info/perl-doc.list"))
        with open(os.path.join(root3, "var/lib/dpkg/status")) as f:
            status = f.read()
        with open(os.path.join(root3, "var/lib/dpkg/status"), "w") as f:
            f.write(status.replace("Package: perl-doc\n", "Package: perl-doc-gone\n"))
        for args, message in (((), "perl-doc is not installed under %s (cmake/dev.sh corpus installs it)." % root3),
                              (("--vocab-size", "2"), "--vocab-size must be between 3 and 2^31, not 2."),
                              (("--validation-share", "1"), "--validation-share must be strictly between 0 and 1, not 1.")):
            r = run_prepare(root3, os.path.join(tmp, "e"), *args)
            line = r.stderr.strip()
            check(r.returncode == 2 and line == "fracnas_corpus: error: " + message,
                  "bad input %s: exit 2 and one line (%r)" % (" ".join(args) or "(a missing package)", line))
        r = run_prepare(os.path.join(tmp, "nowhere"), os.path.join(tmp, "e"))
        check(r.returncode == 2 and r.stderr.count("\n") == 1 and "is not a directory" in r.stderr, "a missing root: exit 2, one line")
        check_large(tmp)
        check_transfer(tmp, a)
    print("%d failure(s)" % len(failures))
    return 1 if failures else 0


def check_large(tmp):
    """D-large on a fixture of all its packages: deterministic, disjoint, its manifest, errors."""
    root, a, b = (os.path.join(tmp, d) for d in ("large-root", "large-a", "large-b"))
    build_fixture(root, large=True)
    runs = [run_prepare(root, out, "--corpus", "large", "--jobs", jobs) for out, jobs in ((a, "1"), (b, "2"))]
    check(all(r.returncode == 0 for r in runs), "D-large prepares on a fixture of its %d packages: %s"
          % (len(corpora.LARGE_SOURCES), runs[0].stderr[-300:] + runs[1].stderr[-300:]))
    if any(r.returncode for r in runs):
        return
    check(all(sha(os.path.join(a, n)) == sha(os.path.join(b, n)) for n in prepare.OUTPUTS + ("manifest.json",)),
          "two D-large preparations (--jobs 1 and 2) give byte-identical files")
    train, val = piece_texts(a, "train"), piece_texts(a, "val")
    check(val and not set(train) & set(val), "D-large: both sides have pieces, none in both (%d, %d)" % (len(train), len(val)))
    joined = " ".join(train + val)
    check(joined.count(DUPLICATE) == 1, "a paragraph seen in an earlier package is dropped (dedup)")
    bases = {pkg: 9000 + 100 * seed for seed, pkg in enumerate(corpora.LARGE_SOURCES)}
    check(all(joined.count(paragraph(bases[p])) == 1 for p in ("sword-comm-mhcc", "sword-comm-tdavid"))
          and paragraph(bases["sword-comm-scofield"] + 50 + 10 + 2 + 1) in joined,
          "SWORD commentaries (zCom, zCom4 by chapter): every entry once, an entry on two verses once")
    check("return x + x" in joined and "return x * 2 + 0" in joined and "left_out" not in joined and "roff bold words are kept" in joined and "int y = 2" not in joined
          and "a comment" not in joined and "\\fB" not in joined,
          "code kept without the English test (Go files, C in a tarball, its other folders left out); roff text kept, its requests and escapes dropped; <pre> and code blocks dropped")
    with open(os.path.join(a, "manifest.json")) as f:
        m = json.load(f)
    pk = {p["name"]: p for p in m["packages"]}
    check([p["name"] for p in m["packages"]] == list(corpora.LARGE_SOURCES) and m["corpus"]["name"] == "D-large"
          and m["corpus"]["tokenizer_sample"]["share"] == corpora.LARGE.tokenizer_sample,
          "the manifest lists D-large's packages in order, its name and the tokenizer's sample")
    check(all(pk[p]["documents"] >= 1 and pk[p]["clean_words"] > 0 for p in pk),
          "every package of D-large has a document and clean words on the fixture")
    check(pk["jargon-text"]["duplicate_paragraphs"] == 1 and pk["golang-1.19-src"]["kind"] == "fill"
          and pk["sword-comm-mhcc"]["kind"] == "prose", "per package: its kind and its dropped duplicates")
    comp = m["composition"]
    check(abs(comp["prose"]["share_of_tokens"] + comp["fill"]["share_of_tokens"] - 1) < 2e-4
          and sum(comp[k]["tokens"]["train"] for k in comp) + sum(p["pieces"]["train"] for p in m["packages"]) == m["tokens"]["train"],
          "the composition's prose and fill shares add up to the token files")
    r = run_prepare(root, a, "--corpus", "large")
    check(r.returncode == 0 and "up to date" in r.stdout, "an up-to-date D-large is skipped")
    os.remove(os.path.join(root, "var/lib/dpkg/info/dict-gcide.list"))
    with open(os.path.join(root, "var/lib/dpkg/status")) as f:
        status = f.read()
    with open(os.path.join(root, "var/lib/dpkg/status"), "w") as f:
        f.write(status.replace("Package: dict-gcide\n", "Package: dict-gcide-gone\n"))
    r = run_prepare(root, os.path.join(tmp, "large-e"), "--corpus", "large")
    check(r.returncode == 2 and r.stderr.strip() == "fracnas_corpus: error: dict-gcide is not installed under %s "
          "(cmake/dev.sh corpus --large installs it)." % root, "D-large with a missing package: exit 2, one line (%r)" % r.stderr)


def check_transfer(tmp, corpus_dir):
    """pack a prepared corpus into small parts; unpack them in two batches; refuse a bad part."""
    parts, dest, batch = (os.path.join(tmp, d) for d in ("parts", "dest", "batch"))
    r = run_module("pack", corpus_dir, parts, "--part-mib", "0.004")
    check(r.returncode == 0, "pack writes parts: " + r.stderr[-300:])
    with open(os.path.join(parts, "index.json")) as f:
        index = json.load(f)
    names = [p["name"] for p in index["parts"]]
    check(len(names) >= 5 and all(p["compressed_bytes"] <= 0.004 * 2 ** 20 for p in index["parts"])
          and sum(1 for p in index["parts"] if p["file"] == "train.tokens") >= 2,
          "pack: %d parts, none over --part-mib, train.tokens in several" % len(names))

    def stage(subset):
        shutil.rmtree(batch, ignore_errors=True)
        os.makedirs(batch)
        shutil.copy(os.path.join(parts, "index.json"), batch)
        for n in subset:
            shutil.copy(os.path.join(parts, n), batch)
        return run_module("unpack", batch, dest)

    half = len(names) // 2
    r = stage(names[:half])
    check(r.returncode == 0 and "%d still missing" % (len(names) - half) in r.stdout
          and not os.path.exists(os.path.join(dest, "train.tokens")), "unpack of half the parts: the rest is missing, nothing assembled")
    r = stage(names[:half])
    check(r.returncode == 0 and "%d still missing" % (len(names) - half) in r.stdout, "unpack again with the same parts: no harm")
    r = stage(names[half:])
    check(r.returncode == 0 and "is complete" in r.stdout and all(
        sha(os.path.join(dest, n)) == sha(os.path.join(corpus_dir, n)) for n in prepare.OUTPUTS + ("manifest.json",))
        and not os.path.exists(os.path.join(dest, transfer.STAGING)),
        "unpack of the other half: the files are byte-identical to the prepared ones")
    r = stage(names)
    check(r.returncode == 0 and "is complete" in r.stdout, "unpack of a complete corpus again: nothing to do")
    shutil.rmtree(dest)
    stage([])
    with open(os.path.join(batch, names[-1]), "wb") as f:
        with open(os.path.join(parts, names[-1]), "rb") as g:
            f.write(g.read()[:-3] + b"abc")
    r = run_module("unpack", batch, dest)
    check(r.returncode == 2 and r.stderr.count("\n") == 1 and "is corrupt or foreign" in r.stderr,
          "a corrupt part: exit 2, one sentence (%r)" % r.stderr.strip())
    os.remove(os.path.join(batch, names[-1]))
    with open(os.path.join(batch, "train.tokens.999.xz"), "wb") as f:
        f.write(b"not a part")
    r = run_module("unpack", batch, dest)
    check(r.returncode == 2 and r.stderr.count("\n") == 1 and "not a part of this pack" in r.stderr,
          "a foreign part: exit 2, one sentence (%r)" % r.stderr.strip())


if __name__ == "__main__":
    sys.exit(main())
