/*
 * demo_collection.c - the seed notebook's exercises on a real collection (BEIR layout:
 * corpus.jsonl, queries.jsonl, qrels/test.tsv), for `winnow demo`:
 *
 *   1. dense retrieval (bi-encoder + flat index) and dense + re-ranking, P@3 / MRR@10 /
 *      nDCG@10 and per-stage latency (exercise 1);
 *   2. the k sweep: k_candidates in {5, 10, 20, 50}, quality against re-rank time (2);
 *   3. HNSW and IVF against brute force: latency per query and recall@10 (4);
 *   4. BM25 and hybrid (RRF) first stages, each before and after re-ranking (5).
 *
 * For speed on a laptop the collection is cut to its first max_docs documents and to
 * the queries (at most max_queries, in queries.jsonl order) that have a relevant
 * document among them; the qrels are cut to those documents, so nDCG's ideal is one
 * the subset can reach. Each stage's ranking per query is written as a TREC run
 * (DIR/runs/NAME.run, scores = depth - rank + 1 so the file's order is the stage's)
 * with the cut qrels (DIR/qrels.tsv), so anyone can recompute the metrics.
 * A (query, document) pair is scored by the cross-encoder once, whichever stage asks
 * first (a pair's logit does not depend on the other candidates); a stage's re-rank
 * time is the sum over its k pairs of each pair's share of the batched call that
 * scored it (call time / pairs in the call), plus its sort. This keeps the run short
 * with full-size models: the k sweep and the three first stages share most pairs.
 * Uses include/winnow.h only: documents are embedded with wn_model_embed into a
 * wn_index, BM25 is wn_bm25, fusion is wn_fuse, metrics are wn_evaluate.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "demo.h"

#define DEPTH 50  /* first-stage hits kept per query (>= the largest k swept) */
#define EMBED_BATCH 16

static const int sweep_ks[] = {5, 10, 20, 50};

/* D documents, Q queries, E embedding size, P depth */
struct demo_coll {
    char **doc_ids, **doc_texts; /* (D) texts: title + " " + text */
    char **q_ids, **q_texts;     /* (Q) */
    wn_qrels *qrels;             /* cut to the D documents and the Q queries */
    float *doc_emb;              /* (D, E) */
    float *q_emb;                /* (Q, E) */
    wn_index *flat;
    wn_bm25 *bm25;
    int depth;                   /* P = min(DEPTH, D) */
    int64_t *dense;              /* (Q, P) rows best first, -1 padded */
    double *dense_ms;            /* (Q) embed the query + flat search */
    int64_t *lex;                /* (Q, P) BM25 */
    double *lex_ms;
    int64_t *hyb;                /* (Q, P) RRF of dense and BM25 */
    double *hyb_ms;
    int64_t *sweep_rows;         /* (DEMO_MAX_SWEEP, Q, P) the sweep's re-ranked rows */
    double *sweep_ms;            /* (DEMO_MAX_SWEEP, Q) their re-rank ms per query */
    float *logit;                /* (Q, D) cross-encoder logit of (query, doc), NAN: not yet scored */
    double *pair_ms;             /* (Q, D) its share of the scoring call that computed it */
};

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int oom(void) { return cli_error("demo: out of memory"); }

static char *xstrdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p) memcpy(p, s, n);
    return p;
}

/* ---- loading */

typedef struct {
    const char *id;
    int row;
} id_row;

static int cmp_id_row(const void *a, const void *b) { return strcmp(((const id_row *)a)->id, ((const id_row *)b)->id); }

static int find_row(const id_row *map, int n, const char *id) {
    id_row key = {id, 0};
    const id_row *hit = bsearch(&key, map, (size_t)n, sizeof *map, cmp_id_row);
    return hit ? hit->row : -1;
}

/* Reads up to max documents (or queries: title empty) from a BEIR jsonl file into
 * ids/texts; *n read. 0 ok, 1 failed (printed). */
static int read_jsonl(const char *path, int max, char ***ids, char ***texts, int *n) {
    wn_corpus_params cp = wn_corpus_default_params();
    cp.format = WN_CORPUS_BEIR;
    wn_corpus *c;
    wn_status st = wn_corpus_open(path, &cp, &c);
    if (st) return cli_lib_error("demo", st);
    int cap = 0, rc = 0;
    *n = 0;
    for (;;) {
        if (max > 0 && *n >= max) break;
        wn_doc doc;
        int got = 0;
        st = wn_corpus_next(c, &doc, &got);
        if (st) {
            rc = cli_lib_error("demo", st);
            break;
        }
        if (!got) break;
        if (*n == cap) {
            cap = cap ? cap * 2 : 256;
            char **a = realloc(*ids, (size_t)cap * sizeof *a);
            if (a) *ids = a;
            char **b = a ? realloc(*texts, (size_t)cap * sizeof *b) : NULL;
            if (b) *texts = b;
            if (!a || !b) {
                rc = oom();
                break;
            }
        }
        size_t lt = strlen(doc.title), lx = strlen(doc.text);
        char *t = malloc(lt + lx + 2);
        char *id = xstrdup(doc.id);
        if (!t || !id) {
            free(t);
            free(id);
            rc = oom();
            break;
        }
        if (lt) {
            memcpy(t, doc.title, lt);
            t[lt++] = ' ';
        }
        memcpy(t + lt, doc.text, lx + 1);
        (*ids)[*n] = id;
        (*texts)[*n] = t;
        (*n)++;
    }
    wn_corpus_close(c);
    return rc;
}

/* Embeds n texts in batches into out (n * dim), with a progress bar on a terminal. */
static wn_status embed_all(demo_ctx *x, int n, char **texts, float *out) {
    cli_progress bar;
    cli_progress_init(&bar);
    wn_status st = WN_OK;
    for (int i = 0; i < n && !st; i += EMBED_BATCH) {
        int b = n - i < EMBED_BATCH ? n - i : EMBED_BATCH;
        st = wn_model_embed(x->bi, b, (const char *const *)(texts + i), out + (size_t)i * x->dim);
        cli_progress_cb(&bar, "embedding", (uint64_t)(i + b), (uint64_t)n);
    }
    cli_progress_end(&bar);
    return st;
}

static void free_strs(char **s, int n) {
    for (int i = 0; s && i < n; i++) free(s[i]);
    free(s);
}

void demo_collection_free(demo_ctx *x) {
    demo_coll *c = x->coll;
    if (!c) return;
    free_strs(c->doc_ids, x->n_docs);
    free_strs(c->doc_texts, x->n_docs);
    free_strs(c->q_ids, x->n_queries);
    free_strs(c->q_texts, x->n_queries);
    wn_qrels_free(c->qrels);
    free(c->doc_emb);
    free(c->q_emb);
    wn_index_free(c->flat);
    wn_bm25_free(c->bm25);
    free(c->dense);
    free(c->dense_ms);
    free(c->lex);
    free(c->lex_ms);
    free(c->hyb);
    free(c->hyb_ms);
    free(c->logit);
    free(c->pair_ms);
    free(c->sweep_rows);
    free(c->sweep_ms);
    free(c);
    x->coll = NULL;
}

static int mkdir_p(const char *dir) {
    char p[4096];
    if (snprintf(p, sizeof p, "%s", dir) >= (int)sizeof p) return cli_error("demo: path too long: %s", dir);
    for (char *s = p + 1;; s++) {
        if (*s == '/' || !*s) {
            char ch = *s;
            *s = 0;
            if (mkdir(p, 0755) && errno != EEXIST) return cli_error("demo: cannot create %s: %s", p, strerror(errno));
            *s = ch;
            if (!ch) break;
        }
    }
    return 0;
}

/* Writes the cut qrels as BEIR tsv (atomically: temp + rename). */
static int save_qrels(const demo_ctx *x, const char *path) {
    char tmp[4400];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) return cli_error("demo: cannot write %s: %s", tmp, strerror(errno));
    fprintf(f, "query-id\tcorpus-id\tscore\n");
    const wn_qrels *q = x->coll->qrels;
    for (int64_t i = 0; i < wn_qrels_num_queries(q); i++)
        for (int64_t j = 0; j < wn_qrels_num_judged(q, i); j++) {
            int g;
            const char *doc = wn_qrels_judged(q, i, j, &g);
            fprintf(f, "%s\t%s\t%d\n", wn_qrels_query(q, i), doc, g);
        }
    int bad = ferror(f) | fclose(f);
    if (bad || rename(tmp, path)) {
        remove(tmp);
        return cli_error("demo: cannot write %s", path);
    }
    return 0;
}

/* Loads the collection cut to max_docs and max_queries, embeds it, builds the flat
 * index and runs the dense first stage. 0 ok (or skipped), 1 failed. */
static int load_collection(demo_ctx *x) {
    if (x->coll_state) return x->coll_state < 0 && x->coll_explicit;
    x->coll_state = -1;
    char corpus[4096], queries[4096], qrels[4096];
    struct stat sb;
    if (!x->coll_path) {
        demo_heading(x, "Collection - %s", "skipped");
        printf("  %s\n", x->coll_note);
        return 0;
    }
    if (stat(x->coll_path, &sb) || !S_ISDIR(sb.st_mode)) {
        if (x->coll_explicit) return cli_error("demo: --collection %s: not a directory", x->coll_path);
        snprintf(x->coll_note, sizeof x->coll_note,
                 "No collection: %s is absent. Pass --collection DIR (a BEIR folder: corpus.jsonl, "
                 "queries.jsonl, qrels/test.tsv) to run the exercises on real data.",
                 x->coll_path);
        demo_heading(x, "Collection - %s", "skipped");
        printf("  %s\n", x->coll_note);
        return 0;
    }
    snprintf(corpus, sizeof corpus, "%s/corpus.jsonl", x->coll_path);
    snprintf(queries, sizeof queries, "%s/queries.jsonl", x->coll_path);
    snprintf(qrels, sizeof qrels, "%s/qrels/test.tsv", x->coll_path);
    const char *need[] = {corpus, queries, qrels};
    for (int i = 0; i < 3; i++)
        if (stat(need[i], &sb)) {
            if (x->coll_explicit)
                return cli_error("demo: collection %s lacks %s (BEIR layout: corpus.jsonl, queries.jsonl, "
                                 "qrels/test.tsv)",
                                 x->coll_path, need[i]);
            snprintf(x->coll_note, sizeof x->coll_note, "No collection: %s lacks %s.", x->coll_path, need[i]);
            demo_heading(x, "Collection - %s", "skipped");
            printf("  %s\n", x->coll_note);
            return 0;
        }

    demo_coll *c = calloc(1, sizeof *c);
    if (!c) return oom();
    x->coll = c;
    int nd = 0, nq_all = 0;
    char **qids = NULL, **qtexts = NULL;
    wn_qrels *all = NULL;
    id_row *map = NULL;
    int rc = 1;
    if (read_jsonl(corpus, x->max_docs, &c->doc_ids, &c->doc_texts, &nd)) goto done;
    x->n_docs = nd;
    if (nd < 1) {
        cli_error("demo: %s has no documents", corpus);
        goto done;
    }
    if (read_jsonl(queries, 0, &qids, &qtexts, &nq_all)) goto done;
    wn_status st = wn_qrels_load(qrels, &all);
    if (st) {
        cli_lib_error("demo", st);
        goto done;
    }
    if (!(map = malloc((size_t)nd * sizeof *map))) goto nomem;
    for (int i = 0; i < nd; i++) map[i] = (id_row){c->doc_ids[i], i};
    qsort(map, (size_t)nd, sizeof *map, cmp_id_row);

    /* the queries (file order) with a relevant document in the cut, and their judgments */
    if ((st = wn_qrels_create(&c->qrels))) {
        cli_lib_error("demo", st);
        goto done;
    }
    if (!(c->q_ids = malloc((size_t)(nq_all ? nq_all : 1) * sizeof *c->q_ids)) ||
        !(c->q_texts = malloc((size_t)(nq_all ? nq_all : 1) * sizeof *c->q_texts)))
        goto nomem;
    int64_t nqr = wn_qrels_num_queries(all);
    for (int i = 0; i < nq_all && x->n_queries < x->max_queries; i++) {
        int64_t qi = -1;
        for (int64_t j = 0; j < nqr && qi < 0; j++)
            if (!strcmp(wn_qrels_query(all, j), qids[i])) qi = j;
        if (qi < 0) continue;
        int rel = 0;
        for (int64_t j = 0; j < wn_qrels_num_judged(all, qi); j++) {
            int g;
            const char *doc = wn_qrels_judged(all, qi, j, &g);
            if (g >= 1 && find_row(map, nd, doc) >= 0) rel++;
        }
        if (!rel) continue;
        for (int64_t j = 0; j < wn_qrels_num_judged(all, qi); j++) {
            int g;
            const char *doc = wn_qrels_judged(all, qi, j, &g);
            if (find_row(map, nd, doc) >= 0 && (st = wn_qrels_add(c->qrels, qids[i], doc, g))) {
                cli_lib_error("demo", st);
                goto done;
            }
        }
        x->n_judged += rel;
        c->q_ids[x->n_queries] = qids[i];
        c->q_texts[x->n_queries] = qtexts[i];
        qids[i] = qtexts[i] = NULL;
        x->n_queries++;
    }
    if (!x->n_queries) {
        cli_error("demo: no query of %s has a relevant document among the first %d of %s (try a larger --docs)",
                  qrels, nd, corpus);
        goto done;
    }

    /* embed, index, and the dense first stage */
    int D = nd, Q = x->n_queries, E = x->dim;
    c->depth = D < DEPTH ? D : DEPTH;
    int P = c->depth;
    if (!(c->logit = malloc((size_t)Q * D * sizeof(float))) || !(c->pair_ms = calloc((size_t)Q * D, sizeof(double))))
        goto nomem;
    for (size_t i = 0; i < (size_t)Q * D; i++) c->logit[i] = NAN;
    if (!(c->doc_emb = malloc((size_t)D * E * sizeof(float))) || !(c->q_emb = malloc((size_t)Q * E * sizeof(float))) ||
        !(c->dense = malloc((size_t)Q * P * sizeof(int64_t))) || !(c->dense_ms = calloc((size_t)Q, sizeof(double))))
        goto nomem;
    double t0 = now_s();
    if ((st = embed_all(x, D, c->doc_texts, c->doc_emb))) {
        cli_lib_error("demo", st);
        goto done;
    }
    x->embed_s = now_s() - t0;
    wn_index_params ip = wn_index_default_params();
    ip.n_threads = 1;
    if ((st = wn_index_create(WN_INDEX_FLAT, E, WN_METRIC_COS, &ip, &c->flat)) ||
        (st = wn_index_add(c->flat, D, c->doc_emb, NULL))) {
        cli_lib_error("demo", st);
        goto done;
    }
    float *dist = malloc((size_t)P * sizeof *dist);
    if (!dist) goto nomem;
    for (int q = 0; q < Q && !st; q++) {
        const char *qt = c->q_texts[q];
        double t1 = now_s();
        st = wn_model_embed(x->bi, 1, &qt, c->q_emb + (size_t)q * E);
        if (!st) st = wn_index_search(c->flat, 1, c->q_emb + (size_t)q * E, P, NULL, dist, c->dense + (size_t)q * P);
        c->dense_ms[q] = (now_s() - t1) * 1e3;
    }
    free(dist);
    if (st) {
        cli_lib_error("demo", st);
        goto done;
    }
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/runs", x->out_dir);
    if (mkdir_p(dir)) goto done;
    snprintf(dir, sizeof dir, "%s/qrels.tsv", x->out_dir);
    if (save_qrels(x, dir)) goto done;
    x->coll_state = 1;
    rc = 0;
    goto done;
nomem:
    oom();
done:
    free_strs(qids, nq_all);
    free_strs(qtexts, nq_all);
    wn_qrels_free(all);
    free(map);
    if (rc) demo_collection_free(x);
    return rc;
}

/* ---- stages */

/* Re-ranks the first m = min(k, n) of query q's rows[n] by the cross-encoder's
 * (first) logit, ties keeping the first stage's order; out[n] gets them, then
 * rows[m..n). Pairs not scored yet are scored in one call. */
static wn_status rerank(demo_ctx *x, int q, const int64_t *rows, int n, int k, int64_t *out, double *ms) {
    demo_coll *c = x->coll;
    int m = k < n ? k : n, nl = wn_model_num_labels(x->ce), nnew = 0;
    size_t base = (size_t)q * x->n_docs, cap = (size_t)(m ? m : 1);
    const char **qs = malloc(cap * sizeof *qs), **ds = malloc(cap * sizeof *ds);
    float *logit = malloc(cap * (size_t)nl * sizeof *logit), *best = malloc(cap * sizeof *best);
    int64_t *todo = malloc(cap * sizeof *todo);
    wn_status st = WN_ERR_NOMEM;
    if (qs && ds && logit && best && todo) {
        for (int i = 0; i < m; i++)
            if (isnan(c->logit[base + rows[i]])) {
                qs[nnew] = c->q_texts[q];
                ds[nnew] = c->doc_texts[rows[i]];
                todo[nnew++] = rows[i];
            }
        double t0 = now_s();
        st = nnew ? wn_model_score(x->ce, nnew, qs, ds, logit) : WN_OK;
        double share = nnew ? (now_s() - t0) * 1e3 / nnew : 0;
        for (int i = 0; i < nnew && !st; i++) {
            c->logit[base + todo[i]] = logit[(size_t)i * nl];
            c->pair_ms[base + todo[i]] = share;
        }
        t0 = now_s();
        if (!st) {
            *ms = 0;
            for (int i = 0; i < m; i++) { /* insertion sort: stable, m is small */
                float s = c->logit[base + rows[i]];
                *ms += c->pair_ms[base + rows[i]];
                int pos = i;
                while (pos > 0 && s > best[pos - 1]) pos--;
                for (int j = i; j > pos; j--) {
                    best[j] = best[j - 1];
                    out[j] = out[j - 1];
                }
                best[pos] = s;
                out[pos] = rows[i];
            }
            for (int i = m; i < n; i++) out[i] = rows[i];
            *ms += (now_s() - t0) * 1e3;
        }
    }
    free(qs);
    free(ds);
    free(logit);
    free(best);
    free(todo);
    return st;
}

static int hits_of(const int64_t *rows, int P) {
    int n = 0;
    while (n < P && rows[n] >= 0) n++;
    return n;
}

/* Evaluates one ranking per query (rows: Q x P, -1 padded), writes its run file and
 * appends the stage. 0 ok, 1 failed. */
static int add_stage(demo_ctx *x, const char *name, const char *file, int k, const int64_t *rows, const double *first_ms,
                     const double *rerank_ms, demo_stage *out_copy) {
    demo_coll *c = x->coll;
    int Q = x->n_queries, P = c->depth;
    wn_run *run = NULL;
    wn_eval *ev = NULL;
    wn_measure ms[3];
    wn_measure_parse("p@3", &ms[0]);
    wn_measure_parse("mrr@10", &ms[1]);
    wn_measure_parse("ndcg@10", &ms[2]);
    wn_status st = wn_run_create(&run);
    for (int q = 0; q < Q && !st; q++) {
        int n = hits_of(rows + (size_t)q * P, P);
        for (int i = 0; i < n && !st; i++)
            st = wn_run_add(run, c->q_ids[q], c->doc_ids[rows[(size_t)q * P + i]], (double)(P - i));
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/runs/%s.run", x->out_dir, file);
    if (!st) st = wn_run_save(run, path, file, 0);
    if (!st) st = wn_evaluate(c->qrels, run, 3, ms, &ev);
    if (st) {
        wn_run_free(run);
        return cli_lib_error("demo", st);
    }
    demo_stage s;
    memset(&s, 0, sizeof s);
    snprintf(s.name, sizeof s.name, "%s", name);
    snprintf(s.run, sizeof s.run, "%s.run", file);
    s.k = k;
    s.p3 = wn_eval_mean(ev, 0);
    s.mrr10 = wn_eval_mean(ev, 1);
    s.ndcg10 = wn_eval_mean(ev, 2);
    for (int q = 0; q < Q; q++) {
        s.first_ms += first_ms[q] / Q;
        if (rerank_ms) s.rerank_ms += rerank_ms[q] / Q;
    }
    wn_eval_free(ev);
    wn_run_free(run);
    if (out_copy) *out_copy = s;
    if (!out_copy) {
        for (int i = 0; i < x->n_stages; i++)
            if (!strcmp(x->stages[i].name, name)) {
                x->stages[i] = s; /* a section run twice replaces its rows */
                return 0;
            }
        if (x->n_stages < DEMO_MAX_STAGES) x->stages[x->n_stages++] = s;
    }
    return 0;
}

/* Re-ranks every query's first stage at k into a stage (or a copy); keep_rows
 * (Q x P) and keep_ms (Q), when not NULL, get the rankings and times. */
static int rerank_stage(demo_ctx *x, const char *name, const char *file, int k, const int64_t *first,
                        const double *first_ms, demo_stage *out_copy, int64_t *keep_rows, double *keep_ms) {
    demo_coll *c = x->coll;
    int Q = x->n_queries, P = c->depth;
    int64_t *rows = malloc((size_t)Q * P * sizeof *rows);
    double *ms = calloc((size_t)Q, sizeof *ms);
    if (!rows || !ms) {
        free(rows);
        free(ms);
        return oom();
    }
    wn_status st = WN_OK;
    cli_progress bar; /* full-size cross-encoders take seconds per query */
    cli_progress_init(&bar);
    for (int q = 0; q < Q && !st; q++) {
        const int64_t *in = first + (size_t)q * P;
        int n = hits_of(in, P);
        for (int i = n; i < P; i++) rows[(size_t)q * P + i] = -1;
        st = rerank(x, q, in, n, k, rows + (size_t)q * P, &ms[q]);
        cli_progress_cb(&bar, "re-ranking", (uint64_t)q + 1, (uint64_t)Q);
    }
    cli_progress_end(&bar);
    int rc = st ? cli_lib_error("demo", st) : add_stage(x, name, file, k, rows, first_ms, ms, out_copy);
    if (!rc && keep_rows) memcpy(keep_rows, rows, (size_t)Q * P * sizeof *rows);
    if (!rc && keep_ms) memcpy(keep_ms, ms, (size_t)Q * sizeof *ms);
    free(rows);
    free(ms);
    return rc;
}

static const demo_stage *find_stage(const demo_ctx *x, const char *name) {
    for (int i = 0; i < x->n_stages; i++)
        if (!strcmp(x->stages[i].name, name)) return &x->stages[i];
    return NULL;
}

static void stage_table(const demo_ctx *x, const char *const *names, int n) {
    printf("  stage                      P@3  MRR@10  nDCG@10   first ms  rerank ms   total ms\n");
    for (int i = 0; i < n; i++) {
        const demo_stage *s = find_stage(x, names[i]);
        if (!s) continue;
        printf("  %-22s %7.3f %7.3f  %7.3f  %9.2f  %9.2f  %9.2f\n", s->name, s->p3, s->mrr10, s->ndcg10, s->first_ms,
               s->rerank_ms, s->first_ms + s->rerank_ms);
    }
    printf("  (means over %d queries; ms per query)\n", x->n_queries);
}

/* ---- the sections */

int demo_collection(demo_ctx *x) {
    if (load_collection(x)) return 1;
    if (x->coll_state < 0) return 0;
    demo_coll *c = x->coll;
    char title[160], dense[40], rr[40];
    snprintf(title, sizeof title, "Collection - %d documents, %d queries (exercise 1)", x->n_docs, x->n_queries);
    demo_heading(x, "%s", title);
    printf("  source     %s (its first %d documents: --docs)\n", x->coll_path, x->n_docs);
    printf("  queries    %d (at most --queries %d) with a relevant document among them; %d relevant judgments\n",
           x->n_queries, x->max_queries, x->n_judged);
    printf("  embedding  %.2f s (%.0f docs/s) into a flat cosine index\n\n", x->embed_s,
           x->embed_s > 0 ? x->n_docs / x->embed_s : 0.0);
    snprintf(dense, sizeof dense, "dense");
    snprintf(rr, sizeof rr, "dense + rerank@%d", x->k_cand);
    char file[32];
    snprintf(file, sizeof file, "dense_rerank%d", x->k_cand);
    if (add_stage(x, dense, "dense", 0, c->dense, c->dense_ms, NULL, NULL) ||
        rerank_stage(x, rr, file, x->k_cand, c->dense, c->dense_ms, NULL, NULL, NULL))
        return 1;
    const char *names[] = {dense, rr};
    stage_table(x, names, 2);
    return 0;
}

int demo_k_sweep(demo_ctx *x) {
    if (load_collection(x)) return 1;
    if (x->coll_state < 0) return 0;
    demo_coll *c = x->coll;
    demo_heading(x, "k sweep - %s", "re-ranking the dense top k: quality against re-rank time (exercise 2)");
    const demo_stage *d = NULL;
    demo_stage first;
    if (!(d = find_stage(x, "dense"))) {
        if (add_stage(x, "dense", "dense", 0, c->dense, c->dense_ms, NULL, &first)) return 1;
        d = &first;
    }
    printf("      k      P@3  nDCG@10  rerank ms  total ms\n");
    printf("  first  %7.3f  %7.3f  %9.2f  %8.2f   (dense, no re-ranking)\n", d->p3, d->ndcg10, 0.0, d->first_ms);
    x->n_sweep = 0;
    int Q = x->n_queries;
    if (!c->sweep_rows && (!(c->sweep_rows = malloc((size_t)DEMO_MAX_SWEEP * Q * c->depth * sizeof(int64_t))) ||
                           !(c->sweep_ms = malloc((size_t)DEMO_MAX_SWEEP * Q * sizeof(double)))))
        return oom();
    x->sweep_first_set = 1;
    x->sweep_first_p3 = d->p3;
    x->sweep_first_ndcg = d->ndcg10;
    for (size_t i = 0; i < sizeof sweep_ks / sizeof *sweep_ks; i++) {
        int k = sweep_ks[i];
        if (k > c->depth) break;
        char name[40], file[32];
        snprintf(name, sizeof name, "sweep k=%d", k);
        snprintf(file, sizeof file, "sweep_k%d", k);
        demo_stage s;
        if (rerank_stage(x, name, file, k, c->dense, c->dense_ms, &s, c->sweep_rows + (size_t)x->n_sweep * Q * c->depth,
                         c->sweep_ms + (size_t)x->n_sweep * Q))
            return 1;
        demo_sweep *w = &x->sweep[x->n_sweep++];
        w->k = k;
        w->p3 = s.p3;
        w->mrr10 = s.mrr10;
        w->ndcg10 = s.ndcg10;
        w->rerank_ms = s.rerank_ms;
        w->total_ms = s.first_ms + s.rerank_ms;
        printf("  %5d  %7.3f  %7.3f  %9.2f  %8.2f\n", k, w->p3, w->ndcg10, w->rerank_ms, w->total_ms);
    }
    if (x->n_sweep > 1) {
        const demo_sweep *a = &x->sweep[0], *b = &x->sweep[x->n_sweep - 1];
        printf("  k %d -> %d: nDCG@10 %+.3f for %.1fx the re-rank time (plotted in the report)\n", a->k, b->k,
               b->ndcg10 - a->ndcg10, a->rerank_ms > 0 ? b->rerank_ms / a->rerank_ms : 0.0);
    }
    return 0;
}

/* Times nq searches of k on ix (repeated until 50 ms have passed, at least 3 times). */
static wn_status time_search(const wn_index *ix, int nq, const float *q, const wn_search_params *sp, float *dist,
                             int64_t *ids, double *ms_per_query) {
    int reps = 0;
    double t0 = now_s(), el;
    do {
        wn_status st = wn_index_search(ix, nq, q, 10, sp, dist, ids);
        if (st) return st;
        reps++;
        el = now_s() - t0;
    } while (reps < 3 || el < 0.05);
    *ms_per_query = el * 1e3 / ((double)reps * nq);
    return WN_OK;
}

int demo_ann_vs_flat(demo_ctx *x) {
    if (load_collection(x)) return 1;
    if (x->coll_state < 0) return 0;
    demo_coll *c = x->coll;
    int Q = x->n_queries, D = x->n_docs, K = 10;
    demo_heading(x, "ANN vs brute force - %s", "HNSW and IVF against the flat index, top 10 (exercise 4)");
    float *dist = malloc((size_t)Q * K * sizeof *dist);
    int64_t *truth = malloc((size_t)Q * K * sizeof *truth), *got = malloc((size_t)Q * K * sizeof *got);
    wn_index *ix = NULL;
    int rc = 1;
    if (!dist || !truth || !got) {
        oom();
        goto done;
    }
    printf("  index  parameters                build s  ms/query  recall@10\n");
    x->n_ann = 0;
    /* each index built once, then searched with a small and the default setting */
    const wn_index_type types[] = {WN_INDEX_FLAT, WN_INDEX_HNSW, WN_INDEX_IVF};
    for (int t = 0; t < 3; t++) {
        wn_index_params ip = wn_index_default_params();
        ip.n_threads = 1;
        if (types[t] == WN_INDEX_IVF) ip.nlist = (int)ceil(sqrt((double)D));
        double t0 = now_s();
        wn_status st = wn_index_create(types[t], x->dim, WN_METRIC_COS, &ip, &ix);
        if (!st) st = wn_index_add(ix, D, c->doc_emb, NULL);
        double build_s = now_s() - t0;
        for (int v = 0; v < (t ? 2 : 1) && !st && x->n_ann < DEMO_MAX_ANN; v++) {
            wn_search_params sp = wn_search_default_params();
            sp.n_threads = 1;
            demo_ann *a = &x->ann[x->n_ann];
            memset(a, 0, sizeof *a);
            snprintf(a->name, sizeof a->name, "%s", wn_index_type_name(types[t]));
            if (types[t] == WN_INDEX_HNSW) {
                if (!v) sp.ef = 16;
                snprintf(a->params, sizeof a->params, "M=%d efC=%d ef=%d", ip.m, ip.ef_construction, sp.ef);
            } else if (types[t] == WN_INDEX_IVF) {
                if (!v) sp.nprobe = 1;
                snprintf(a->params, sizeof a->params, "nlist=%d nprobe=%d", ip.nlist, sp.nprobe);
            } else snprintf(a->params, sizeof a->params, "exact");
            a->build_s = build_s;
            st = time_search(ix, Q, c->q_emb, &sp, dist, t ? got : truth, &a->ms_per_query);
            if (st) break;
            int found = 0, want = 0;
            for (int q = 0; q < Q; q++)
                for (int i = 0; i < K; i++) {
                    int64_t id = (t ? got : truth)[(size_t)q * K + i];
                    if (truth[(size_t)q * K + i] >= 0) want++;
                    for (int j = 0; j < K && id >= 0; j++)
                        if (truth[(size_t)q * K + j] == id) {
                            found++;
                            break;
                        }
                }
            a->recall10 = want ? (double)found / want : 0;
            printf("  %-6s %-24s %8.3f  %8.4f  %9.3f\n", a->name, a->params, a->build_s, a->ms_per_query, a->recall10);
            x->n_ann++;
        }
        if (st) {
            cli_lib_error("demo", st);
            goto done;
        }
        wn_index_free(ix);
        ix = NULL;
    }
    printf("  (%d vectors of %d dimensions, %d queries, one thread; recall against the flat top 10)\n", D, x->dim,
           Q);
    if (D < 10000) printf("  At %d vectors brute force is cheap; the graph and the lists pay off from ~10^5.\n", D);
    rc = 0;
done:
    wn_index_free(ix);
    free(dist);
    free(truth);
    free(got);
    return rc;
}

int demo_bm25_hybrid(demo_ctx *x) {
    if (load_collection(x)) return 1;
    if (x->coll_state < 0) return 0;
    demo_coll *c = x->coll;
    int Q = x->n_queries, D = x->n_docs, P = c->depth;
    demo_heading(x, "BM25 and hybrid - %s", "lexical and fused first stages, before and after re-ranking (exercise 5)");
    wn_status st = WN_OK;
    wn_hit *a = malloc((size_t)P * sizeof *a), *b = malloc((size_t)P * sizeof *b), *f = malloc(2 * (size_t)P * sizeof *f);
    float *sc = malloc((size_t)P * sizeof *sc);
    int rc = 1;
    if (!a || !b || !f || !sc) {
        oom();
        goto done;
    }
    if (!c->bm25) {
        wn_bm25_params bp = wn_bm25_default_params();
        st = wn_bm25_create(&bp, &c->bm25);
        for (int i = 0; i < D && !st; i++) st = wn_bm25_add(c->bm25, i, c->doc_texts[i]);
        if (st) {
            cli_lib_error("demo", st);
            goto done;
        }
    }
    free(c->lex);
    free(c->lex_ms);
    free(c->hyb);
    free(c->hyb_ms);
    c->lex = malloc((size_t)Q * P * sizeof *c->lex);
    c->hyb = malloc((size_t)Q * P * sizeof *c->hyb);
    c->lex_ms = calloc((size_t)Q, sizeof *c->lex_ms);
    c->hyb_ms = calloc((size_t)Q, sizeof *c->hyb_ms);
    if (!c->lex || !c->hyb || !c->lex_ms || !c->hyb_ms) {
        oom();
        goto done;
    }
    for (int q = 0; q < Q && !st; q++) {
        int64_t *lex = c->lex + (size_t)q * P, *hyb = c->hyb + (size_t)q * P;
        const int64_t *den = c->dense + (size_t)q * P;
        int nb = 0;
        double t0 = now_s();
        st = wn_bm25_search(c->bm25, c->q_texts[q], P, sc, lex, &nb);
        c->lex_ms[q] = (now_s() - t0) * 1e3;
        if (st) break;
        for (int i = nb; i < P; i++) lex[i] = -1;
        /* RRF of the dense list (already timed) and the BM25 list */
        t0 = now_s();
        int na = hits_of(den, P), nf = 0;
        for (int i = 0; i < na; i++) a[i] = (wn_hit){den[i], (float)(P - i), i + 1, 0};
        for (int i = 0; i < nb; i++) b[i] = (wn_hit){lex[i], sc[i], i + 1, sc[i]};
        st = wn_fuse(WN_FUSE_RRF, 60, 0.5f, a, na, b, nb, f, &nf);
        for (int i = 0; i < P; i++) hyb[i] = i < nf ? f[i].row : -1;
        c->hyb_ms[q] = c->dense_ms[q] + c->lex_ms[q] + (now_s() - t0) * 1e3;
    }
    if (st) {
        cli_lib_error("demo", st);
        goto done;
    }
    char rb[40], rh[40], rd[40], fb[32], fh[32], fd[32];
    snprintf(rb, sizeof rb, "bm25 + rerank@%d", x->k_cand);
    snprintf(rh, sizeof rh, "hybrid + rerank@%d", x->k_cand);
    snprintf(rd, sizeof rd, "dense + rerank@%d", x->k_cand);
    snprintf(fb, sizeof fb, "bm25_rerank%d", x->k_cand);
    snprintf(fh, sizeof fh, "hybrid_rerank%d", x->k_cand);
    snprintf(fd, sizeof fd, "dense_rerank%d", x->k_cand);
    if (add_stage(x, "bm25", "bm25", 0, c->lex, c->lex_ms, NULL, NULL) ||
        rerank_stage(x, rb, fb, x->k_cand, c->lex, c->lex_ms, NULL, NULL, NULL) ||
        add_stage(x, "hybrid (RRF)", "hybrid", 0, c->hyb, c->hyb_ms, NULL, NULL) ||
        rerank_stage(x, rh, fh, x->k_cand, c->hyb, c->hyb_ms, NULL, NULL, NULL))
        goto done;
    if (!find_stage(x, "dense") && add_stage(x, "dense", "dense", 0, c->dense, c->dense_ms, NULL, NULL)) goto done;
    if (!find_stage(x, rd) && rerank_stage(x, rd, fd, x->k_cand, c->dense, c->dense_ms, NULL, NULL, NULL)) goto done;
    const char *names[] = {"bm25", rb, "dense", rd, "hybrid (RRF)", rh};
    stage_table(x, names, 6);
    printf("  (BM25 k1=0.9 b=0.4 on title + text; hybrid: reciprocal rank fusion, k=60, of the dense and\n"
           "   BM25 top %d; its first-stage time is both retrievers' plus the fusion)\n",
           P);
    rc = 0;
done:
    free(a);
    free(b);
    free(f);
    free(sc);
    return rc;
}

/* DIR/eval-report.html through the eval module's generator (wn_report_write): the
 * dense stage and the k sweep with latency distributions, and the rank shifts of
 * the first two queries at the sweep's k = 10 (or its first k). */
int demo_eval_report(demo_ctx *x, const char *path) {
    demo_coll *c = x->coll;
    if (x->coll_state <= 0 || !c || !x->n_sweep || !c->sweep_rows) return 0;
    int Q = x->n_queries, P = c->depth, ns = x->n_sweep + 1;
    const char *names[3] = {"p@3", "mrr@10", "ndcg@10"};
    double *vals = malloc((size_t)ns * 3 * sizeof *vals), *lat = malloc((size_t)ns * Q * sizeof *lat);
    double *tot = malloc((size_t)ns * Q * sizeof *tot);
    wn_report_stage *st = calloc((size_t)ns, sizeof *st);
    char (*sname)[24] = malloc((size_t)ns * sizeof *sname);
    int rc = 1;
    if (!vals || !lat || !tot || !st || !sname) {
        oom();
        goto done;
    }
    const demo_stage *d = find_stage(x, "dense");
    vals[0] = d ? d->p3 : x->sweep_first_p3;
    vals[1] = d ? d->mrr10 : 0;
    vals[2] = d ? d->ndcg10 : x->sweep_first_ndcg;
    for (int q = 0; q < Q; q++) lat[q] = c->dense_ms[q] / 1e3;
    st[0] = (wn_report_stage){"dense", 0, vals, lat, NULL, Q};
    int shift_k = 0;
    for (int i = 0; i < x->n_sweep; i++) {
        const demo_sweep *w = &x->sweep[i];
        double *v = vals + (size_t)(i + 1) * 3, *l = lat + (size_t)(i + 1) * Q, *t = tot + (size_t)(i + 1) * Q;
        v[0] = w->p3;
        v[1] = w->mrr10;
        v[2] = w->ndcg10;
        for (int q = 0; q < Q; q++) {
            l[q] = c->sweep_ms[(size_t)i * Q + q] / 1e3;
            t[q] = l[q] + c->dense_ms[q] / 1e3;
        }
        snprintf(sname[i + 1], sizeof sname[i + 1], "rerank@%d", w->k);
        st[i + 1] = (wn_report_stage){sname[i + 1], w->k, v, l, t, Q};
        if (w->k == 10) shift_k = i;
    }
    wn_report_shift sh[2];
    int nsh = Q < 2 ? Q : 2;
    memset(sh, 0, sizeof sh);
    for (int s = 0; s < nsh; s++) {
        const int64_t *before = c->dense + (size_t)s * P, *after = c->sweep_rows + ((size_t)shift_k * Q + s) * P;
        sh[s].qid = c->q_ids[s];
        sh[s].query = c->q_texts[s];
        int n = hits_of(before, P);
        sh[s].n = n < WN_REPORT_SHIFT_K ? n : WN_REPORT_SHIFT_K;
        for (int i = 0; i < sh[s].n; i++) {
            sh[s].before[i] = c->doc_ids[before[i]];
            sh[s].after[i] = c->doc_ids[after[i]];
            sh[s].after_from[i] = 0;
            for (int j = 0; j < P && before[j] >= 0; j++)
                if (before[j] == after[i]) sh[s].after_from[i] = j + 1;
            sh[s].before_grade[i] = wn_qrels_grade(c->qrels, c->q_ids[s], sh[s].before[i]);
            sh[s].after_grade[i] = wn_qrels_grade(c->qrels, c->q_ids[s], sh[s].after[i]);
        }
    }
    char title[256];
    snprintf(title, sizeof title, "winnow demo: %s, %d documents, %d queries (dense, then re-ranked)", x->coll_path,
             x->n_docs, Q);
    wn_report r = {title, 3, names, ns, st, nsh, sh};
    wn_status err = wn_report_write(&r, path);
    rc = err ? cli_lib_error("demo", err) : 0;
done:
    free(vals);
    free(lat);
    free(tot);
    free(st);
    free(sname);
    return rc;
}
