"""The token file: a prepared split of the corpus as one flat sequence of token ids.

Layout (docs/data.md; read by include/fracnas/data/token_file.hpp), all little-endian:

    offset  size  field
         0     8  magic b"FNTOKENS"
         8     4  format version (u32) = 1
        12     4  bytes per token (u32): 2 (uint16) when vocab_size <= 65535, else 4 (uint32)
        16     4  vocab_size (u32): every token is < vocab_size
        20     4  eos_id (u32): the id that ends every piece of text, 0xFFFFFFFF if none
        24     8  token count (u64)
        32        the tokens, count x bytes per token

and nothing after them. This module writes and reads it; it does not tokenize.
"""
import array
import struct
import sys

MAGIC = b"FNTOKENS"
VERSION = 1
HEADER = struct.Struct("<8sIIIIQ")  # 32 bytes
NO_EOS = 0xFFFFFFFF


class TokenFileError(Exception):
    """A token file is missing, truncated or not one; str() is one sentence."""


def token_bytes(vocab_size):
    """2 when every id fits in a uint16 (vocab_size <= 65535), else 4."""
    return 2 if vocab_size <= 65535 else 4


def write(path, tokens, vocab_size, eos_id=NO_EOS):
    """Write tokens (an iterable of ints, each < vocab_size) to path; returns the count."""
    typecode = "H" if token_bytes(vocab_size) == 2 else "I"
    data = array.array(typecode, tokens)
    if data and max(data) >= vocab_size:
        raise ValueError("a token id is >= the vocabulary size %d" % vocab_size)
    if sys.byteorder == "big":
        data.byteswap()
    with open(path, "wb") as f:
        f.write(HEADER.pack(MAGIC, VERSION, data.itemsize, vocab_size, eos_id, len(data)))
        f.write(data.tobytes())
    return len(data)


def read(path):
    """(vocab_size, eos_id, tokens as an array) of a token file; TokenFileError when bad."""
    try:
        with open(path, "rb") as f:
            blob = f.read()
    except OSError as e:
        raise TokenFileError("cannot read the token file %s: %s" % (path, e.strerror))
    if len(blob) < HEADER.size:
        raise TokenFileError("%s is truncated: %d bytes, shorter than the %d-byte header"
                             % (path, len(blob), HEADER.size))
    magic, version, width, vocab, eos, count = HEADER.unpack_from(blob)
    if magic != MAGIC:
        raise TokenFileError("%s is not a fracnas token file (no FNTOKENS magic)" % path)
    if version != VERSION:
        raise TokenFileError("%s has token file format version %d; this reader knows %d"
                             % (path, version, VERSION))
    if vocab == 0 or width != token_bytes(vocab):
        raise TokenFileError("%s has a corrupt header: %d bytes per token for a vocabulary of %d"
                             % (path, width, vocab))
    if len(blob) != HEADER.size + count * width:
        raise TokenFileError("%s is truncated or damaged: %d bytes, the header says %d tokens (%d bytes)"
                             % (path, len(blob), count, HEADER.size + count * width))
    tokens = array.array("H" if width == 2 else "I")
    tokens.frombytes(blob[HEADER.size:])
    if sys.byteorder == "big":
        tokens.byteswap()
    if tokens and max(tokens) >= vocab:
        raise TokenFileError("%s is corrupt: a token id is >= its vocabulary size %d" % (path, vocab))
    return vocab, eos, tokens
