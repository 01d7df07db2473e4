"""Moving a prepared corpus to a machine without network, in compressed parts over several calls.

pack(corpus_dir, parts_dir): every file of the prepared corpus (manifest.json and the files it
lists) is cut into byte ranges, each range compressed ALONE with xz (lzma, standard library), so
that each part decompresses without the others and no part is larger than part_mib MiB; an
index.json names every part, its byte range, its sha256 and the files' sha256.
unpack(parts_dir, dest): decompresses whichever parts are present into dest/.staging (kept
between calls), and once every part is there assembles the files into dest and checks each
sha256 against the index and the manifest. Standard library only (the GPU machine has a bare
Python). It does not prepare, tokenize or send anything (docs/data.md, "D-large", the transfer).
"""
import hashlib
import json
import lzma
import os
import shutil

INDEX = "index.json"
FORMAT = "fracnas corpus parts 1"
STAGING = ".staging"


class TransferError(Exception):
    """A missing, corrupt or foreign part or index; str() is one sentence."""


def _sha256(data):
    return hashlib.sha256(data).hexdigest()


def _compress(data, preset):
    return lzma.compress(data, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC64, preset=preset)


def _ranges(data, limit, preset):
    """(offset, compressed part) of consecutive ranges of data, each compressing to <= limit
    bytes: the range length comes from the ratio of the first 8 MiB, and a range that still
    compresses too large is halved. Deterministic for given bytes."""
    probe = data[:8 << 20]
    ratio = max(len(_compress(probe, preset)) / max(len(probe), 1), 0.01)
    step = max(1 << 12, int(limit / ratio * 0.95) >> 12 << 12)  # whole 4 KiB pages
    out, offset = [], 0
    while True:
        size = min(step, len(data) - offset)
        blob = _compress(data[offset:offset + size], preset)
        while len(blob) > limit and size > 1:
            size //= 2
            blob = _compress(data[offset:offset + size], preset)
        out.append((offset, size, blob))
        offset += size
        if offset >= len(data):
            return out


def pack(corpus_dir, parts_dir, part_mib=40, preset=6, log=print):
    """Write the parts of corpus_dir and index.json into parts_dir (created); returns the index."""
    try:
        with open(os.path.join(corpus_dir, "manifest.json"), "rb") as f:
            manifest_bytes = f.read()
        manifest = json.loads(manifest_bytes)
    except (OSError, ValueError) as e:
        raise TransferError("%s has no readable manifest.json (%s): prepare it first" % (corpus_dir, e))
    if part_mib <= 0:
        raise TransferError("--part-mib must be positive, not %g" % part_mib)
    names = ["manifest.json"] + sorted(manifest.get("files", {}))
    os.makedirs(parts_dir, exist_ok=True)
    index = dict(format=FORMAT, corpus=os.path.basename(os.path.normpath(corpus_dir)),
                 compression="xz (lzma preset %d), each part alone" % preset, files={}, parts=[])
    for name in names:
        path = os.path.join(corpus_dir, name)
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as e:
            raise TransferError("cannot read %s: %s" % (path, e.strerror))
        digest = _sha256(data)
        if name != "manifest.json" and manifest["files"][name]["sha256"] != digest:
            raise TransferError("%s does not match its manifest's sha256: prepare the corpus again" % path)
        index["files"][name] = dict(bytes=len(data), sha256=digest)
        for k, (offset, size, blob) in enumerate(_ranges(data, int(part_mib * (1 << 20)), preset)):
            part = "%s.%03d.xz" % (name, k)
            with open(os.path.join(parts_dir, part), "wb") as f:
                f.write(blob)
            index["parts"].append(dict(name=part, file=name, offset=offset, bytes=size,
                                       raw_sha256=_sha256(data[offset:offset + size]),
                                       compressed_bytes=len(blob), sha256=_sha256(blob)))
            log("fracnas_corpus: %s: bytes %d-%d of %s, %d -> %d bytes"
                % (part, offset, offset + size, name, size, len(blob)))
    with open(os.path.join(parts_dir, INDEX), "w") as f:
        json.dump(index, f, indent=1, sort_keys=True)
        f.write("\n")
    raw = sum(v["bytes"] for v in index["files"].values())
    packed = sum(p["compressed_bytes"] for p in index["parts"])
    log("fracnas_corpus: %d parts in %s: %d bytes -> %d (%.3f), index %s"
        % (len(index["parts"]), parts_dir, raw, packed, packed / raw, INDEX))
    return index


def _read_index(path, what):
    try:
        with open(path) as f:
            index = json.load(f)
    except OSError:
        raise TransferError("%s has no %s: copy the pack's index.json with the parts" % (what, INDEX))
    except ValueError:
        raise TransferError("%s is not valid JSON: the index is damaged" % path)
    if not isinstance(index, dict) or index.get("format") != FORMAT:
        raise TransferError("%s is not a fracnas corpus parts index (format %r)" % (path, FORMAT))
    return index


def unpack(parts_dir, dest, log=print):
    """Stage the parts present in parts_dir into dest; assemble dest's files once all are
    staged. Returns the number of parts still missing (0: dest is complete and checked)."""
    index = _read_index(os.path.join(parts_dir, INDEX), parts_dir)
    parts = {p["name"]: p for p in index["parts"]}
    staging = os.path.join(dest, STAGING)
    if _complete(index, dest):
        log("fracnas_corpus: %s is complete: every file matches the index's sha256" % dest)
        return 0
    os.makedirs(staging, exist_ok=True)
    staged_index = os.path.join(staging, INDEX)
    if os.path.exists(staged_index):
        if _read_index(staged_index, staging) != index:
            raise TransferError("the parts in %s come from another pack than those staged in %s "
                                "(their index.json differs): remove %s to start again" % (parts_dir, staging, staging))
    else:
        shutil.copyfile(os.path.join(parts_dir, INDEX), staged_index)
    for entry in sorted(os.listdir(parts_dir)):
        if not entry.endswith(".xz"):
            continue
        if entry not in parts:
            raise TransferError("%s is not a part of this pack (not in its index.json): a foreign part"
                                % os.path.join(parts_dir, entry))
        part = parts[entry]
        target = os.path.join(staging, entry[:-3])
        if os.path.isfile(target) and os.path.getsize(target) == part["bytes"]:
            continue  # staged by an earlier call
        with open(os.path.join(parts_dir, entry), "rb") as f:
            blob = f.read()
        if _sha256(blob) != part["sha256"]:
            raise TransferError("%s is corrupt or foreign: its sha256 differs from the index's"
                                % os.path.join(parts_dir, entry))
        try:
            data = lzma.decompress(blob, format=lzma.FORMAT_XZ)
        except lzma.LZMAError as e:
            raise TransferError("%s does not decompress: %s" % (os.path.join(parts_dir, entry), e))
        if len(data) != part["bytes"] or _sha256(data) != part["raw_sha256"]:
            raise TransferError("%s decompresses to other bytes than the index's range" % os.path.join(parts_dir, entry))
        with open(target + ".tmp", "wb") as f:
            f.write(data)
        os.replace(target + ".tmp", target)
    missing = [p["name"] for p in index["parts"] if not os.path.isfile(os.path.join(staging, p["name"][:-3]))]
    if missing:
        log("fracnas_corpus: %d of %d parts staged in %s; %d still missing: %s"
            % (len(parts) - len(missing), len(parts), staging, len(missing), " ".join(missing)))
        return len(missing)
    # every part staged: assemble, check against the index, then against the manifest
    for name, want in sorted(index["files"].items()):
        h, size, tmp = hashlib.sha256(), 0, os.path.join(dest, name + ".tmp")
        with open(tmp, "wb") as out:
            for p in (p for p in index["parts"] if p["file"] == name):
                with open(os.path.join(staging, p["name"][:-3]), "rb") as f:
                    data = f.read()
                h.update(data)
                size += len(data)
                out.write(data)
        if size != want["bytes"] or h.hexdigest() != want["sha256"]:
            os.remove(tmp)
            raise TransferError("%s assembled from its parts does not match the index's sha256" % name)
        os.replace(tmp, os.path.join(dest, name))
    with open(os.path.join(dest, "manifest.json")) as f:
        manifest = json.load(f)
    for name, want in manifest.get("files", {}).items():
        if index["files"].get(name, {}).get("sha256") != want["sha256"]:
            raise TransferError("%s in %s does not match its manifest's sha256" % (name, dest))
    shutil.rmtree(staging)
    log("fracnas_corpus: %s is complete: %d files, every sha256 matches the index and manifest.json"
        % (dest, len(index["files"])))
    return 0


def _complete(index, dest):
    """True when dest holds every file of the index with its sha256 (and nothing is staged)."""
    if os.path.isdir(os.path.join(dest, STAGING)):
        return False
    for name, want in index["files"].items():
        path = os.path.join(dest, name)
        if not os.path.isfile(path) or os.path.getsize(path) != want["bytes"]:
            return False
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        if h.hexdigest() != want["sha256"]:
            return False
    return True
