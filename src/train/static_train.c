/*
 * static_train.c - trains a static embedding model on (query, positive) pairs.
 *
 * Model: a token table E (V, D) and a per-token weight w_t = softplus(u_t); a
 * text's vector is x = sum_t w_t E_t over its word-pieces (no special tokens), its
 * embedding x / |x|. Written out with w_t folded into the rows, as the table of
 * sentence-transformers' StaticEmbedding (the mean of the rows has x's direction);
 * rows of tokens never seen in the training data are written as zeros, so such
 * tokens do not move an embedding.
 * Loss: MultipleNegativesRankingLoss (train_mnrl in loss.c, in double): scores = scale * cos(q_i, d_j)
 * over the batch's documents, cross-entropy with d_i the target; a batch never
 * holds the same document (or query) twice.
 * Optimiser: Adam (beta 0.9 / 0.999, eps 1e-8), sparse: only the rows of the
 * tokens in a batch move (PyTorch's SparseAdam), with the global step's bias
 * correction. Fixed learning rate.
 * Determinism: every sum has a fixed order; the D dimensions are cut into NS
 * fixed slices that threads take in turn, and the per-slice partial dot products
 * are added in slice order, so the result does not depend on the thread count.
 * What it does not do: hard negatives from the data, schedules, checkpoints.
 *
 * Dimensions: V vocab, D embedding size, B batch (pairs), U distinct tokens of a
 * batch, NS dimension slices.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "model/model.h"
#include "model/safetensors.h"
#include "nn/nn.h"
#include "train.h"

#define NS 8 /* fixed dimension slices: results independent of the thread count */

wn_static_train_params wn_static_train_default_params(void) {
    wn_static_train_params p;
    memset(&p, 0, sizeof p);
    p.dim = 256;
    p.batch = 256;
    p.lr = 5e-3f;
    p.scale = 20.0f;
    p.seed = 42;
    p.max_tokens = 256;
    p.fp16 = 1;
    return p;
}

/* ---- JSONL pairs */

static int hexv(char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static const char *skip_ws(const char *s) {
    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n') s++;
    return s;
}

static int utf8_put(char *o, uint32_t c) {
    if (c < 0x80) return o[0] = (char)c, 1;
    if (c < 0x800) return o[0] = (char)(0xC0 | c >> 6), o[1] = (char)(0x80 | (c & 63)), 2;
    if (c < 0x10000)
        return o[0] = (char)(0xE0 | c >> 12), o[1] = (char)(0x80 | (c >> 6 & 63)), o[2] = (char)(0x80 | (c & 63)), 3;
    o[0] = (char)(0xF0 | c >> 18), o[1] = (char)(0x80 | (c >> 12 & 63)), o[2] = (char)(0x80 | (c >> 6 & 63));
    o[3] = (char)(0x80 | (c & 63));
    return 4;
}

/* A JSON string at *s (at its opening quote): its unescaped text into a new buffer
 * (*out, may be NULL to skip); *s moves past the closing quote. 0 on bad syntax. */
static int json_string(const char **s, char **out) {
    const char *p = *s;
    if (*p != '"') return 0;
    p++;
    size_t cap = 0;
    const char *e = p;
    while (*e && *e != '"') e += (*e == '\\' && e[1]) ? 2 : 1;
    if (*e != '"') return 0;
    cap = (size_t)(e - p) + 1;
    char *o = out ? wn_malloc(cap) : NULL, *w = o;
    if (out && !o) return -1;
    while (p < e) {
        if (*p != '\\') {
            if (w) *w++ = *p;
            p++;
            continue;
        }
        p++;
        char c = *p++;
        char lit = c == 'n' ? '\n' : c == 't' ? '\t' : c == 'r' ? '\r' : c == 'b' ? '\b' : c == 'f' ? '\f' : c;
        if (c == 'u') {
            uint32_t u = 0;
            for (int k = 0; k < 4; k++) {
                int h = hexv(p[k]);
                if (h < 0) goto bad;
                u = u * 16 + (uint32_t)h;
            }
            p += 4;
            if (u >= 0xD800 && u < 0xDC00 && p[0] == '\\' && p[1] == 'u') {
                uint32_t l = 0;
                int ok = 1;
                for (int k = 0; k < 4; k++) {
                    int h = hexv(p[2 + k]);
                    if (h < 0) ok = 0;
                    else l = l * 16 + (uint32_t)h;
                }
                if (ok && l >= 0xDC00 && l < 0xE000) {
                    u = 0x10000 + ((u - 0xD800) << 10) + (l - 0xDC00);
                    p += 6;
                }
            }
            if (u >= 0xD800 && u < 0xE000) u = 0xFFFD; /* a lone surrogate */
            if (w) w += utf8_put(w, u);               /* \uXXXX: 6 bytes in, at most 4 out */
            continue;
        }
        if (!strchr("\"\\/bfnrt", c)) goto bad;
        if (w) *w++ = lit;
    }
    if (w) *w = 0;
    if (out) *out = o;
    *s = e + 1;
    return 1;
bad:
    wn_free(o);
    return 0;
}

wn_status static_parse_pair(const char *line, const char *what, char **query, char **positive) {
    *query = *positive = NULL;
    const char *s = skip_ws(line);
    const char *why = "expected a JSON object";
    if (*s++ != '{') goto bad;
    for (;;) {
        s = skip_ws(s);
        if (*s == '}') break;
        char *key = NULL;
        int r = json_string(&s, &key);
        if (r < 0) goto nomem;
        why = "expected a string key";
        if (!r) goto bad;
        s = skip_ws(s);
        why = "expected ':'";
        if (*s++ != ':') {
            wn_free(key);
            goto bad;
        }
        s = skip_ws(s);
        char **dst = !strcmp(key, "query") ? query : !strcmp(key, "positive") ? positive : NULL;
        wn_free(key);
        if (*s == '"') {
            if (dst && *dst) wn_free(*dst), *dst = NULL;
            r = json_string(&s, dst);
            if (r < 0) goto nomem;
            why = "bad string value";
            if (!r) goto bad;
        } else {
            why = "\"query\" and \"positive\" must be strings";
            if (dst) goto bad;
            /* skip a scalar value of another key (numbers, true/false/null) */
            why = "only string, number and literal values are read";
            while (*s && *s != ',' && *s != '}' && *s != '{' && *s != '[' && *s != '"') s++;
            if (*s == '{' || *s == '[' || *s == '"' || !*s) goto bad;
        }
        s = skip_ws(s);
        if (*s == ',') {
            s++;
            continue;
        }
        why = "expected ',' or '}'";
        if (*s != '}') goto bad;
        break;
    }
    why = "needs both \"query\" and \"positive\"";
    if (!*query || !*positive) goto bad;
    return WN_OK;
nomem:
    wn_free(*query), wn_free(*positive);
    *query = *positive = NULL;
    return wn_seterr(WN_ERR_NOMEM, "%s: out of memory", what);
bad:
    wn_free(*query), wn_free(*positive);
    *query = *positive = NULL;
    return wn_seterr(WN_ERR_FORMAT, "%s: %s", what, why);
}

/* ---- the data: every text tokenised once */

typedef struct {
    int32_t *tok;   /* all texts' ids, concatenated */
    int64_t *off;   /* (n_texts + 1) */
    int64_t n_texts, n_tok, cap_tok, cap_off;
    int64_t n_pairs; /* pair i = texts 2i (query), 2i + 1 (positive) */
    uint64_t *hash;  /* (n_texts) of the ids, to keep duplicates out of a batch */
} pairs_data;

static void data_free(pairs_data *d) {
    wn_free(d->tok);
    wn_free(d->off);
    wn_free(d->hash);
}

static uint64_t hash_ids(const int32_t *ids, int n) {
    uint64_t h = 1469598103934665603ull;
    for (int i = 0; i < n; i++) h = (h ^ (uint32_t)ids[i]) * 1099511628211ull;
    return h ^ (uint64_t)n;
}

static wn_status data_add(pairs_data *d, const wn_tokenizer *tk, const char *text, int max_tokens) {
    int32_t *ids = NULL;
    int n = 0;
    wn_status st = wn_tokenizer_tokenize(tk, text, &ids, &n);
    if (st) return st;
    if (n > max_tokens) n = max_tokens;
    size_t ct = (size_t)d->cap_tok, co = (size_t)d->cap_off;
    if ((st = wn_grow((void **)&d->tok, &ct, (size_t)(d->n_tok + n), sizeof *d->tok)) ||
        (st = wn_grow((void **)&d->off, &co, (size_t)(d->n_texts + 2), sizeof *d->off))) {
        wn_free_buffer(ids);
        return wn_seterr(WN_ERR_NOMEM, "train: out of memory for %lld texts", (long long)d->n_texts);
    }
    d->cap_tok = (int64_t)ct, d->cap_off = (int64_t)co;
    if (d->n_texts == 0) d->off[0] = 0;
    memcpy(d->tok + d->n_tok, ids, (size_t)n * sizeof *ids);
    wn_free_buffer(ids);
    d->n_tok += n;
    d->off[++d->n_texts] = d->n_tok;
    return WN_OK;
}

static wn_status data_load(pairs_data *d, const char *const *files, int n_files, const wn_tokenizer *tk,
                           const wn_static_train_params *p) {
    wn_status st = WN_OK;
    char what[512];
    for (int f = 0; f < n_files && st == WN_OK; f++) {
        FILE *fp = fopen(files[f], "rb");
        if (!fp) return wn_seterr(WN_ERR_IO, "train: cannot open %s", files[f]);
        wn_line_reader r;
        wn_lines_init(&r, fp);
        int rc;
        while ((rc = wn_lines_next(&r)) == 1) {
            if (r.len == 0) continue;
            char *q, *pos;
            snprintf(what, sizeof what, "%s:%llu", files[f], (unsigned long long)r.lineno);
            if ((st = static_parse_pair(r.buf, what, &q, &pos))) break;
            if ((st = data_add(d, tk, q, p->max_tokens)) == WN_OK) st = data_add(d, tk, pos, p->max_tokens);
            wn_free(q);
            wn_free(pos);
            if (st) break;
            d->n_pairs++;
            if (p->progress && d->n_pairs % 10000 == 0) p->progress(p->progress_ud, "reading pairs", (uint64_t)d->n_pairs, 0);
        }
        if (rc < 0 && st == WN_OK) st = wn_seterr(WN_ERR_IO, "train: error reading %s", files[f]);
        wn_lines_free(&r);
        fclose(fp);
    }
    if (st) return st;
    if (d->n_pairs < 2) return wn_seterr(WN_ERR_ARG, "train: %lld pairs in the data; at least 2 are needed", (long long)d->n_pairs);
    d->hash = wn_malloc((size_t)d->n_texts * sizeof *d->hash);
    if (!d->hash) return wn_seterr(WN_ERR_NOMEM, "train: out of memory");
    for (int64_t i = 0; i < d->n_texts; i++) d->hash[i] = hash_ids(d->tok + d->off[i], (int)(d->off[i + 1] - d->off[i]));
    return WN_OK;
}

/* ---- random numbers: splitmix64 (fixed, portable) */

static uint64_t rng_next(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
uint64_t static_rng_next(uint64_t *s) { return rng_next(s); }
static double rng_unit(uint64_t *s) { return ((rng_next(s) >> 11) + 0.5) * (1.0 / 9007199254740992.0); }

/* ---- one step's work, split by dimension slices */

typedef struct {
    int D, U, n_seq;
    const int32_t *const *seq; /* (n_seq) local token indices 0..U-1 */
    const int *len;            /* (n_seq) */
    const int32_t *gid;        /* (U) global ids */
    float *E;                  /* (V, D) */
    const float *w;            /* (U) softplus(u) of the batch's tokens */
    float *X, *dX;             /* (n_seq, D) */
    float *gE;                 /* (U, D) */
    float *gwp;                /* (NS, U) partial dE . dx per slice */
    float *m, *v;              /* (V, D) Adam moments */
    float lr_t, b1, b2, eps;
    int phase;                 /* 0 forward, 1 backward, 2 Adam on E */
} step_work;

static void step_task(void *arg, int ith, int nth) {
    step_work *a = arg;
    const int D = a->D;
    for (int sl = ith; sl < NS; sl += nth) {
        const int d0 = D * sl / NS, d1 = D * (sl + 1) / NS;
        if (d1 <= d0) continue;
        if (a->phase == 0) {
            for (int s = 0; s < a->n_seq; s++) {
                float *x = a->X + (size_t)s * D;
                for (int k = d0; k < d1; k++) x[k] = 0;
                for (int t = 0; t < a->len[s]; t++) {
                    int l = a->seq[s][t];
                    const float *e = a->E + (size_t)a->gid[l] * D;
                    float wl = a->w[l];
                    for (int k = d0; k < d1; k++) x[k] += wl * e[k];
                }
            }
        } else if (a->phase == 1) {
            float *gw = a->gwp + (size_t)sl * a->U;
            for (int l = 0; l < a->U; l++) memset(a->gE + (size_t)l * D + d0, 0, (size_t)(d1 - d0) * sizeof(float));
            for (int s = 0; s < a->n_seq; s++) {
                const float *dx = a->dX + (size_t)s * D;
                for (int t = 0; t < a->len[s]; t++) {
                    int l = a->seq[s][t];
                    const float *e = a->E + (size_t)a->gid[l] * D;
                    float *ge = a->gE + (size_t)l * D, wl = a->w[l], dot = 0;
                    for (int k = d0; k < d1; k++) {
                        ge[k] += wl * dx[k];
                        dot += e[k] * dx[k];
                    }
                    gw[l] += dot;
                }
            }
        } else {
            for (int l = 0; l < a->U; l++) {
                size_t base = (size_t)a->gid[l] * D;
                float *e = a->E + base, *m = a->m + base, *v = a->v + base;
                const float *g = a->gE + (size_t)l * D;
                for (int k = d0; k < d1; k++) {
                    m[k] = a->b1 * m[k] + (1 - a->b1) * g[k];
                    v[k] = a->b2 * v[k] + (1 - a->b2) * g[k] * g[k];
                    e[k] -= a->lr_t * m[k] / (sqrtf(v[k]) + a->eps);
                }
            }
        }
    }
}

static float softplus(float u) { return u > 20 ? u : log1pf(expf(u)); }
static float sigmoid(float u) { return 1.0f / (1.0f + expf(-u)); }

/* ---- writing the model */

static wn_status copy_file(const char *src_dir, const char *name, const char *dst_dir, int required) {
    char *src = wn_path_join(src_dir, name), *dst = wn_path_join(dst_dir, name), *text = NULL;
    size_t len = 0;
    wn_status st = WN_OK;
    if (!src || !dst) {
        st = wn_seterr(WN_ERR_NOMEM, "out of memory");
        goto done;
    }
    if (!wn_file_exists(src)) {
        if (required) st = wn_seterr(WN_ERR_NOTFOUND, "train: %s is missing (the tokenizer to ship with the model)", src);
        goto done;
    }
    if ((st = wn_read_file(src, &text, &len))) goto done;
    wn_atomic_file af;
    if ((st = wn_atomic_open(&af, dst))) goto done;
    if ((st = wn_atomic_write(&af, text, len)) == WN_OK) st = wn_atomic_commit(&af);
    else wn_atomic_abort(&af);
done:
    wn_free(src);
    wn_free(dst);
    wn_free(text);
    return st;
}

static wn_status write_text(const char *dir, const char *name, const char *text) {
    char *path = wn_path_join(dir, name);
    if (!path) return wn_seterr(WN_ERR_NOMEM, "out of memory");
    wn_atomic_file af;
    wn_status st = wn_atomic_open(&af, path);
    if (st == WN_OK) {
        if ((st = wn_atomic_write(&af, text, strlen(text))) == WN_OK) st = wn_atomic_commit(&af);
        else wn_atomic_abort(&af);
    }
    wn_free(path);
    return st;
}

static wn_status write_model(const char *out_dir, const char *tok_dir, const float *E, const float *u, const uint8_t *seen,
                             int V, int D, int fp16) {
    wn_status st;
    char *sub = wn_path_join(out_dir, "0_StaticEmbedding"), *wpath = NULL;
    void *buf = NULL;
    if (!sub) return wn_seterr(WN_ERR_NOMEM, "out of memory");
    if ((st = wn_mkdirs(sub, 0755))) goto done;
    buf = wn_malloc((size_t)V * D * (fp16 ? 2 : 4));
    if (!buf || !(wpath = wn_path_join(sub, "model.safetensors"))) {
        st = wn_seterr(WN_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int t = 0; t < V; t++) {
        float wt = seen[t] ? softplus(u[t]) : 0.0f;
        for (int k = 0; k < D; k++) {
            float x = wt * E[(size_t)t * D + k];
            if (fp16) ((uint16_t *)buf)[(size_t)t * D + k] = nn_f32_to_f16(x);
            else ((float *)buf)[(size_t)t * D + k] = x;
        }
    }
    st_out_tensor ot = {.name = "embedding.weight", .dtype = fp16 ? ST_F16 : ST_F32, .ndim = 2, .shape = {V, D}, .data = buf};
    if ((st = st_write(wpath, &ot, 1))) goto done;
    if ((st = copy_file(tok_dir, "tokenizer.json", sub, 1))) goto done;
    if ((st = copy_file(tok_dir, "vocab.txt", sub, 0))) goto done;
    if ((st = write_text(out_dir, "modules.json",
                         "[\n  {\n    \"idx\": 0,\n    \"name\": \"0\",\n    \"path\": \"0_StaticEmbedding\",\n"
                         "    \"type\": \"sentence_transformers.models.StaticEmbedding\"\n  },\n  {\n    \"idx\": 1,\n"
                         "    \"name\": \"1\",\n    \"path\": \"1_Normalize\",\n"
                         "    \"type\": \"sentence_transformers.models.Normalize\"\n  }\n]\n")))
        goto done;
    st = write_text(out_dir, "config_sentence_transformers.json",
                    "{\n  \"prompts\": {},\n  \"default_prompt_name\": null,\n  \"similarity_fn_name\": \"cosine\"\n}\n");
done:
    wn_free(sub);
    wn_free(wpath);
    wn_free(buf);
    return st;
}

/* ---- the fit: the table, the weights, Adam's moments and one step's scratch */

struct static_fit {
    int V, D, max_seq, max_tokens;
    float lr, scale;
    int64_t t;                  /* steps taken (Adam's bias correction) */
    wn_pool *pool;
    float *E, *u;               /* (V, D), (V) */
    float *m, *v, *mu, *vu;     /* Adam moments of E and u */
    int32_t *local;             /* (V) global id -> local index of the batch, -1 */
    int32_t *gid, *lseq, **seqp; /* (UC), (max_seq * max_tokens), (max_seq) */
    int *lens;                  /* (max_seq) */
    float *wl, *gwp, *X, *dX, *gE; /* (UC), (NS, UC), (max_seq, D) x2, (UC, D) */
    size_t UC;
};

void static_fit_free(static_fit *f) {
    if (!f) return;
    wn_pool_free(f->pool);
    wn_free_aligned(f->E);
    wn_free(f->u), wn_free(f->m), wn_free(f->v), wn_free(f->mu), wn_free(f->vu), wn_free(f->local);
    wn_free(f->gid), wn_free(f->lseq), wn_free(f->seqp), wn_free(f->lens);
    wn_free(f->wl), wn_free(f->gwp), wn_free(f->X), wn_free(f->dX), wn_free(f->gE);
    wn_free(f);
}

wn_status static_fit_create(int V, int D, int max_batch, int max_tokens, int n_threads, float lr, float scale,
                            static_fit **out) {
    *out = NULL;
    static_fit *f = wn_calloc(1, sizeof *f);
    if (!f) return wn_seterr(WN_ERR_NOMEM, "train: out of memory");
    f->V = V, f->D = D, f->max_seq = 2 * max_batch, f->max_tokens = max_tokens, f->lr = lr, f->scale = scale;
    f->UC = (size_t)WN_MIN((int64_t)V, (int64_t)f->max_seq * max_tokens); /* distinct tokens a batch can hold */
    wn_status st = wn_pool_create(WN_MIN(n_threads, NS), &f->pool);
    if (st) {
        wn_free(f);
        return st;
    }
    size_t S = (size_t)f->max_seq;
    f->E = wn_malloc_aligned((size_t)V * D * sizeof *f->E);
    f->m = wn_calloc((size_t)V * D, sizeof *f->m);
    f->v = wn_calloc((size_t)V * D, sizeof *f->v);
    f->u = wn_malloc((size_t)V * sizeof *f->u);
    f->mu = wn_calloc((size_t)V, sizeof *f->mu);
    f->vu = wn_calloc((size_t)V, sizeof *f->vu);
    f->local = wn_malloc((size_t)V * sizeof *f->local);
    f->lens = wn_malloc(S * sizeof *f->lens);
    f->seqp = wn_malloc(S * sizeof *f->seqp);
    f->lseq = wn_malloc(S * max_tokens * sizeof *f->lseq);
    f->gid = wn_malloc(f->UC * sizeof *f->gid);
    f->wl = wn_malloc(f->UC * sizeof *f->wl);
    f->gwp = wn_malloc(NS * f->UC * sizeof *f->gwp);
    f->X = wn_malloc(S * D * sizeof *f->X);
    f->dX = wn_malloc(S * D * sizeof *f->dX);
    f->gE = wn_malloc(f->UC * D * sizeof *f->gE);
    if (!f->E || !f->m || !f->v || !f->u || !f->mu || !f->vu || !f->local || !f->lens || !f->seqp || !f->lseq || !f->gid ||
        !f->wl || !f->gwp || !f->X || !f->dX || !f->gE) {
        static_fit_free(f);
        return wn_seterr(WN_ERR_NOMEM, "train: out of memory (vocabulary %d, dim %d, batch %d)", V, D, max_batch);
    }
    for (int t = 0; t < V; t++) f->local[t] = -1, f->u[t] = 0.5413248546f; /* softplus(u) = 1: log(e - 1) */
    *out = f;
    return WN_OK;
}

float *static_fit_table(static_fit *f) { return f->E; }
float *static_fit_weights(static_fit *f) { return f->u; }

void static_fit_init_random(static_fit *f, uint64_t *rs) {
    /* E ~ N(0, 0.1) (Box-Muller) */
    const size_t n = (size_t)f->V * f->D;
    for (size_t i = 0; i < n; i += 2) {
        double r = sqrt(-2.0 * log(rng_unit(rs))), th = 6.283185307179586 * rng_unit(rs);
        f->E[i] = (float)(0.1 * r * cos(th));
        if (i + 1 < n) f->E[i + 1] = (float)(0.1 * r * sin(th));
    }
}

/* One batch (B pairs: seq[0..B) queries, seq[B..2B) their positives, global ids,
 * each at most max_tokens) through the forward pass and the loss; with update, the
 * backward pass and one Adam step. */
static wn_status fit_batch(static_fit *f, int B, const int32_t *const *seq, const int *len, int update, float *loss_out) {
    const int D = f->D;
    if (2 * B > f->max_seq) return wn_seterr(WN_ERR_INTERNAL, "train: batch %d over the fit's %d", B, f->max_seq / 2);
    int U = 0;
    size_t at = 0;
    for (int s = 0; s < 2 * B; s++) {
        f->lens[s] = WN_MIN(len[s], f->max_tokens);
        f->seqp[s] = f->lseq + at;
        for (int t = 0; t < f->lens[s]; t++) {
            int32_t g = seq[s][t];
            if (f->local[g] < 0) {
                f->local[g] = U;
                f->gid[U] = g;
                f->wl[U] = softplus(f->u[g]);
                U++;
            }
            f->lseq[at++] = f->local[g];
        }
    }
    step_work w = {.D = D, .U = U, .n_seq = 2 * B, .seq = (const int32_t *const *)f->seqp, .len = f->lens, .gid = f->gid,
                   .E = f->E, .w = f->wl, .X = f->X, .dX = f->dX, .gE = f->gE, .gwp = f->gwp, .m = f->m, .v = f->v,
                   .b1 = 0.9f, .b2 = 0.999f, .eps = 1e-8f};
    w.phase = 0;
    wn_pool_run(f->pool, step_task, &w);
    float loss;
    wn_status st = train_mnrl(B, B, D, f->X, f->X + (size_t)B * D, f->scale, f->dX, f->dX + (size_t)B * D, &loss);
    if (st == WN_OK && update) {
        memset(f->gwp, 0, (size_t)NS * U * sizeof *f->gwp); /* slices with no dimension (D < NS) add zeros */
        w.phase = 1;
        wn_pool_run(f->pool, step_task, &w);
        f->t++;
        const double bc1 = 1 - pow(w.b1, (double)f->t), bc2 = 1 - pow(w.b2, (double)f->t);
        w.lr_t = (float)(f->lr * sqrt(bc2) / bc1);
        /* the per-token weights (before E moves: their gradient used the old rows) */
        for (int l = 0; l < U; l++) {
            float g = 0;
            for (int sl = 0; sl < NS; sl++) g += f->gwp[(size_t)sl * U + l];
            int t = f->gid[l];
            g *= sigmoid(f->u[t]);
            f->mu[t] = w.b1 * f->mu[t] + (1 - w.b1) * g;
            f->vu[t] = w.b2 * f->vu[t] + (1 - w.b2) * g * g;
            f->u[t] -= w.lr_t * f->mu[t] / (sqrtf(f->vu[t]) + w.eps);
        }
        w.phase = 2;
        wn_pool_run(f->pool, step_task, &w);
    }
    for (int l = 0; l < U; l++) f->local[f->gid[l]] = -1;
    if (st) return st;
    if (!isfinite(loss)) return wn_seterr(WN_ERR_INTERNAL, "train: the loss is %g at step %lld (lower the learning rate?)", loss,
                                          (long long)f->t);
    *loss_out = loss;
    return WN_OK;
}

wn_status static_fit_step(static_fit *f, int B, const int32_t *const *seq, const int *len, float *loss) {
    return fit_batch(f, B, seq, len, 1, loss);
}

wn_status static_fit_loss(static_fit *f, int B, const int32_t *const *seq, const int *len, float *loss) {
    return fit_batch(f, B, seq, len, 0, loss);
}

wn_status static_fit_write(const static_fit *f, const uint8_t *seen, const char *out_dir, const char *tok_dir, int fp16) {
    return write_model(out_dir, tok_dir, f->E, f->u, seen, f->V, f->D, fp16);
}

/* ---- the loop */

wn_status wn_static_train(const char *const *data, int n_files, const char *tokenizer_dir, const char *out_dir,
                          const wn_static_train_params *pp, float *final_loss) {
    WN_ENTRY();
    wn_clearerr();
    wn_static_train_params defp = wn_static_train_default_params();
    const wn_static_train_params *p = pp ? pp : &defp;
    if (!data || n_files < 1 || !tokenizer_dir || !out_dir)
        return wn_seterr(WN_ERR_ARG, "wn_static_train: data files, tokenizer and output directory are required");
    if (p->dim < 1 || p->dim > 4096 || p->batch < 2 || p->batch > 65536 || p->steps < 0 || !(p->lr > 0) || !(p->scale > 0) ||
        p->max_tokens < 1 || p->n_threads < 0)
        return wn_seterr(WN_ERR_ARG, "wn_static_train: dim %d (1..4096), batch %d (2..65536), steps %lld (>= 0), lr %g, scale %g "
                                     "(> 0), max_tokens %d (>= 1), n_threads %d (>= 0)",
                         p->dim, p->batch, (long long)p->steps, p->lr, p->scale, p->max_tokens, p->n_threads);
    wn_status st;
    wn_tokenizer *tk = NULL;
    static_fit *f = NULL;
    pairs_data d;
    memset(&d, 0, sizeof d);
    uint8_t *seen = NULL;
    const int32_t **seq = NULL;
    int *lens = NULL;
    int64_t *perm = NULL, *bpairs = NULL;
    double recent[100];
    int n_recent = 0;

    if ((st = wn_tokenizer_load(tokenizer_dir, &tk))) goto done;
    if ((st = data_load(&d, data, n_files, tk, p))) goto done;
    const int V = wn_tokenizer_vocab_size(tk), B = (int)WN_MIN((int64_t)p->batch, d.n_pairs);
    const int64_t steps = p->steps > 0 ? p->steps : d.n_pairs / B > 0 ? d.n_pairs / B : 1;
    if ((st = static_fit_create(V, p->dim, B, p->max_tokens, p->n_threads, p->lr, p->scale, &f))) goto done;
    seen = wn_calloc((size_t)V, 1);
    perm = wn_malloc((size_t)d.n_pairs * sizeof *perm);
    bpairs = wn_malloc((size_t)B * sizeof *bpairs);
    lens = wn_malloc((size_t)2 * B * sizeof *lens);
    seq = wn_malloc((size_t)2 * B * sizeof *seq);
    if (!seen || !perm || !bpairs || !lens || !seq) {
        st = wn_seterr(WN_ERR_NOMEM, "train: out of memory (%lld pairs)", (long long)d.n_pairs);
        goto done;
    }
    for (int64_t i = 0; i < d.n_tok; i++) {
        if (d.tok[i] < 0 || d.tok[i] >= V) {
            st = wn_seterr(WN_ERR_INTERNAL, "train: token id %d outside the vocabulary (%d)", d.tok[i], V);
            goto done;
        }
        seen[d.tok[i]] = 1;
    }
    uint64_t rs = p->seed;
    static_fit_init_random(f, &rs);
    for (int64_t i = 0; i < d.n_pairs; i++) perm[i] = i;
    int64_t cursor = d.n_pairs; /* shuffle at the first step */
    double t0 = wn_now();
    for (int64_t step = 1; step <= steps; step++) {
        /* a batch of pairs with distinct documents and queries */
        int nb = 0, tries = 0;
        while (nb < B) {
            if (cursor >= d.n_pairs) {
                for (int64_t i = d.n_pairs - 1; i > 0; i--) {
                    int64_t j = (int64_t)(rng_next(&rs) % (uint64_t)(i + 1)), x = perm[i];
                    perm[i] = perm[j], perm[j] = x;
                }
                cursor = 0;
            }
            int64_t pi = perm[cursor++];
            uint64_t hq = d.hash[2 * pi], hd = d.hash[2 * pi + 1];
            int dup = 0;
            for (int k = 0; k < nb && !dup; k++) dup = d.hash[2 * bpairs[k] + 1] == hd || d.hash[2 * bpairs[k]] == hq;
            if (dup && ++tries < 4 * B) continue;
            bpairs[nb++] = pi;
        }
        /* queries are sequences 0..B-1, documents B..2B-1 */
        for (int s = 0; s < 2 * B; s++) {
            int64_t text = s < B ? 2 * bpairs[s] : 2 * bpairs[s - B] + 1;
            seq[s] = d.tok + d.off[text];
            lens[s] = (int)(d.off[text + 1] - d.off[text]);
        }
        float loss;
        if ((st = static_fit_step(f, B, seq, lens, &loss))) goto done;
        recent[n_recent++ % 100] = loss;
        if (p->on_step) p->on_step(p->ud, step, steps, loss, (double)step * B / fmax(wn_now() - t0, 1e-9));
    }
    if (final_loss) {
        int k = WN_MIN(n_recent, 100);
        double s = 0;
        for (int i = 0; i < k; i++) s += recent[i];
        *final_loss = k ? (float)(s / k) : 0.0f;
    }
    st = static_fit_write(f, seen, out_dir, tokenizer_dir, p->fp16);
done:
    wn_tokenizer_free(tk);
    static_fit_free(f);
    data_free(&d);
    wn_free(seen), wn_free(perm), wn_free(bpairs), wn_free(lens), wn_free(seq);
    return st;
}
