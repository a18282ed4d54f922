/*
 * synth.h - synthetic BERT models with counter-based random weights: value e of
 * tensor i is a function of (seed, i, e) only (splitmix64), so C and
 * scripts/make_reference.py (numpy, vectorised) produce the same bytes. Lets tests
 * and benchmarks build real-shape models (~90 MB) on the fly instead of
 * committing them. Test code (not in the library): linked into every test binary and into
 * bench_encoder by the Makefile.
 */
#ifndef WN_MODEL_SYNTH_H
#define WN_MODEL_SYNTH_H

#include "model/safetensors.h"

typedef struct {
    int vocab, hidden, heads, layers, inter, max_pos, type_vocab;
    int classifier;   /* 1: BertForSequenceClassification ("bert." prefix, pooler, classifier) */
    int num_labels;   /* classifier outputs */
    st_dtype dtype;   /* F32, F16 or BF16 for every weight */
    uint64_t seed;
} synth_spec;

/* The f32 value of element e of tensor ti before rounding to the stored dtype:
 * (2u - 1) * scale + offset with u = top 24 bits of splitmix64 / 2^24. */
float synth_value(uint64_t seed, int ti, uint64_t e, float scale, float offset);
/* Writes config.json and model.safetensors (and for a bi-encoder modules.json,
 * 1_Pooling/config.json with mean pooling, Normalize, sentence_bert_config.json)
 * into dir (created). No tokenizer files. */
wn_status synth_write_model(const char *dir, const synth_spec *s);
/* Only the safetensors file. */
wn_status synth_write_safetensors(const char *path, const synth_spec *s);
/* The MiniLM-L6 shapes (V 30522, H 384, NH 12, L 6, I 1536, P 512, TV 2). */
synth_spec synth_minilm(int classifier, st_dtype dt, uint64_t seed);

#endif
