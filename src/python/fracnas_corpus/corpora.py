"""The corpus definitions: which packages, read how, prepared into which folder by which recipe.

prepare.prepare(out, corpus=...) is one pipeline for every corpus; a Corpus names what differs
between them. D (issue 12) is the six packages of extract.SOURCES; D-large (issue 22) is D's
packages plus further Debian 12 `main` documentation, commentaries and dictionaries
(docs/data.md, "D-large"). Standard library only; it reads nothing itself.
"""
import collections

from . import extract

Corpus = collections.namedtuple("Corpus", [
    "key",               # the CLI's --corpus value: "d", "large"
    "name",              # in messages and D-large's manifest: "D", "D-large"
    "folder",            # the default output folder under data/: corpus-v1, corpus-large-v1
    "recipe_version",    # bumped when its cleaning, splitting or tokenizer options change the bytes
    "sources",           # package -> source (extract.documents), in the corpus's order
    "kinds",             # package -> "prose" or "fill" (dictionaries, source-like text); None for D
    "tokenizer_sample",  # share of the train pieces the tokenizer learns from (1: all of them)
    "dedup",             # drop a clean paragraph already seen earlier in the corpus (exact, whitespace-normalised)
])

# D: its manifest keeps the layout it had before corpus definitions existed (no "corpus" key),
# so that its files stay byte-identical (docs/results/corpus.md).
D = Corpus(key="d", name="D", folder="corpus-v1", recipe_version=1, sources=extract.SOURCES,
           kinds=None, tokenizer_sample=1.0, dedup=False)

_DOC = "DOC/"  # usr/share/doc/, as in extract.SOURCES
_KERNEL_CORE = (r"^linux-source-6\.1/((kernel|mm|lib|block|ipc|init|security|crypto|net/core|net/ipv4|fs/ext4)/"
                r"[^ ]*|fs/[^/ ]*)\.[ch]$")  # about 41 MB of C
_SPHINX_EXCLUDE = r"/(_modules|_sources|_static|_images)/|/(genindex|search|py-modindex)\.html$"

# D-large: D's six packages first (their text, same extractors), then further English prose and
# documentation, then the fill (dictionaries). One source format per package.
LARGE_SOURCES = collections.OrderedDict(list(extract.SOURCES.items()) + [
    # religious prose: two commentaries on the Bible (no second translation of it: the WEB is in D)
    ("sword-comm-mhcc", "sword-commentary:comments/zcom/mhcc"),
    ("sword-comm-tdavid", "sword-commentary:comments/zcom/tdavid"),
    ("sword-comm-scofield", "sword-commentary:comments/zcom/scofield"),
    ("fortunes", [("fortune", "usr/share/games/fortunes/*", r"\.(dat|u8)$")]),
    ("jargon-text", [("plain", _DOC + "jargon-text/jargon.txt.gz", None)]),
    # manuals: man pages (roff), texinfo/DocBook/Sphinx HTML or Sphinx sources
    ("manpages", [("roff", "usr/share/man/man[1-8]/*.gz", None)]),
    ("manpages-dev", [("roff", "usr/share/man/man[1-8]/*.gz", None)]),
    ("git-doc", [("html", _DOC + "git-doc/**/*.html", None)]),
    ("debian-handbook", [("html", _DOC + "debian-handbook/html/en-US/*.html", r"/index\.html$")]),
    ("debian-reference-en", [("html", "usr/share/debian-reference/*.en.html", r"/index\.en\.html$")]),
    ("debian-policy", [("rst", _DOC + "debian-policy/policy.html/_sources/*.rst.txt", None)]),
    ("developers-reference", [("rst", "usr/share/developers-reference/_sources/*.rst.txt", None)]),
    ("gnu-standards", [("plain", "usr/share/info/*.info.gz", None)]),
    ("bash-doc", [("html", _DOC + "bash/bashref.html", None)]),
    ("abs-guide", [("html", _DOC + "abs-guide/html/*.html", None)]),
    ("cfi-en", [("html", _DOC + "cfi-en/**/*.htm*", None)]),
    ("python-django-doc", [("html", _DOC + "python-django-doc/html/**/*.html", _SPHINX_EXCLUDE)]),
    ("sphinx-doc", [("rst", _DOC + "sphinx-doc/html/_sources/**/*.txt", None)]),
    ("python-scipy-doc", [("html", _DOC + "python-scipy-doc/html/**/*.html", _SPHINX_EXCLUDE)]),
    ("python-pandas-doc", [("rst", _DOC + "python-pandas-doc/html/_sources/**/*.txt", None)]),
    ("cmake-doc", [("rst", _DOC + "cmake-data/html/_sources/**/*.txt", None)]),
    ("rust-doc", [("html", _DOC + "rust-doc/html/**/*.html", r"/html/(src|core|alloc)/|/all\.html$")]),
    ("openjdk-17-doc", [("html", _DOC + "openjdk-17-jre-headless/api/**/*.html",
                         r"/(class-use|index-files|src-html)/|-tree\.html$|/(allclasses|allpackages|"
                         r"overview|index|deprecated-list|serialized-form|constant-values|search)[\w-]*\.html$")]),
    ("nodejs-doc", [("html", "usr/share/doc/nodejs/api/*.html", r"/(all|index)\.html$")]),
    ("erlang-doc", [("html", _DOC + "erlang-doc/**/*.html", None)]),
    ("r-doc-html", [("html", "usr/share/R/doc/manual/*.html", None)]),
    ("octave-doc", [("html", _DOC + "octave/octave.html/*.html", None)]),
    ("gimp-help-en", [("html", "usr/share/gimp/2.0/help/en/**/*.html", None)]),
    ("libreoffice-help-en-us", [("html", "usr/share/libreoffice/help/en-US/text/**/*.html", None)]),
    ("qtbase5-doc-html", [("html", "usr/share/qt5/doc/**/*.html", r"-members\.html$|-obsolete\.html$")]),
    ("apache2-doc", [("html", _DOC + "apache2-doc/manual/en/**/*.html", None)]),
    ("sqlite3-doc", [("html", _DOC + "sqlite3/**/*.html", None)]),
    ("ghc-doc", [("html", _DOC + "ghc-doc/html/**/*.html", r"/(src|_sources|_static)/|/doc-index")]),
    ("kicad-doc-en", [("html", _DOC + "kicad/help/en/**/*.html", None)]),
    ("cppreference-doc-en-html", [("html", "usr/share/cppreference/doc/html/en/**/*.html", None)]),
    ("libstdc++-12-doc", [("html", _DOC + "gcc-12-base/libstdc++/**/*.html", None)]),
    ("libgtk-3-doc", [("html", "usr/share/gtk-doc/html/*/*.html", None)]),
    ("libglib2.0-doc", [("html", "usr/share/gtk-doc/html/*/*.html", None)]),
    ("libssl-doc", [("roff", "usr/share/man/man[1-8]/*.gz", None)]),
    ("llvm-14-doc", [("rst", _DOC + "llvm-14-doc/html/_sources/**/*.txt", None)]),
    ("clang-14-doc", [("rst", _DOC + "clang-14/html/_sources/**/*.txt", None)]),
    ("guile-3.0-doc", [("plain", "usr/share/info/guile-3.0/*.gz", None)]),
    ("gnuplot-doc", [("html", _DOC + "gnuplot/htmldocs/*.html", None)]),
    ("maxima-doc", [("html", _DOC + "maxima-doc/html/*.html", None)]),
    ("doxygen-doc", [("html", _DOC + "doxygen/html/*.html", None)]),
    ("vim-runtime", [("plain", "usr/share/vim/vim90/doc/*.txt", None)]),
    ("zsh-doc", [("html", _DOC + "zsh*/html/*.html", None)]),
    ("python-sklearn-doc", [("html", _DOC + "python-sklearn-doc/html/**/*.html", _SPHINX_EXCLUDE)]),
    ("python-statsmodels-doc", [("html", _DOC + "python-statsmodels-doc/html/**/*.html", _SPHINX_EXCLUDE)]),
    ("python-astropy-doc", [("html", _DOC + "python-astropy-doc/html/**/*.html", _SPHINX_EXCLUDE)]),
    ("python-sympy-doc", [("html", _DOC + "python-sympy-doc/html/**/*.html", _SPHINX_EXCLUDE)]),
    ("python-sqlalchemy-doc", [("html", _DOC + "python-sqlalchemy-doc/html/**/*.html", _SPHINX_EXCLUDE)]),
    ("python-dask-doc", [("html", _DOC + "python-dask-doc/html/**/*.html", _SPHINX_EXCLUDE)]),
    ("python-xarray-doc", [("html", _DOC + "python-xarray-doc/html/**/*.html", _SPHINX_EXCLUDE)]),
    ("python-biopython-doc", [("html", _DOC + "python-biopython-doc/**/*.html", _SPHINX_EXCLUDE)]),
    # fill: dictionaries (entries, definitions and citations rather than running prose)
    ("dict-foldoc", [("plain", "usr/share/dictd/foldoc.dict.dz", None)]),
    ("dict-devil", [("plain", "usr/share/dictd/devil.dict.dz", None)]),
    ("dict-gcide", [("plain", "usr/share/dictd/gcide.dict.dz", None)]),
    # fill: source code, the Go standard library (blocks between blank lines, no English test)
    ("golang-1.19-src", [("code", "usr/share/go-1.19/src/**/*.go", r"/(testdata|vendor)/|_test\.go$")]),
    # and the Linux kernel's core C (not drivers, not arch, not Documentation: linux-doc-6.1 is D's)
    ("linux-source-6.1", "tar:code:usr/src/linux-source-6.1.tar.xz:" + _KERNEL_CORE),
])
_FILL = ("dict-foldoc", "dict-devil", "dict-gcide", "golang-1.19-src", "linux-source-6.1")

LARGE = Corpus(key="large", name="D-large", folder="corpus-large-v1", recipe_version=1,
               sources=LARGE_SOURCES,
               kinds=collections.OrderedDict((p, "fill" if p in _FILL else "prose") for p in LARGE_SOURCES),
               tokenizer_sample=0.25, dedup=True)

CORPORA = collections.OrderedDict((c.key, c) for c in (D, LARGE))
