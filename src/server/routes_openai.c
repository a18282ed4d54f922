/*
 * routes_openai.c - the endpoints existing clients of hosted APIs speak:
 *   POST /v1/embeddings  OpenAI's {"input": str|[str], "model", "encoding_format":
 *                        "float"|"base64", "dimensions", "user"} -> {"object": "list",
 *                        "data": [{"object": "embedding", "embedding", "index"}], "model",
 *                        "usage": {"prompt_tokens", "total_tokens"}}; base64 is the
 *                        little-endian float32 bytes, as the openai clients decode it;
 *                        the model's default prompt (or "prompt_name", as /embed) applies
 *   POST /v1/rerank      Jina's and Cohere's {"query", "documents": [str|{"text"}],
 *                        "top_n", "return_documents", "model"} -> {"model", "results":
 *                        [{"index", "relevance_score"[, "document": {"text"}]}],
 *                        "usage": {"total_tokens"}} best first; relevance_score is the
 *                        sigmoid of the cross-encoder's logit
 *   POST /v2/rerank      the same (Cohere's v2 client calls it; its "max_tokens_per_doc"
 *                        is ignored: documents are truncated to the model's limit)
 * Token arrays as "input" (OpenAI allows them) are refused with a 422. Errors on the /v1/ endpoints
 * are written in OpenAI's shape by http.c.
 */
#include <stdlib.h>
#include <string.h>

#include "server.h"

static int little_endian(void) {
    const uint16_t one = 1;
    return *(const uint8_t *)&one == 1;
}

void route_v1_embeddings(wn_server *s, const wn_json *req, srv_reply *r) {
    if (!s->bi) return reply_error(r, 400, "validation", "no embedding model: start winnow serve with --embed MODEL");
    if (!wn_json_is_object(req)) return reply_error(r, 422, "validation", "the request body must be a JSON object");
    const wn_json *fmt = wn_json_get(req, "encoding_format");
    int b64 = 0;
    if (fmt && !wn_json_is_null(fmt)) {
        const char *f = wn_json_str(fmt);
        if (!f || (strcmp(f, "float") && strcmp(f, "base64")))
            return reply_error(r, 422, "validation", "`encoding_format` must be \"float\" or \"base64\"");
        b64 = !strcmp(f, "base64");
    }
    const wn_json *model = wn_json_get(req, "model");
    if (model && !wn_json_is_null(model) && !wn_json_is_string(model))
        return reply_error(r, 422, "validation", "`model` must be a string");
    const wn_json *in = wn_json_get(req, "input");
    if (wn_json_is_array(in) && in->child && wn_json_is_number(in->child))
        return reply_error(r, 422, "validation", "`input` as token ids is not supported: send text");
    const char **texts = NULL;
    int n, d;
    long dims = 0;
    float *v = NULL;
    int64_t tokens;
    char *prompted = NULL;
    if (input_strings(in, "input", r, &texts, &n)) return;
    if (opt_int(req, "dimensions", 1, s->bi_dim, &dims, r) || with_prompt(s, req, texts, n, &prompted, r)) goto done;
    if (embed_texts(s, texts, n, 1, 1, (int)dims, &v, &d, &tokens, r)) goto done;
    sbuf *b = &r->body;
    sb_puts(b, "{\"object\":\"list\",\"data\":[");
    for (int i = 0; i < n; i++) {
        const float *x = v + (size_t)i * d;
        sb_puts(b, i ? ",{\"object\":\"embedding\",\"embedding\":" : "{\"object\":\"embedding\",\"embedding\":");
        if (b64) {
            WN_ASSERT(little_endian()); /* the wire format is little-endian float32 */
            sb_puts(b, "\"");
            sb_base64(b, x, (size_t)d * sizeof(float));
            sb_puts(b, "\"");
        } else {
            sb_puts(b, "[");
            for (int j = 0; j < d; j++) {
                if (j) sb_puts(b, ",");
                sb_float(b, x[j]);
            }
            sb_puts(b, "]");
        }
        sb_printf(b, ",\"index\":%d}", i);
    }
    sb_puts(b, "],\"model\":");
    const char *name = wn_json_str(model) ? wn_json_str(model) : s->embed_name;
    sb_json_str(b, name, strlen(name));
    sb_printf(b, ",\"usage\":{\"prompt_tokens\":%lld,\"total_tokens\":%lld}}", (long long)tokens, (long long)tokens);
done:
    wn_free(v);
    wn_free(texts);
    wn_free(prompted);
}

void route_v1_rerank(wn_server *s, const wn_json *req, srv_reply *r) {
    if (!s->ce) return reply_error(r, 400, "validation", "no re-ranking model: start winnow serve with --rerank MODEL");
    if (!wn_json_is_object(req)) return reply_error(r, 422, "validation", "the request body must be a JSON object");
    const char *query = wn_json_str(wn_json_get(req, "query"));
    if (!query) return reply_error(r, 422, "validation", "`query` must be a string");
    if (!query[0]) return reply_error(r, 400, "empty", "`query` cannot be empty");
    const wn_json *dv = wn_json_get(req, "documents");
    if (!wn_json_is_array(dv)) return reply_error(r, 422, "validation", "`documents` must be an array");
    int n = (int)wn_json_size(dv), ret = 0;
    if (n == 0) return reply_error(r, 400, "empty", "`documents` cannot be empty");
    if (n > 16384) return reply_error(r, 413, "validation", "`documents` has %d entries, at most 16384", n);
    long top_n = n;
    if (opt_int(req, "top_n", 1, 1L << 30, &top_n, r) || opt_bool(req, "return_documents", &ret, r)) return;
    if (top_n > n) top_n = n;
    const char **qs = wn_malloc((size_t)n * sizeof *qs), **ds = wn_malloc((size_t)n * sizeof *ds);
    srv_ranked *rk = wn_malloc((size_t)n * sizeof *rk);
    float *sc = NULL;
    int64_t tokens;
    if (!qs || !ds || !rk) {
        reply_error(r, 503, "backend", "out of memory");
        goto done;
    }
    const wn_json *e = dv->child;
    for (int i = 0; i < n; i++, e = e->next) {
        const char *t = wn_json_is_string(e) ? e->str : wn_json_str(wn_json_get(e, "text"));
        if (!t) {
            reply_error(r, 422, "validation", "`documents`[%d] must be a string or {\"text\": string}", i);
            goto done;
        }
        if (!t[0]) {
            reply_error(r, 400, "empty", "`documents`[%d] is empty", i);
            goto done;
        }
        qs[i] = query;
        ds[i] = t;
    }
    if (score_pairs(s, n, qs, ds, 1, &sc, &tokens, r)) goto done;
    for (int i = 0; i < n; i++) rk[i] = (srv_ranked){i, srv_sigmoid(sc[i])};
    qsort(rk, (size_t)n, sizeof *rk, srv_by_score);
    sbuf *b = &r->body;
    sb_puts(b, "{\"model\":");
    const char *name = wn_json_str(wn_json_get(req, "model")) ? wn_json_str(wn_json_get(req, "model")) : s->rerank_name;
    sb_json_str(b, name, strlen(name));
    sb_puts(b, ",\"results\":[");
    for (int i = 0; i < (int)top_n; i++) {
        sb_printf(b, "%s{\"index\":%d,\"relevance_score\":", i ? "," : "", rk[i].index);
        sb_float(b, rk[i].score);
        if (ret) {
            sb_puts(b, ",\"document\":{\"text\":");
            sb_json_str(b, ds[rk[i].index], strlen(ds[rk[i].index]));
            sb_puts(b, "}");
        }
        sb_puts(b, "}");
    }
    sb_printf(b, "],\"usage\":{\"total_tokens\":%lld}}", (long long)tokens);
done:
    wn_free(qs);
    wn_free(ds);
    wn_free(rk);
    wn_free(sc);
}
