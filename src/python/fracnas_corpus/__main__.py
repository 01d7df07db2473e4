"""python -m fracnas_corpus prepare --out DIR [options]: see fracnas_corpus.prepare."""
import argparse
import sys

from . import prepare as prep


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m fracnas_corpus",
                                description="prepare the training corpus D (docs/data.md)")
    sub = p.add_subparsers(dest="command", required=True)
    a = sub.add_parser("prepare", help="clean, split, train the tokenizer, write the token files")
    a.add_argument("--out", required=True, help="output folder (created)")
    a.add_argument("--vocab-size", type=int, default=prep.VOCAB_SIZE,
                   help="tokenizer vocabulary (default %d)" % prep.VOCAB_SIZE)
    a.add_argument("--source-root", default="/",
                   help="where the packages are installed (default /; the tests use a fixture tree)")
    a.add_argument("--validation-share", type=float, default=prep.VALIDATION_SHARE,
                   help="expected share of pieces in validation (default %g)" % prep.VALIDATION_SHARE)
    a.add_argument("--force", action="store_true", help="prepare again even when the manifest matches")
    args = p.parse_args(argv)
    try:
        prep.prepare(args.out, args.source_root, args.vocab_size, args.validation_share, args.force)
    except prep.PrepareError as e:
        print("fracnas_corpus: error: %s." % e, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
