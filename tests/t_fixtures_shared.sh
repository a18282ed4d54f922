#!/bin/sh
# t_fixtures_shared.sh - the fixtures copied from ../shared (tests/fixtures/README.md)
# are still byte for byte their sources, decompressed where they are .xz: so a test
# that reads the committed copy checks what it would check against ../shared. SKIPPED
# when ../shared is absent (a fresh clone: the tests then run on the copies alone).
. "${0%/*}/lib.sh"
t_tmp fixtures
[ -d ../shared ] || { echo "SKIPPED: ../shared is absent (the committed fixtures are used as they are)"; exit 77; }
same() { # FIXTURE SOURCE
    [ -e "$2" ] || { fail "source $2 is absent"; return; }
    case "$1" in
        *.xz) xz -dc "$1" >"$T/x" || { fail "xz cannot read $1"; return; }; cmp -s "$T/x" "$2" || fail "$1 differs from $2" ;;
        *) cmp -s "$1" "$2" || fail "$1 differs from $2" ;;
    esac
}
M=../shared/models/all-MiniLM-L6-v2
for f in vocab.txt.xz tokenizer.json.xz tokenizer_config.json special_tokens_map.json sentence_bert_config.json; do
    same "tests/fixtures/tokenizer/all-MiniLM-L6-v2/$f" "$M/${f%.xz}"
done
M=../shared/models/all-mpnet-base-v2
for f in vocab.txt.xz tokenizer.json.xz tokenizer_config.json special_tokens_map.json sentence_bert_config.json \
    modules.json config.json 1_Pooling/config.json PROVENANCE.md; do
    same "tests/fixtures/tokenizer/all-mpnet-base-v2/$f" "$M/${f%.xz}"
done
same tests/fixtures/tokenizer/bert-uncased.inp ../shared/data/tokenizer/bert-uncased.inp
same tests/fixtures/tokenizer/bert-uncased.out ../shared/data/tokenizer/bert-uncased.out
S=../shared/data/collections/scifact
same tests/fixtures/scifact/corpus.jsonl.xz $S/corpus.jsonl
same tests/fixtures/scifact/queries.jsonl.xz $S/queries.jsonl
same tests/fixtures/scifact/qrels/train.tsv $S/qrels/train.tsv
t_done
