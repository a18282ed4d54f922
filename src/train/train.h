/*
 * train.h - floor 4: training BERT encoders in C, step for step what PyTorch
 * computes. Internal to src/train (the public entry point is wn_train_run in
 * include/winnow.h).
 *
 *   params.c    the trainable parameters in one fp32 block (HF names, shapes,
 *               which ones get weight decay), loaded from and saved to a
 *               HuggingFace / sentence-transformers directory
 *   backward.c  the training forward pass (keeps what the backward needs) and
 *               the backward pass of every op
 *   loss.c      MultipleNegativesRankingLoss, BCE with logits, listwise softmax
 *   optim.c     AdamW, HF's linear schedule with warm-up, grad-norm clipping
 *   loop.c      data, batches, the training loop, checkpoints, the log
 *   static_train.c  the static-embedding trainer (wn_static_train)
 *   mine.c      hard negatives from a searcher's first stage (wn_train_mine)
 *
 * Dimensions: B batch, T tokens (padded), H hidden, NH heads, HD head size,
 * I intermediate, L layers, V vocab, P positions, TV token types, NL labels.
 * Every gradient is fp32 and computed in a fixed order: results never depend
 * on the number of threads.
 */
#ifndef WN_TRAIN_H
#define WN_TRAIN_H

#include <stdint.h>

#include "model/config.h"
#include "nn/nn.h"
#include "util/util.h"

/* ---- losses (loss.c). Each gives the mean loss over the batch and writes the
 * gradient of that mean with respect to its inputs. */

/* MultipleNegativesRankingLoss (sentence-transformers): q (nq, dim) query
 * embeddings, d (nd, dim) document embeddings, nd >= nq; row i of d is query i's
 * positive, rows nq.. are hard negatives. scores = scale * cos(q_i, d_j) over all
 * nd documents; loss = mean over i of cross-entropy(scores_i, label i). dq (nq,
 * dim) and dd (nd, dim) are dL/dq and dL/dd with respect to the RAW (unnormalised)
 * inputs (cosine normalises with max(||v||, 1e-12), as F.normalize). *loss is
 * the mean loss. Computed in double (scratch of 2 (nq + nd) dim + nq nd doubles);
 * WN_ERR_NOMEM (dq, dd zeroed, *loss NaN) when that cannot be allocated. Used by
 * the transformer loop (loop.c) and the static-embedding trainer (static_train.c). */
wn_status train_mnrl(int nq, int nd, int dim, const float *q, const float *d, float scale, float *dq, float *dd,
                     float *loss);
/* BCEWithLogitsLoss, mean over n: x (n) logits, y (n) labels in [0, 1]; dx (n). */
float train_bce(int n, const float *x, const float *y, float *dx);
/* Listwise softmax cross-entropy: x (n_groups, g) logits, the first of each group
 * the positive; loss = mean over groups of -log softmax(x_group)[0]; dx (n_groups, g). */
float train_listwise(int n_groups, int g, const float *x, float *dx);

/* ---- parameters (params.c) */
typedef struct {
    char name[112]; /* as stored in the checkpoint ("bert." prefix kept as loaded) */
    int ndim;
    int64_t shape[2];
    size_t off, n;  /* floats into the parameter block */
    int decay;      /* AdamW weight decay applies (not biases, not LayerNorm weights) */
} train_tensor;

typedef struct {
    float *qkv_w;        /* (3H, H) query, key, value stacked */
    float *qkv_b;        /* (3H) */
    float *ao_w, *ao_b;  /* (H, H), (H) */
    float *ln1_g, *ln1_b; /* (H) */
    float *i_w, *i_b;    /* (I, H), (I) */
    float *o_w, *o_b;    /* (H, I), (H) */
    float *ln2_g, *ln2_b; /* (H) */
} train_layer;

typedef enum { TRAIN_BI = 0, TRAIN_CE = 1, TRAIN_MLM = 2 } train_kind;

typedef struct {
    bert_config cfg;
    pool_config pc;        /* bi-encoders: pooling modes and Normalize */
    train_kind kind;
    int dim;               /* outputs per sequence: pooled size (bi) or NL (ce) */
    float p_hidden, p_attn; /* dropout probabilities (0: off) */
    int n_tensors;
    train_tensor *t;       /* in checkpoint order */
    size_t n_params;
    float *w;              /* (n_params) the parameters */
    float *g;              /* (n_params) their gradients (accumulated until zeroed) */
    float *word, *pos, *type; /* (V, H), (P, H), (TV, H) */
    float *emb_g, *emb_b;  /* (H) */
    train_layer *layer;    /* (L) */
    float *pool_w, *pool_b; /* (H, H), (H) ce only */
    float *cls_w, *cls_b;  /* (NL, H), (NL) ce only */
    /* mlm only: BertOnlyMLMHead; the decoder is the word embeddings (tied) */
    float *mlm_w, *mlm_b;  /* (H, H), (H) cls.predictions.transform.dense */
    float *mlm_g, *mlm_beta; /* (H) cls.predictions.transform.LayerNorm */
    float *mlm_bias;       /* (V) cls.predictions.bias */
    wn_pool *pool;
    /* the forward kernels' packed copies of the weights, rebuilt when stale */
    nn_weight *packed;     /* (4 L + 2) */
    nn_weight *packed_t;   /* (4 L + 2) the same transposed, for the backward's dx = dy W */
    float *wt;             /* the transposed copies packed_t may point into */
    int packed_ok;
} train_model;

/* The gradient of parameter pointer p (a pointer into m->w). */
#define TRAIN_GRAD(m, p) ((m)->g + ((p) - (m)->w))

/* Loads config.json, the pooling files and model.safetensors of dir (F32, F16 or
 * BF16 weights, converted to f32). n_threads <= 0: all CPUs. */
wn_status train_model_load(const char *dir, int n_threads, train_model **out);
/* config NULL: train_model_load. Else a new model from that config.json with HF's
 * initialisation (N(0, initializer_range), a counter-based generator keyed by
 * seed); dir still gives the pooling files (absent: mean pooling). */
wn_status train_model_create(const char *dir, const char *config, uint64_t seed, int n_threads, train_model **out);
/* The same for masked-language-model training: the encoder (names "bert."-prefixed
 * on save) + BertForMaskedLM's head, initialised as HF does where dir has none. */
wn_status train_model_create_mlm(const char *dir, const char *config, uint64_t seed, int n_threads, train_model **out);
void train_model_free(train_model *m);
/* Writes the parameters as model.safetensors (F32, the tensors in the order
 * loaded) atomically to path. */
wn_status train_model_save_weights(const train_model *m, const char *path);
/* Marks the packed forward weights stale (after the parameters changed). */
void train_model_touch(train_model *m);
void train_zero_grad(train_model *m);

/* ---- forward and backward (backward.c) */
typedef struct train_acts train_acts;
void train_acts_free(train_acts *a);

/* The forward pass over B sequences padded to T tokens (ids, types: (B*T), types
 * may be NULL; len: (B)), keeping what the backward needs in *a (allocated or
 * grown). Dropout (m->p_hidden, m->p_attn) draws from a counter-based generator
 * keyed by seed: the same seed gives the same masks. out: (B, m->dim) outputs,
 * embeddings after pooling (+ Normalize) or the classifier's logits. */
wn_status train_forward(train_model *m, train_acts **a, int B, int T, const int32_t *ids, const int32_t *types,
                        const int *len, uint64_t seed, float *out);
/* Adds the gradients of the last forward's outputs, given dout (B, m->dim), to m->g. */
wn_status train_backward(train_model *m, train_acts *a, const float *dout);
/* MLM (after train_forward on an mlm model): the head over the positions whose
 * label (B*T) is >= 0, cross-entropy against that label averaged over them (HF's
 * ignore_index -100), and the whole backward pass for scale times that loss
 * (scale 0: the loss alone, no backward); *loss gets it (0 with no label). */
wn_status train_mlm(train_model *m, train_acts *a, const int32_t *labels, float scale, float *loss);

/* ---- optimiser (optim.c) */
typedef struct {
    float lr, beta1, beta2, eps, weight_decay;
    int64_t t;      /* updates done */
    float *m1, *m2; /* (n_params) first and second moments */
} train_adamw;

wn_status train_adamw_init(train_adamw *o, const train_model *m, float lr, float weight_decay);
void train_adamw_free(train_adamw *o);
/* One AdamW update at learning rate lr (torch.optim.AdamW's order: decay, moments,
 * bias corrections, step). */
void train_adamw_step(train_adamw *o, train_model *m, float lr);
/* HF's get_linear_schedule_with_warmup factor for step (counted from 0 before each update). */
double train_linear_schedule(int64_t step, int64_t warmup, int64_t total);
/* torch.nn.utils.clip_grad_norm_: the global L2 norm of every gradient (returned);
 * scales them by max_norm / (norm + 1e-6) when that is below 1. max_norm <= 0:
 * only measures. */
double train_clip_grad_norm(train_model *m, double max_norm);

/* ---- the static-embedding trainer (static_train.c), for its tests */

/* One JSONL line {"query": "...", "positive": "...", ...}: the two strings,
 * unescaped (wn_free them). Other keys are skipped; values other than strings of
 * the two keys are an error. WN_ERR_FORMAT names what (file:line) and why. */
wn_status static_parse_pair(const char *line, const char *what, char **query, char **positive);

/* The fit behind wn_static_train and wn_static_adapt: a token table E (V, D), the
 * per-token weights u (V, softplus(u) = 1 at creation), sparse Adam at a fixed
 * learning rate, MNRL at scale, batches of up to max_batch pairs of sequences of
 * global token ids (each cut to max_tokens), on min(n_threads, 8) threads (0: all
 * CPUs); the result never depends on the thread count. */
typedef struct static_fit static_fit;
wn_status static_fit_create(int V, int D, int max_batch, int max_tokens, int n_threads, float lr, float scale,
                            static_fit **out);
void static_fit_free(static_fit *f); /* NULL-safe */
float *static_fit_table(static_fit *f);   /* (V, D), to initialise */
float *static_fit_weights(static_fit *f); /* (V) u, to initialise */
void static_fit_init_random(static_fit *f, uint64_t *rng); /* E ~ N(0, 0.1) from splitmix64 state *rng */
/* seq[0..B) the queries, seq[B..2B) their positives (len[2B] tokens each, ids < V):
 * one optimiser step (_step) or the loss alone (_loss); *loss the batch's mean. */
wn_status static_fit_step(static_fit *f, int B, const int32_t *const *seq, const int *len, float *loss);
wn_status static_fit_loss(static_fit *f, int B, const int32_t *const *seq, const int *len, float *loss);
/* Writes the model (softplus(u) folded into the rows; rows with seen[t] = 0 as zeros)
 * to out_dir in the StaticEmbedding layout, tokenizer.json (+ vocab.txt) from tok_dir. */
wn_status static_fit_write(const static_fit *f, const uint8_t *seen, const char *out_dir, const char *tok_dir, int fp16);
uint64_t static_rng_next(uint64_t *s); /* splitmix64 */

/* ---- corpus adaptation (static_adapt.c), for its tests */

enum { ADAPT_ICT = 0, ADAPT_TITLE = 1, ADAPT_SPANS = 2 };
/* n documents tokenised: document i is tok[doc[i], doc[i+1]), its title
 * tok[doc[i], text[i]) and its text tok[text[i], doc[i+1]); the text's sentences
 * start at sent[doc_sent[i] .. doc_sent[i+1]) (absolute positions in tok). */
typedef struct {
    int64_t n, n_tok, n_sent;
    int32_t *tok;
    int64_t *doc, *text, *doc_sent; /* (n + 1) */
    int64_t *sent;
    size_t cap_tok, cap_sent;
} adapt_docs;
/* titles, texts (n, either may be NULL, an entry may be NULL or ""). */
wn_status adapt_docs_build(adapt_docs *d, const wn_tokenizer *tk, int64_t n, const char *const *titles,
                           const char *const *texts);
void adapt_docs_free(adapt_docs *d);
/* The kinds of pair document i allows: bit k set for kind k (0: none). */
int adapt_kinds(const adapt_docs *d, int64_t i);
/* One pair of document i, its kind drawn from *rs among those allowed: the query
 * into q (*nq tokens), the positive into p (*np), each of at most 128 tokens.
 * Returns the kind, or -1 (nothing written, *nq = *np = 0) when there is none. */
int adapt_make_pair(const adapt_docs *d, int64_t i, uint64_t *rs, int32_t *q, int *nq, int32_t *p, int *np);

#endif
