/*
 * model.h - the inside of a wn_model, shared by model.c (loading, batching,
 * the public API), bert.c (the forward pass) and tests. Internal to src/model.
 *
 * Dimensions: B batch, T tokens (padded), H hidden, NH heads, HD head size,
 * I intermediate, L layers, V vocab, P positions, TV token types, NL labels.
 */
#ifndef WN_MODEL_H
#define WN_MODEL_H

#include "config.h"
#include "nn/nn.h"
#include "safetensors.h"

typedef struct {
    nn_weight qkv;   /* (3H, H): query, key, value weights stacked at load */
    nn_weight ao;    /* (H, H) attention.output.dense */
    nn_weight inter; /* (I, H) intermediate.dense */
    nn_weight out;   /* (H, I) output.dense */
    float *qkv_b;    /* (3H) */
    float *ao_b;     /* (H) */
    float *ln1_g, *ln1_b; /* (H) attention.output.LayerNorm */
    float *inter_b;  /* (I) */
    float *out_b;    /* (H) */
    float *ln2_g, *ln2_b; /* (H) output.LayerNorm */
} bert_layer;

/* Called by bert_forward after the embeddings (layer 0) and after each layer
 * l = 1..L with the (B*T, H) hidden states; tests compare them with PyTorch. */
typedef void (*bert_tap_fn)(void *ud, int layer, const float *x, int B, int T, int H);

/* Where a forward pass runs: the threads its kernels split each operation over
 * (NULL: the calling thread alone) and its activations block, grown on demand. */
typedef struct {
    wn_pool *pool;
    float *scratch;
    size_t cap; /* floats */
    int borrowed;   /* scratch is a slice of the model's reserved block (not freed here) */
    int64_t allocs; /* times scratch was (re)allocated (tests: none after a reserve) */
} bert_ws;

/* Batches of at least this many sequences per thread are split between the
 * threads, each running whole forward passes over its share (no hand-off per
 * operation); smaller ones split each operation instead. */
#ifndef MODEL_SPLIT_MIN_PER_THREAD /* a build may set it (benchmarks compare) */
#define MODEL_SPLIT_MIN_PER_THREAD 4
#endif
#define MODEL_MAX_THREADS 64

struct wn_model {
    bert_config cfg;
    pool_config pc;
    wn_model_kind kind;
    int dim;       /* outputs per sequence: pooled size (bi-encoder) or NL (cross-encoder) */
    int max_len;   /* tokens per sequence, special tokens included */
    int max_batch;
    nn_precision prec;
    st_file st;
    wn_pool *pool;
    int pool_borrowed;    /* ws.pool is the caller's (wn_model_params.threads): not freed here */
    wn_tokenizer *tok; /* NULL when loaded without one (tests of the forward pass) */

    const unsigned char *word, *pos, *type; /* (V, H), (P, H), (TV, H) as stored */
    st_dtype word_dt, pos_dt, type_dt;
    float *emb_g, *emb_b; /* (H) embeddings.LayerNorm */
    bert_layer *layer;    /* (L) */
    nn_weight pooler;     /* (H, H) cross-encoder only */
    nn_weight classifier; /* (NL, H) cross-encoder only */
    float *pooler_b;      /* (H) */
    float *cls_b;         /* (NL) */
    float *vec;           /* one block holding every bias and LayerNorm vector as f32 */
    float *qkv_w;         /* (L, 3H, H) the fused projections */

    bert_ws ws;           /* the pool and the activations of one batch (largest (B, T) seen) */
    bert_ws *part_ws;     /* per thread, for batches split between threads (NULL until then) */
    int ffn_rows;         /* rows per feed-forward chunk; 0: the default (tests vary it) */

    bert_tap_fn tap;
    void *tap_ud;

    /* wn_model_params.reserve_tokens (model_reserve): everything a call needs, sized at
     * load and reused, so that a long-running process's memory never grows */
    int tok_cap;          /* > 0: padded tokens per forward pass at most; ws sized for it */
    int text_chunk;       /* inputs tokenised per round (run_text) */
    int32_t *r_ids, *r_types; /* (tok_cap) one batch's padded ids and types */
    int *r_len;           /* (max_batch) */
    float *r_out;         /* (max_batch, dim) */
    int64_t *r_order;     /* (text_chunk) */
    int32_t *t_ids, *t_types; /* (text_chunk, max_len) token rows */
    const int32_t **t_pi, **t_pt; /* (text_chunk) */
    int *t_lens;          /* (text_chunk) */

    /* other families (cfg.family) */
    float *rel_bias;      /* (rel_buckets, NH) MPNet's encoder.relative_attention_bias, f32 (in vec) */
    int head_relu;        /* the cross-encoder head's activation is ReLU (DistilBERT), else tanh */
    prompt_config prompts; /* config_sentence_transformers.json */
    struct static_model *stat; /* non-NULL: a static embedding model (static.c), none of the above used */
};

/* Loads a model from a local directory. with_tokenizer 0 skips the tokenizer
 * (the forward pass is then reachable only through model_run_ids). */
wn_status model_load_dir(const char *dir, const wn_model_params *p, int with_tokenizer, wn_model **out);
/* Sizes and touches the working memory once (wn_model_params.reserve_tokens): the
 * activations for forward passes of at most tokens padded tokens (clamped to
 * [longest sequence, max_batch x max_len]) and the batch buffers; later calls allocate
 * none of it. */
wn_status model_reserve(wn_model *m, int tokens);

/* Runs n tokenised sequences (ids[i], types[i] of lens[i] tokens, types may be
 * NULL for all zeros) in batches of max_batch sorted by length; out: n * m->dim
 * floats in input order (embeddings, or raw logits for a cross-encoder). */
wn_status model_run_ids(wn_model *m, int64_t n, const int32_t *const *ids, const int32_t *const *types,
                        const int *lens, float *out);

/* bert.c: WN_ERR_ARG naming the position unless token id and type t are in the
 * model's vocabularies. */
wn_status bert_check_token(const wn_model *m, int32_t id, int32_t ty, int t);
/* bert.c: MPNet's bucket of relative position d = key - query (T5's bidirectional
 * scheme: n_buckets / 2 per direction, exact below a quarter of them, then
 * logarithmic up to max_distance 128), computed in float32 as PyTorch does. */
int bert_rel_bucket(int d, int n_buckets);
/* bert.c: floats of scratch one batch of (B, T) needs on ws's threads. */
size_t bert_scratch_floats(const wn_model *m, const bert_ws *ws, int B, int T);
/* bert.c: floats of one block that holds the scratch of any forward pass of at most B
 * sequences, `tokens` padded tokens and T tokens each, run whole on the model's pool or
 * split between its threads (their slices carved one after the other, 64-byte aligned). */
size_t bert_scratch_bound(const wn_model *m, int B, int tokens, int T);
/* Grows ws->scratch to what (B, T) needs. */
wn_status bert_reserve(const wn_model *m, bert_ws *ws, int B, int T);
/* The encoder over B sequences padded to T (ids, types: (B*T); len: (B)); the
 * final hidden states (B*T, H) are left in ws's scratch, their address in
 * *hidden. bert_forward runs on the model's own workspace (m->ws). */
wn_status bert_forward_ws(wn_model *m, bert_ws *ws, int B, int T, const int32_t *ids, const int32_t *types,
                          const int *len, const float **hidden);
wn_status bert_forward(wn_model *m, int B, int T, const int32_t *ids, const int32_t *types, const int *len,
                       const float **hidden);
/* From hidden states to outputs: pooling (+ normalize) or pooler + classifier;
 * out: B * m->dim floats. */
void bert_head_ws(wn_model *m, bert_ws *ws, int B, int T, const float *hidden, const int *len, float *out);
void bert_head(wn_model *m, int B, int T, const float *hidden, const int *len, float *out);
/* sentence-transformers Pooling of one sequence's n real tokens h (n, H) into o: cls, max,
 * mean, mean_sqrt_len, concatenated in that order (no Normalize). Shared by the
 * inference pass and training (src/train). */
void bert_pool(const pool_config *pc, int H, const float *h, int n, float *o);

/* ---- static.c: static embedding models (sentence-transformers' StaticEmbedding) */
/* Tokens a static model reports as its limit: it truncates nothing, as StaticEmbedding. */
#define STATIC_MAX_TOKENS 1000000
/* 1 when dir's modules.json lists a StaticEmbedding module; its sub-directory goes
 * to sub (cap bytes), whether a Normalize module follows to *normalize. */
int static_detect(const char *dir, char *sub, size_t cap, int *normalize);
wn_status static_load_dir(const char *dir, const char *sub, int normalize, const wn_model_params *p, int with_tokenizer,
                          wn_model **out);
void static_free(struct static_model *s); /* NULL-safe */
/* n token sequences (ids[i] of lens[i], no special tokens) -> out (n, D). */
wn_status static_run_ids(wn_model *m, int64_t n, const int32_t *const *ids, const int *lens, float *out);
wn_status static_embed(wn_model *m, int64_t n, const char *const *texts, float *out);
/* A pair scorer's scores: the cosine of each (query, document)'s embeddings. */
wn_status static_score(wn_model *m, int64_t n, const char *const *queries, const char *const *docs, float *out);
/* The (V, D) f32 table of a static model, NULL for any other. */
const float *static_table(const wn_model *m, int *V, int *D);

/* ---- bundled.c: winnow's own models by name ("winnow-small-embed") */
/* A name without '/' looked up in $WINNOW_MODELS_DIR, else p->models_dir then the
 * install dir compiled in (WN_MODELS_DIR). *found 1: its directory is in dir (cap
 * bytes). *found 0 and WN_OK: not a bundled-looking name (the caller goes on to hub
 * ids). An error: a bundled-looking name found nowhere (the message says where it
 * looked and what is there). */
wn_status bundled_resolve(const char *name, const wn_hub_params *p, char *dir, size_t cap, int *found);

#endif
