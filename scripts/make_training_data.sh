#!/bin/sh
# make_training_data.sh OUT [--scifact DIR] - writes the (query, positive) JSONL
# pairs winnow's own models are trained on, from text Debian ships: apt's English
# package descriptions, WordNet, the GCIDE / FOLDOC / Jargon dictionaries and the
# installed manual pages (scripts/make_training_data.py does the parsing; its
# header lists the sources, models/README.md their licences). Installs what it
# needs with apt-get (root or sudo). Deterministic for a given set of installed
# packages and apt lists. --scifact DIR adds SciFact's training claims with their
# judged abstracts (CC BY-NC, and its only qrels are the ones we evaluate on: not
# used for the shipped model).
set -e
[ $# -ge 1 ] || { echo "usage: $0 OUT [--scifact DIR]" >&2; exit 2; }
OUT=$1; shift
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
PKGS="wordnet-base dict-gcide dict-foldoc dict-jargon lz4 python3"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
# apt's description lists (Translation-en): Debian images often set Acquire::Languages "none"
if ! ls /var/lib/apt/lists/*_i18n_Translation-en* >/dev/null 2>&1 || [ -n "$missing" ]; then
    $SUDO apt-get update -qq -o Acquire::Languages=en
fi
if [ -n "$missing" ]; then
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >&2
fi
mkdir -p "$OUT"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
n=0
for f in /var/lib/apt/lists/*_i18n_Translation-en*; do
    [ -e "$f" ] || continue
    n=$((n + 1))
    case "$f" in
        *.lz4) lz4cat "$f" > "$TMP/tr$n" ;;
        *.xz) xzcat "$f" > "$TMP/tr$n" ;;
        *.gz) zcat "$f" > "$TMP/tr$n" ;;
        *) cat "$f" > "$TMP/tr$n" ;;
    esac
done
/usr/bin/python3 "$(dirname "$0")/make_training_data.py" --out "$OUT" --translations "$TMP"/tr* "$@"
