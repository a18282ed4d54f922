/*
 * static_adapt.c - adapting a static embedding model to the corpus being indexed
 * (winnow index --adapt, wn_static_adapt): label-free pairs made from the corpus's
 * own documents, MultipleNegativesRankingLoss on the static fit of static_train.c,
 * starting from a given static model (or from random rows), stopped by the loss
 * of pairs from documents held out of training.
 *
 * Pairs (adapt_make_pair), one per document per step, its kind drawn uniformly
 * from those the document allows:
 *   ICT     inverse cloze: one sentence -> the window of ADAPT_WINDOW tokens of
 *           the rest of the text around where the sentence was (2+ sentences);
 *   TITLE   the title -> a window of ADAPT_WINDOW tokens of the text (both present);
 *   SPANS   two disjoint spans, one on each side of a random cut, of the text
 *           (or of the title when the text is empty): a query of ADAPT_MIN_SPAN..32
 *           tokens, a positive of up to ADAPT_WINDOW (2 * ADAPT_MIN_SPAN+ tokens).
 * Sentences end after '.', '?' or '!' (3 tokens at least); a sentence longer than
 * 64 tokens (text without punctuation) is cut into pseudo-sentences of 16.
 * A document that allows no kind (empty, or a title of fewer than 8 tokens alone)
 * gives no pair; it is still indexed.
 *
 * Stopping (label-free, the same rule for every corpus): a tenth of the trainable
 * documents (at most 512; none when that is under 8) are held out, one fixed pair
 * each; their MNRL loss is measured before training and after each pass over the
 * training documents. The model kept is the one with the lowest held-out loss (the
 * starting model included); training stops after `patience` passes without a new
 * best, or at the budget of pairs_per_doc pairs per training document.
 *
 * Starting from a model: its rows (weights already folded in) scaled as a whole so
 * the mean square of a coordinate is 0.01 (the random start's N(0, 0.1)): cosine
 * ignores the scale, and the learning rate then means the same from either start.
 * Tokens it has no row for start at zero. Rows written: the starting model's and
 * those of tokens in training documents (random start: those alone).
 * Deterministic: the seed fixes the hold-out, the order and every pair; threads
 * split dimensions only (static_train.c), so the file does not depend on them.
 *
 * Dimensions: V vocab, D embedding size, B batch (pairs), W window.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "model/model.h"
#include "train.h"

#define ADAPT_WINDOW 128
#define ADAPT_MIN_SPAN 4
#define ADAPT_MAX_SENT 64    /* a longer "sentence" is cut into pseudo-sentences */
#define ADAPT_PSEUDO 16
#define ADAPT_MAX_DOC 4096   /* text tokens kept per document */

wn_static_adapt_params wn_static_adapt_default_params(void) {
    wn_static_adapt_params p;
    memset(&p, 0, sizeof p);
    p.pairs_per_doc = 64;
    p.batch = 256;
    p.lr = 5e-3f;
    p.scale = 20.0f;
    p.patience = 3;
    p.seed = 42;
    return p;
}

/* ---- documents, tokenised, with their sentences */

void adapt_docs_free(adapt_docs *d) {
    if (!d) return;
    wn_free(d->tok), wn_free(d->doc), wn_free(d->text), wn_free(d->sent), wn_free(d->doc_sent);
    memset(d, 0, sizeof *d);
}

static wn_status push_tok(adapt_docs *d, const int32_t *ids, int n) {
    if (wn_grow((void **)&d->tok, &d->cap_tok, (size_t)(d->n_tok + n), sizeof *d->tok)) return WN_ERR_NOMEM;
    memcpy(d->tok + d->n_tok, ids, (size_t)n * sizeof *ids);
    d->n_tok += n;
    return WN_OK;
}

static wn_status push_sent(adapt_docs *d, int64_t at) {
    if (wn_grow((void **)&d->sent, &d->cap_sent, (size_t)(d->n_sent + 1), sizeof *d->sent)) return WN_ERR_NOMEM;
    d->sent[d->n_sent++] = at;
    return WN_OK;
}

/* The sentences of text tokens [a, b) as starts pushed to d->sent. */
static wn_status split_sentences(adapt_docs *d, int64_t a, int64_t b, const int32_t term[3]) {
    int64_t s = a;
    for (int64_t i = a; i <= b; i++) {
        int end = i == b;
        if (!end) {
            int32_t t = d->tok[i];
            if (!((t == term[0] || t == term[1] || t == term[2]) && i + 1 - s >= 3)) continue;
        }
        int64_t e = end ? b : i + 1;
        if (e <= s) break;
        if (e - s > ADAPT_MAX_SENT) { /* pseudo-sentences; a short tail joins the last */
            for (int64_t k = s; k < e; k += ADAPT_PSEUDO)
                if (k == s || e - k >= ADAPT_MIN_SPAN)
                    if (push_sent(d, k)) return WN_ERR_NOMEM;
        } else if (push_sent(d, s)) return WN_ERR_NOMEM;
        s = e;
    }
    return WN_OK;
}

wn_status adapt_docs_build(adapt_docs *d, const wn_tokenizer *tk, int64_t n, const char *const *titles,
                           const char *const *texts) {
    memset(d, 0, sizeof *d);
    wn_status st = WN_OK;
    int32_t term[3] = {-1, -1, -1}, *ids = NULL;
    int nid = 0;
    const char *marks[3] = {".", "?", "!"};
    for (int k = 0; k < 3; k++) {
        if ((st = wn_tokenizer_tokenize(tk, marks[k], &ids, &nid))) return st;
        if (nid == 1) term[k] = ids[0];
        wn_free_buffer(ids);
        ids = NULL;
    }
    d->n = n;
    d->doc = wn_malloc((size_t)(n + 1) * sizeof *d->doc);
    d->text = wn_malloc((size_t)(n + 1) * sizeof *d->text);
    d->doc_sent = wn_malloc((size_t)(n + 1) * sizeof *d->doc_sent);
    if (!d->doc || !d->text || !d->doc_sent) goto nomem;
    for (int64_t i = 0; i < n; i++) {
        d->doc[i] = d->n_tok;
        d->doc_sent[i] = d->n_sent;
        for (int part = 0; part < 2; part++) {
            const char *s = part ? (texts ? texts[i] : NULL) : (titles ? titles[i] : NULL);
            if (part) d->text[i] = d->n_tok;
            if (!s || !*s) continue;
            if ((st = wn_tokenizer_tokenize(tk, s, &ids, &nid))) {
                wn_seterr_prefix(st, "adapt: document %lld: ", (long long)i);
                goto fail;
            }
            st = push_tok(d, ids, WN_MIN(nid, ADAPT_MAX_DOC));
            wn_free_buffer(ids);
            ids = NULL;
            if (st) goto nomem;
        }
        if ((st = split_sentences(d, d->text[i], d->n_tok, term))) goto nomem;
    }
    d->doc[n] = d->text[n] = d->n_tok;
    d->doc_sent[n] = d->n_sent;
    return WN_OK;
nomem:
    st = wn_seterr(WN_ERR_NOMEM, "adapt: out of memory tokenising %lld documents", (long long)n);
fail:
    adapt_docs_free(d);
    return st;
}

int adapt_kinds(const adapt_docs *d, int64_t i) {
    int64_t nt = d->text[i] - d->doc[i], nx = d->doc[i + 1] - d->text[i];
    int k = 0;
    if (d->doc_sent[i + 1] - d->doc_sent[i] >= 2) k |= 1 << ADAPT_ICT;
    if (nt > 0 && nx > 0) k |= 1 << ADAPT_TITLE;
    if ((nx ? nx : nt) >= 2 * ADAPT_MIN_SPAN) k |= 1 << ADAPT_SPANS;
    return k;
}

static int64_t rnd(uint64_t *rs, int64_t n) { return n <= 1 ? 0 : (int64_t)(static_rng_next(rs) % (uint64_t)n); }

int adapt_make_pair(const adapt_docs *d, int64_t i, uint64_t *rs, int32_t *q, int *nq, int32_t *p, int *np) {
    int kinds = adapt_kinds(d, i), n_k = 0, which[3];
    for (int k = 0; k < 3; k++)
        if (kinds >> k & 1) which[n_k++] = k;
    *nq = *np = 0;
    if (!n_k) return -1;
    int kind = which[rnd(rs, n_k)];
    const int32_t *x = d->tok + d->text[i];
    int64_t nx = d->doc[i + 1] - d->text[i];
    if (kind == ADAPT_ICT) {
        int64_t s0 = d->doc_sent[i], ns = d->doc_sent[i + 1] - s0, k = rnd(rs, ns);
        int64_t a = d->sent[s0 + k] - d->text[i], b = (k + 1 < ns ? d->sent[s0 + k + 1] : d->doc[i + 1]) - d->text[i];
        *nq = (int)WN_MIN(b - a, ADAPT_WINDOW);
        memcpy(q, x + a, (size_t)*nq * sizeof *q);
        /* the rest is x[0, a) x[b, nx): a window around position a of it */
        int64_t nr = nx - (b - a), w = WN_MIN(nr, ADAPT_WINDOW), st = WN_MAX(0, WN_MIN(a - w / 2, nr - w));
        for (int64_t r = st; r < st + w; r++) p[(*np)++] = x[r < a ? r : r + (b - a)];
    } else if (kind == ADAPT_TITLE) {
        *nq = (int)WN_MIN(d->text[i] - d->doc[i], ADAPT_WINDOW);
        memcpy(q, d->tok + d->doc[i], (size_t)*nq * sizeof *q);
        int64_t w = WN_MIN(nx, ADAPT_WINDOW), st = rnd(rs, nx - w + 1);
        *np = (int)w;
        memcpy(p, x + st, (size_t)w * sizeof *p);
    } else {
        const int32_t *y = nx ? x : d->tok + d->doc[i];
        int64_t n = nx ? nx : d->text[i] - d->doc[i];
        int64_t c = ADAPT_MIN_SPAN + rnd(rs, n - 2 * ADAPT_MIN_SPAN + 1); /* cut: both sides >= MIN_SPAN */
        int64_t lq = ADAPT_MIN_SPAN + rnd(rs, WN_MIN(c, 32) - ADAPT_MIN_SPAN + 1), sq = rnd(rs, c - lq + 1);
        int64_t lp = WN_MIN(n - c, ADAPT_WINDOW), sp = c + rnd(rs, n - c - lp + 1);
        *nq = (int)lq, *np = (int)lp;
        memcpy(q, y + sq, (size_t)lq * sizeof *q);
        memcpy(p, y + sp, (size_t)lp * sizeof *p);
    }
    return kind;
}

/* ---- the run */

typedef struct {
    int B;
    int32_t *buf;       /* (2B, W) */
    const int32_t **seq; /* (2B) */
    int *len;           /* (2B) */
} batch_buf;

static void batch_free(batch_buf *b) {
    wn_free(b->buf), wn_free(b->seq), wn_free(b->len);
}

static wn_status batch_init(batch_buf *b, int B) {
    b->B = B;
    b->buf = wn_malloc((size_t)2 * B * ADAPT_WINDOW * sizeof *b->buf);
    b->seq = wn_malloc((size_t)2 * B * sizeof *b->seq);
    b->len = wn_malloc((size_t)2 * B * sizeof *b->len);
    if (!b->buf || !b->seq || !b->len) return wn_seterr(WN_ERR_NOMEM, "adapt: out of memory for a batch of %d", B);
    for (int s = 0; s < 2 * B; s++) b->seq[s] = b->buf + (size_t)s * ADAPT_WINDOW;
    return WN_OK;
}

/* Pair k of the batch from document doc. */
static void batch_set(batch_buf *b, const adapt_docs *d, int k, int64_t doc, uint64_t *rs) {
    b->seq[k] = b->buf + (size_t)k * ADAPT_WINDOW; /* the held-out loss borrows seq */
    b->seq[b->B + k] = b->buf + (size_t)(b->B + k) * ADAPT_WINDOW;
    adapt_make_pair(d, doc, rs, b->buf + (size_t)k * ADAPT_WINDOW, &b->len[k], b->buf + (size_t)(b->B + k) * ADAPT_WINDOW,
                    &b->len[b->B + k]);
}

/* The held-out loss: the mean over batches of up to B fixed pairs (a last batch of
 * one pair joins the one before: MNRL needs two). */
typedef struct {
    int64_t n;
    int32_t *q, *p; /* (n, W) */
    int *nq, *np;   /* (n) */
} heldout;

static void heldout_free(heldout *h) { wn_free(h->q), wn_free(h->p), wn_free(h->nq), wn_free(h->np); }

static wn_status heldout_loss(static_fit *f, const heldout *h, int B, const int32_t **seq, int *len, double *out) {
    double sum = 0;
    int64_t nb = 0;
    for (int64_t a = 0; a < h->n;) {
        int64_t m = WN_MIN((int64_t)B, h->n - a);
        if (h->n - a - m == 1 && m > 2) m--; /* never leave a lone pair */
        for (int k = 0; k < m; k++) {
            seq[k] = h->q + (size_t)(a + k) * ADAPT_WINDOW, len[k] = h->nq[a + k];
            seq[m + k] = h->p + (size_t)(a + k) * ADAPT_WINDOW, len[m + k] = h->np[a + k];
        }
        float l;
        wn_status st = static_fit_loss(f, (int)m, seq, len, &l);
        if (st) return st;
        sum += l;
        nb++;
        a += m;
    }
    *out = nb ? sum / (double)nb : 0;
    return WN_OK;
}

static void json_esc(char *o, size_t cap, const char *s) {
    size_t n = 0;
    for (; s && *s && n + 3 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') o[n++] = '\\';
        o[n++] = c < 0x20 ? ' ' : (char)c;
    }
    o[n] = 0;
}

static wn_status write_report(const char *out_dir, const char *base, const wn_static_adapt_params *p,
                              const wn_static_adapt_stats *s) {
    char esc[1024], text[4096];
    json_esc(esc, sizeof esc, base ? base : "");
    int n = snprintf(text, sizeof text,
                     "{\n  \"base_model\": \"%s\",\n  \"init\": \"%s\",\n  \"seed\": %llu,\n  \"pairs_per_doc\": %d,\n"
                     "  \"batch\": %d,\n  \"lr\": %g,\n  \"scale\": %g,\n  \"patience\": %d,\n  \"docs\": %lld,\n"
                     "  \"train_docs\": %lld,\n  \"heldout_docs\": %lld,\n  \"steps\": %lld,\n  \"best_step\": %lld,\n"
                     "  \"pairs\": %lld,\n  \"heldout_loss_start\": %.6f,\n  \"heldout_loss_best\": %.6f,\n"
                     "  \"seconds\": %.3f\n}\n",
                     esc, p->random_init ? "random" : "model", (unsigned long long)p->seed, p->pairs_per_doc, p->batch,
                     (double)p->lr, (double)p->scale, p->patience, (long long)s->docs, (long long)s->train_docs,
                     (long long)s->heldout_docs, (long long)s->steps, (long long)s->best_step, (long long)s->pairs,
                     s->loss_start, s->loss_best, s->seconds);
    char *path = wn_path_join(out_dir, "adapt.json");
    if (!path) return wn_seterr(WN_ERR_NOMEM, "out of memory");
    wn_atomic_file af;
    wn_status st = wn_atomic_open(&af, path);
    if (st == WN_OK) {
        if ((st = wn_atomic_write(&af, text, (size_t)n)) == WN_OK) st = wn_atomic_commit(&af);
        else wn_atomic_abort(&af);
    }
    wn_free(path);
    return st;
}

static wn_status check_params(const char *model, int64_t n_docs, const char *out_dir, const wn_static_adapt_params *p) {
    if (!model || !out_dir || n_docs < 0)
        return wn_seterr(WN_ERR_ARG, "wn_static_adapt: a model, an output directory and n_docs >= 0 are required");
    if (p->pairs_per_doc < 1 || p->pairs_per_doc > 100000 || p->batch < 2 || p->batch > 65536 || !(p->lr > 0) ||
        !(p->lr < 10) || !(p->scale > 0) || p->patience < 1 || p->n_threads < 0)
        return wn_seterr(WN_ERR_ARG, "wn_static_adapt: pairs_per_doc %d (1..100000), batch %d (2..65536), lr %g (0..10), "
                                     "scale %g (> 0), patience %d (>= 1), n_threads %d (>= 0)",
                         p->pairs_per_doc, p->batch, (double)p->lr, (double)p->scale, p->patience, p->n_threads);
    return WN_OK;
}

/* The starting model: its table scaled (see the file's comment) into E; seen[t] = 1
 * for its non-zero rows. */
static void init_from(static_fit *f, const float *T, int V, int D, uint8_t *seen) {
    float *E = static_fit_table(f);
    double ss = 0;
    int64_t rows = 0;
    for (int t = 0; t < V; t++) {
        double r = 0;
        for (int k = 0; k < D; k++) r += (double)T[(size_t)t * D + k] * T[(size_t)t * D + k];
        if (r > 0) ss += r, rows++, seen[t] = 1;
    }
    float g = rows ? (float)(0.1 / sqrt(ss / ((double)rows * D))) : 1.0f;
    for (size_t i = 0; i < (size_t)V * D; i++) E[i] = g * T[i];
}

wn_status wn_static_adapt(const char *model, const wn_model_params *mp, int64_t n_docs, const char *const *titles,
                          const char *const *texts, const char *out_dir, const wn_static_adapt_params *pp,
                          wn_static_adapt_stats *stats) {
    WN_ENTRY();
    wn_static_adapt_params defp = wn_static_adapt_default_params();
    const wn_static_adapt_params *p = pp ? pp : &defp;
    wn_static_adapt_stats s;
    memset(&s, 0, sizeof s);
    if (stats) *stats = s;
    wn_status st = check_params(model, n_docs, out_dir, p);
    if (st) return st;
    double t0 = wn_now();
    char dir[4096], sub[1024], *tok_dir = NULL;
    int normalize = 0;
    wn_model *m = NULL;
    static_fit *f = NULL;
    adapt_docs d;
    memset(&d, 0, sizeof d);
    heldout h;
    memset(&h, 0, sizeof h);
    batch_buf b;
    memset(&b, 0, sizeof b);
    int64_t *order = NULL;
    uint8_t *seen = NULL;
    float *bestE = NULL, *bestu = NULL;
    wn_model_params defmp = wn_model_default_params();
    if ((st = wn_hub_resolve(model, mp ? &mp->hub : &defmp.hub, dir, sizeof dir))) goto done;
    if (!static_detect(dir, sub, sizeof sub, &normalize)) {
        st = wn_seterr(WN_ERR_UNSUPPORTED, "adapt: %s is not a static embedding model (only those can be adapted at index time)",
                       model);
        goto done;
    }
    if (!(tok_dir = wn_path_join(dir, sub[0] ? sub : "."))) goto nomem;
    if ((st = model_load_dir(dir, mp ? mp : &defmp, 1, &m))) goto done;
    int V, D;
    const float *T = static_table(m, &V, &D);
    if ((st = adapt_docs_build(&d, wn_model_tokenizer(m), n_docs, titles, texts))) goto done;
    /* trainable documents in a seeded order; the first H held out */
    uint64_t rs = p->seed;
    if (!(order = wn_malloc((size_t)(n_docs + 1) * sizeof *order)) || !(seen = wn_calloc((size_t)V, 1))) goto nomem;
    int64_t n_ok = 0;
    for (int64_t i = 0; i < n_docs; i++)
        if (adapt_kinds(&d, i)) order[n_ok++] = i;
    for (int64_t i = n_ok - 1; i > 0; i--) {
        int64_t j = rnd(&rs, i + 1), x = order[i];
        order[i] = order[j], order[j] = x;
    }
    int64_t H = WN_MIN(n_ok / 10, 512);
    if (H < 8) H = 0;
    const int64_t n_train = n_ok - H;
    if (n_train < 2) {
        st = wn_seterr(WN_ERR_ARG, "adapt: %lld of %lld documents give training pairs; at least 2 are needed (a document needs "
                                   "two sentences, a title and a text, or %d tokens)",
                       (long long)n_train, (long long)n_docs, 2 * ADAPT_MIN_SPAN);
        goto done;
    }
    const int B = (int)WN_MIN((int64_t)p->batch, n_train);
    const int64_t max_steps = WN_MAX(1, ((int64_t)p->pairs_per_doc * n_train + B - 1) / B);
    const int64_t every = WN_MAX(1, (n_train + B - 1) / B);
    if ((st = static_fit_create(V, D, B, ADAPT_WINDOW, p->n_threads, p->lr, p->scale, &f)))
        goto done;
    if (p->random_init) static_fit_init_random(f, &rs);
    else init_from(f, T, V, D, seen);
    for (int64_t k = H; k < n_ok; k++) /* rows of the training documents' tokens */
        for (int64_t t = d.doc[order[k]]; t < d.doc[order[k] + 1]; t++) seen[d.tok[t]] = 1;
    if ((st = batch_init(&b, B))) goto done;
    /* held-out pairs, from their own generator */
    h.n = H;
    if (H) {
        h.q = wn_malloc((size_t)H * ADAPT_WINDOW * sizeof *h.q);
        h.p = wn_malloc((size_t)H * ADAPT_WINDOW * sizeof *h.p);
        h.nq = wn_malloc((size_t)H * sizeof *h.nq);
        h.np = wn_malloc((size_t)H * sizeof *h.np);
        bestE = wn_malloc((size_t)V * D * sizeof *bestE);
        bestu = wn_malloc((size_t)V * sizeof *bestu);
        if (!h.q || !h.p || !h.nq || !h.np || !bestE || !bestu) goto nomem;
        uint64_t hs = p->seed ^ 0x5eedf00dcafef00dull;
        for (int64_t k = 0; k < H; k++)
            adapt_make_pair(&d, order[k], &hs, h.q + (size_t)k * ADAPT_WINDOW, &h.nq[k], h.p + (size_t)k * ADAPT_WINDOW,
                            &h.np[k]);
    }
    s.docs = n_docs, s.train_docs = n_train, s.heldout_docs = H;
    double best = INFINITY;
    int since = 0;
    if (H) {
        if ((st = heldout_loss(f, &h, B, b.seq, b.len, &best))) goto done;
        s.loss_start = s.loss_best = (float)best;
        memcpy(bestE, static_fit_table(f), (size_t)V * D * sizeof *bestE);
        memcpy(bestu, static_fit_weights(f), (size_t)V * sizeof *bestu);
    }
    int64_t *tr = order + H, cursor = n_train;
    for (int64_t step = 1; step <= max_steps; step++) {
        for (int k = 0; k < B; k++) {
            if (cursor >= n_train) {
                for (int64_t i = n_train - 1; i > 0; i--) {
                    int64_t j = rnd(&rs, i + 1), x = tr[i];
                    tr[i] = tr[j], tr[j] = x;
                }
                cursor = 0;
            }
            batch_set(&b, &d, k, tr[cursor++], &rs);
        }
        float loss;
        if ((st = static_fit_step(f, B, b.seq, b.len, &loss))) goto done;
        s.steps = step;
        s.pairs += B;
        if (p->progress) p->progress(p->progress_ud, "adapting", (uint64_t)step, (uint64_t)max_steps);
        if (H && (step % every == 0 || step == max_steps)) {
            double l;
            if ((st = heldout_loss(f, &h, B, b.seq, b.len, &l))) goto done;
            if (l < best) {
                best = l, since = 0, s.best_step = step, s.loss_best = (float)l;
                memcpy(bestE, static_fit_table(f), (size_t)V * D * sizeof *bestE);
                memcpy(bestu, static_fit_weights(f), (size_t)V * sizeof *bestu);
            } else if (++since >= p->patience) break;
        }
    }
    if (!H) s.best_step = s.steps;
    if (H) { /* the best model back */
        memcpy(static_fit_table(f), bestE, (size_t)V * D * sizeof *bestE);
        memcpy(static_fit_weights(f), bestu, (size_t)V * sizeof *bestu);
    }
    if (p->progress) p->progress(p->progress_ud, "adapting", (uint64_t)max_steps, (uint64_t)max_steps);
    if ((st = static_fit_write(f, seen, out_dir, tok_dir, 1))) goto done;
    s.seconds = wn_now() - t0;
    if ((st = write_report(out_dir, model, p, &s))) goto done;
    if (stats) *stats = s;
    goto done;
nomem:
    st = wn_seterr(WN_ERR_NOMEM, "adapt: out of memory (%lld documents)", (long long)n_docs);
done:
    wn_free(tok_dir);
    wn_model_free(m);
    static_fit_free(f);
    adapt_docs_free(&d);
    heldout_free(&h);
    batch_free(&b);
    wn_free(order), wn_free(seen), wn_free(bestE), wn_free(bestu);
    return st;
}

/* ---- inside winnow index: the build's dense_adapt hook */

typedef struct {
    const wn_pipeline_build_params *bp;
    const wn_static_adapt_params *p;
    wn_static_adapt_stats *stats;
} adapt_hook;

static wn_status adapt_store(void *ud, wn_store *store, const char *index_dir, char *sub, size_t cap) {
    const adapt_hook *a = ud;
    const char *name = "adapted-model";
    int64_t n = wn_store_count(store);
    char **titles = wn_calloc((size_t)n + 1, sizeof *titles), **texts = wn_calloc((size_t)n + 1, sizeof *texts);
    char *out = wn_path_join(index_dir, name);
    wn_status st = WN_OK;
    if (!titles || !texts || !out) goto nomem;
    for (int64_t r = 0; r < n; r++) {
        wn_doc d;
        if ((st = wn_store_get(store, r, &d))) goto done;
        if (!(titles[r] = wn_strdup(d.title ? d.title : "")) || !(texts[r] = wn_strdup(d.text ? d.text : ""))) goto nomem;
    }
    if ((st = wn_static_adapt(a->bp->dense_model, &a->bp->model_params, n, (const char *const *)titles,
                              (const char *const *)texts, out, a->p, a->stats)))
        goto done;
    snprintf(sub, cap, "%s", name);
    goto done;
nomem:
    st = wn_seterr(WN_ERR_NOMEM, "adapt: out of memory reading %lld documents", (long long)n);
done:
    for (int64_t r = 0; titles && texts && r < n; r++) wn_free(titles[r]), wn_free(texts[r]);
    wn_free(titles), wn_free(texts), wn_free(out);
    return st;
}

wn_status wn_static_adapt_build(const char *corpus, const char *dir, const wn_pipeline_build_params *bp,
                                const wn_static_adapt_params *p, wn_pipeline_build_stats *stats,
                                wn_static_adapt_stats *astats) {
    WN_ENTRY();
    if (!bp || !bp->dense_model) return wn_seterr(WN_ERR_ARG, "wn_static_adapt_build: a dense model to adapt is required");
    wn_static_adapt_params defp = wn_static_adapt_default_params();
    wn_static_adapt_stats s;
    memset(&s, 0, sizeof s);
    adapt_hook a = {bp, p ? p : &defp, &s};
    wn_pipeline_build_params q = *bp;
    q.dense_adapt = adapt_store;
    q.dense_adapt_ud = &a;
    wn_status st = wn_pipeline_build(corpus, dir, &q, stats);
    if (astats) *astats = s;
    return st;
}
