"""python -m fracnas_corpus prepare|pack|unpack: see fracnas_corpus.prepare and fracnas_corpus.transfer."""
import argparse
import os
import sys

from . import corpora, transfer
from . import prepare as prep


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m fracnas_corpus",
                                description="prepare the training corpora D and D-large, and move them "
                                            "in compressed parts (docs/data.md)")
    sub = p.add_subparsers(dest="command", required=True)
    a = sub.add_parser("prepare", help="clean, split, train the tokenizer, write the token files")
    a.add_argument("--out", required=True, help="output folder (created)")
    a.add_argument("--corpus", choices=list(corpora.CORPORA), default="d",
                   help="which corpus: d (D, default) or large (D-large)")
    a.add_argument("--vocab-size", type=int, default=prep.VOCAB_SIZE,
                   help="tokenizer vocabulary (default %d)" % prep.VOCAB_SIZE)
    a.add_argument("--source-root", default="/",
                   help="where the packages are installed (default /; the tests use a fixture tree)")
    a.add_argument("--staged-root", default=None,
                   help="a second root for packages not installed under the source root, with its own dpkg "
                        "database (cmake/dev.sh stages there a package apt cannot install beside the machine's)")
    a.add_argument("--validation-share", type=float, default=prep.VALIDATION_SHARE,
                   help="expected share of pieces in validation (default %g)" % prep.VALIDATION_SHARE)
    a.add_argument("--jobs", type=int, default=1,
                   help="processes cleaning documents, threads encoding (default 1); the outputs do not depend on it")
    a.add_argument("--force", action="store_true", help="prepare again even when the manifest matches")
    k = sub.add_parser("pack", help="cut a prepared corpus into xz parts that each decompress alone, plus index.json")
    k.add_argument("corpus_dir")
    k.add_argument("parts_dir")
    k.add_argument("--part-mib", type=float, default=40, help="largest compressed part, MiB (default 40)")
    u = sub.add_parser("unpack", help="stage the parts present; assemble and check the corpus once all are there")
    u.add_argument("parts_dir")
    u.add_argument("dest")
    args = p.parse_args(argv)
    try:
        if args.command == "prepare":
            if args.jobs < 1:
                raise prep.PrepareError("--jobs must be at least 1, not %d" % args.jobs)
            prep.prepare(args.out, args.source_root, args.vocab_size, args.validation_share, args.force,
                         corpus=corpora.CORPORA[args.corpus], jobs=args.jobs, staged=args.staged_root)
        elif args.command == "pack":
            transfer.pack(args.corpus_dir, args.parts_dir, args.part_mib)
        else:
            if not os.path.isdir(args.parts_dir):
                raise transfer.TransferError("the parts folder %s is not a directory" % args.parts_dir)
            transfer.unpack(args.parts_dir, args.dest)
    except (prep.PrepareError, transfer.TransferError) as e:
        print("fracnas_corpus: error: %s." % e, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
