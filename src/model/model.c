/*
 * model.c - wn_model: loading a HuggingFace / sentence-transformers directory
 * (config.json, model.safetensors, the pooling files, the tokenizer), checking
 * every tensor against config.json, and running inputs in length-sorted batches.
 * The forward pass itself is bert.c; file parsing is config.c and safetensors.c.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "model.h"

/* Dimensions: B batch, T tokens, H hidden, I intermediate, L layers, V vocab,
 * P positions, TV token types, NL labels. */

wn_model_params wn_model_default_params(void) {
    wn_model_params p;
    memset(&p, 0, sizeof p);
    p.n_threads = 0;
    p.max_batch = 32;
    p.precision = WN_PREC_FP32;
    p.hub = wn_hub_default_params();
    return p;
}

void wn_model_free(wn_model *m) {
    if (!m) return;
    static_free(m->stat);
    if (m->layer)
        for (int l = 0; l < m->cfg.num_hidden_layers; l++) {
            nn_weight_free(&m->layer[l].qkv);
            nn_weight_free(&m->layer[l].ao);
            nn_weight_free(&m->layer[l].inter);
            nn_weight_free(&m->layer[l].out);
        }
    nn_weight_free(&m->pooler);
    nn_weight_free(&m->classifier);
    wn_free(m->layer);
    wn_free_aligned(m->vec);
    wn_free_aligned(m->qkv_w);
    wn_free_aligned(m->ws.scratch);
    if (m->part_ws)
        for (int i = 0; i < wn_pool_size(m->ws.pool); i++)
            if (!m->part_ws[i].borrowed) wn_free_aligned(m->part_ws[i].scratch);
    wn_free(m->part_ws);
    wn_free(m->r_ids);
    wn_free(m->r_types);
    wn_free(m->r_len);
    wn_free(m->r_out);
    wn_free(m->r_order);
    wn_free(m->t_ids);
    wn_free(m->t_types);
    wn_free(m->t_pi);
    wn_free(m->t_pt);
    wn_free(m->t_lens);
    wn_tokenizer_free(m->tok);
    config_free_prompts(&m->prompts);
    if (!m->pool_borrowed) wn_pool_free(m->ws.pool);
    st_close(&m->st);
    wn_free(m);
}

wn_model_kind wn_model_kind_of(const wn_model *m) { return m->kind; }
int wn_model_dim(const wn_model *m) { return m->kind == WN_MODEL_BIENCODER ? m->dim : m->cfg.hidden_size; }
int wn_model_num_labels(const wn_model *m) { return m->kind == WN_MODEL_CROSSENCODER ? m->cfg.num_labels : 0; }
int wn_model_max_length(const wn_model *m) { return m->max_len; }
const char *wn_model_label(const wn_model *m, int i) {
    if (!m || m->kind != WN_MODEL_CROSSENCODER || m->stat || i < 0 || i >= m->cfg.num_labels || i >= CONFIG_MAX_LABELS)
        return NULL;
    return m->cfg.label[i][0] ? m->cfg.label[i] : NULL;
}
float wn_model_rerank_interpolate(const wn_model *m) { return m && m->kind == WN_MODEL_CROSSENCODER ? m->cfg.rerank_interpolate : 0; }
const wn_tokenizer *wn_model_tokenizer(const wn_model *m) { return m->tok; }

const char *wn_model_prompt(const wn_model *m, const char *name) {
    if (!m) return NULL;
    if (!name) return m->prompts.def >= 0 ? m->prompts.texts[m->prompts.def] : NULL;
    for (int i = 0; i < m->prompts.n; i++)
        if (!strcmp(m->prompts.names[i], name)) return m->prompts.texts[i];
    return NULL;
}

const char *const *wn_model_prompt_names(const wn_model *m, int *n) {
    *n = m ? m->prompts.n : 0;
    return m ? (const char *const *)m->prompts.names : NULL;
}

wn_status wn_embed_truncate(float *v, int64_t n, int full, int dim) {
    WN_ENTRY();
    if (!v || n < 0 || dim < 1 || dim > full)
        return wn_seterr(WN_ERR_ARG, "wn_embed_truncate: %d dimensions of %d", dim, full);
    for (int64_t i = 0; i < n; i++) { /* in place: row i moves down to i * dim */
        float *dst = v + (size_t)i * dim;
        memmove(dst, v + (size_t)i * full, sizeof(float) * (size_t)dim);
        double ss = 0;
        for (int j = 0; j < dim; j++) ss += (double)dst[j] * dst[j];
        double nrm = sqrt(ss);
        if (nrm < 1e-12) nrm = 1e-12;
        for (int j = 0; j < dim; j++) dst[j] = (float)(dst[j] / nrm);
    }
    return WN_OK;
}

/* ---- loading */

/* The tensor names of each family (HF's modules), relative to the base model;
 * a *For* checkpoint puts the base model under prefix ("bert.", ...), its head
 * (classifier.*, pre_classifier.*) at the top. Layer names follow layer % l. */
typedef struct {
    const char *prefix;
    const char *word, *pos, *type, *emb_ln; /* type NULL: no token types */
    const char *layer;                      /* "encoder.layer.%d." */
    const char *qkv[3], *ao, *ln1, *inter, *out, *ln2;
    const char *head_dense, *head_out;      /* cross-encoder */
    const char *rel;                        /* MPNet's shared relative attention bias */
} family_names;

static const family_names bert_names = {
    "bert.", "embeddings.word_embeddings", "embeddings.position_embeddings", "embeddings.token_type_embeddings",
    "embeddings.LayerNorm", "encoder.layer.%d.", {"attention.self.query", "attention.self.key", "attention.self.value"},
    "attention.output.dense", "attention.output.LayerNorm", "intermediate.dense", "output.dense", "output.LayerNorm",
    "pooler.dense", "classifier", NULL};
static const family_names roberta_names = {
    "roberta.", "embeddings.word_embeddings", "embeddings.position_embeddings", "embeddings.token_type_embeddings",
    "embeddings.LayerNorm", "encoder.layer.%d.", {"attention.self.query", "attention.self.key", "attention.self.value"},
    "attention.output.dense", "attention.output.LayerNorm", "intermediate.dense", "output.dense", "output.LayerNorm",
    "classifier.dense", "classifier.out_proj", NULL};
static const family_names mpnet_names = {
    "mpnet.", "embeddings.word_embeddings", "embeddings.position_embeddings", NULL, "embeddings.LayerNorm",
    "encoder.layer.%d.", {"attention.attn.q", "attention.attn.k", "attention.attn.v"}, "attention.attn.o",
    "attention.LayerNorm", "intermediate.dense", "output.dense", "output.LayerNorm", "classifier.dense",
    "classifier.out_proj", "encoder.relative_attention_bias"};
static const family_names distilbert_names = {
    "distilbert.", "embeddings.word_embeddings", "embeddings.position_embeddings", NULL, "embeddings.LayerNorm",
    "transformer.layer.%d.", {"attention.q_lin", "attention.k_lin", "attention.v_lin"}, "attention.out_lin",
    "sa_layer_norm", "ffn.lin1", "ffn.lin2", "output_layer_norm", "pre_classifier", "classifier", NULL};

static const family_names *names_of(model_family f) {
    switch (f) {
    case FAMILY_MPNET: return &mpnet_names;
    case FAMILY_DISTILBERT: return &distilbert_names;
    case FAMILY_ROBERTA: return &roberta_names;
    default: return &bert_names;
    }
}

/* Finds name (or the family's prefix + name), checks dtype and shape [d0, d1]
 * (d1 < 0: a vector of d0); why says where the expected shape comes from. */
static wn_status tensor(const wn_model *m, const char *name, int d0, int d1, const char *why, const st_tensor **out) {
    char alt[256];
    const char *pre = names_of(m->cfg.family)->prefix;
    const st_tensor *t = st_find(&m->st, name);
    if (!t) {
        snprintf(alt, sizeof alt, "%s%s", pre, name);
        t = st_find(&m->st, alt);
    }
    if (!t)
        return wn_seterr(WN_ERR_NOTFOUND, "%s: tensor '%s' is missing (also looked for '%s%s'; model_type %s)", m->st.path, name,
                         pre, name, m->cfg.model_type);
    if (t->dtype != ST_F32 && t->dtype != ST_F16 && t->dtype != ST_BF16)
        return wn_seterr(WN_ERR_UNSUPPORTED, "%s: tensor '%s' has dtype %s; weights must be F32, F16 or BF16", m->st.path, t->name,
                         st_dtype_name(t->dtype));
    int nd = d1 < 0 ? 1 : 2;
    if (t->ndim != nd || t->shape[0] != d0 || (nd == 2 && t->shape[1] != d1)) {
        char got[128] = "[", want[64];
        for (int i = 0; i < t->ndim; i++) {
            size_t k = strlen(got);
            snprintf(got + k, sizeof got - k, i ? ", %lld" : "%lld", (long long)t->shape[i]);
        }
        strncat(got, "]", sizeof got - strlen(got) - 1);
        if (nd == 1) snprintf(want, sizeof want, "[%d]", d0);
        else snprintf(want, sizeof want, "[%d, %d]", d0, d1);
        return wn_seterr(WN_ERR_FORMAT, "%s: tensor '%s': shape %s, config.json says %s (%s)", m->st.path, t->name, got, want, why);
    }
    *out = t;
    return WN_OK;
}

static nn_dtype nn_dt(st_dtype d) { return d == ST_F16 ? NN_F16 : d == ST_BF16 ? NN_BF16 : NN_F32; }

/* A vector tensor converted to f32 into *dst, which advances. */
static wn_status vec(const wn_model *m, const char *name, int n, const char *why, float **dst, float **at) {
    const st_tensor *t;
    wn_status st = tensor(m, name, n, -1, why, &t);
    if (st != WN_OK) return st;
    nn_to_f32(nn_dt(t->dtype), t->data, *dst, (size_t)n);
    *at = *dst;
    *dst += n;
    return WN_OK;
}

/* LayerNorm parameters: ".weight"/".bias", or the older ".gamma"/".beta". */
static wn_status layernorm(const wn_model *m, const char *prefix, int H, float **dst, float **g, float **b) {
    char n1[200], n2[200], old[200], old_b[220];
    snprintf(n1, sizeof n1, "%s.weight", prefix);
    snprintf(n2, sizeof n2, "%s.bias", prefix);
    snprintf(old, sizeof old, "%s.gamma", prefix);
    snprintf(old_b, sizeof old_b, "%s%s", names_of(m->cfg.family)->prefix, old);
    if (st_find(&m->st, old) || st_find(&m->st, old_b)) {
        snprintf(n1, sizeof n1, "%s.gamma", prefix);
        snprintf(n2, sizeof n2, "%s.beta", prefix);
    }
    wn_status st = vec(m, n1, H, "hidden_size", dst, g);
    if (st == WN_OK) st = vec(m, n2, H, "hidden_size", dst, b);
    return st;
}

static wn_status linear(const wn_model *m, const char *name, int N, int K, const char *why, nn_weight *w) {
    const st_tensor *t;
    wn_status st = tensor(m, name, N, K, why, &t);
    if (st != WN_OK) return st;
    return nn_weight_init(w, t->data, nn_dt(t->dtype), N, K, m->prec);
}

/* Peak memory: once the weights are packed (or converted) the stacked f32 query/
 * key/value copy and the mapped pages of every tensor but the embeddings (read
 * directly each batch) are no longer read. The file mapping is private and
 * read-only, so MADV_DONTNEED only drops pages: a later read would fault them
 * back in from the file, never see zeros. */
static void release_sources(wn_model *m) {
    int packed = 1;
    for (int l = 0; l < m->cfg.num_hidden_layers; l++) packed &= m->layer[l].qkv.w == NULL;
    if (packed) {
        wn_free_aligned(m->qkv_w);
        m->qkv_w = NULL;
    }
    if (!m->st.map) return;
    const uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
    for (int i = 0; i < m->st.n; i++) {
        const st_tensor *t = &m->st.t[i];
        if (t->data == m->word || t->data == m->pos || t->data == m->type) continue;
        uintptr_t a = ((uintptr_t)t->data + pg - 1) & ~(pg - 1), b = ((uintptr_t)t->data + (t->end - t->begin)) & ~(pg - 1);
        if (b > a) (void)madvise((void *)a, b - a, MADV_DONTNEED);
    }
}

/* name of a layer tensor: the family's layer prefix for l, then part and suffix */
static void layer_name(char *buf, size_t cap, const family_names *fn, int l, const char *part, const char *suffix) {
    int k = snprintf(buf, cap, fn->layer, l);
    if (k > 0 && (size_t)k < cap) snprintf(buf + k, cap - (size_t)k, "%s%s", part, suffix);
}

static wn_status load_weights(wn_model *m) {
    const bert_config *c = &m->cfg;
    const family_names *fn = names_of(c->family);
    const int H = c->hidden_size, I = c->intermediate_size, L = c->num_hidden_layers, NL = c->num_labels;
    const int NH = c->num_attention_heads;
    size_t n_vec = 2 * (size_t)H + (size_t)L * (9 * (size_t)H + I) + (m->kind == WN_MODEL_CROSSENCODER ? (size_t)H + NL : 0) +
                   (size_t)c->rel_buckets * NH;
    m->vec = wn_malloc_aligned(n_vec * sizeof(float));
    m->qkv_w = wn_malloc_aligned((size_t)L * 3 * H * H * sizeof(float) + 64);
    m->layer = wn_calloc((size_t)L + 1, sizeof *m->layer);
    if (!m->vec || !m->qkv_w || !m->layer) return wn_seterr(WN_ERR_NOMEM, "%s: out of memory for the weights", m->st.path);
    float *v = m->vec;
    const st_tensor *t;
    wn_status st;
    char name[200], why[80];
    snprintf(name, sizeof name, "%s.weight", fn->word);
    if ((st = tensor(m, name, c->vocab_size, H, "vocab_size, hidden_size", &t))) return st;
    m->word = t->data, m->word_dt = t->dtype;
    snprintf(name, sizeof name, "%s.weight", fn->pos);
    if ((st = tensor(m, name, c->max_position_embeddings, H, "max_position_embeddings, hidden_size", &t))) return st;
    m->pos = t->data, m->pos_dt = t->dtype;
    if (fn->type) {
        snprintf(name, sizeof name, "%s.weight", fn->type);
        if ((st = tensor(m, name, c->type_vocab_size, H, "type_vocab_size, hidden_size", &t))) return st;
        m->type = t->data, m->type_dt = t->dtype;
    }
    if ((st = layernorm(m, fn->emb_ln, H, &v, &m->emb_g, &m->emb_b))) return st;
    if (c->rel_buckets) {
        snprintf(name, sizeof name, "%s.weight", fn->rel);
        snprintf(why, sizeof why, "relative_attention_num_buckets %d, num_attention_heads %d", c->rel_buckets, NH);
        if ((st = tensor(m, name, c->rel_buckets, NH, why, &t))) return st;
        m->rel_bias = v;
        nn_to_f32(nn_dt(t->dtype), t->data, v, (size_t)c->rel_buckets * NH);
        v += (size_t)c->rel_buckets * NH;
    }
    for (int l = 0; l < L; l++) {
        bert_layer *ly = &m->layer[l];
        float *w = m->qkv_w + (size_t)l * 3 * H * H;
        ly->qkv_b = v;
        v += 3 * H;
        for (int j = 0; j < 3; j++) {
            layer_name(name, sizeof name, fn, l, fn->qkv[j], ".weight");
            if ((st = tensor(m, name, H, H, "hidden_size, hidden_size", &t))) return st;
            nn_to_f32(nn_dt(t->dtype), t->data, w + (size_t)j * H * H, (size_t)H * H);
            layer_name(name, sizeof name, fn, l, fn->qkv[j], ".bias");
            if ((st = tensor(m, name, H, -1, "hidden_size", &t))) return st;
            nn_to_f32(nn_dt(t->dtype), t->data, ly->qkv_b + (size_t)j * H, (size_t)H);
        }
        if ((st = nn_weight_init(&ly->qkv, w, NN_F32, 3 * H, H, m->prec))) return st;
        layer_name(name, sizeof name, fn, l, fn->ao, ".weight");
        if ((st = linear(m, name, H, H, "hidden_size, hidden_size", &ly->ao))) return st;
        layer_name(name, sizeof name, fn, l, fn->ao, ".bias");
        if ((st = vec(m, name, H, "hidden_size", &v, &ly->ao_b))) return st;
        layer_name(name, sizeof name, fn, l, fn->ln1, "");
        if ((st = layernorm(m, name, H, &v, &ly->ln1_g, &ly->ln1_b))) return st;
        layer_name(name, sizeof name, fn, l, fn->inter, ".weight");
        if ((st = linear(m, name, I, H, "intermediate_size, hidden_size", &ly->inter))) return st;
        layer_name(name, sizeof name, fn, l, fn->inter, ".bias");
        if ((st = vec(m, name, I, "intermediate_size", &v, &ly->inter_b))) return st;
        layer_name(name, sizeof name, fn, l, fn->out, ".weight");
        if ((st = linear(m, name, H, I, "hidden_size, intermediate_size", &ly->out))) return st;
        layer_name(name, sizeof name, fn, l, fn->out, ".bias");
        if ((st = vec(m, name, H, "hidden_size", &v, &ly->out_b))) return st;
        layer_name(name, sizeof name, fn, l, fn->ln2, "");
        if ((st = layernorm(m, name, H, &v, &ly->ln2_g, &ly->ln2_b))) return st;
    }
    layer_name(name, sizeof name, fn, L, fn->qkv[0], ".weight");
    if (st_find(&m->st, name) || (snprintf(why, sizeof why, "%s%s", fn->prefix, name) > 0 && st_find(&m->st, why)))
        return wn_seterr(WN_ERR_FORMAT, "%s: has tensor '%s', but config.json says num_hidden_layers %d", m->st.path, name, L);
    if (m->kind == WN_MODEL_CROSSENCODER) {
        m->head_relu = c->family == FAMILY_DISTILBERT;
        snprintf(name, sizeof name, "%s.weight", fn->head_dense);
        if ((st = linear(m, name, H, H, "hidden_size, hidden_size", &m->pooler))) return st;
        snprintf(name, sizeof name, "%s.bias", fn->head_dense);
        if ((st = vec(m, name, H, "hidden_size", &v, &m->pooler_b))) return st;
        snprintf(why, sizeof why, "num_labels %d, hidden_size", NL);
        snprintf(name, sizeof name, "%s.weight", fn->head_out);
        if ((st = linear(m, name, NL, H, why, &m->classifier))) return st;
        snprintf(name, sizeof name, "%s.bias", fn->head_out);
        if ((st = vec(m, name, NL, "num_labels", &v, &m->cls_b))) return st;
    }
    WN_ASSERT((size_t)(v - m->vec) == n_vec);
    release_sources(m);
    return WN_OK;
}

static wn_status read_config(const char *dir, bert_config *c) {
    char *path = wn_path_join(dir, "config.json"), *text = NULL;
    size_t len;
    if (!path) return wn_seterr(WN_ERR_NOMEM, "out of memory");
    wn_status st = wn_read_file(path, &text, &len);
    if (st == WN_ERR_NOTFOUND)
        st = wn_seterr(WN_ERR_NOTFOUND, "%s: missing: a model directory needs config.json and model.safetensors", path);
    if (st == WN_OK) st = config_parse_bert(text, len, path, c);
    wn_free(text);
    wn_free(path);
    return st;
}

static wn_status open_weights(const char *dir, st_file *f) {
    char *path = wn_path_join(dir, "model.safetensors");
    if (!path) return wn_seterr(WN_ERR_NOMEM, "out of memory");
    wn_status st = WN_OK;
    if (!wn_file_exists(path)) {
        char *bin = wn_path_join(dir, "pytorch_model.bin");
        if (bin && wn_file_exists(bin))
            st = wn_seterr(WN_ERR_UNSUPPORTED,
                           "%s: winnow reads only model.safetensors, not pytorch_model.bin (pickle); convert it once, e.g. "
                           "python3 -c \"import torch; from safetensors.torch import save_file; "
                           "save_file({k: v.contiguous() for k, v in torch.load('pytorch_model.bin').items()}, 'model.safetensors')\"",
                           dir);
        else st = wn_seterr(WN_ERR_NOTFOUND, "%s: missing: a model directory needs model.safetensors", path);
        wn_free(bin);
    } else st = st_open(path, f);
    wn_free(path);
    return st;
}

wn_status model_load_dir(const char *dir, const wn_model_params *p, int with_tokenizer, wn_model **out) {
    *out = NULL;
    wn_model_params defp = wn_model_default_params();
    if (!p) p = &defp;
    if (p->max_batch < 0 || p->n_threads < 0 || p->reserve_tokens < 0)
        return wn_seterr(WN_ERR_ARG, "wn_model_load: max_batch %d, n_threads %d and reserve_tokens %d must not be negative",
                         p->max_batch, p->n_threads, p->reserve_tokens);
    if (!wn_dir_exists(dir)) return wn_seterr(WN_ERR_NOTFOUND, "%s: no such model directory", dir);
    char sub[512];
    int norm = 0;
    if (static_detect(dir, sub, sizeof sub, &norm)) return static_load_dir(dir, sub, norm, p, with_tokenizer, out);
    wn_model *m = wn_calloc(1, sizeof *m);
    if (!m) return wn_seterr(WN_ERR_NOMEM, "out of memory");
    wn_status st;
    m->max_batch = p->max_batch > 0 ? p->max_batch : 32;
    m->prec = p->precision == WN_PREC_BF16 ? NN_PREC_BF16 : p->precision == WN_PREC_INT8 ? NN_PREC_INT8 : NN_PREC_FP32;
    if ((st = read_config(dir, &m->cfg))) goto fail;
    m->kind = m->cfg.is_classifier ? WN_MODEL_CROSSENCODER : WN_MODEL_BIENCODER;
    m->prompts.def = -1;
    if (m->kind == WN_MODEL_BIENCODER) {
        if ((st = config_load_pooling(dir, m->cfg.hidden_size, &m->pc))) goto fail;
        if ((st = config_load_prompts(dir, &m->prompts))) goto fail;
        m->dim = pool_dim(&m->pc, m->cfg.hidden_size);
    } else {
        m->dim = m->cfg.num_labels;
    }
    if ((st = open_weights(dir, &m->st))) goto fail;
    if ((st = load_weights(m))) goto fail;
    if (p->threads) { /* the caller's pool; part_ws and split_task hold MODEL_MAX_THREADS */
        if (wn_pool_size(p->threads) > MODEL_MAX_THREADS) {
            st = wn_seterr(WN_ERR_ARG, "wn_model_load: the thread pool has %d threads, a model uses at most %d",
                           wn_pool_size(p->threads), MODEL_MAX_THREADS);
            goto fail;
        }
        m->ws.pool = p->threads, m->pool_borrowed = 1;
    } else if ((st = wn_pool_create(WN_MIN(p->n_threads > 0 ? p->n_threads : wn_ncpu(), MODEL_MAX_THREADS),
                                    &m->ws.pool)))
        goto fail;
    m->max_len = config_max_tokens(&m->cfg);
    if (m->pc.max_seq_len > 0) m->max_len = WN_MIN(m->max_len, m->pc.max_seq_len);
    if (with_tokenizer) {
        if ((st = wn_tokenizer_load(dir, &m->tok))) goto fail;
        int tl = wn_tokenizer_max_length(m->tok);
        if (tl > 0) m->max_len = WN_MIN(m->max_len, tl);
        if (wn_tokenizer_vocab_size(m->tok) > m->cfg.vocab_size) {
            st = wn_seterr(WN_ERR_FORMAT, "%s: the tokenizer has %d tokens, config.json says vocab_size %d", dir,
                           wn_tokenizer_vocab_size(m->tok), m->cfg.vocab_size);
            goto fail;
        }
    }
    if (p->reserve_tokens > 0 && (st = model_reserve(m, p->reserve_tokens))) goto fail;
    *out = m;
    return WN_OK;
fail:
    wn_model_free(m);
    return st;
}

/* inputs tokenised per round by run_text: all of a call up to this many; a reserved
 * model keeps a few batches' worth (its caller, the server, sorts by length already) */
#define TEXT_CHUNK 4096
#define TEXT_CHUNK_RESERVED_BATCHES 4

/* The embedding tables stay in the file mapping and are read row by row (release_sources):
 * each new token id would fault in a page, and the resident set would creep up over
 * hours as the vocabulary is met. Read here once, one byte a page: resident from the
 * start (a private read-only mapping: the pages are the page cache's, never copied). */
static void touch_embeddings(const wn_model *m) {
    if (!m->st.map) return;
    const size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    volatile unsigned char sink = 0;
    for (int i = 0; i < m->st.n; i++) {
        const st_tensor *t = &m->st.t[i];
        if (t->data != m->word && t->data != m->pos && t->data != m->type) continue;
        const unsigned char *p = t->data;
        size_t n = (size_t)(t->end - t->begin);
        (void)madvise((void *)((uintptr_t)p & ~(uintptr_t)(pg - 1)), n + ((uintptr_t)p & (pg - 1)), MADV_WILLNEED);
        for (size_t k = 0; k < n; k += pg) sink ^= p[k];
        if (n) sink ^= p[n - 1];
    }
    (void)sink;
}

wn_status model_reserve(wn_model *m, int tokens) {
    const int B0 = m->max_batch, T = config_max_tokens(&m->cfg), nth = wn_pool_size(m->ws.pool);
    /* one sequence of any length the model accepts fits; more than B0 of the longest never run */
    int64_t cap = WN_MIN((int64_t)tokens, (int64_t)B0 * m->max_len);
    m->tok_cap = (int)WN_MAX(cap, (int64_t)T);
    m->text_chunk = B0 * TEXT_CHUNK_RESERVED_BATCHES;
    const size_t C = (size_t)m->text_chunk, need = bert_scratch_bound(m, B0, m->tok_cap, T);
    if (!m->part_ws && nth > 1 && !(m->part_ws = wn_calloc((size_t)nth, sizeof *m->part_ws))) goto oom;
    if (need > m->ws.cap) {
        float *blk = wn_malloc_aligned(need * sizeof(float));
        if (!blk) goto oom;
        wn_free_aligned(m->ws.scratch);
        m->ws.scratch = blk, m->ws.cap = need;
    }
    m->r_ids = wn_calloc((size_t)m->tok_cap, sizeof *m->r_ids);
    m->r_types = wn_calloc((size_t)m->tok_cap, sizeof *m->r_types);
    m->r_len = wn_calloc((size_t)B0, sizeof *m->r_len);
    m->r_out = wn_calloc((size_t)B0 * m->dim, sizeof *m->r_out);
    m->r_order = wn_calloc(C, sizeof *m->r_order);
    m->t_ids = wn_calloc(C * m->max_len, sizeof *m->t_ids);
    m->t_types = wn_calloc(C * m->max_len, sizeof *m->t_types);
    m->t_pi = wn_calloc(C, sizeof *m->t_pi);
    m->t_pt = wn_calloc(C, sizeof *m->t_pt);
    m->t_lens = wn_calloc(C, sizeof *m->t_lens);
    if (!m->r_ids || !m->r_types || !m->r_len || !m->r_out || !m->r_order || !m->t_ids || !m->t_types || !m->t_pi ||
        !m->t_pt || !m->t_lens)
        goto oom;
    /* touched now: the pages are resident from the start, not when a large batch first comes */
    memset(m->ws.scratch, 0, m->ws.cap * sizeof(float));
    touch_embeddings(m);
    return WN_OK;
oom:
    return wn_seterr(WN_ERR_NOMEM, "model: out of memory reserving the activations of %d tokens (%d sequences of %d)",
                     m->tok_cap, B0, T);
}

wn_status wn_model_load(const char *name_or_dir, const wn_model_params *p, wn_model **out) {
    WN_ENTRY();
    *out = NULL;
    if (!name_or_dir) return wn_seterr(WN_ERR_ARG, "wn_model_load: no model name");
    wn_model_params defp = wn_model_default_params();
    if (!p) p = &defp;
    char dir[4096];
    wn_status st = wn_hub_resolve(name_or_dir, &p->hub, dir, sizeof dir);
    if (st != WN_OK) return st;
    return model_load_dir(dir, p, 1, out);
}

/* ---- running: length-sorted batches, results in input order */

/* ascending length, ties in input order (a stable, deterministic batching) */
static int cmp_len(const void *a, const void *b, void *ud) {
    const int *lens = ud;
    int64_t i = *(const int64_t *)a, j = *(const int64_t *)b;
    if (lens[i] != lens[j]) return lens[i] < lens[j] ? -1 : 1;
    return i < j ? -1 : i > j;
}

/* One padded batch: the sorted inputs order[0..B) on ws, outputs to out in
 * input order. bids, btypes: room for B * (longest) tokens; blen B; bout B * dim. */
typedef struct {
    const int32_t *const *ids, *const *types;
    const int *lens;
    float *out;
} run_io;

static wn_status run_batch(wn_model *m, bert_ws *ws, const run_io *io, const int64_t *order, int B, int32_t *bids,
                           int32_t *btypes, int *blen, float *bout) {
    int T = io->lens[order[B - 1]];
    memset(bids, 0, (size_t)B * T * sizeof *bids);
    memset(btypes, 0, (size_t)B * T * sizeof *btypes);
    for (int b = 0; b < B; b++) {
        int64_t i = order[b];
        blen[b] = io->lens[i];
        memcpy(bids + (size_t)b * T, io->ids[i], (size_t)io->lens[i] * sizeof *bids);
        if (io->types && io->types[i]) memcpy(btypes + (size_t)b * T, io->types[i], (size_t)io->lens[i] * sizeof *btypes);
    }
    const float *hidden;
    wn_status st = bert_forward_ws(m, ws, B, T, bids, btypes, blen, &hidden);
    if (st) return st;
    bert_head_ws(m, ws, B, T, hidden, blen, bout);
    for (int b = 0; b < B; b++)
        memcpy(io->out + (size_t)order[b] * m->dim, bout + (size_t)b * m->dim, (size_t)m->dim * sizeof *io->out);
    return WN_OK;
}

/* A batch split between the pool's threads: part p is order[cut[p]..cut[p+1]),
 * run by thread p alone on m->part_ws[p], with its own input buffers. */
typedef struct {
    wn_model *m;
    const run_io *io;
    const int64_t *order;
    int cut[MODEL_MAX_THREADS + 1];
    int32_t *bids[MODEL_MAX_THREADS], *btypes[MODEL_MAX_THREADS];
    int *blen[MODEL_MAX_THREADS];
    float *bout[MODEL_MAX_THREADS];
    int carved;      /* the buffers and scratch are slices of the model's reserved ones */
    wn_task_err err; /* the first part that failed, with its own message */
} split_task;

/* A reserved model (tok_cap): each part's scratch and buffers are slices of the
 * model's block and batch buffers, one after the other (the parts' tokens add up to at
 * most the batch's: bert_scratch_bound). Returns 0 if they do not fit (a bug; the
 * caller then allocates as an unreserved model does). */
static int carve_parts(wn_model *m, split_task *t, const run_io *io, const int64_t *order) {
    const int nth = wn_pool_size(m->ws.pool);
    size_t off = 0, tok = 0, seq = 0;
    for (int p = 0; p < nth; p++) {
        int Bp = t->cut[p + 1] - t->cut[p], Tp = io->lens[order[t->cut[p + 1] - 1]];
        bert_ws *w = &m->part_ws[p];
        if (!w->borrowed) wn_free_aligned(w->scratch);
        w->pool = NULL, w->borrowed = 1, w->scratch = m->ws.scratch + off;
        w->cap = bert_scratch_floats(m, w, Bp, Tp);
        off += (w->cap + 15) & ~(size_t)15; /* the next slice 64-byte aligned */
        t->bids[p] = m->r_ids + tok, t->btypes[p] = m->r_types + tok;
        t->blen[p] = m->r_len + seq, t->bout[p] = m->r_out + seq * m->dim;
        tok += (size_t)Bp * Tp, seq += (size_t)Bp;
    }
    if (off <= m->ws.cap && tok <= (size_t)m->tok_cap && seq <= (size_t)m->max_batch) return t->carved = 1;
    for (int p = 0; p < nth; p++) { /* not carved after all: each part grows its own */
        m->part_ws[p] = (bert_ws){0};
        t->bids[p] = t->btypes[p] = NULL, t->blen[p] = NULL, t->bout[p] = NULL;
    }
    return 0;
}

static void split_run(void *arg, int ith, int nth) {
    split_task *t = arg;
    (void)nth;
    int a = t->cut[ith], b = t->cut[ith + 1];
    if (a < b)
        wn_task_fail(&t->err, run_batch(t->m, &t->m->part_ws[ith], t->io, t->order + a, b - a, t->bids[ith],
                                        t->btypes[ith], t->blen[ith], t->bout[ith]));
}

/* Every id and type in range (what bert_forward checks; a split batch checks
 * first, on the calling thread, where the error message belongs). */
static wn_status check_ids(const wn_model *m, const run_io *io, const int64_t *order, int B) {
    for (int b = 0; b < B; b++) {
        int64_t i = order[b];
        for (int t = 0; t < io->lens[i]; t++) {
            wn_status st = bert_check_token(m, io->ids[i][t], io->types && io->types[i] ? io->types[i][t] : 0, t);
            if (st) return st;
        }
    }
    return WN_OK;
}

/* Runs the sorted batch order[0..B) split between nth threads: cuts balance the
 * parts' padded tokens (each part pads to its own longest). Every sequence's
 * result is computed alone by the kernels, so it is the same bit for bit as in
 * an unsplit batch. */
static wn_status run_split(wn_model *m, const run_io *io, const int64_t *order, int B, int nth) {
    split_task *t = wn_calloc(1, sizeof *t);
    if (!t) return wn_seterr(WN_ERR_NOMEM, "model: out of memory");
    wn_task_err_init(&t->err);
    wn_status st = check_ids(m, io, order, B);
    if (st) goto done;
    if (!m->part_ws) {
        m->part_ws = wn_calloc((size_t)nth, sizeof *m->part_ws);
        if (!m->part_ws) {
            st = wn_seterr(WN_ERR_NOMEM, "model: out of memory");
            goto done;
        }
    }
    t->m = m, t->io = io, t->order = order;
    int64_t total = 0, acc = 0;
    for (int b = 0; b < B; b++) total += io->lens[order[b]];
    t->cut[0] = 0;
    for (int p = 1, b = 0; p < nth; p++) { /* the first index whose cumulative tokens pass p/nth of them */
        while (b < B - (nth - p) && (acc + io->lens[order[b]]) * nth <= total * p) acc += io->lens[order[b++]];
        if (b < t->cut[p - 1] + 1) acc += io->lens[order[b++]]; /* every part non-empty */
        t->cut[p] = b;
    }
    t->cut[nth] = B;
    const int carved = m->tok_cap && carve_parts(m, t, io, order); /* the reserved block and buffers */
    for (int p = 0; p < nth && !st && !carved; p++) {
        int Bp = t->cut[p + 1] - t->cut[p], Tp = io->lens[order[t->cut[p + 1] - 1]];
        if ((st = bert_reserve(m, &m->part_ws[p], Bp, Tp))) break;
        t->bids[p] = wn_malloc((size_t)Bp * Tp * sizeof(int32_t));
        t->btypes[p] = wn_malloc((size_t)Bp * Tp * sizeof(int32_t));
        t->blen[p] = wn_malloc((size_t)Bp * sizeof(int));
        t->bout[p] = wn_malloc((size_t)Bp * m->dim * sizeof(float));
        if (!t->bids[p] || !t->btypes[p] || !t->blen[p] || !t->bout[p])
            st = wn_seterr(WN_ERR_NOMEM, "model: out of memory");
    }
    if (!st) {
        wn_pool_run(m->ws.pool, split_run, t);
        st = wn_task_raise(&t->err);
    }
done:
    if (!t->carved)
        for (int p = 0; p < nth; p++) wn_free(t->bids[p]), wn_free(t->btypes[p]), wn_free(t->blen[p]), wn_free(t->bout[p]);
    wn_free(t);
    return st;
}

wn_status model_run_ids(wn_model *m, int64_t n, const int32_t *const *ids, const int32_t *const *types,
                        const int *lens, float *out) {
    if (n <= 0) return WN_OK;
    if (m->stat) return static_run_ids(m, n, ids, lens, out); /* no special tokens, no types: the caller's ids as they are */
    for (int64_t i = 0; i < n; i++)
        if (lens[i] < 1 || lens[i] > config_max_tokens(&m->cfg))
            return wn_seterr(WN_ERR_ARG, "model: input %lld has %d tokens (1 to %d allowed)", (long long)i, lens[i],
                             config_max_tokens(&m->cfg));
    /* a reserved model (tok_cap) runs on its own buffers, allocated at load */
    const int res = m->tok_cap > 0, own_order = !res || n > m->text_chunk;
    int64_t *order = own_order ? wn_malloc((size_t)n * sizeof *order) : m->r_order;
    const int B0 = m->max_batch, nth = wn_pool_size(m->ws.pool);
    int *blen = res ? m->r_len : wn_malloc((size_t)B0 * sizeof *blen);
    int32_t *bids = res ? m->r_ids : NULL, *btypes = res ? m->r_types : NULL;
    float *bout = res ? m->r_out : wn_malloc((size_t)B0 * m->dim * sizeof *bout);
    run_io io = {ids, types, lens, out};
    wn_status st = WN_OK;
    if (!order || !blen || !bout) {
        st = wn_seterr(WN_ERR_NOMEM, "model: out of memory");
        goto done;
    }
    for (int64_t i = 0; i < n; i++) order[i] = i;
    qsort_r(order, (size_t)n, sizeof *order, cmp_len, (void *)lens);
    size_t id_cap = 0, ty_cap = 0;
    for (int64_t s = 0, B; s < n; s += B) {
        B = WN_MIN((int64_t)B0, n - s);
        while (res && B > 1 && B * lens[order[s + B - 1]] > m->tok_cap) B--; /* sorted: the longest is last */
        if (nth > 1 && B >= MODEL_SPLIT_MIN_PER_THREAD * nth && !m->tap) {
            if ((st = run_split(m, &io, order + s, (int)B, nth))) goto done;
            continue;
        }
        size_t need = (size_t)B * lens[order[s + B - 1]];
        if (!res && ((st = wn_grow((void **)&bids, &id_cap, need, sizeof *bids)) ||
                     (st = wn_grow((void **)&btypes, &ty_cap, need, sizeof *btypes)))) {
            st = wn_seterr(WN_ERR_NOMEM, "model: out of memory");
            goto done;
        }
        if ((st = run_batch(m, &m->ws, &io, order + s, (int)B, bids, btypes, blen, bout))) goto done;
    }
done:
    if (own_order) wn_free(order);
    if (!res) wn_free(blen), wn_free(bids), wn_free(btypes), wn_free(bout);
    return st;
}

/* ---- text in: tokenise a chunk of inputs, run it (sorted by length inside the
 * chunk), repeat; memory stays bounded however many texts a call passes. */

static wn_status run_text(wn_model *m, int64_t n, const char *const *a, const char *const *b, float *out) {
    if (!m->tok) return wn_seterr(WN_ERR_ARG, "model: loaded without a tokenizer");
    const int cap = m->max_len, res = m->tok_cap > 0;
    const int64_t chunk = WN_MIN(n, res ? (int64_t)m->text_chunk : (int64_t)TEXT_CHUNK);
    int32_t *ids = res ? m->t_ids : wn_malloc((size_t)chunk * cap * sizeof *ids);
    int32_t *types = res ? m->t_types : wn_malloc((size_t)chunk * cap * sizeof *types);
    const int32_t **pi = res ? m->t_pi : wn_malloc((size_t)chunk * sizeof *pi);
    const int32_t **pt = res ? m->t_pt : wn_malloc((size_t)chunk * sizeof *pt);
    int *lens = res ? m->t_lens : wn_malloc((size_t)chunk * sizeof *lens);
    wn_status st = WN_OK;
    if (!ids || !types || !pi || !pt || !lens) {
        st = wn_seterr(WN_ERR_NOMEM, "model: out of memory tokenising %lld inputs", (long long)chunk);
        goto done;
    }
    for (int64_t s0 = 0; s0 < n; s0 += chunk) {
        int64_t c = WN_MIN(chunk, n - s0);
        for (int64_t i = 0; i < c; i++) {
            const char *ta = a[s0 + i], *tb = b ? b[s0 + i] : NULL;
            if (!ta || (b && !tb)) {
                st = wn_seterr(WN_ERR_ARG, "model: input %lld is NULL", (long long)(s0 + i));
                goto done;
            }
            int32_t *ri = ids + (size_t)i * cap, *rt = types + (size_t)i * cap;
            if ((st = wn_tokenizer_encode(m->tok, ta, tb, cap, ri, rt, cap, &lens[i]))) goto done;
            pi[i] = ri;
            pt[i] = rt;
        }
        if ((st = model_run_ids(m, c, pi, pt, lens, out + (size_t)s0 * m->dim))) goto done;
    }
done:
    if (!res) wn_free(ids), wn_free(types), wn_free(pi), wn_free(pt), wn_free(lens);
    return st;
}

wn_status wn_model_embed(wn_model *m, int64_t n, const char *const *texts, float *out) {
    WN_ENTRY();
    if (!m || n < 0 || (n && (!texts || !out))) return wn_seterr(WN_ERR_ARG, "wn_model_embed: invalid arguments");
    if (m->kind != WN_MODEL_BIENCODER)
        return wn_seterr(WN_ERR_ARG, "wn_model_embed: this model is a cross-encoder (it scores pairs: use wn_model_score)");
    if (m->stat) return static_embed(m, n, texts, out);
    return run_text(m, n, texts, NULL, out);
}

wn_status wn_model_score(wn_model *m, int64_t n, const char *const *queries, const char *const *docs, float *out) {
    WN_ENTRY();
    if (!m || n < 0 || (n && (!queries || !docs || !out))) return wn_seterr(WN_ERR_ARG, "wn_model_score: invalid arguments");
    if (m->kind != WN_MODEL_CROSSENCODER)
        return wn_seterr(WN_ERR_ARG, "wn_model_score: this model is a bi-encoder (it embeds texts: use wn_model_embed)");
    if (m->stat) return static_score(m, n, queries, docs, out);
    return run_text(m, n, queries, docs, out);
}
