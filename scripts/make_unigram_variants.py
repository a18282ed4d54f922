#!/usr/bin/env python3
"""make_unigram_variants.py - two Unigram tokenizer.json files derived from t5-small's
real one (tests/fixtures/tokenizer/t5-small), for the layouts no real file we found
covers (an XLM-R tokenizer.json of 17 MB was not in the stored sources):

  xlmr/      XLM-RoBERTa's layout: the Precompiled normalizer then Replace of the Regex
             " {2,}" by " " (as xlm-roberta-base's file has it), Metaspace
             without WhitespaceSplit (prepend_scheme "always", split), <s> <pad> </s>
             <unk> at ids 0-3 (unk_id 3), <mask> last with lstrip, the template
             <s> A </s> and <s> A </s> </s> B </s>; t5-small's first 12,000 pieces.
  fallback/  byte_fallback with the 256 <0xXX> pieces, Metaspace prepend_scheme
             "first" and split false, a Sequence normalizer (Precompiled, then a
             literal Replace); t5-small's first 4,000 pieces (so many characters
             are unknown).

The expected ids come from HF's own tokenizer (scripts/hf_ids.js), never from here.
  python3 scripts/make_unigram_variants.py T5_TOKENIZER_JSON OUT_DIR
"""
import copy
import json
import os
import sys


def added(i, content, lstrip=False):
    return {"id": i, "content": content, "single_word": False, "lstrip": lstrip, "rstrip": False,
            "normalized": False, "special": True}


def main():
    src, out = sys.argv[1], sys.argv[2]
    t5 = json.load(open(src, encoding="utf-8"))
    pieces = [p for p in t5["model"]["vocab"][3:] if not p[0].startswith("<extra_id_")]

    x = copy.deepcopy(t5)
    vocab = [["<s>", 0.0], ["<pad>", 0.0], ["</s>", 0.0], ["<unk>", 0.0]] + pieces[:12000] + [["<mask>", 0.0]]
    m = len(vocab) - 1
    x["truncation"] = None
    x["padding"] = None
    x["added_tokens"] = [added(0, "<s>"), added(1, "<pad>"), added(2, "</s>"), added(3, "<unk>"), added(m, "<mask>", True)]
    # XLM-R's normalizer: the Precompiled charsmap, then runs of spaces folded by a Regex
    x["normalizer"] = {"type": "Sequence", "normalizers": [
        t5["normalizer"], {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}]}
    x["pre_tokenizer"] = {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True}
    x["post_processor"] = {
        "type": "TemplateProcessing",
        "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                   {"SpecialToken": {"id": "</s>", "type_id": 0}}],
        "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                 {"SpecialToken": {"id": "</s>", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}},
                 {"Sequence": {"id": "B", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}}],
        "special_tokens": {"<s>": {"id": "<s>", "ids": [0], "tokens": ["<s>"]},
                           "</s>": {"id": "</s>", "ids": [2], "tokens": ["</s>"]}}}
    x["decoder"] = {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True}
    x["model"] = {"type": "Unigram", "unk_id": 3, "vocab": vocab, "byte_fallback": False}

    f = copy.deepcopy(x)
    vocab = [["<s>", 0.0], ["<pad>", 0.0], ["</s>", 0.0], ["<unk>", 0.0]]
    vocab += [["<0x%02X>" % b, 0.0] for b in range(256)] + pieces[:4000]
    f["added_tokens"] = [added(0, "<s>"), added(1, "<pad>"), added(2, "</s>"), added(3, "<unk>")]
    f["normalizer"] = {"type": "Sequence", "normalizers": [
        t5["normalizer"], {"type": "Replace", "pattern": {"String": "``"}, "content": "\""}]}
    f["pre_tokenizer"] = {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first", "split": False}
    f["decoder"] = None
    f["model"] = {"type": "Unigram", "unk_id": 3, "vocab": vocab, "byte_fallback": True}

    for name, j in (("xlmr", x), ("fallback", f)):
        os.makedirs(os.path.join(out, name), exist_ok=True)
        with open(os.path.join(out, name, "tokenizer.json"), "w", encoding="utf-8") as o:
            json.dump(j, o, ensure_ascii=False, indent=2)


if __name__ == "__main__":
    main()
