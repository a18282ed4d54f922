/*
 * params.c - the trainable parameters of a BERT encoder in one fp32 block, with
 * a table of their HuggingFace names and shapes (the checkpoint's order) and the
 * weight-decay rule sentence-transformers uses (no decay for biases and
 * LayerNorm weights). Loads a model directory's weights (F32/F16/BF16) and
 * writes them back as F32 safetensors. It does not run anything: backward.c does.
 *
 * Query, key and value of a layer sit next to each other in the block ((3H, H)
 * weights, then (3H) biases) so the forward runs them as one product, as
 * src/model does; the table still names them as three tensors.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/safetensors.h"
#include "train.h"

/* Dimensions: H hidden, I intermediate, L layers, V vocab, P positions, TV types, NL labels. */

typedef struct {
    train_model *m;
    size_t off;
} builder;

/* Appends a tensor of n floats named base (+ ".weight"/".bias" by the caller) and
 * returns its offset. decay follows sentence-transformers' rule. */
static size_t add(builder *b, const char *name, int d0, int d1, int decay) {
    train_model *m = b->m;
    train_tensor *t = &m->t[m->n_tensors++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->ndim = d1 > 0 ? 2 : 1;
    t->shape[0] = d0;
    t->shape[1] = d1 > 0 ? d1 : 0;
    t->n = (size_t)d0 * (d1 > 0 ? (size_t)d1 : 1);
    t->off = b->off;
    t->decay = decay;
    b->off += t->n;
    return t->off;
}

/* Reads "key": number from config.json text (dropout probabilities); def if absent. */
static float json_num(const char *text, const char *key, float def) {
    char pat[80];
    snprintf(pat, sizeof pat, "\"%s\"", key);
    const char *p = strstr(text, pat);
    if (!p) return def;
    p += strlen(pat);
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
    if (*p != ':') return def;
    char *end;
    double v = strtod(p + 1, &end);
    return end == p + 1 ? def : (float)v;
}

static wn_status fetch(const st_file *f, const char *name, size_t n, float *dst) {
    const st_tensor *t = st_find(f, name);
    if (!t && !strncmp(name, "bert.", 5)) t = st_find(f, name + 5);
    if (!t) {
        char alt[160];
        snprintf(alt, sizeof alt, "bert.%s", name);
        t = st_find(f, alt);
    }
    if (!t) return wn_seterr(WN_ERR_NOTFOUND, "%s: tensor '%s' is missing", f->path, name);
    if (t->dtype != ST_F32 && t->dtype != ST_F16 && t->dtype != ST_BF16)
        return wn_seterr(WN_ERR_UNSUPPORTED, "%s: tensor '%s' has dtype %s (F32, F16 or BF16 needed)", f->path,
                         t->name, st_dtype_name(t->dtype));
    if ((size_t)st_numel(t) != n)
        return wn_seterr(WN_ERR_FORMAT, "%s: tensor '%s' has %lld values, config.json implies %zu", f->path, t->name,
                         (long long)st_numel(t), n);
    nn_to_f32(t->dtype == ST_F16 ? NN_F16 : t->dtype == ST_BF16 ? NN_BF16 : NN_F32, t->data, dst, n);
    return WN_OK;
}

/* HF's BertPreTrainedModel._init_weights: linear and embedding weights ~ N(0, std),
 * biases 0, LayerNorm weights 1 and biases 0, the padding token's embedding row 0.
 * Normal values by Box-Muller from a counter-based generator keyed by (seed,
 * tensor, element): the same seed gives the same model. */
static uint64_t mix64(uint64_t z) {
    z += 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static void init_random(train_model *m, uint64_t seed, float std, int pad_id) {
    for (int i = 0; i < m->n_tensors; i++) {
        const train_tensor *t = &m->t[i];
        float *w = m->w + t->off;
        size_t k = strlen(t->name);
        int is_bias = k >= 5 && !strcmp(t->name + k - 5, ".bias");
        int is_ln = strstr(t->name, "LayerNorm") != NULL;
        if (is_bias || is_ln) {
            for (size_t e = 0; e < t->n; e++) w[e] = is_ln && !is_bias ? 1.0f : 0.0f;
            continue;
        }
        uint64_t key = mix64(seed ^ mix64((uint64_t)i + 1));
        for (size_t e = 0; e < t->n; e++) {
            double u1 = ((double)(mix64(key + 2 * e) >> 11) + 1.0) * (1.0 / 9007199254740993.0);
            double u2 = (double)(mix64(key + 2 * e + 1) >> 11) * (1.0 / 9007199254740992.0);
            w[e] = (float)(std * sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
        }
        if (strstr(t->name, "word_embeddings") && pad_id >= 0 && pad_id < t->shape[0])
            memset(w + (size_t)pad_id * t->shape[1], 0, sizeof(float) * (size_t)t->shape[1]);
    }
}

static wn_status create(const char *dir, const char *config, uint64_t seed, int n_threads, int mlm, train_model **out);

wn_status train_model_load(const char *dir, int n_threads, train_model **out) {
    return create(dir, NULL, 0, n_threads, 0, out);
}

wn_status train_model_create(const char *dir, const char *config, uint64_t seed, int n_threads, train_model **out) {
    return create(dir, config, seed, n_threads, 0, out);
}

wn_status train_model_create_mlm(const char *dir, const char *config, uint64_t seed, int n_threads, train_model **out) {
    return create(dir, config, seed, n_threads, 1, out);
}

static wn_status create(const char *dir, const char *config, uint64_t seed, int n_threads, int mlm, train_model **out) {
    *out = NULL;
    char *path = NULL, *text = NULL;
    size_t len;
    st_file f;
    memset(&f, 0, sizeof f);
    wn_status st;
    train_model *m = wn_calloc(1, sizeof *m);
    if (!m) return wn_seterr(WN_ERR_NOMEM, "train: out of memory");
    if (!(path = config ? wn_strdup(config) : wn_path_join(dir, "config.json"))) goto nomem;
    if ((st = wn_read_file(path, &text, &len))) goto fail;
    if ((st = config_parse_bert(text, len, path, &m->cfg))) goto fail;
    m->p_hidden = json_num(text, "hidden_dropout_prob", 0.1f);
    m->p_attn = json_num(text, "attention_probs_dropout_prob", 0.1f);
    m->kind = mlm ? TRAIN_MLM : m->cfg.is_classifier ? TRAIN_CE : TRAIN_BI;
    const bert_config *c = &m->cfg;
    const int H = c->hidden_size, I = c->intermediate_size, L = c->num_hidden_layers, NL = c->num_labels;
    if (mlm && m->cfg.is_classifier) {
        st = wn_seterr(WN_ERR_ARG, "%s: a cross-encoder (sequence classification); MLM training needs an encoder", dir);
        goto fail;
    }
    if (m->kind != TRAIN_CE) {
        if ((st = config_load_pooling(dir, H, &m->pc))) goto fail;
        m->dim = pool_dim(&m->pc, H);
    } else {
        m->dim = NL;
    }
    wn_free(path);
    path = NULL;
    const char *pre = m->kind != TRAIN_BI ? "bert." : "";
    if (!config) {
        if (!(path = wn_path_join(dir, "model.safetensors"))) goto nomem;
        if ((st = st_open(path, &f))) goto fail;
        /* the prefix the file uses for the encoder ("bert." in classifiers) */
        pre = st_find(&f, "embeddings.word_embeddings.weight") && !mlm ? "" : "bert.";
    }

    m->t = wn_calloc((size_t)16 * L + 24, sizeof *m->t);
    m->layer = wn_calloc((size_t)L + 1, sizeof *m->layer);
    m->packed = wn_calloc((size_t)4 * L + 2, sizeof *m->packed);
    m->packed_t = wn_calloc((size_t)4 * L + 2, sizeof *m->packed_t);
    if (!m->t || !m->layer || !m->packed || !m->packed_t) goto nomem;
    builder b = {m, 0};
    char nm[112];
#define NAME(...) (snprintf(nm, sizeof nm, __VA_ARGS__), nm)
    size_t o_word = add(&b, NAME("%sembeddings.word_embeddings.weight", pre), c->vocab_size, H, 1);
    size_t o_pos = add(&b, NAME("%sembeddings.position_embeddings.weight", pre), c->max_position_embeddings, H, 1);
    size_t o_type = add(&b, NAME("%sembeddings.token_type_embeddings.weight", pre), c->type_vocab_size, H, 1);
    size_t o_eg = add(&b, NAME("%sembeddings.LayerNorm.weight", pre), H, 0, 0);
    size_t o_eb = add(&b, NAME("%sembeddings.LayerNorm.bias", pre), H, 0, 0);
    size_t *lo = wn_calloc((size_t)L * 16 + 1, sizeof *lo);
    if (!lo) goto nomem;
    static const char *qkv[3] = {"query", "key", "value"};
    for (int l = 0; l < L; l++) {
        size_t *o = lo + (size_t)l * 16;
        /* the three weights first, then the three biases: stacked in the block */
        size_t wq = b.off, bq = b.off + (size_t)3 * H * H;
        for (int j = 0; j < 3; j++) {
            b.off = wq + (size_t)j * H * H;
            add(&b, NAME("%sencoder.layer.%d.attention.self.%s.weight", pre, l, qkv[j]), H, H, 1);
            b.off = bq + (size_t)j * H;
            add(&b, NAME("%sencoder.layer.%d.attention.self.%s.bias", pre, l, qkv[j]), H, 0, 0);
        }
        o[0] = wq, o[1] = bq;
        b.off = bq + (size_t)3 * H;
        o[2] = add(&b, NAME("%sencoder.layer.%d.attention.output.dense.weight", pre, l), H, H, 1);
        o[3] = add(&b, NAME("%sencoder.layer.%d.attention.output.dense.bias", pre, l), H, 0, 0);
        o[4] = add(&b, NAME("%sencoder.layer.%d.attention.output.LayerNorm.weight", pre, l), H, 0, 0);
        o[5] = add(&b, NAME("%sencoder.layer.%d.attention.output.LayerNorm.bias", pre, l), H, 0, 0);
        o[6] = add(&b, NAME("%sencoder.layer.%d.intermediate.dense.weight", pre, l), I, H, 1);
        o[7] = add(&b, NAME("%sencoder.layer.%d.intermediate.dense.bias", pre, l), I, 0, 0);
        o[8] = add(&b, NAME("%sencoder.layer.%d.output.dense.weight", pre, l), H, I, 1);
        o[9] = add(&b, NAME("%sencoder.layer.%d.output.dense.bias", pre, l), H, 0, 0);
        o[10] = add(&b, NAME("%sencoder.layer.%d.output.LayerNorm.weight", pre, l), H, 0, 0);
        o[11] = add(&b, NAME("%sencoder.layer.%d.output.LayerNorm.bias", pre, l), H, 0, 0);
    }
    size_t o_pw = 0, o_pb = 0, o_cw = 0, o_cb = 0;
    if (m->kind == TRAIN_CE) {
        o_pw = add(&b, NAME("%spooler.dense.weight", pre), H, H, 1);
        o_pb = add(&b, NAME("%spooler.dense.bias", pre), H, 0, 0);
        o_cw = add(&b, "classifier.weight", NL, H, 1);
        o_cb = add(&b, "classifier.bias", NL, 0, 0);
    }
    size_t o_mw = 0, o_mb = 0, o_mg = 0, o_mbeta = 0, o_mbias = 0;
    if (mlm) {
        o_mw = add(&b, "cls.predictions.transform.dense.weight", H, H, 1);
        o_mb = add(&b, "cls.predictions.transform.dense.bias", H, 0, 0);
        o_mg = add(&b, "cls.predictions.transform.LayerNorm.weight", H, 0, 0);
        o_mbeta = add(&b, "cls.predictions.transform.LayerNorm.bias", H, 0, 0);
        o_mbias = add(&b, "cls.predictions.bias", c->vocab_size, 0, 0);
    }
#undef NAME
    m->n_params = b.off;
    m->w = wn_malloc_aligned(m->n_params * sizeof(float));
    m->g = wn_malloc_aligned(m->n_params * sizeof(float));
    if (!m->w || !m->g) {
        wn_free(lo);
        goto nomem;
    }
    memset(m->g, 0, m->n_params * sizeof(float));
    if (config || mlm)
        init_random(m, seed, json_num(text, "initializer_range", 0.02f), (int)json_num(text, "pad_token_id", 0));
    for (int i = 0; i < m->n_tensors && !st && !config; i++) {
        const train_tensor *t = &m->t[i];
        if (!strncmp(t->name, "cls.", 4) && !st_find(&f, t->name)) continue; /* a new head: initialised above */
        st = fetch(&f, t->name, t->n, m->w + t->off);
    }
    if (st) {
        wn_free(lo);
        goto fail;
    }
    m->word = m->w + o_word, m->pos = m->w + o_pos, m->type = m->w + o_type;
    m->emb_g = m->w + o_eg, m->emb_b = m->w + o_eb;
    for (int l = 0; l < L; l++) {
        const size_t *o = lo + (size_t)l * 16;
        train_layer *ly = &m->layer[l];
        ly->qkv_w = m->w + o[0], ly->qkv_b = m->w + o[1];
        ly->ao_w = m->w + o[2], ly->ao_b = m->w + o[3], ly->ln1_g = m->w + o[4], ly->ln1_b = m->w + o[5];
        ly->i_w = m->w + o[6], ly->i_b = m->w + o[7], ly->o_w = m->w + o[8], ly->o_b = m->w + o[9];
        ly->ln2_g = m->w + o[10], ly->ln2_b = m->w + o[11];
    }
    wn_free(lo);
    if (m->kind == TRAIN_CE) {
        m->pool_w = m->w + o_pw, m->pool_b = m->w + o_pb;
        m->cls_w = m->w + o_cw, m->cls_b = m->w + o_cb;
    }
    if (mlm) {
        m->mlm_w = m->w + o_mw, m->mlm_b = m->w + o_mb, m->mlm_g = m->w + o_mg, m->mlm_beta = m->w + o_mbeta;
        m->mlm_bias = m->w + o_mbias;
    }
    if ((st = wn_pool_create(n_threads, &m->pool))) goto fail;
    st_close(&f);
    wn_free(path);
    wn_free(text);
    *out = m;
    return WN_OK;
nomem:
    st = wn_seterr(WN_ERR_NOMEM, "train: out of memory loading %s", dir);
fail:
    st_close(&f);
    wn_free(path);
    wn_free(text);
    train_model_free(m);
    return st;
}

void train_model_touch(train_model *m) { m->packed_ok = 0; }

void train_zero_grad(train_model *m) { memset(m->g, 0, m->n_params * sizeof(float)); }

void train_model_free(train_model *m) {
    if (!m) return;
    for (int i = 0; i < 4 * m->cfg.num_hidden_layers + 2; i++) {
        if (m->packed) nn_weight_free(&m->packed[i]);
        if (m->packed_t) nn_weight_free(&m->packed_t[i]);
    }
    wn_free(m->packed);
    wn_free(m->packed_t);
    wn_free_aligned(m->wt);
    wn_free(m->t);
    wn_free(m->layer);
    wn_free_aligned(m->w);
    wn_free_aligned(m->g);
    wn_pool_free(m->pool);
    wn_free(m);
}

wn_status train_model_save_weights(const train_model *m, const char *path) {
    st_out_tensor *o = wn_calloc((size_t)m->n_tensors, sizeof *o);
    if (!o) return wn_seterr(WN_ERR_NOMEM, "train: out of memory saving %s", path);
    for (int i = 0; i < m->n_tensors; i++) {
        const train_tensor *t = &m->t[i];
        o[i].name = t->name;
        o[i].dtype = ST_F32;
        o[i].ndim = t->ndim;
        o[i].shape[0] = t->shape[0];
        o[i].shape[1] = t->shape[1];
        o[i].data = m->w + t->off;
    }
    wn_status st = st_write(path, o, m->n_tensors);
    wn_free(o);
    return st;
}
