"""Prepare a corpus (D or D-large): clean the installed packages, split, train the tokenizer, write tokens.

prepare(out, ..., corpus=corpora.D) reads the packages of a corpus definition (corpora.py; D's
six are extract.SOURCES) under a source root, cuts every
document's clean paragraphs into pieces of about PIECE_CHARS characters, sends each piece to
train or validation by a hash of its name, trains a SentencePiece BPE tokenizer on the train
split only, and writes into out: tokenizer.model, train.tokens, val.tokens (token_file format)
and manifest.json. Everything is deterministic: two runs on the same packages give the same
bytes (docs/data.md). It does not download anything and does not train models.
"""
import array
import hashlib
import io
import json
import lzma
import os
import platform
import struct
import subprocess
import tarfile
import time
import zlib

from . import corpora, extract, token_file

RECIPE_VERSION = corpora.D.recipe_version  # D's; each corpus definition carries its own
PIECE_CHARS = 8192        # a piece ends at the first segment end past this many characters
SEGMENT_CHARS = 2048      # a longer paragraph is cut at a sentence end (else a space) below this
VALIDATION_SHARE = 0.02   # the expected share of pieces in validation (docs/data.md: why 2%)
VOCAB_SIZE = 32768
OUTPUTS = ("tokenizer.model", "train.tokens", "val.tokens")


class PrepareError(Exception):
    """Bad input (a package missing, a bad option); str() is one sentence."""


def spm_options(vocab_size):
    """The SentencePiece trainer's options: fixed, so that the model is a function of the text."""
    return dict(
        model_type="bpe", vocab_size=vocab_size,
        character_coverage=0.9995, byte_fallback=True,  # rare characters become bytes, no <unk>
        normalization_rule_name="identity",  # the clean text is the text; decode(encode(x)) == x
        split_digits=True, max_sentence_length=16384,
        unk_id=0, bos_id=1, eos_id=2, pad_id=-1,
        input_sentence_size=0, shuffle_input_sentence=False,  # every train line, in order
        num_threads=1, minloglevel=2)


def segments(paragraph, limit=SEGMENT_CHARS):
    """A paragraph cut into pieces of at most limit characters, at '. ' (or '? ', '! '), else
    at a space, else hard; joined with spaces they give the paragraph back."""
    out = []
    while len(paragraph) > limit:
        window = paragraph[:limit + 1]
        cut = max(window.rfind(". "), window.rfind("? "), window.rfind("! "))
        cut = cut + 1 if cut > 0 else window.rfind(" ")
        if cut <= 0:
            cut = limit
        out.append(paragraph[:cut].strip())
        paragraph = paragraph[cut:].strip()
    if paragraph:
        out.append(paragraph)
    return out


def pieces(paragraphs, limit=PIECE_CHARS):
    """Consecutive paragraphs grouped into pieces, each a list of segments (see segments()): a
    piece ends at the first segment end at or past limit characters, so at a paragraph end
    unless a paragraph is longer than SEGMENT_CHARS (a WEB book is one paragraph)."""
    out, cur, size = [], [], 0
    for para in paragraphs:
        for seg in segments(para):
            cur.append(seg)
            size += len(seg) + 1
            if size >= limit:
                out.append(cur)
                cur, size = [], 0
    if cur:
        out.append(cur)
    return out


def in_validation(name, share):
    """True when the piece named name belongs to validation: the first 8 bytes of the SHA-256 of
    its UTF-8 name, as a big-endian integer, below share x 2^64. It depends on the name alone,
    so a piece stays on its side whatever else the packages add or drop."""
    h = int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "big")
    return h < int(share * 2 ** 64)


def package_version(pkg, root, installer="cmake/dev.sh corpus"):
    """The installed version of pkg under root, from dpkg's database (root/var/lib/dpkg)."""
    admindir = os.path.join(root, "var/lib/dpkg")
    try:
        r = subprocess.run(["dpkg-query", "--admindir=" + admindir, "-W", "-f", "${Version} ${Status}", pkg],
                           capture_output=True, text=True)
    except FileNotFoundError:
        raise PrepareError("dpkg-query is not on PATH: the corpus is read from installed Debian packages")
    version, _, status = r.stdout.partition(" ")
    if r.returncode != 0 or not status.endswith("installed") or status.endswith("not-installed"):
        raise PrepareError("%s is not installed under %s (%s installs it)" % (pkg, root, installer))
    return version


def installed(pkg, root):
    """True when dpkg's database under root has pkg installed."""
    try:
        r = subprocess.run(["dpkg-query", "--admindir=" + os.path.join(root, "var/lib/dpkg"), "-W", "-f", "${Status}", pkg],
                           capture_output=True, text=True)
    except FileNotFoundError:
        raise PrepareError("dpkg-query is not on PATH: the corpus is read from installed Debian packages")
    return r.returncode == 0 and r.stdout.endswith(" installed") and not r.stdout.endswith("not-installed")


def package_root(pkg, root, staged=None):
    """Where pkg's files are read: root when it is installed there, else the staged root (a
    package that cmake/dev.sh unpacked with a dpkg database of its own, because apt could not
    install it beside the machine's packages) when it is there, else root (whose error names the
    installer). Document names are relative to the root, so the corpus is the same either way."""
    if staged and not installed(pkg, root) and installed(pkg, staged):
        return staged
    return root


def package_files(pkg, root):
    """The paths that pkg installed ('/usr/...'), from dpkg's database under root."""
    r = subprocess.run(["dpkg-query", "--admindir=" + os.path.join(root, "var/lib/dpkg"), "-L", pkg],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise PrepareError("dpkg-query cannot list the files of %s under %s" % (pkg, root))
    return set(r.stdout.splitlines())


def _clean(fmt_text):
    """extract.clean_paragraphs of one (format, text), for a worker process."""
    return extract.clean_paragraphs(*fmt_text)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def in_tokenizer_sample(name, sample):
    """True when the train piece named name is among the lines the tokenizer learns from: bytes
    8-15 of the SHA-256 of its name (independent of the split's bytes 0-7), as a big-endian
    integer, below sample x 2^64. Every piece when sample is 1."""
    if sample >= 1:
        return True
    h = int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[8:16], "big")
    return h < int(sample * 2 ** 64)


def settings(root, vocab_size, share, corpus=corpora.D, staged=None):
    """What the outputs are a function of, besides the packages' files: compared with a
    manifest's to skip an up-to-date preparation. D's keeps its original keys (no "corpus")."""
    import sentencepiece as spm
    wanted = dict(
        recipe_version=corpus.recipe_version,
        packages=[dict(name=pkg, version=package_version(
            pkg, package_root(pkg, root, staged), "cmake/dev.sh corpus" + ("" if corpus is corpora.D else " --" + corpus.key)))
            for pkg in corpus.sources],
        split=dict(method="sha256(piece name)[:8] < share * 2^64", validation_share=share,
                   piece_chars=PIECE_CHARS, segment_chars=SEGMENT_CHARS),
        tokenizer=dict(library="sentencepiece", version=spm.__version__, options=spm_options(vocab_size)),
        vocab_size=vocab_size)
    if corpus is not corpora.D:
        wanted["corpus"] = dict(
            name=corpus.name, dedup="a clean paragraph equal to an earlier one of the corpus is dropped"
            if corpus.dedup else "none",
            tokenizer_sample=dict(share=corpus.tokenizer_sample,
                                  method="train pieces with sha256(piece name)[8:16] < share * 2^64"))
    return wanted


def up_to_date(out, wanted):
    """True when out holds a manifest made with these settings and outputs with its sha256s."""
    try:
        with open(os.path.join(out, "manifest.json")) as f:
            manifest = json.load(f)
    except (OSError, ValueError):
        return False
    if any(manifest.get(k) != v for k, v in wanted.items() if k != "packages"):
        return False
    if [dict(name=p["name"], version=p["version"]) for p in manifest.get("packages", [])] != wanted["packages"]:
        return False
    for name in OUTPUTS:
        path = os.path.join(out, name)
        if not os.path.isfile(path) or sha256_file(path) != manifest.get("files", {}).get(name, {}).get("sha256"):
            return False
    return True


def prepare(out, root="/", vocab_size=VOCAB_SIZE, share=VALIDATION_SHARE, force=False, log=print,
            corpus=corpora.D, jobs=1, staged=None):
    """Prepare corpus (D by default) into out (created if needed); returns the manifest (a
    dict). Skips the work and returns the existing manifest when it is up to date, unless
    force. jobs processes clean documents and threads encode; the bytes do not depend on it.
    staged: a second root for the packages not installed under root (package_root)."""
    if not 2 < vocab_size <= 1 << 31:
        raise PrepareError("--vocab-size must be between 3 and 2^31, not %d" % vocab_size)
    if not 0 < share < 1:
        raise PrepareError("--validation-share must be strictly between 0 and 1, not %g" % share)
    if not os.path.isdir(root):
        raise PrepareError("the source root %s is not a directory" % root)
    if staged is not None and not os.path.isdir(os.path.join(staged, "var/lib/dpkg")):
        raise PrepareError("the staged root %s has no dpkg database (var/lib/dpkg)" % staged)
    wanted = settings(root, vocab_size, share, corpus, staged)
    if not force and up_to_date(out, wanted):
        log("fracnas_corpus: %s is up to date (manifest.json matches the packages and options)" % out)
        with open(os.path.join(out, "manifest.json")) as f:
            return json.load(f)

    import sentencepiece as spm
    started = time.monotonic()
    # 1. documents -> clean paragraphs -> pieces -> split, in the corpus's fixed order
    split = {"train": [], "val": []}  # lists of (package index, piece: list of segments)
    sample = []  # the train pieces the tokenizer learns from
    seen = set()  # with corpus.dedup: 8-byte digests of the clean paragraphs so far
    packages = []
    pool = None
    if jobs > 1:
        import multiprocessing
        pool = multiprocessing.Pool(jobs)
    for index, entry in enumerate(wanted["packages"]):
        pkg = entry["name"]
        pkg_root = package_root(pkg, root, staged)
        try:
            docs = extract.documents(pkg, pkg_root, corpus.sources[pkg], owned=package_files(pkg, pkg_root))
        except (OSError, KeyError, ValueError, EOFError, lzma.LZMAError, zlib.error, struct.error,
                tarfile.TarError) as e:  # a damaged file of the package: one sentence
            if pool:
                pool.terminate()
            raise PrepareError("%s: cannot read its files under %s: %s" % (pkg, pkg_root, e))
        stats = dict(entry, documents=len(docs), raw_chars=0, clean_paragraphs=0, clean_chars=0,
                     clean_words=0, pieces=dict(train=0, val=0), words=dict(train=0, val=0),
                     tokens=dict(train=0, val=0))
        if corpus.kinds:
            stats.update(kind=corpus.kinds[pkg], duplicate_paragraphs=0)
        cleaned = (pool.imap(_clean, ((d.fmt, d.text) for d in docs), chunksize=4) if pool
                   else (extract.clean_paragraphs(d.fmt, d.text) for d in docs))
        for doc, paragraphs in zip(docs, cleaned):
            stats["raw_chars"] += len(doc.text)
            if corpus.dedup:
                unique = []
                for p in paragraphs:
                    digest = hashlib.blake2b(p.encode("utf-8"), digest_size=8).digest()
                    if digest not in seen:
                        seen.add(digest)
                        unique.append(p)
                stats["duplicate_paragraphs"] += len(paragraphs) - len(unique)
                paragraphs = unique
            stats["clean_paragraphs"] += len(paragraphs)
            stats["clean_chars"] += sum(len(p) + 1 for p in paragraphs)
            stats["clean_words"] += sum(len(p.split()) for p in paragraphs)
            for k, piece in enumerate(pieces(paragraphs)):
                name = "%s/%s#%d" % (pkg, doc.name, k)
                side = "val" if in_validation(name, share) else "train"
                split[side].append((index, piece))
                if side == "train" and in_tokenizer_sample(name, corpus.tokenizer_sample):
                    sample.append(piece)
                stats["pieces"][side] += 1
                stats["words"][side] += sum(len(s.split()) for s in piece)
        packages.append(stats)
        log("fracnas_corpus: %s %s: %d documents, %d clean words (%.0f s)"
            % (pkg, entry["version"], len(docs), stats["clean_words"], time.monotonic() - started))
        del docs, cleaned  # the raw text of a package is not kept
    if pool:
        pool.close()
    if not split["train"] or not split["val"]:
        raise PrepareError("the split left %s empty: too little text or a --validation-share too extreme"
                           % ("train" if not split["train"] else "validation"))

    # 2. the tokenizer, trained on the train split only (or its sample), one segment a line, in order
    os.makedirs(out, exist_ok=True)
    options = spm_options(vocab_size)
    model = io.BytesIO()
    spm.set_random_generator_seed(1)  # BPE does not sample with these options; fixed anyway
    try:
        spm.SentencePieceTrainer.train(
            sentence_iterator=(s for piece in sample for s in piece), model_writer=model, **options)
    except RuntimeError as e:
        raise PrepareError("SentencePiece could not train a %d-token vocabulary: %s" % (vocab_size, e))
    with open(os.path.join(out, "tokenizer.model"), "wb") as f:
        f.write(model.getvalue())
    log("fracnas_corpus: tokenizer trained on %d of %d train pieces (%.0f s)"
        % (len(sample), len(split["train"]), time.monotonic() - started))
    del sample

    # 3. tokens: every piece's segments encoded and concatenated, then eos
    sp = spm.SentencePieceProcessor(model_proto=model.getvalue())
    eos = sp.eos_id()
    for side in ("train", "val"):
        ids = array.array("I")
        batch = 4096  # pieces encoded in one call: each segment is encoded alone, so the ids do not depend on it
        for start in range(0, len(split[side]), batch):
            chunk = split[side][start:start + batch]
            encoded = iter(sp.encode([s for _, piece in chunk for s in piece], num_threads=jobs))
            for index, piece in chunk:
                before = len(ids)
                for _ in piece:
                    ids.extend(next(encoded))
                packages[index]["tokens"][side] += len(ids) - before
                ids.append(eos)
        token_file.write(os.path.join(out, side + ".tokens"), ids, sp.get_piece_size(), eos)
        log("fracnas_corpus: %s.tokens: %d tokens (%.0f s)" % (side, len(ids), time.monotonic() - started))

    # 4. the manifest: inputs, counts and the outputs' sha256 (no times: it is deterministic)
    manifest = dict(wanted)
    manifest["packages"] = packages
    manifest["tokens"] = {side: sum(p["tokens"][side] for p in packages) + len(split[side])
                          for side in ("train", "val")}
    manifest["token_file"] = dict(format_version=token_file.VERSION, eos_id=eos,
                                  bytes_per_token=token_file.token_bytes(vocab_size))
    if corpus.kinds:
        total = sum(p["tokens"]["train"] + p["tokens"]["val"] for p in packages)  # without eos
        manifest["composition"] = {kind: dict(
            packages=[p["name"] for p in packages if p["kind"] == kind],
            words=sum(p["clean_words"] for p in packages if p["kind"] == kind),
            tokens={side: sum(p["tokens"][side] for p in packages if p["kind"] == kind) for side in ("train", "val")},
            share_of_tokens=round(sum(p["tokens"]["train"] + p["tokens"]["val"] for p in packages if p["kind"] == kind)
                                  / total, 4)) for kind in ("prose", "fill")}
    manifest["python"] = platform.python_version()
    manifest["files"] = {name: dict(bytes=os.path.getsize(os.path.join(out, name)),
                                    sha256=sha256_file(os.path.join(out, name))) for name in OUTPUTS}
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
        f.write("\n")
    log("fracnas_corpus: wrote %s in %.0f s" % (out, time.monotonic() - started))
    return manifest
