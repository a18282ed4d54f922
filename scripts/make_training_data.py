#!/usr/bin/python3
"""make_training_data.py - (query, positive) pairs for winnow's own models, from
text that Debian ships. Standard library only; scripts/make_training_data.sh
installs the packages and calls this.

Sources (one JSONL file each in OUT, one object a line: {"query", "positive"}):
  debian-descriptions  package synopsis -> long description (apt's Translation-en)
  wordnet              lemmas -> gloss (definition; examples)       (wordnet-base)
  gcide, foldoc, jargon  headword -> definition (dictd .index + .dict.dz)
  manpages             NAME line -> first paragraphs of DESCRIPTION (/usr/share/man/man?)
  scifact-train        SciFact training claim -> judged abstract (opt-in: --scifact DIR)

Near-duplicates are dropped across all sources: a pair goes when its positive's
normalised first 24 words (lower case, letters and digits only) or its normalised
query + first 8 words of the positive were already seen. Sibling packages (foo,
foo-dev, foo-doc) share their first paragraph, so only the first survives.
Output order is deterministic (sorted inputs, no randomness).
"""
import argparse
import glob
import gzip
import json
import os
import re
import sys

MAX_POS_WORDS = 200  # longer positives are cut (the static model averages tokens)

_norm_re = re.compile(r"[^a-z0-9]+")


def norm_words(s):
    return _norm_re.sub(" ", s.lower()).split()


class Dedup:
    def __init__(self):
        self.pos = set()
        self.pair = set()
        self.dropped = 0

    def keep(self, q, p):
        wp = norm_words(p)
        wq = norm_words(q)
        if len(wq) == 0 or len(wp) < 3:
            self.dropped += 1
            return False
        kp = " ".join(wp[:24])
        kq = " ".join(wq) + "|" + " ".join(wp[:8])
        if kp in self.pos or kq in self.pair:
            self.dropped += 1
            return False
        self.pos.add(kp)
        self.pair.add(kq)
        return True


def clip(text, n=MAX_POS_WORDS):
    w = text.split()
    return " ".join(w[:n])


def ws(s):
    return " ".join(s.split())


# ---- apt descriptions


def debian_descriptions(paths):
    """Translation-en files (already decompressed): Package, Description-en: synopsis,
    then the long description indented by one space, ' .' for a blank line."""
    for path in sorted(paths):
        with open(path, encoding="utf-8", errors="replace") as f:
            pkg, syn, body = None, None, []
            for line in f:
                line = line.rstrip("\n")
                if line.startswith("Package: "):
                    pkg = line[9:].strip()
                elif line.startswith("Description-en: "):
                    syn, body = line[16:].strip(), []
                elif line.startswith(" ") and syn is not None:
                    t = line[1:]
                    body.append("" if t.strip() == "." else t.strip())
                elif line == "":
                    if syn and body:
                        yield pkg, syn, ws(" ".join(b for b in body if b))
                    pkg, syn, body = None, None, []
            if syn and body:
                yield pkg, syn, ws(" ".join(b for b in body if b))


# ---- WordNet


def wordnet(dirpath):
    for pos in ("noun", "verb", "adj", "adv"):
        path = os.path.join(dirpath, "data." + pos)
        if not os.path.exists(path):
            continue
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("  "):  # licence header
                    continue
                head, _, gloss = line.partition(" | ")
                parts = head.split()
                if len(parts) < 4:
                    continue
                n = int(parts[3], 16)
                lemmas = []
                for i in range(n):
                    w = parts[4 + 2 * i]
                    w = re.sub(r"\([a-z]+\)$", "", w)  # adjective markers (a), (p), (ip)
                    lemmas.append(w.replace("_", " "))
                gloss = gloss.strip()
                if not gloss:
                    continue
                # gloss: definition(s); "example"; "example"
                defs, examples = [], []
                for seg in gloss.split(";"):
                    seg = seg.strip()
                    if seg.startswith('"'):
                        examples.append(seg.strip('"'))
                    elif seg:
                        defs.append(seg)
                if not defs:
                    continue
                yield ", ".join(dict.fromkeys(lemmas)), ws("; ".join(defs)), [ws(e) for e in examples]


# ---- dictd


_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def _b64(s):
    v = 0
    for c in s:
        v = v * 64 + _B64.index(c)
    return v


def dictd(index_path, dict_path):
    with gzip.open(dict_path, "rb") as f:
        data = f.read()
    with open(index_path, encoding="utf-8", errors="replace") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 3:
                continue
            word = parts[0]
            if word.startswith("00"):  # the database's own header entries
                continue
            off, ln = _b64(parts[1]), _b64(parts[2])
            yield word, data[off:off + ln].decode("utf-8", errors="replace")


def clean_gcide(word, text):
    """GCIDE entries: 'Word \\Word\\ (pron), n. [Etym.] 1. (Field) Definition. [1913 Webster]'."""
    lines = text.split("\n")
    if lines and lines[0].strip().lower() == word.lower():
        lines = lines[1:]
    t = " ".join(lines)
    t = re.sub(r"\\[^\\]*\\", " ", t)        # \pronunciation\
    t = re.sub(r"\[[^\]]*\]", " ", t)        # [etymology], [1913 Webster]
    t = re.sub(r"\{|\}", "", t)               # {cross references}
    t = re.sub(r"\([^)]{0,40}\)", " ", t)     # (short parenthetical: pronunciation, field)
    t = ws(t)
    if t.lower().startswith(word.lower()):
        t = t[len(word):]
    t = re.sub(r"^[,;.\s]*(?:n|v|a|adv|prep|conj|interj|pron|v\. t|v\. i|p\. p|p\. pr|vb\. n|pl)\.\s*", "", t)
    t = re.sub(r"^[,;.\s]*", "", t)
    # a few senses are enough
    m = re.search(r"\s5\.\s", t)
    if m:
        t = t[: m.start()]
    t = t.replace("Syn: ", "")
    return ws(t)


def clean_dictd_plain(word, text):
    lines = [l.strip() for l in text.split("\n")]
    if lines and lines[0].lower().startswith(word.lower()[:20]):
        lines = lines[1:]
    t = ws(" ".join(lines))
    t = re.sub(r"\{([^}]*)\}", r"\1", t)   # {links}
    t = re.sub(r"\(\d{4}-\d{2}-\d{2}\)\s*$", "", t)  # FOLDOC dates
    t = re.sub(r"<[^>]*>", " ", t)
    return ws(t)


# ---- manual pages


_esc = [
    (re.compile(r"\\f(\[[^\]]*\]|\(..|.)"), ""),  # font changes
    (re.compile(r"\\\((em|en|hy|aq|dq|lq|rq|oq|cq|bu|co|rg|tm|mu|de)"), " "),
    (re.compile(r"\\\[[^\]]*\]"), " "),
    (re.compile(r"\\\*(\[[^\]]*\]|\(..|.)"), ""),  # strings
    (re.compile(r"\\s[+-]?\d"), ""),
    (re.compile(r"\\[-e]"), "-"),
    (re.compile(r"\\[&|^%:,/ ]"), ""),
    (re.compile(r"\\[\"#].*$"), ""),  # comments
    (re.compile(r"\\(.)"), r"\1"),
]


def roff_text(line):
    for r, s in _esc:
        line = r.sub(s, line)
    return line


def manpage(path):
    try:
        with gzip.open(path, "rt", encoding="utf-8", errors="replace") as f:
            src = f.read(200000)
    except (OSError, EOFError):
        return None
    section, name, desc, paras = None, [], [], 0
    for raw in src.split("\n"):
        if raw.startswith(".so "):
            return None  # a link to another page
        if raw.startswith(".SH") or raw.startswith(".Sh"):
            title = raw[3:].strip().strip('"').upper()
            if section == "DESCRIPTION" and desc:
                break
            section = title
            continue
        if section not in ("NAME", "DESCRIPTION"):
            continue
        if raw.startswith(".") or raw.startswith("'"):
            mac, _, rest = raw[1:].partition(" ")
            if mac in ("PP", "P", "LP", "Pp", "sp", "br") and section == "DESCRIPTION" and desc:
                paras += 1
                if paras >= 2:
                    section = "DONE"
                continue
            if mac in ("TP", "IP", "RS", "nf", "Bl", "It") and section == "DESCRIPTION" and desc:
                section = "DONE"  # option lists: stop at the prose
                continue
            if mac in ("B", "I", "BR", "IR", "RB", "RI", "BI", "IB", "SM", "SB", "Nm", "Nd", "Ar", "Fl", "Xr", "Em", "Sy", "Pa", "Dq", "Ql"):
                rest = rest.replace('"', "")
                if mac == "Nd":
                    rest = "- " + rest
                line = roff_text(rest)
            else:
                continue
        else:
            line = roff_text(raw)
        (name if section == "NAME" else desc).append(line)
    nm = ws(" ".join(name))
    m = re.match(r"^(.*?)\s+-+\s+(.*)$", nm)
    if not m or not desc:
        return None
    return m.group(1).strip(), m.group(2).strip(), ws(" ".join(desc))


# ---- SciFact (opt-in)


def scifact(dirpath):
    corpus = {}
    with open(os.path.join(dirpath, "corpus.jsonl"), encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            corpus[str(d["_id"])] = ws((d.get("title") or "") + " " + (d.get("text") or ""))
    queries = {}
    with open(os.path.join(dirpath, "queries.jsonl"), encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            queries[str(d["_id"])] = d["text"]
    with open(os.path.join(dirpath, "qrels", "train.tsv"), encoding="utf-8") as f:
        next(f)
        for line in f:
            q, d, s = line.split()
            if int(s) > 0 and q in queries and d in corpus:
                yield queries[q], corpus[d]


_sent_re = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


def ict_pairs(texts):
    """Inverse cloze: one sentence of a text -> the rest of it (texts of 3+ sentences
    and 30+ words); the sentence is picked by a hash of the text (deterministic)."""
    import zlib
    for t in texts:
        sents = [x for x in _sent_re.split(t) if x.strip()]
        if len(sents) < 3 or len(t.split()) < 30:
            continue
        k = zlib.crc32(t.encode("utf-8")) % len(sents)
        if len(sents[k].split()) < 4:
            continue
        yield sents[k], " ".join(sents[:k] + sents[k + 1:])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="output directory")
    ap.add_argument("--translations", nargs="*", default=[], help="decompressed Translation-en files")
    ap.add_argument("--wordnet", default="/usr/share/wordnet")
    ap.add_argument("--dictd", default="/usr/share/dictd")
    ap.add_argument("--man", default="/usr/share/man")
    ap.add_argument("--scifact", default=None, help="BEIR SciFact directory (train split; CC BY-NC: not for a shipped model)")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    dd = Dedup()
    counts = {}

    def write(name, pairs, dd=dd):
        n = 0
        tmp = os.path.join(a.out, name + ".jsonl.tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            for q, p in pairs:
                q, p = ws(q), clip(ws(p))
                if dd.keep(q, p):
                    f.write(json.dumps({"query": q, "positive": p}, ensure_ascii=False) + "\n")
                    n += 1
        os.replace(tmp, os.path.join(a.out, name + ".jsonl"))
        counts[name] = n
        print(f"{name}: {n} pairs", file=sys.stderr)

    if a.translations:
        write("debian-descriptions", ((s, b) for _, s, b in debian_descriptions(a.translations)))
    ict_texts = []

    def wn_pairs():
        for lem, d, ex in wordnet(a.wordnet):
            yield lem, d + ("; " + "; ".join(ex) if ex else "")
            for e in ex[:2]:  # an example sentence -> its sense's definition
                yield e, lem + ": " + d

    if os.path.isdir(a.wordnet):
        write("wordnet", wn_pairs())
    for name, clean in (("gcide", clean_gcide), ("foldoc", clean_dictd_plain), ("jargon", clean_dictd_plain)):
        idx, dz = os.path.join(a.dictd, name + ".index"), os.path.join(a.dictd, name + ".dict.dz")
        if os.path.exists(idx) and os.path.exists(dz):
            write(name, ((w, clean(w, t)) for w, t in dictd(idx, dz)))

    def man_pairs():
        for sec in "12345678":
            for p in sorted(glob.glob(os.path.join(a.man, "man" + sec, "*.gz"))):
                r = manpage(p)
                if r:
                    names, what, desc = r
                    ict_texts.append(desc)
                    yield names.split(",")[0].strip() + ": " + what, desc

    if os.path.isdir(a.man):
        write("manpages", man_pairs())
    # inverse-cloze pairs from the kept descriptions and manual pages (their own
    # near-duplicate filter: their positives overlap the pairs above by design)
    if a.translations:
        seen = set()
        for _, s_, b in debian_descriptions(a.translations):
            k = " ".join(norm_words(b)[:24])
            if k not in seen:
                seen.add(k)
                ict_texts.append(b)
    write("ict", ict_pairs(ict_texts), dd=Dedup())
    if a.scifact:
        write("scifact-train", scifact(a.scifact))
    counts["dropped-near-duplicates"] = dd.dropped
    with open(os.path.join(a.out, "counts.json"), "w") as f:
        json.dump(counts, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
