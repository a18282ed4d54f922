/*
 * static.c - static embedding models: a table of token vectors, the sentence
 * embedding being the mean of its tokens' rows, then (with a Normalize module)
 * L2 normalisation. This is sentence-transformers' StaticEmbedding (an
 * EmbeddingBag in mean mode) and model2vec's layout, loaded as they store it:
 *
 *   DIR/modules.json              [{"path": "0_StaticEmbedding", "type":
 *                                   "sentence_transformers.models.StaticEmbedding"},
 *                                  {"path": "1_Normalize", "type": "...Normalize"}]
 *   DIR/0_StaticEmbedding/model.safetensors   "embedding.weight" (V, D), F32/F16/BF16
 *                                             (model2vec: "embeddings")
 *   DIR/0_StaticEmbedding/tokenizer.json      the tokenizer (WordPiece here)
 *
 * As StaticEmbedding does, texts are tokenised without special tokens and without
 * truncation (its max_seq_length is infinite); an empty text embeds as zeros.
 * A learned per-token weight is folded into the rows (the normalised mean of
 * w_t * e_t is the normalised weighted mean of e_t), so the file holds one table.
 * A pair scorer is the same model declared a re-ranker in its
 * config_sentence_transformers.json ("winnow": {"pair_scorer": true,
 * "rerank_interpolate": A}): its kind is then WN_MODEL_CROSSENCODER (it scores pairs)
 * and the score of (query, document) is the cosine of their embeddings
 * (sentence-transformers: model.similarity(model.encode(q), model.encode(d))), no
 * prompts. It reads the two texts apart (no cross-attention): a cheap re-ranker that
 * brings the embeddings' signal to any first stage (models/README.md says what it buys).
 * What it does not do: token types.
 */
#include <math.h>
#include <string.h>

#include "model.h"
#include "util/json.h"

/* Dimensions: V vocab (table rows), D embedding size, T tokens of one text. */

struct static_model {
    int V, D;
    float *table; /* (V, D) f32, converted at load */
    int normalize;
};

/* The module path of a StaticEmbedding in modules.json (a JSON array of {"path",
 * "type"} objects, parsed with util/json.h) into path (cap bytes), and whether a
 * Normalize module follows. 1 found, 0 not a static model (or not a modules.json this
 * reads: config.c then parses it for a transformer model and reports what is wrong). */
static int find_static_module(const wn_json *root, char *path, size_t cap, int *normalize) {
    int found = 0;
    *normalize = 0;
    path[0] = 0;
    if (!wn_json_is_array(root)) return 0;
    for (const wn_json *e = root->child; e; e = e->next) {
        const char *type = wn_json_str(wn_json_get(e, "type"));
        if (!type) continue;
        const char *dot = strrchr(type, '.');
        const char *base = dot ? dot + 1 : type;
        if (!strcmp(base, "Normalize")) *normalize = 1;
        if (found || strcmp(base, "StaticEmbedding")) continue;
        const char *p = wn_json_str(wn_json_get(e, "path"));
        size_t n = p ? strlen(p) : 0;
        if (n >= cap) n = cap - 1; /* static_load_dir then names the path it did not find */
        if (n) memcpy(path, p, n);
        path[n] = 0;
        found = 1;
    }
    return found;
}

int static_detect(const char *dir, char *sub, size_t cap, int *normalize) {
    char *path = wn_path_join(dir, "modules.json"), *text = NULL;
    size_t len = 0;
    wn_json *root = NULL;
    int found = 0;
    if (path && wn_file_exists(path) && wn_read_file(path, &text, &len) == WN_OK &&
        wn_json_parse(text, len, 0, path, &root) == WN_OK)
        found = find_static_module(root, sub, cap, normalize);
    wn_clearerr();
    wn_json_free(root);
    wn_free(text);
    wn_free(path);
    return found;
}

void static_free(struct static_model *s) {
    if (!s) return;
    wn_free_aligned(s->table);
    wn_free(s);
}

static nn_dtype st2nn(st_dtype d) { return d == ST_F16 ? NN_F16 : d == ST_BF16 ? NN_BF16 : NN_F32; }

wn_status static_load_dir(const char *dir, const char *sub, int normalize, const wn_model_params *p, int with_tokenizer,
                          wn_model **out) {
    (void)p;
    *out = NULL;
    wn_status st = WN_OK;
    char *mdir = wn_path_join(dir, sub[0] ? sub : "."), *wpath = NULL;
    wn_model *m = wn_calloc(1, sizeof *m);
    struct static_model *s = wn_calloc(1, sizeof *s);
    if (!mdir || !m || !s) {
        st = wn_seterr(WN_ERR_NOMEM, "out of memory");
        goto fail;
    }
    m->stat = s;
    m->prompts.def = -1;
    if (strstr(sub, "..")) {
        st = wn_seterr(WN_ERR_FORMAT, "%s/modules.json: the StaticEmbedding module's path \"%s\" leaves the model directory",
                       dir, sub);
        goto fail;
    }
    s->normalize = normalize;
    if (!(wpath = wn_path_join(mdir, "model.safetensors"))) {
        st = wn_seterr(WN_ERR_NOMEM, "out of memory");
        goto fail;
    }
    if (!wn_file_exists(wpath)) {
        st = wn_seterr(WN_ERR_NOTFOUND, "%s: missing: a StaticEmbedding module needs model.safetensors", wpath);
        goto fail;
    }
    if ((st = st_open(wpath, &m->st))) goto fail;
    const st_tensor *t = st_find(&m->st, "embedding.weight");
    if (!t) t = st_find(&m->st, "embeddings"); /* model2vec */
    if (!t) {
        st = wn_seterr(WN_ERR_NOTFOUND, "%s: tensor 'embedding.weight' is missing (also looked for 'embeddings')", wpath);
        goto fail;
    }
    if (t->dtype != ST_F32 && t->dtype != ST_F16 && t->dtype != ST_BF16) {
        st = wn_seterr(WN_ERR_UNSUPPORTED, "%s: tensor '%s' has dtype %s; weights must be F32, F16 or BF16", wpath, t->name,
                       st_dtype_name(t->dtype));
        goto fail;
    }
    if (t->ndim != 2 || t->shape[0] < 1 || t->shape[1] < 1 || t->shape[0] > INT32_MAX || t->shape[1] > 65536) {
        st = wn_seterr(WN_ERR_FORMAT, "%s: tensor '%s' must be (vocab, dim) with dim <= 65536, has %d dimensions", wpath,
                       t->name, t->ndim);
        goto fail;
    }
    s->V = (int)t->shape[0];
    s->D = (int)t->shape[1];
    if (!(s->table = wn_malloc_aligned((size_t)s->V * s->D * sizeof(float)))) {
        st = wn_seterr(WN_ERR_NOMEM, "%s: out of memory for a (%d, %d) table", wpath, s->V, s->D);
        goto fail;
    }
    nn_to_f32(st2nn(t->dtype), t->data, s->table, (size_t)s->V * s->D);
    st_close(&m->st);
    m->kind = WN_MODEL_BIENCODER;
    m->dim = s->D;
    m->max_len = STATIC_MAX_TOKENS;
    m->max_batch = 1;
    m->cfg.vocab_size = s->V;
    m->cfg.hidden_size = s->D;
    if ((st = config_load_prompts(dir, &m->prompts))) goto fail; /* sentence-transformers' prompts, as for any bi-encoder */
    if (m->prompts.pair_scorer) { /* a re-ranker: scores pairs (static_score), one "label" */
        m->kind = WN_MODEL_CROSSENCODER;
        m->cfg.num_labels = 1;
        m->cfg.rerank_interpolate = m->prompts.rerank_interpolate;
    }
    if (with_tokenizer) {
        if ((st = wn_tokenizer_load(mdir, &m->tok))) goto fail;
        if (wn_tokenizer_vocab_size(m->tok) > s->V) {
            st = wn_seterr(WN_ERR_FORMAT, "%s: the tokenizer has %d tokens, the embedding table %d rows", mdir,
                           wn_tokenizer_vocab_size(m->tok), s->V);
            goto fail;
        }
    }
    wn_free(mdir);
    wn_free(wpath);
    *out = m;
    return WN_OK;
fail:
    wn_free(mdir);
    wn_free(wpath);
    if (m && !m->stat) static_free(s);
    wn_model_free(m);
    return st;
}

/* out (D) = normalised mean of the rows of ids (n of them). */
static void pool_ids(const struct static_model *s, const int32_t *ids, int n, float *out) {
    const int D = s->D;
    memset(out, 0, (size_t)D * sizeof *out);
    for (int i = 0; i < n; i++) {
        const float *r = s->table + (size_t)ids[i] * D;
        for (int d = 0; d < D; d++) out[d] += r[d];
    }
    if (n > 0)
        for (int d = 0; d < D; d++) out[d] /= (float)n;
    if (s->normalize) {
        double ss = 0;
        for (int d = 0; d < D; d++) ss += (double)out[d] * out[d];
        float inv = 1.0f / (float)fmax(sqrt(ss), 1e-12);
        for (int d = 0; d < D; d++) out[d] *= inv;
    }
}

wn_status static_run_ids(wn_model *m, int64_t n, const int32_t *const *ids, const int *lens, float *out) {
    const struct static_model *s = m->stat;
    for (int64_t i = 0; i < n; i++) {
        for (int k = 0; k < lens[i]; k++)
            if (ids[i][k] < 0 || ids[i][k] >= s->V)
                return wn_seterr(WN_ERR_ARG, "model: input %lld, token %d: id %d is outside the table's %d rows", (long long)i, k,
                                 ids[i][k], s->V);
        pool_ids(s, ids[i], lens[i], out + (size_t)i * s->D);
    }
    return WN_OK;
}

wn_status static_embed(wn_model *m, int64_t n, const char *const *texts, float *out) {
    if (!m->tok) return wn_seterr(WN_ERR_ARG, "model: loaded without a tokenizer");
    for (int64_t i = 0; i < n; i++) {
        if (!texts[i]) return wn_seterr(WN_ERR_ARG, "model: input %lld is NULL", (long long)i);
        int32_t *ids = NULL;
        int len = 0;
        wn_status st = wn_tokenizer_tokenize(m->tok, texts[i], &ids, &len);
        if (st != WN_OK) return st;
        const int32_t *pi = ids;
        st = static_run_ids(m, 1, &pi, &len, out + (size_t)i * m->dim);
        wn_free_buffer(ids);
        if (st != WN_OK) return st;
    }
    return WN_OK;
}

const float *static_table(const wn_model *m, int *V, int *D) {
    if (!m->stat) return NULL;
    *V = m->stat->V;
    *D = m->stat->D;
    return m->stat->table;
}

wn_status static_score(wn_model *m, int64_t n, const char *const *queries, const char *const *docs, float *out) {
    const int D = m->stat->D;
    float *v = wn_malloc(2 * (size_t)D * sizeof *v);
    if (!v) return wn_seterr(WN_ERR_NOMEM, "model: out of memory scoring pairs");
    wn_status st = WN_OK;
    for (int64_t i = 0; i < n && st == WN_OK; i++) {
        if (!queries[i] || !docs[i]) {
            st = wn_seterr(WN_ERR_ARG, "model: pair %lld has a NULL text", (long long)i);
            break;
        }
        /* a re-ranker's pairs share their query: embedded once while it repeats */
        int same_query = i > 0 && (queries[i] == queries[i - 1] || !strcmp(queries[i], queries[i - 1]));
        if (!same_query && (st = static_embed(m, 1, &queries[i], v)) != WN_OK) break;
        if ((st = static_embed(m, 1, &docs[i], v + D)) != WN_OK) break;
        double dot = 0, qq = 0, dd = 0;
        for (int d = 0; d < D; d++) {
            dot += (double)v[d] * v[D + d];
            qq += (double)v[d] * v[d];
            dd += (double)v[D + d] * v[D + d];
        }
        out[i] = qq > 0 && dd > 0 ? (float)(dot / sqrt(qq * dd)) : 0.0f; /* an empty text scores 0 */
    }
    wn_free(v);
    return st;
}
