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
 * The stages are the library's: one searcher made from the handles built here (the
 * flat index of the document embeddings, BM25, both models, the texts in memory) runs
 * every first stage and re-ranking through wn_experiment_run, so a (query, document)
 * pair is scored by the cross-encoder once, whichever stage asks first, and a
 * stage's re-rank time is its pairs' shares of the calls that scored them plus its
 * sort (winnow.h, "Re-ranking"). This file loads, prints and keeps the numbers.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "demo.h"

#define DEPTH 100 /* first-stage hits kept per query (>= the largest k swept; Recall@100) */
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
    wn_searcher *s;              /* over the handles above and the two models */
    int depth;                   /* P = min(DEPTH, D) */
    wn_experiment *sweep;        /* the k sweep (dense first stage), for the eval report */
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
    wn_corpus_free(c);
    return rc;
}

static const char *prompt_of(const wn_model *m, int query) {
    const char *p = query ? wn_model_prompt(m, "query") : NULL;
    if (!query && !(p = wn_model_prompt(m, "document")) && !(p = wn_model_prompt(m, "passage")))
        p = wn_model_prompt(m, "corpus");
    if (!p) p = wn_model_prompt(m, NULL);
    return p && *p ? p : NULL;
}

wn_status demo_embed(wn_model *m, int64_t n, const char *const *texts, float *out, int query) {
    const char *p = prompt_of(m, query);
    if (!p) return wn_model_embed(m, n, texts, out);
    char **pt = calloc((size_t)(n > 0 ? n : 1), sizeof *pt);
    int ok = pt != NULL;
    for (int64_t i = 0; ok && i < n; i++) {
        size_t len = strlen(p) + strlen(texts[i]) + 1;
        if ((pt[i] = malloc(len))) snprintf(pt[i], len, "%s%s", p, texts[i]);
        else ok = 0;
    }
    wn_status st = ok ? wn_model_embed(m, n, (const char *const *)pt, out) : WN_ERR_NOMEM;
    for (int64_t i = 0; pt && i < n; i++) free(pt[i]);
    free(pt);
    return st;
}

/* Embeds n texts in batches into out (n * dim), with a progress bar on a terminal. */
static wn_status embed_all(demo_ctx *x, int n, char **texts, float *out) {
    cli_progress bar;
    cli_progress_init(&bar);
    wn_status st = WN_OK;
    for (int i = 0; i < n && !st; i += EMBED_BATCH) {
        int b = n - i < EMBED_BATCH ? n - i : EMBED_BATCH;
        st = demo_embed(x->bi, b, (const char *const *)(texts + i), out + (size_t)i * x->dim, 0);
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
    wn_experiment_free(c->sweep);
    wn_searcher_free(c->s);
    free_strs(c->doc_ids, x->n_docs);
    free_strs(c->doc_texts, x->n_docs);
    free_strs(c->q_ids, x->n_queries);
    free_strs(c->q_texts, x->n_queries);
    wn_qrels_free(c->qrels);
    free(c->doc_emb);
    free(c->q_emb);
    wn_index_free(c->flat);
    wn_bm25_free(c->bm25);
    free(c);
    x->coll = NULL;
}

int demo_mkdir_p(const char *dir) {
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
    for (int64_t i = 0; i < wn_qrels_count(q); i++)
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

/* Says the collection is skipped and why (x->coll_note); 0. */
static int skipped(demo_ctx *x) {
    demo_heading(x, "Collection - %s", "skipped");
    printf("  %s\n", x->coll_note);
    return 0;
}

/* The collection's three files into corpus/queries/qrels (4096 bytes each): 1 when
 * present, 0 when skipped (said), -1 when --collection was given and they are not. */
static int find_files(demo_ctx *x, char *corpus, char *queries, char *qrels) {
    struct stat sb;
    if (!x->coll_path) return skipped(x);
    if (stat(x->coll_path, &sb) || !S_ISDIR(sb.st_mode)) {
        if (x->coll_explicit) return cli_error("demo: --collection %s: not a directory", x->coll_path), -1;
        snprintf(x->coll_note, sizeof x->coll_note,
                 "No collection: %s is absent. Pass --collection DIR (a BEIR folder: corpus.jsonl, "
                 "queries.jsonl, qrels/test.tsv) to run the exercises on real data.",
                 x->coll_path);
        return skipped(x);
    }
    snprintf(corpus, 4096, "%s/corpus.jsonl", x->coll_path);
    snprintf(queries, 4096, "%s/queries.jsonl", x->coll_path);
    snprintf(qrels, 4096, "%s/qrels/test.tsv", x->coll_path);
    const char *need[] = {corpus, queries, qrels};
    for (int i = 0; i < 3; i++)
        if (stat(need[i], &sb)) {
            if (x->coll_explicit)
                return cli_error("demo: collection %s lacks %s (BEIR layout: corpus.jsonl, queries.jsonl, "
                                 "qrels/test.tsv)",
                                 x->coll_path, need[i]), -1;
            snprintf(x->coll_note, sizeof x->coll_note, "No collection: %s lacks %s.", x->coll_path, need[i]);
            return skipped(x);
        }
    return 1;
}

/* Query i of all (the qrels' index qi): its relevant documents in the cut (map[nd]),
 * and, when there is one, its judgments into c->qrels. Returns the count, -1 failed. */
static int cut_query(demo_coll *c, const wn_qrels *all, int64_t qi, const char *qid, const id_row *map, int nd) {
    int rel = 0;
    for (int64_t j = 0; j < wn_qrels_num_judged(all, qi); j++) {
        int g;
        const char *doc = wn_qrels_judged(all, qi, j, &g);
        if (g >= 1 && find_row(map, nd, doc) >= 0) rel++;
    }
    for (int64_t j = 0; rel && j < wn_qrels_num_judged(all, qi); j++) {
        int g;
        const char *doc = wn_qrels_judged(all, qi, j, &g);
        wn_status st = find_row(map, nd, doc) >= 0 ? wn_qrels_add(c->qrels, qid, doc, g) : WN_OK;
        if (st) return cli_lib_error("demo", st), -1;
    }
    return rel;
}

/* The queries (file order) with a relevant document among the documents, at most
 * max_queries, and their judgments cut to the documents. 0 ok, 1 failed (said). */
static int cut_queries(demo_ctx *x, const char *queries, const char *qrels) {
    demo_coll *c = x->coll;
    int nd = x->n_docs, nq_all = 0, rc = 1;
    char **qids = NULL, **qtexts = NULL;
    wn_qrels *all = NULL;
    id_row *map = malloc((size_t)nd * sizeof *map);
    wn_status st;
    if (!map) {
        oom();
        goto done;
    }
    if (read_jsonl(queries, 0, &qids, &qtexts, &nq_all)) goto done;
    if ((st = wn_qrels_load(qrels, &all)) || (st = wn_qrels_create(&c->qrels))) {
        cli_lib_error("demo", st);
        goto done;
    }
    for (int i = 0; i < nd; i++) map[i] = (id_row){c->doc_ids[i], i};
    qsort(map, (size_t)nd, sizeof *map, cmp_id_row);
    if (!(c->q_ids = malloc((size_t)(nq_all ? nq_all : 1) * sizeof *c->q_ids)) ||
        !(c->q_texts = malloc((size_t)(nq_all ? nq_all : 1) * sizeof *c->q_texts))) {
        oom();
        goto done;
    }
    int64_t nqr = wn_qrels_count(all);
    for (int i = 0; i < nq_all && x->n_queries < x->max_queries; i++) {
        int64_t qi = -1;
        for (int64_t j = 0; j < nqr && qi < 0; j++)
            if (!strcmp(wn_qrels_query(all, j), qids[i])) qi = j;
        int rel = qi < 0 ? 0 : cut_query(c, all, qi, qids[i], map, nd);
        if (rel < 0) goto done;
        if (!rel) continue;
        x->n_judged += rel;
        c->q_ids[x->n_queries] = qids[i];
        c->q_texts[x->n_queries++] = qtexts[i];
        qids[i] = qtexts[i] = NULL;
    }
    rc = 0;
done:
    free_strs(qids, nq_all);
    free_strs(qtexts, nq_all);
    wn_qrels_free(all);
    free(map);
    return rc;
}

/* The handles: document and query embeddings, the flat cosine index, BM25, and the
 * searcher over them. 0 ok, 1 failed (said). */
static int build_handles(demo_ctx *x) {
    demo_coll *c = x->coll;
    int D = x->n_docs, Q = x->n_queries, E = x->dim;
    wn_status st;
    if (!(c->doc_emb = malloc((size_t)D * E * sizeof(float))) || !(c->q_emb = malloc((size_t)Q * E * sizeof(float))))
        return oom();
    double t0 = now_s();
    if ((st = embed_all(x, D, c->doc_texts, c->doc_emb))) return cli_lib_error("demo", st);
    x->embed_s = now_s() - t0;
    wn_index_params ip = wn_index_default_params();
    ip.n_threads = 1;
    wn_bm25_params bp = wn_bm25_default_params();
    if ((st = demo_embed(x->bi, Q, (const char *const *)c->q_texts, c->q_emb, 1)) ||
        (st = wn_index_create(WN_INDEX_FLAT, E, WN_METRIC_COS, &ip, &c->flat)) ||
        (st = wn_index_add(c->flat, D, c->doc_emb, NULL)) || (st = wn_bm25_create(&bp, &c->bm25)))
        return cli_lib_error("demo", st);
    for (int i = 0; i < D && !st; i++) st = wn_bm25_add(c->bm25, i, c->doc_texts[i]);
    wn_searcher_parts parts = {NULL, (const char *const *)c->doc_texts, (const char *const *)c->doc_ids, D,
                               c->bm25, c->flat, NULL, 0, x->bi, x->ce};
    wn_pipeline_params pp = wn_pipeline_default_params();
    pp.first_stage = WN_FIRST_DENSE;
    pp.depth = c->depth; /* hybrid: the top P of each retriever */
    pp.ann.n_threads = 1;
    if (!st) st = wn_searcher_create(&parts, &pp, &c->s);
    return st ? cli_lib_error("demo", st) : 0;
}

/* Loads the collection cut to max_docs and max_queries, embeds it and builds the
 * searcher. 0 ok (or skipped), 1 failed. */
static int load_collection(demo_ctx *x) {
    if (x->coll_state) return x->coll_state < 0 && x->coll_explicit;
    x->coll_state = -1;
    char corpus[4096], queries[4096], qrels[4096], dir[4200];
    if (x->debian) {
        struct stat sb;
        if (!x->dpkg_explicit && stat(x->dpkg_status, &sb)) {
            snprintf(x->coll_note, sizeof x->coll_note,
                     "No collection: %s is absent (not a Debian system). Pass --collection DIR (a BEIR folder: "
                     "corpus.jsonl, queries.jsonl, qrels/test.tsv) or --dpkg-status FILE.",
                     x->dpkg_status);
            return skipped(x);
        }
        if (demo_debian_build(x)) return 1;
    }
    int found = find_files(x, corpus, queries, qrels);
    if (found <= 0) return found < 0;
    demo_coll *c = calloc(1, sizeof *c);
    if (!c) return oom();
    x->coll = c;
    int nd = 0, rc = 1;
    if (read_jsonl(corpus, x->max_docs, &c->doc_ids, &c->doc_texts, &nd)) goto done;
    x->n_docs = nd;
    if (nd < 1) {
        cli_error("demo: %s has no documents", corpus);
        goto done;
    }
    if (cut_queries(x, queries, qrels)) goto done;
    if (!x->n_queries) {
        cli_error("demo: no query of %s has a relevant document among the first %d of %s (try a larger --docs)",
                  qrels, nd, corpus);
        goto done;
    }
    c->depth = nd < DEPTH ? nd : DEPTH;
    if (build_handles(x)) goto done;
    snprintf(dir, sizeof dir, "%s/runs", x->out_dir);
    if (demo_mkdir_p(dir)) goto done;
    snprintf(dir, sizeof dir, "%s/qrels.tsv", x->out_dir);
    if (save_qrels(x, dir)) goto done;
    x->coll_state = 1;
    rc = 0;
done:
    if (rc) demo_collection_free(x);
    return rc;
}

/* ---- stages: experiments of the library, kept as the demo's numbers */

/* Every query through first stage f and re-ranking at depths[nd] (the library's
 * experiment), evaluated on P@3, MRR@10, nDCG@10, Recall@100. 0 ok, 1 failed (said). */
static int run_stages(demo_ctx *x, wn_first_stage f, int nd, const int *depths, wn_experiment **out) {
    demo_coll *c = x->coll;
    wn_pipeline_params pp = wn_pipeline_default_params();
    pp.first_stage = f;
    pp.depth = c->depth;
    pp.ann.n_threads = 1;
    wn_experiment_params xp = wn_experiment_default_params();
    xp.first_k = c->depth;
    xp.n_depths = nd;
    xp.depths = depths;
    xp.rank_scores = 1;
    xp.keep_hits = 1;
    xp.shift_k = 0;
    cli_progress bar; /* full-size cross-encoders take seconds per query */
    cli_progress_init(&bar);
    xp.progress = cli_progress_cb;
    xp.progress_ud = &bar;
    wn_measure ms[4];
    wn_measure_parse("p@3", &ms[0]);
    wn_measure_parse("mrr@10", &ms[1]);
    wn_measure_parse("ndcg@10", &ms[2]);
    wn_measure_parse("recall@100", &ms[3]);
    wn_status st = wn_searcher_set_params(c->s, &pp);
    if (!st) st = wn_experiment_run(c->s, x->n_queries, (const char *const *)c->q_ids, (const char *const *)c->q_texts, &xp, out);
    cli_progress_end(&bar);
    if (!st) st = wn_experiment_evaluate(*out, c->qrels, 4, ms);
    return st ? cli_lib_error("demo", st) : 0;
}

static double mean_ms(const double *secs, int n) {
    double s = 0;
    for (int q = 0; q < n; q++) s += secs[q] * 1e3 / n;
    return s;
}

/* Stage j of e as the demo stage name, its run written to runs/FILE.run; appended
 * to x->stages (replacing one of the same name), or only copied to out_copy. */
static int add_stage(demo_ctx *x, const char *name, const char *file, const wn_experiment *e, int j, demo_stage *out_copy) {
    char path[4200];
    snprintf(path, sizeof path, "%s/runs/%s.run", x->out_dir, file);
    wn_status st = wn_run_save(wn_experiment_stage_run(e, j), path, file, 0);
    if (st) return cli_lib_error("demo", st);
    const wn_eval *ev = wn_experiment_eval(e, j);
    demo_stage s;
    memset(&s, 0, sizeof s);
    snprintf(s.name, sizeof s.name, "%s", name);
    snprintf(s.run, sizeof s.run, "%s.run", file);
    s.k = wn_experiment_stage_depth(e, j);
    s.p3 = wn_eval_mean(ev, 0);
    s.mrr10 = wn_eval_mean(ev, 1);
    s.ndcg10 = wn_eval_mean(ev, 2);
    s.recall100 = wn_eval_mean(ev, 3);
    s.first_ms = mean_ms(wn_experiment_seconds(e, 0, 0), x->n_queries);
    if (j) s.rerank_ms = mean_ms(wn_experiment_seconds(e, j, 0), x->n_queries);
    if (out_copy) {
        *out_copy = s;
        return 0;
    }
    for (int i = 0; i < x->n_stages; i++)
        if (!strcmp(x->stages[i].name, name)) {
            x->stages[i] = s; /* a section run twice replaces its rows */
            return 0;
        }
    if (x->n_stages < DEMO_MAX_STAGES) x->stages[x->n_stages++] = s;
    return 0;
}

/* First stage f alone (name, file) and re-ranked at k_cand ("<name> + rerank@K");
 * each added unless skip_present and a stage of its name exists. 0 ok, 1 failed. */
static int stage_pair(demo_ctx *x, wn_first_stage f, const char *name, const char *file, int skip_present) {
    char rname[40], rfile[40];
    snprintf(rname, sizeof rname, "%s + rerank@%d", f == WN_FIRST_HYBRID ? "hybrid" : name, x->k_cand);
    snprintf(rfile, sizeof rfile, "%s_rerank%d", file, x->k_cand);
    const demo_stage *have_first = NULL, *have_rr = NULL;
    for (int i = 0; skip_present && i < x->n_stages; i++) {
        if (!strcmp(x->stages[i].name, name)) have_first = &x->stages[i];
        if (!strcmp(x->stages[i].name, rname)) have_rr = &x->stages[i];
    }
    if (have_first && have_rr) return 0;
    wn_experiment *e = NULL;
    int rc = run_stages(x, f, 1, &x->k_cand, &e);
    if (!rc && !have_first) rc = add_stage(x, name, file, e, 0, NULL);
    if (!rc && !have_rr) rc = add_stage(x, rname, rfile, e, 1, NULL);
    wn_experiment_free(e);
    return rc;
}

static const demo_stage *find_stage(const demo_ctx *x, const char *name) {
    for (int i = 0; i < x->n_stages; i++)
        if (!strcmp(x->stages[i].name, name)) return &x->stages[i];
    return NULL;
}

static void stage_table(const demo_ctx *x, const char *const *names, int n) {
    printf("  stage                      P@3  MRR@10  nDCG@10    R@100   first ms  rerank ms   total ms\n");
    for (int i = 0; i < n; i++) {
        const demo_stage *s = find_stage(x, names[i]);
        if (!s) continue;
        printf("  %-22s %7.3f %7.3f  %7.3f  %7.3f  %9.2f  %9.2f  %9.2f\n", s->name, s->p3, s->mrr10, s->ndcg10,
               s->recall100, s->first_ms, s->rerank_ms, s->first_ms + s->rerank_ms);
    }
    printf("  (means over %d queries; ms per query)\n", x->n_queries);
}

/* ---- the sections */

const char *demo_seen_note(const demo_ctx *x) {
    if (!x->debian || !x->bi_name || strcmp(x->bi_name, "winnow-small-embed")) return NULL;
    return "winnow-small-embed was trained on Debian package descriptions: this collection's documents were "
           "seen in training, its queries were not.";
}

int demo_collection(demo_ctx *x) {
    if (load_collection(x)) return 1;
    if (x->coll_state < 0) return 0;
    char title[160], rr[40];
    snprintf(title, sizeof title, "Collection - %d documents, %d queries (exercise 1)", x->n_docs, x->n_queries);
    demo_heading(x, "%s", title);
    if (x->debian) {
        printf("  source     the installed Debian packages' descriptions (%s): %d packages with a long\n"
               "             description (%d without one left out), in %s\n",
               x->dpkg_status, x->deb_docs, x->deb_no_long, x->coll_path);
        printf("  queries    %d of the demo's %d known-item queries kept (the others' packages are not installed)\n",
               x->deb_kept, x->deb_queries);
        if (x->n_docs < x->deb_docs || x->n_queries < x->deb_kept)
            printf("             used: the first %d documents (--docs), %d queries (--queries)\n", x->n_docs,
                   x->n_queries);
    } else {
        printf("  source     %s (its first %d documents: --docs)\n", x->coll_path, x->n_docs);
        printf("  queries    %d (at most --queries %d) with a relevant document among them; %d relevant judgments\n",
               x->n_queries, x->max_queries, x->n_judged);
    }
    printf("  embedding  %.2f s (%.0f docs/s) into a flat cosine index\n", x->embed_s,
           x->embed_s > 0 ? x->n_docs / x->embed_s : 0.0);
    if (demo_seen_note(x)) printf("  note       %s\n", demo_seen_note(x));
    printf("\n");
    snprintf(rr, sizeof rr, "dense + rerank@%d", x->k_cand);
    if (stage_pair(x, WN_FIRST_DENSE, "dense", "dense", 0)) return 1;
    const char *names[] = {"dense", rr};
    stage_table(x, names, 2);
    return 0;
}

/* The sweep's rows of the table, from its experiment e (stage 0: dense alone). */
static int sweep_rows(demo_ctx *x, const wn_experiment *e, const demo_stage *d) {
    printf("      k      P@3  nDCG@10  rerank ms  total ms\n");
    printf("  first  %7.3f  %7.3f  %9.2f  %8.2f   (dense, no re-ranking)\n", d->p3, d->ndcg10, 0.0, d->first_ms);
    x->n_sweep = 0;
    x->sweep_first_set = 1;
    x->sweep_first_p3 = d->p3;
    x->sweep_first_ndcg = d->ndcg10;
    for (int j = 1; j < wn_experiment_num_stages(e); j++) {
        int k = wn_experiment_stage_depth(e, j);
        char name[40], file[32];
        snprintf(name, sizeof name, "sweep k=%d", k);
        snprintf(file, sizeof file, "sweep_k%d", k);
        demo_stage s;
        if (add_stage(x, name, file, e, j, &s)) return 1;
        demo_sweep *w = &x->sweep[x->n_sweep++];
        w->k = k;
        w->p3 = s.p3;
        w->mrr10 = s.mrr10;
        w->ndcg10 = s.ndcg10;
        w->rerank_ms = s.rerank_ms;
        w->total_ms = s.first_ms + s.rerank_ms;
        printf("  %5d  %7.3f  %7.3f  %9.2f  %8.2f\n", k, w->p3, w->ndcg10, w->rerank_ms, w->total_ms);
    }
    return 0;
}

int demo_k_sweep(demo_ctx *x) {
    if (load_collection(x)) return 1;
    if (x->coll_state < 0) return 0;
    demo_coll *c = x->coll;
    demo_heading(x, "k sweep - %s", "re-ranking the dense top k: quality against re-rank time (exercise 2)");
    int ks[DEMO_MAX_SWEEP], nk = 0;
    for (size_t i = 0; i < sizeof sweep_ks / sizeof *sweep_ks && sweep_ks[i] <= c->depth; i++) ks[nk++] = sweep_ks[i];
    wn_experiment_free(c->sweep);
    c->sweep = NULL;
    if (run_stages(x, WN_FIRST_DENSE, nk, ks, &c->sweep)) return 1;
    const demo_stage *d = find_stage(x, "dense");
    demo_stage first;
    if (!d) {
        if (add_stage(x, "dense", "dense", c->sweep, 0, &first)) return 1;
        d = &first;
    }
    if (sweep_rows(x, c->sweep, d)) return 1;
    if (x->n_sweep > 1) {
        const demo_sweep *a = &x->sweep[0], *b = &x->sweep[x->n_sweep - 1];
        printf("  k %d -> %d: nDCG@10 %+.3f for %.1fx the re-rank time (plotted in the report)\n", a->k, b->k,
               b->ndcg10 - a->ndcg10, a->rerank_ms > 0 ? b->rerank_ms / a->rerank_ms : 0.0);
    }
    return 0;
}

/* Times nq searches of k on ix (repeated until 50 ms have passed, at least 3 times). */
static wn_status time_search(const wn_index *ix, int nq, const float *q, const wn_index_search_params *sp, float *dist,
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

/* Recall of got against truth (Q x K, -1 padded): found / wanted. */
static double recall(const int64_t *truth, const int64_t *got, int Q, int K) {
    int found = 0, want = 0;
    for (int q = 0; q < Q; q++)
        for (int i = 0; i < K; i++) {
            int64_t id = got[(size_t)q * K + i];
            if (truth[(size_t)q * K + i] >= 0) want++;
            for (int j = 0; j < K && id >= 0; j++)
                if (truth[(size_t)q * K + j] == id) {
                    found++;
                    break;
                }
        }
    return want ? (double)found / want : 0;
}

/* One index type built once over the documents, then searched with a small and the
 * default setting (flat: once, into truth); rows of the table into x->ann. */
static wn_status ann_type(demo_ctx *x, wn_index_type type, float *dist, int64_t *truth, int64_t *got) {
    demo_coll *c = x->coll;
    int Q = x->n_queries, D = x->n_docs, flat = type == WN_INDEX_FLAT;
    wn_index_params ip = wn_index_default_params();
    ip.n_threads = 1;
    if (type == WN_INDEX_IVF) ip.nlist = (int)ceil(sqrt((double)D));
    wn_index *ix = NULL;
    double t0 = now_s();
    wn_status st = wn_index_create(type, x->dim, WN_METRIC_COS, &ip, &ix);
    if (!st) st = wn_index_add(ix, D, c->doc_emb, NULL);
    double build_s = now_s() - t0;
    for (int v = 0; v < (flat ? 1 : 2) && !st && x->n_ann < DEMO_MAX_ANN; v++) {
        wn_index_search_params sp = wn_index_search_default_params();
        sp.n_threads = 1;
        demo_ann *a = &x->ann[x->n_ann];
        memset(a, 0, sizeof *a);
        snprintf(a->name, sizeof a->name, "%s", wn_index_type_name(type));
        if (type == WN_INDEX_HNSW) {
            if (!v) sp.ef = 16;
            snprintf(a->params, sizeof a->params, "M=%d efC=%d ef=%d", ip.m, ip.ef_construction, sp.ef);
        } else if (type == WN_INDEX_IVF) {
            if (!v) sp.nprobe = 1;
            snprintf(a->params, sizeof a->params, "nlist=%d nprobe=%d", ip.nlist, sp.nprobe);
        } else snprintf(a->params, sizeof a->params, "exact");
        a->build_s = build_s;
        if ((st = time_search(ix, Q, c->q_emb, &sp, dist, flat ? truth : got, &a->ms_per_query))) break;
        a->recall10 = recall(truth, flat ? truth : got, Q, 10);
        printf("  %-6s %-24s %8.3f  %8.4f  %9.3f\n", a->name, a->params, a->build_s, a->ms_per_query, a->recall10);
        x->n_ann++;
    }
    wn_index_free(ix);
    return st;
}

int demo_ann_vs_flat(demo_ctx *x) {
    if (load_collection(x)) return 1;
    if (x->coll_state < 0) return 0;
    int Q = x->n_queries, D = x->n_docs, K = 10;
    demo_heading(x, "ANN vs brute force - %s", "HNSW and IVF against the flat index, top 10 (exercise 4)");
    float *dist = malloc((size_t)Q * K * sizeof *dist);
    int64_t *truth = malloc((size_t)Q * K * sizeof *truth), *got = malloc((size_t)Q * K * sizeof *got);
    int rc = 1;
    if (!dist || !truth || !got) {
        oom();
        goto done;
    }
    printf("  index  parameters                build s  ms/query  recall@10\n");
    x->n_ann = 0;
    const wn_index_type types[] = {WN_INDEX_FLAT, WN_INDEX_HNSW, WN_INDEX_IVF};
    for (int t = 0; t < 3; t++) {
        wn_status st = ann_type(x, types[t], dist, truth, got);
        if (st) {
            cli_lib_error("demo", st);
            goto done;
        }
    }
    printf("  (%d vectors of %d dimensions, %d queries, one thread; recall against the flat top 10)\n", D, x->dim,
           Q);
    if (D < 10000) printf("  At %d vectors brute force is cheap; the graph and the lists pay off from ~10^5.\n", D);
    rc = 0;
done:
    free(dist);
    free(truth);
    free(got);
    return rc;
}

int demo_bm25_hybrid(demo_ctx *x) {
    if (load_collection(x)) return 1;
    if (x->coll_state < 0) return 0;
    demo_heading(x, "BM25 and hybrid - %s", "lexical and fused first stages, before and after re-ranking (exercise 5)");
    if (stage_pair(x, WN_FIRST_BM25, "bm25", "bm25", 0) || stage_pair(x, WN_FIRST_HYBRID, "hybrid (RRF)", "hybrid", 0) ||
        stage_pair(x, WN_FIRST_DENSE, "dense", "dense", 1))
        return 1;
    char rb[40], rh[40], rd[40];
    snprintf(rb, sizeof rb, "bm25 + rerank@%d", x->k_cand);
    snprintf(rh, sizeof rh, "hybrid + rerank@%d", x->k_cand);
    snprintf(rd, sizeof rd, "dense + rerank@%d", x->k_cand);
    const char *names[] = {"bm25", rb, "dense", rd, "hybrid (RRF)", rh};
    stage_table(x, names, 6);
    wn_pipeline_params pp = wn_pipeline_default_params(); /* the searcher's fusion (load_collection) */
    printf("  (BM25 k1=0.9 b=0.4 on title + text; hybrid: reciprocal rank fusion, k=%d, dense weight %.2f, of\n"
           "   the dense and BM25 top %d; its first-stage time is both retrievers' plus the fusion)\n",
           pp.rrf_k, (double)pp.dense_weight, x->coll->depth);
    return 0;
}

/* The rank shift of query q between the sweep's first stage and its stage j. */
static void sweep_shift(const demo_coll *c, int q, int j, wn_report_shift *sh) {
    int nb, na;
    const wn_hit *before = wn_experiment_hits(c->sweep, 0, q, &nb), *after = wn_experiment_hits(c->sweep, j, q, &na);
    sh->qid = c->q_ids[q];
    sh->query = c->q_texts[q];
    sh->n = nb < WN_REPORT_SHIFT_K ? nb : WN_REPORT_SHIFT_K;
    for (int i = 0; i < sh->n; i++) {
        sh->before[i] = c->doc_ids[before[i].row];
        sh->after[i] = c->doc_ids[after[i].row];
        sh->after_from[i] = after[i].first_rank;
        sh->before_grade[i] = wn_qrels_grade(c->qrels, c->q_ids[q], sh->before[i]);
        sh->after_grade[i] = wn_qrels_grade(c->qrels, c->q_ids[q], sh->after[i]);
    }
}

/* A page through the eval module's generator (wn_report_write): intro and tables
 * (NULL, 0: none) above the dense stage and the k sweep with latency distributions
 * and the rank shifts of the first two queries at the sweep's k = 10 (or its first
 * k), when the sweep ran; title: the page's (NULL: the sweep's). */
int demo_sweep_report(demo_ctx *x, const char *path, const char *title, const char *intro, int n_tables,
                      const wn_report_table *tables) {
    demo_coll *c = x->coll;
    const wn_experiment *e = x->coll_state > 0 && c && c->sweep && wn_experiment_num_stages(c->sweep) > 1 ? c->sweep : NULL;
    int Q = x->n_queries, ns = e ? wn_experiment_num_stages(e) : 0, shift_k = 1;
    const char *names[3] = {"p@3", "mrr@10", "ndcg@10"};
    double *vals = malloc((size_t)(ns + 1) * 3 * sizeof *vals);
    wn_report_stage *st = calloc((size_t)ns + 1, sizeof *st);
    if (!vals || !st) {
        free(vals);
        free(st);
        return oom();
    }
    for (int j = 0; j < ns; j++) {
        for (int m = 0; m < 3; m++) vals[j * 3 + m] = wn_eval_mean(wn_experiment_eval(e, j), m);
        st[j] = (wn_report_stage){wn_experiment_stage_name(e, j), wn_experiment_stage_depth(e, j), vals + j * 3,
                                  wn_experiment_seconds(e, j, 0), j ? wn_experiment_seconds(e, j, 1) : NULL, Q};
        if (wn_experiment_stage_depth(e, j) == 10) shift_k = j;
    }
    wn_report_shift sh[2];
    int nsh = e ? (Q < 2 ? Q : 2) : 0;
    memset(sh, 0, sizeof sh);
    for (int s = 0; s < nsh; s++) sweep_shift(c, s, shift_k, &sh[s]);
    char t[256];
    snprintf(t, sizeof t, "winnow demo: %s, %d documents, %d queries (dense, then re-ranked)", x->coll_path, x->n_docs, Q);
    wn_report r = {title ? title : t, 3, names, ns, st, nsh, sh, intro, n_tables, tables};
    wn_status err = wn_report_write(&r, path);
    free(vals);
    free(st);
    return err ? cli_lib_error("demo", err) : 0;
}

/* DIR/eval-report.html: the sweep's page alone (the `winnow eval --report` page). */
int demo_eval_report(demo_ctx *x, const char *path) {
    if (x->coll_state <= 0 || !x->coll || !x->coll->sweep || wn_experiment_num_stages(x->coll->sweep) < 2) return 0;
    return demo_sweep_report(x, path, NULL, NULL, 0, NULL);
}
