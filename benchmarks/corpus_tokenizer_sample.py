#!/usr/bin/env python3
# What D-large's tokenizer sample costs and changes (issue 22): trains SentencePiece with the
# preparation's options (prepare.spm_options) on a share of a prepared corpus's train split and
# on all of it, and reports the time, the peak memory, the pieces the vocabularies share, and how
# many tokens each gives the validation split. It does not write into the corpus folder.
#
# Run:   PYTHONPATH=src/python python benchmarks/corpus_tokenizer_sample.py data/corpus-large-v1 [--shares 0.25,1]
#        (needs sentencepiece: the venv of cmake/dev.sh)
#
# The train text is read back from train.tokens (decoding is exact: identity normalization),
# one piece at a time, cut into lines by prepare.segments. The lines are not exactly the
# preparation's segments (a piece's paragraph breaks are not in the token file), and the share
# is every k-th line rather than the preparation's hash of piece names; the text is the same.
import argparse
import io
import os
import platform
import resource
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src", "python"))
import sentencepiece as spm  # noqa: E402

from fracnas_corpus import prepare, token_file  # noqa: E402


def pieces_text(sp, path):
    """The text of every piece of a token file (cut at eos), decoded."""
    _, eos, tokens = token_file.read(path)
    ids, start, out = tokens.tolist(), 0, []
    for i, t in enumerate(ids):
        if t == eos:
            out.append(sp.decode(ids[start:i]))
            start = i + 1
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("corpus_dir")
    ap.add_argument("--shares", default="0.25,1")
    args = ap.parse_args()
    d = args.corpus_dir
    sp = spm.SentencePieceProcessor(model_file=os.path.join(d, "tokenizer.model"))
    started = time.monotonic()
    lines = [s for text in pieces_text(sp, os.path.join(d, "train.tokens")) for s in prepare.segments(text)]
    val = pieces_text(sp, os.path.join(d, "val.tokens"))
    vocab = sp.get_piece_size()
    print("# %d cores, Python %s, sentencepiece %s, %d train lines (%d characters) read in %.0f s"
          % (os.cpu_count(), platform.python_version(), spm.__version__, len(lines),
             sum(map(len, lines)), time.monotonic() - started))
    print("| share of train lines | lines | training s | peak RSS GiB (process) | pieces shared with the"
          " corpus's tokenizer | validation tokens | vs the corpus's tokenizer |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    base_pieces = {sp.id_to_piece(i) for i in range(vocab)}
    base_val = sum(len(x) for x in sp.encode(val))
    print("| (the corpus's tokenizer.model) | | | | %d | %d | 1.0000 |" % (vocab, base_val))
    for share in (float(s) for s in args.shares.split(",")):
        step = max(1, round(1 / share))
        sub = lines[::step]
        model = io.BytesIO()
        t = time.monotonic()
        spm.set_random_generator_seed(1)
        spm.SentencePieceTrainer.train(sentence_iterator=iter(sub), model_writer=model,
                                       **prepare.spm_options(vocab))
        seconds = time.monotonic() - t
        other = spm.SentencePieceProcessor(model_proto=model.getvalue())
        shared = len(base_pieces & {other.id_to_piece(i) for i in range(other.get_piece_size())})
        n = sum(len(x) for x in other.encode(val))
        print("| %.2f | %d | %.0f | %.1f | %d | %d | %.4f |" % (
            share, len(sub), seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20,
            shared, n, n / base_val), flush=True)


if __name__ == "__main__":
    main()
