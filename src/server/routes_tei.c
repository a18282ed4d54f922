/*
 * routes_tei.c - the endpoints of HuggingFace's text-embeddings-inference (TEI),
 * with its request and response shapes (docs/SERVER.md):
 *   POST /embed     {"inputs": str|[str], "truncate", "normalize", "dimensions", "prompt_name"}
 *                   -> [[f32...]...]; the model's default prompt applies without prompt_name
 *   POST /rerank    {"query", "texts": [str], "raw_scores", "return_text", "truncate"}
 *                   -> [{"index", "score"[, "text"]}] best first
 *   POST /predict   {"inputs": str | [a, b] | [str|[a, b]...], "raw_scores", "truncate"}
 *                   -> [{"label", "score"}] (or one such list per input of a batch)
 *   POST /tokenize  {"inputs": str|[str], "add_special_tokens"} -> [[{"id", "text", "special",
 *                   "start", "stop"}]]
 *   GET  /info, GET /health
 * Differences from TEI: truncate defaults to true (TEI: false unless --auto-truncate);
 * /tokenize gives a token's text and byte offsets in the input as TEI does (WordPiece,
 * byte-level BPE and Unigram tokenizers all know them); special tokens have their
 * vocabulary string and null offsets.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"
#include "tokenizer/tokenizer.h" /* floor 1: the special token ids for /tokenize */

static int need_object(const wn_json *req, srv_reply *r) {
    if (wn_json_is_object(req)) return 0;
    reply_error(r, 422, "validation", "the request body must be a JSON object");
    return 1;
}

/* n inputs (pairs when b) through model m's batcher q into *out (wn_malloc'd, n *
 * width): token counts, admission, the batched run. Returns 0 or 1 (error set). */
static int run_model(wn_server *s, const wn_model *m, srv_batcher *q, int n, const char *const *a, const char *const *b,
                     int truncate, int width, float **out, int64_t *tokens, srv_reply *r) {
    int rc = 1, held = 0;
    *out = NULL;
    int *ntok = wn_malloc((size_t)n * sizeof *ntok);
    float *v = wn_malloc((size_t)n * (size_t)width * sizeof *v);
    if (!ntok || !v) {
        reply_error(r, 503, "backend", "out of memory for %d inputs", n);
        goto done;
    }
    if (input_tokens(s, m, n, a, b, truncate, r, ntok, tokens)) goto done;
    held = n < s->p.max_client_batch ? n : s->p.max_client_batch;
    if (admit(s, held, r)) {
        held = 0;
        goto done;
    }
    if (run_batched(s, q, n, a, b, ntok, width, v, r)) goto done;
    *out = v;
    v = NULL;
    rc = 0;
done:
    if (held) admit_release(s, held);
    wn_free(ntok);
    wn_free(v);
    return rc;
}

int embed_texts(wn_server *s, const char *const *texts, int n, int truncate, int normalize, int dims, float **out,
                int *dim, int64_t *tokens, srv_reply *r) {
    int d = s->bi_dim;
    float *v;
    if (run_model(s, s->bi, s->bi_q, n, texts, NULL, truncate, d, &v, tokens, r)) return 1;
    if (dims > 0 && dims < d) {
        wn_status st = wn_embed_truncate(v, n, d, dims);
        if (st != WN_OK) {
            wn_free(v);
            reply_status(r, st, "dimensions");
            return 1;
        }
        d = dims;
    } else if (normalize) {
        for (int i = 0; i < n; i++) {
            float *x = v + (size_t)i * d;
            double ss = 0;
            for (int j = 0; j < d; j++) ss += (double)x[j] * x[j];
            if (ss > 0) {
                float inv = (float)(1.0 / sqrt(ss));
                for (int j = 0; j < d; j++) x[j] *= inv;
            }
        }
    }
    *out = v;
    *dim = d;
    return 0;
}

int score_pairs(wn_server *s, int n, const char *const *qs, const char *const *ds, int truncate, float **out,
                int64_t *tokens, srv_reply *r) {
    int L = s->ce_labels;
    float *v;
    if (run_model(s, s->ce, s->ce_q, n, qs, ds, truncate, L, &v, tokens, r)) return 1;
    for (int i = 0; i < n; i++) v[i] = v[(size_t)i * L + L - 1]; /* the last label (winnow.h) */
    *out = v;
    return 0;
}

int with_prompt(wn_server *s, const wn_json *req, const char **texts, int n, char **buf, srv_reply *r) {
    *buf = NULL;
    const wn_json *pn = wn_json_get(req, "prompt_name");
    const char *prompt = NULL;
    if (pn && !wn_json_is_null(pn)) {
        if (!wn_json_is_string(pn)) return reply_error(r, 422, "validation", "`prompt_name` must be a string"), 1;
        if (!(prompt = wn_model_prompt(s->bi, pn->str))) {
            int k = 0;
            const char *const *names = wn_model_prompt_names(s->bi, &k);
            sbuf list = {0};
            for (int i = 0; i < k; i++) sb_printf(&list, "%s'%s'", i ? ", " : "", names[i]);
            reply_error(r, 422, "validation", "`prompt_name`: the model has no prompt named '%.64s' (%s)", pn->str,
                        k && list.p ? list.p : "it has no prompts");
            sb_free(&list);
            return 1;
        }
    } else
        prompt = wn_model_prompt(s->bi, NULL);
    size_t pl = prompt ? strlen(prompt) : 0, need = 0;
    if (!pl) return 0;
    for (int i = 0; i < n; i++) need += pl + strlen(texts[i]) + 1;
    char *p = *buf = wn_malloc(need);
    if (!p) return reply_error(r, 503, "backend", "out of memory"), 1;
    for (int i = 0; i < n; i++) {
        size_t tl = strlen(texts[i]);
        memcpy(p, prompt, pl);
        memcpy(p + pl, texts[i], tl + 1);
        texts[i] = p;
        p += pl + tl + 1;
    }
    return 0;
}

static void write_rows(sbuf *b, const float *v, int n, int d) {
    sb_puts(b, "[");
    for (int i = 0; i < n; i++) {
        sb_puts(b, i ? ",[" : "[");
        for (int j = 0; j < d; j++) {
            if (j) sb_puts(b, ",");
            sb_float(b, v[(size_t)i * d + j]);
        }
        sb_puts(b, "]");
    }
    sb_puts(b, "]");
}

void route_embed(wn_server *s, const wn_json *req, srv_reply *r) {
    if (!s->bi) return reply_error(r, 400, "validation", "no embedding model: start winnow serve with --embed MODEL");
    if (need_object(req, r)) return;
    const char **texts = NULL;
    int n, truncate = 1, normalize = 1, d;
    long dims = 0;
    float *v = NULL;
    int64_t tokens;
    if (input_strings(wn_json_get(req, "inputs"), "inputs", r, &texts, &n)) return;
    char *prompted = NULL;
    if (opt_bool(req, "truncate", &truncate, r) || opt_bool(req, "normalize", &normalize, r) ||
        opt_int(req, "dimensions", 1, s->bi_dim, &dims, r) || with_prompt(s, req, texts, n, &prompted, r))
        goto done;
    if (embed_texts(s, texts, n, truncate, normalize, (int)dims, &v, &d, &tokens, r)) goto done;
    write_rows(&r->body, v, n, d);
done:
    wn_free(v);
    wn_free(texts);
    wn_free(prompted);
}

int srv_by_score(const void *x, const void *y) {
    const srv_ranked *a = x, *b = y;
    if (a->score != b->score) return a->score < b->score ? 1 : -1;
    return (a->index > b->index) - (a->index < b->index);
}

void route_rerank(wn_server *s, const wn_json *req, srv_reply *r) {
    if (!s->ce) return reply_error(r, 400, "validation", "no re-ranking model: start winnow serve with --rerank MODEL");
    if (need_object(req, r)) return;
    const char *query = wn_json_str(wn_json_get(req, "query"));
    if (!query) return reply_error(r, 422, "validation", "`query` must be a string");
    if (!query[0]) return reply_error(r, 400, "empty", "`query` cannot be empty");
    const wn_json *tv = wn_json_get(req, "texts");
    if (!wn_json_is_array(tv)) return reply_error(r, 422, "validation", "`texts` must be an array of strings");
    const char **texts = NULL, **qs = NULL;
    int n, raw = 0, ret = 0, truncate = 1;
    float *sc = NULL;
    srv_ranked *rk = NULL;
    int64_t tokens;
    if (input_strings(tv, "texts", r, &texts, &n)) return;
    if (opt_bool(req, "raw_scores", &raw, r) || opt_bool(req, "return_text", &ret, r) ||
        opt_bool(req, "truncate", &truncate, r))
        goto done;
    qs = wn_malloc((size_t)n * sizeof *qs);
    rk = wn_malloc((size_t)n * sizeof *rk);
    if (!qs || !rk) {
        reply_error(r, 503, "backend", "out of memory");
        goto done;
    }
    for (int i = 0; i < n; i++) qs[i] = query;
    if (score_pairs(s, n, qs, texts, truncate, &sc, &tokens, r)) goto done;
    for (int i = 0; i < n; i++) rk[i] = (srv_ranked){i, raw ? sc[i] : srv_sigmoid(sc[i])};
    qsort(rk, (size_t)n, sizeof *rk, srv_by_score);
    sb_puts(&r->body, "[");
    for (int i = 0; i < n; i++) {
        sb_printf(&r->body, "%s{\"index\":%d,\"score\":", i ? "," : "", rk[i].index);
        sb_float(&r->body, rk[i].score);
        if (ret) {
            sb_puts(&r->body, ",\"text\":");
            sb_json_str(&r->body, texts[rk[i].index], strlen(texts[rk[i].index]));
        }
        sb_puts(&r->body, "}");
    }
    sb_puts(&r->body, "]");
done:
    wn_free(sc);
    wn_free(rk);
    wn_free(qs);
    wn_free(texts);
}

/* a sequence: a string, or an array of exactly two strings (a pair) */
static int sequence(const wn_json *v, const char **a, const char **b) {
    if (wn_json_is_string(v)) {
        *a = v->str;
        *b = NULL;
        return v->len > 0;
    }
    if (wn_json_is_array(v) && wn_json_size(v) == 2 && wn_json_is_string(v->child) && wn_json_is_string(v->child->next)) {
        *a = v->child->str;
        *b = v->child->next->str;
        return v->child->len > 0;
    }
    return 0;
}

void route_predict(wn_server *s, const wn_json *req, srv_reply *r) {
    if (!s->ce) return reply_error(r, 400, "validation", "no classifier: start winnow serve with --rerank MODEL");
    if (need_object(req, r)) return;
    const wn_json *in = wn_json_get(req, "inputs");
    const char *a1, *b1;
    int batch = !sequence(in, &a1, &b1); /* TEI's order: one sequence (or pair) first, then a batch */
    int n = batch ? (int)wn_json_size(in) : 1, raw = 0, truncate = 1, L = s->ce_labels;
    if (batch && (!wn_json_is_array(in) || n == 0))
        return reply_error(r, wn_json_is_array(in) ? 400 : 422, wn_json_is_array(in) ? "empty" : "validation",
                           "`inputs` must be a non-empty string, a pair [a, b] or an array of those");
    if (n > 16384) return reply_error(r, 413, "validation", "`inputs` has %d entries, at most 16384", n);
    if (opt_bool(req, "raw_scores", &raw, r) || opt_bool(req, "truncate", &truncate, r)) return;
    const char **as = wn_malloc((size_t)n * sizeof *as), **bs = wn_malloc((size_t)n * sizeof *bs);
    int *ntok = wn_malloc((size_t)n * sizeof *ntok), held = 0;
    float *v = wn_malloc((size_t)n * (size_t)L * sizeof *v);
    int64_t tokens;
    if (!as || !bs || !ntok || !v) {
        reply_error(r, 503, "backend", "out of memory");
        goto done;
    }
    if (!batch) {
        as[0] = a1;
        bs[0] = b1;
    } else {
        const wn_json *e = in->child;
        for (int i = 0; i < n; i++, e = e->next)
            if (!sequence(e, &as[i], &bs[i])) {
                reply_error(r, 422, "validation", "`inputs`[%d] must be a non-empty string or a pair [a, b]", i);
                goto done;
            }
    }
    if (input_tokens(s, s->ce, n, as, bs, truncate, r, ntok, &tokens)) goto done;
    held = n < s->p.max_client_batch ? n : s->p.max_client_batch;
    if (admit(s, held, r)) {
        held = 0;
        goto done;
    }
    if (run_batched(s, s->ce_q, n, as, bs, ntok, L, v, r)) goto done;
    if (batch) sb_puts(&r->body, "[");
    for (int i = 0; i < n; i++) {
        float *x = v + (size_t)i * L, mx = x[0];
        double z = 0;
        for (int j = 1; j < L; j++) mx = x[j] > mx ? x[j] : mx;
        for (int j = 0; j < L; j++) z += exp((double)x[j] - mx);
        srv_ranked rk[64];
        int nl = L < 64 ? L : 64;
        for (int j = 0; j < nl; j++) /* one label: sigmoid; several: softmax (TEI's) */
            rk[j] = (srv_ranked){j, raw ? x[j] : L == 1 ? srv_sigmoid(x[j]) : (float)(exp((double)x[j] - mx) / z)};
        qsort(rk, (size_t)nl, sizeof *rk, srv_by_score);
        sb_puts(&r->body, i ? ",[" : "[");
        for (int j = 0; j < nl; j++) {
            const char *name = wn_model_label(s->ce, rk[j].index);
            if (name) {
                sb_puts(&r->body, j ? ",{\"label\":" : "{\"label\":");
                sb_json_str(&r->body, name, strlen(name));
                sb_puts(&r->body, ",\"score\":");
            } else
                sb_printf(&r->body, "%s{\"label\":\"LABEL_%d\",\"score\":", j ? "," : "", rk[j].index);
            sb_float(&r->body, rk[j].score);
            sb_puts(&r->body, "}");
        }
        sb_puts(&r->body, "]");
    }
    if (batch) sb_puts(&r->body, "]");
done:
    if (held) admit_release(s, held);
    wn_free(as);
    wn_free(bs);
    wn_free(ntok);
    wn_free(v);
}

/* Whether s[0..n), less the whitespace around it, is the added token a: the span of
 * an added token that strips whitespace (lstrip / rstrip) takes the whitespace in. */
static int is_added_text(const tok_added *a, const char *s, int n) {
    for (int again = 1; again && n > 0;) {
        again = 0;
        unsigned char c = (unsigned char)s[0], d = (unsigned char)s[n - 1];
        if (c == ' ' || (c >= 9 && c <= 13)) s++, n--, again = 1;
        else if (n >= 2 && c == 0xC2 && (unsigned char)s[1] == 0xA0) s += 2, n -= 2, again = 1;
        if (n > 0 && (d == ' ' || (d >= 9 && d <= 13))) n--, again = 1;
        else if (n >= 2 && d == 0xA0 && (unsigned char)s[n - 2] == 0xC2) n -= 2, again = 1;
    }
    return a->len == n && !memcmp(s, a->text, (size_t)n);
}

void route_tokenize(wn_server *s, const wn_json *req, srv_reply *r) {
    wn_model *m = s->bi ? s->bi : s->ce;
    if (!m) return reply_error(r, 400, "validation", "no model to tokenize with: start winnow serve with --embed or --rerank");
    if (need_object(req, r)) return;
    const char **texts = NULL;
    int n, add = 1;
    if (input_strings(wn_json_get(req, "inputs"), "inputs", r, &texts, &n)) return;
    if (opt_bool(req, "add_special_tokens", &add, r)) goto done;
    const wn_tokenizer *t = wn_model_tokenizer(m);
    int max_len = wn_model_max_length(m);
    size_t longest = 0;
    for (int i = 0; i < n; i++) longest = WN_MAX(longest, strlen(texts[i]));
    /* tokens are at most the text's bytes plus the template's few */
    int cap = (int)WN_MIN((size_t)max_len, longest + 16);
    int32_t *ids = wn_malloc((size_t)cap * sizeof *ids), *types = wn_malloc((size_t)cap * sizeof *types);
    int32_t *off = wn_malloc(2 * (size_t)cap * sizeof *off);
    if (!ids || !types || !off) {
        reply_error(r, 503, "backend", "out of memory");
        goto done2;
    }
    sb_puts(&r->body, "[");
    for (int i = 0; i < n; i++) {
        int k = 0;
        wn_status st = wn_tokenizer_encode_offsets(t, texts[i], NULL, max_len, ids, types, off, cap, &k);
        if (st != WN_OK) {
            reply_status(r, st, "tokenizer");
            goto done2;
        }
        int special_ends = add ? 0 : 1; /* without special tokens: drop the template's */
        sb_puts(&r->body, i ? ",[" : "[");
        int first = 1;
        for (int j = 0; j < k; j++) {
            /* special: the template's tokens, and added tokens written in the text; not a
             * word the model made [UNK] (it has a span, but not the token's own text) */
            int known = off[2 * j] >= 0, len = known ? off[2 * j + 1] - off[2 * j] : 0;
            int special = !known && (ids[j] == t->cls_id || ids[j] == t->sep_id || ids[j] == t->pad_id);
            for (int q = 0; q < t->n_added && !special; q++)
                special = t->added[q].id == ids[j] && (!known || is_added_text(&t->added[q], texts[i] + off[2 * j], len));
            if (special_ends && (j == 0 || j == k - 1) && special) continue;
            sb_printf(&r->body, "%s{\"id\":%d,\"text\":", first ? "" : ",", ids[j]);
            if (!special && off[2 * j] >= 0) { /* TEI: the text it came from, its byte span */
                sb_json_str(&r->body, texts[i] + off[2 * j], (size_t)(off[2 * j + 1] - off[2 * j]));
                sb_printf(&r->body, ",\"special\":false,\"start\":%d,\"stop\":%d}", off[2 * j], off[2 * j + 1]);
            } else { /* a special token, or a span the tokenizer does not know: its vocabulary string */
                const char *txt = ids[j] >= 0 && ids[j] < s->n_vocab && s->vocab[ids[j]] ? s->vocab[ids[j]] : "";
                sb_json_str(&r->body, txt, strlen(txt));
                sb_printf(&r->body, ",\"special\":%s,\"start\":null,\"stop\":null}", special ? "true" : "false");
            }
            first = 0;
        }
        sb_puts(&r->body, "]");
    }
    sb_puts(&r->body, "]");
done2:
    wn_free(ids);
    wn_free(types);
    wn_free(off);
done:
    wn_free(texts);
}

void route_info(wn_server *s, srv_reply *r) {
    sbuf *b = &r->body;
    sb_puts(b, "{\"model_id\":");
    const char *id = s->embed_name ? s->embed_name : s->rerank_name ? s->rerank_name : "";
    sb_json_str(b, id, strlen(id));
    sb_puts(b, ",\"model_sha\":null,\"model_dtype\":");
    const char *dt = s->p.model.precision == WN_PREC_BF16 ? "bfloat16" : s->p.model.precision == WN_PREC_INT8 ? "int8" : "float32";
    sb_json_str(b, dt, strlen(dt));
    sb_puts(b, ",\"model_type\":");
    if (s->bi) sb_puts(b, "{\"embedding\":{\"pooling\":\"sentence-transformers\"}}");
    else if (!s->ce) sb_puts(b, "null");
    else { /* TEI's classifier: its labels by id (id2label, else LABEL_i) */
        sb_printf(b, "{\"classifier\":{\"num_labels\":%d,\"id2label\":{", s->ce_labels);
        for (int i = 0; i < s->ce_labels && i < 64; i++) {
            const char *name = wn_model_label(s->ce, i);
            char dflt[24];
            snprintf(dflt, sizeof dflt, "LABEL_%d", i);
            if (!name) name = dflt;
            sb_printf(b, "%s\"%d\":", i ? "," : "", i);
            sb_json_str(b, name, strlen(name));
        }
        sb_puts(b, "}}}");
    }
    if (s->rerank_name) {
        sb_puts(b, ",\"rerank_model_id\":");
        sb_json_str(b, s->rerank_name, strlen(s->rerank_name));
    }
    wn_model *m = s->bi ? s->bi : s->ce;
    sb_printf(b, ",\"max_concurrent_requests\":%d,\"max_input_length\":%d,\"max_batch_tokens\":%d,"
                 "\"max_client_batch_size\":%d,\"client_batch_split\":true,\"auto_truncate\":true,"
                 "\"payload_limit\":%zu,\"tokenization_workers\":null,\"search\":%s,\"version\":\"%s\"}",
              s->p.max_concurrent, m ? wn_model_max_length(m) : 0, s->p.max_batch_tokens, s->p.max_client_batch,
              s->p.payload_limit, s->searcher ? "true" : "false", wn_version());
}

void route_health(wn_server *s, srv_reply *r) {
    (void)s;
    r->status = 200;
    sb_puts(&r->body, "{\"status\":\"ok\"}");
}
