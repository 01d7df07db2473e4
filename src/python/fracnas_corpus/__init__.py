"""The fixed training corpus D of issue 12, prepared from installed Debian packages.

    python -m fracnas_corpus prepare --out DIR [--vocab-size N] [--source-root /]
                                     [--validation-share S] [--force]

extracts and cleans the six packages of D (extract), splits them into train and validation by a
hash of each piece's name, trains a SentencePiece BPE tokenizer on the train split, and writes
the tokenizer, train.tokens, val.tokens (token_file) and manifest.json (prepare). docs/data.md
describes all of it. Standard library plus sentencepiece (for prepare only).
"""
