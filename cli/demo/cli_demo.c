/*
 * cli_demo.c - winnow demo: the seed notebook ("Bi-Encoder Retrieval vs Cross-Encoder
 * Re-Ranking") end to end on its own 8 documents and 5 queries, with its two models:
 *
 *   1. bi-encoder top-5 for the notebook's test query, with cosine similarities;
 *   2. cross-encoder re-ranking of those 5, with logits;
 *   3. evaluation over the 5 queries: P@3 and MRR of both stages, k_candidates = 5,
 *      and the average latency of each stage per query;
 *   4. the rank shift of "Why use a re-ranker with dense retrieval?", before and after;
 *
 * then the notebook's exercises on a real collection (cli/demo/demo_collection.c: 100+
 * documents, the k sweep, HNSW/IVF against brute force, BM25 and hybrid) and a
 * self-contained HTML report (cli/demo/demo_report.c, written by wn_report_write) whose
 * path ends the output. Both stages run in the library: a searcher made from handles
 * held here (wn_searcher_create), as `winnow search` runs them.
 *
 * Each section is one function taking the loaded demo; a new section is a function
 * and a row in `sections` (run in order; `--section NAME` runs one). The corpus and
 * queries are the notebook's own, embedded here: this part reads nothing but the two
 * models, which come from the hub cache (downloaded once) or from --bi-encoder /
 * --cross-encoder directories; when the seed's are neither cached nor reachable, the
 * bundled winnow-small-embed / winnow-small-rerank run in their place (said once).
 * The collection is --collection DIR, by default one made here from the installed
 * Debian packages' descriptions (cli/demo/demo_debian.c), the same exercise on every
 * machine. It uses include/winnow.h only.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "demo.h"

#define DEMO_BI_ENCODER "sentence-transformers/all-MiniLM-L6-v2"
#define DEMO_CROSS_ENCODER "cross-encoder/ms-marco-MiniLM-L-6-v2"
#define DEMO_BUNDLED_BI "winnow-small-embed" /* when the seed's cannot be had (src/model/bundled.c) */
#define DEMO_BUNDLED_CE "winnow-small-rerank"
#define DEMO_MAX_K 64
#define DEMO_MAX_DOCS 64
#define DEMO_DPKG_STATUS "/var/lib/dpkg/status" /* the default collection's source */
#define DEMO_OUT "winnow-demo"
#define DEMO_DOCS 150
#define DEMO_QUERIES 6
#define DEMO_K_CAND 10

/* The notebook's corpus and queries (with the id of each query's one relevant document). */
typedef struct {
    const char *id, *text;
} demo_doc;
typedef struct {
    const char *text, *gold;
} demo_query;

static const demo_doc seed_corpus[] = {
    {"d1", "Transformers use attention to model relationships between tokens in a sequence."},
    {"d2", "Convolutional neural networks are widely used in computer vision for image classification."},
    {"d3", "Retrieval-Augmented Generation (RAG) adds external knowledge via retrieval to improve LLM answers."},
    {"d4", "FAISS supports IVF and HNSW indexes for fast approximate nearest neighbor search at scale."},
    {"d5", "MiniLM and DistilBERT produce compact sentence embeddings suitable for dense retrieval."},
    {"d6", "BM25 is a keyword-based sparse retrieval method that relies on exact and partial token matches."},
    {"d7", "Cross-encoders score a query and a document together, enabling fine-grained token-level interactions."},
    {"d8", "Bi-encoders encode queries and documents independently, enabling fast vector search at scale."},
};
static const demo_query seed_queries[] = {
    {"How can RAG improve answers from language models?", "d3"},
    {"Which ANN index is graph-based and very fast?", "d4"},
    {"Which small models are good for sentence embeddings?", "d5"},
    {"What retrieval method uses keyword matches?", "d6"},
    {"Why are cross-encoders often more accurate than bi-encoders?", "d7"},
};
static const char *const seed_test_query = "What is a cross-encoder and why is it useful?";
static const char *const seed_shift_query = "Why use a re-ranker with dense retrieval?";

/* One query through both stages. */
typedef struct {
    int n;                      /* candidates found, <= k */
    int bi_idx[DEMO_MAX_K];     /* documents by cosine, best first */
    float bi_score[DEMO_MAX_K]; /* cosine */
    int re_idx[DEMO_MAX_K];     /* the same documents by cross-encoder logit, best first */
    float re_score[DEMO_MAX_K]; /* logit */
    double bi_ms, re_ms;        /* latency of each stage */
} demo_run;

/* D documents, E embedding size, K candidates */
typedef struct {
    const demo_doc *docs;
    int n_docs;
    const demo_query *queries;
    int n_queries;
    int k;               /* k_candidates */
    int k_eval;          /* P@k_eval */
    wn_model *bi, *ce;
    int dim;             /* E */
    float *doc_emb;      /* (D, E) */
    wn_index *flat;      /* the documents' embeddings, cosine */
    const char *texts[DEMO_MAX_DOCS], *ids[DEMO_MAX_DOCS];
    wn_searcher *s;      /* flat + bi, ce over texts */
    int width;           /* terminal columns, 0: do not cut texts */
    int bold;            /* stdout is a terminal */
    demo_run test;       /* the notebook's test query, shared by the first two sections */
    int have_test;
    demo_ctx x;          /* what the collection sections and the report share */
    const char *cmp_name;  /* --compare-bi-encoder (NULL: exercise 3 does not run) */
    wn_hub_params hp;      /* where models come from (offline once the hub was unreachable) */
    wn_model_params mp;
} demo;

/* ---- the two stages: the library's searcher over the seed corpus */

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Stage 1 then stage 2 for one query: the bi-encoder's top k by cosine (a flat
 * cosine index over the documents' embeddings, as the notebook's doc_embs @ qv),
 * then the cross-encoder's logits of those k (wn_searcher_rerank: the last label,
 * ties keeping the bi-encoder's order). */
static wn_status run_query(demo *d, const char *query, demo_run *r) {
    memset(r, 0, sizeof *r);
    wn_hit first[DEMO_MAX_K], rr[DEMO_MAX_K];
    double t1 = 0, t2 = 0;
    wn_status st = wn_searcher_first(d->s, query, d->k, first, &r->n, &t1);
    if (st == WN_OK) st = wn_searcher_rerank(d->s, query, first, r->n, r->n, rr, &t2);
    if (st != WN_OK) return st;
    for (int i = 0; i < r->n; i++) {
        r->bi_idx[i] = (int)first[i].row;
        r->bi_score[i] = first[i].score;
        r->re_idx[i] = (int)rr[i].row;
        r->re_score[i] = rr[i].score;
    }
    r->bi_ms = t1 * 1e3;
    r->re_ms = t2 * 1e3;
    return WN_OK;
}

/* ---- printing */

void demo_heading(const demo_ctx *x, const char *fmt, const char *arg) {
    fputs(x->bold ? "\n\033[1m" : "\n", stdout);
    printf(fmt, arg);
    fputs(x->bold ? "\033[0m\n" : "\n", stdout);
}

static void heading(const demo *d, const char *fmt, const char *arg) { demo_heading(&d->x, fmt, arg); }

/* text, cut to the terminal's width after col columns already printed (ASCII or
 * UTF-8: the cut never splits a character), then a newline. */
static void print_text(const demo *d, int col, const char *text) {
    size_t n = strlen(text);
    if (d->width > 0 && col + 10 < d->width && n > (size_t)(d->width - col)) {
        size_t cut = (size_t)(d->width - col - 3);
        while (cut > 0 && ((unsigned char)text[cut] & 0xC0) == 0x80) cut--;
        printf("%.*s...\n", (int)cut, text);
    } else {
        printf("%s\n", text);
    }
}

/* 1-based rank of document idx in list (n entries), 0 if absent. */
static int rank_of(const int *list, int n, int idx) {
    for (int i = 0; i < n; i++)
        if (list[i] == idx) return i + 1;
    return 0;
}

static int doc_index(const demo *d, const char *id) {
    for (int j = 0; j < d->n_docs; j++)
        if (!strcmp(d->docs[j].id, id)) return j;
    return -1;
}

/* ---- the sections: each prints one part of the notebook; 0 ok, 1 failed (message printed) */

/* Runs the notebook's test query once for the sections that show it. */
static int need_test_run(demo *d) {
    if (d->have_test) return 0;
    wn_status st = run_query(d, seed_test_query, &d->test);
    if (st) return cli_lib_error("demo", st);
    d->have_test = 1;
    return 0;
}

static int section_bi_encoder(demo *d) {
    if (need_test_run(d)) return 1;
    const demo_run *r = &d->test;
    char title[96];
    snprintf(title, sizeof title, "Stage 1 - bi-encoder retrieval: top %d of %d documents by cosine similarity", r->n,
             d->n_docs);
    heading(d, "%s", title);
    printf("query: %s\n\n  rank  doc   cosine  text\n", seed_test_query);
    for (int i = 0; i < r->n; i++) {
        const demo_doc *doc = &d->docs[r->bi_idx[i]];
        printf("  %4d  %-4s %7.4f  ", i + 1, doc->id, (double)r->bi_score[i]);
        print_text(d, 23, doc->text);
    }
    return 0;
}

static int section_rerank(demo *d) {
    if (need_test_run(d)) return 1;
    const demo_run *r = &d->test;
    char title[160];
    float a = wn_model_rerank_interpolate(d->ce); /* the model's own mix with the first stage */
    if (a > 0)
        snprintf(title, sizeof title, "Stage 2 - re-ranking of those %d (score: %.2g minmax(re-ranker's score) + %.2g "
                 "minmax(cosine), the re-ranker's own mix)", r->n, 1 - (double)a, (double)a);
    else
        snprintf(title, sizeof title, "Stage 2 - cross-encoder re-ranking of those %d (logits: higher is more relevant)", r->n);
    heading(d, "%s", title);
    printf("query: %s\n\n  rank  doc  %8s  was  text\n", seed_test_query, a > 0 ? "score" : "logit");
    for (int i = 0; i < r->n; i++) {
        const demo_doc *doc = &d->docs[r->re_idx[i]];
        printf("  %4d  %-4s %8.4f  %3d  ", i + 1, doc->id, (double)r->re_score[i],
               rank_of(r->bi_idx, r->n, r->re_idx[i]));
        print_text(d, 29, doc->text);
    }
    return 0;
}

/* P@k (1 if the gold document is in the top k_eval: one relevant document per query,
 * as the notebook counts it) and reciprocal rank within the k candidates. */
static int section_evaluate(demo *d) {
    char title[96];
    snprintf(title, sizeof title, "Evaluation - %d queries, one relevant document each, k_candidates = %d",
             d->n_queries, d->k);
    heading(d, "%s", title);
    double p_bi = 0, p_re = 0, rr_bi = 0, rr_re = 0, ms_bi = 0, ms_re = 0, g_bi = 0, g_re = 0;
    printf("  query                                                          gold  bi rank  re-ranked\n");
    for (int q = 0; q < d->n_queries; q++) {
        demo_run r;
        wn_status st = run_query(d, d->queries[q].text, &r);
        if (st) return cli_lib_error("demo", st);
        int gold = doc_index(d, d->queries[q].gold);
        int rb = rank_of(r.bi_idx, r.n, gold), rr = rank_of(r.re_idx, r.n, gold);
        p_bi += rb && rb <= d->k_eval;
        p_re += rr && rr <= d->k_eval;
        rr_bi += rb ? 1.0 / rb : 0;
        rr_re += rr ? 1.0 / rr : 0;
        g_bi += rb ? 1.0 / log2(rb + 1.0) : 0; /* nDCG@10, one relevant document: 1 / log2(rank + 1) */
        g_re += rr ? 1.0 / log2(rr + 1.0) : 0;
        ms_bi += r.bi_ms;
        ms_re += r.re_ms;
        char rbs[12] = "-", rrs[12] = "-";
        if (rb) snprintf(rbs, sizeof rbs, "%d", rb);
        if (rr) snprintf(rrs, sizeof rrs, "%d", rr);
        printf("  %-62.62s %-4s  %7s  %9s\n", d->queries[q].text, d->queries[q].gold, rbs, rrs);
    }
    printf("  (rank of the relevant document; - : not among the %d candidates)\n", d->k);
    double n = d->n_queries;
    printf("\n                  P@%-3d    MRR   avg latency per query\n", d->k_eval);
    printf("  bi-encoder     %6.3f  %6.3f   %8.2f ms  (embed the query, cosine against %d documents)\n", p_bi / n,
           rr_bi / n, ms_bi / n, d->n_docs);
    printf("  + re-ranker    %6.3f  %6.3f   %8.2f ms  (score %d pairs; both stages %.2f ms)\n", p_re / n, rr_re / n,
           ms_re / n, d->k, (ms_bi + ms_re) / n);
    demo_ctx *x = &d->x;
    x->seed_done = 1;
    x->seed_k = d->k;
    x->seed_docs = d->n_docs;
    x->seed_queries = d->n_queries;
    x->seed_p_bi = p_bi / n;
    x->seed_p_re = p_re / n;
    x->seed_mrr_bi = rr_bi / n;
    x->seed_mrr_re = rr_re / n;
    x->seed_ms_bi = ms_bi / n;
    x->seed_ms_re = ms_re / n;
    x->seed_ndcg_bi = g_bi / n;
    x->seed_ndcg_re = g_re / n;
    if (d->queries == seed_queries && d->k == 5)
        printf("  (the notebook, with the published weights: P@3 1.000 -> 1.000, MRR 0.900 -> 1.000)\n");
    return 0;
}

/* Before and after, every candidate with its move: "d8  3 -> 4  (v1)". */
static int section_rank_shift(demo *d) {
    demo_run r;
    wn_status st = run_query(d, seed_shift_query, &r);
    if (st) return cli_lib_error("demo", st);
    heading(d, "Rank shift - %s", seed_shift_query);
    printf("  bi-encoder top-%d: ", r.n);
    for (int i = 0; i < r.n; i++) printf(" %s", d->docs[r.bi_idx[i]].id);
    printf("\n  re-ranker  top-%d: ", r.n);
    for (int i = 0; i < r.n; i++) printf(" %s", d->docs[r.re_idx[i]].id);
    printf("\n\n  doc  before -> after  move  text (in re-ranked order)\n");
    int moved = 0;
    for (int i = 0; i < r.n; i++) {
        int before = rank_of(r.bi_idx, r.n, r.re_idx[i]), after = i + 1;
        char move[16];
        if (before == after) snprintf(move, sizeof move, "(=)");
        else snprintf(move, sizeof move, "(%c%d)", after < before ? '^' : 'v', abs(before - after));
        moved += before != after;
        printf("  %-4s %6d -> %-5d %-5s ", d->docs[r.re_idx[i]].id, before, after, move);
        print_text(d, 27, d->docs[r.re_idx[i]].text);
    }
    printf("\n  %d of %d candidates moved.\n", moved, r.n);
    return 0;
}

/* The exercises on a collection (cli/demo/demo_collection.c) and the report. */
static int section_collection(demo *d) { return demo_collection(&d->x); }
static int section_k_sweep(demo *d) { return demo_k_sweep(&d->x); }
static int section_ann(demo *d) { return demo_ann_vs_flat(&d->x); }
static int section_bm25_hybrid(demo *d) { return demo_bm25_hybrid(&d->x); }
static int seed_searcher(demo *d, double *ms);
static wn_status resolve(const char *name, const wn_hub_params *hp, char *dir, size_t cap);

/* The second demo of exercise 3: the same settings, bi-encoder name (loaded), the
 * same cross-encoder, its files under OUT/compare; the collection as loaded. */
static int compare_init(const demo *d, demo *e, const char *dir) {
    memset(e, 0, sizeof *e);
    e->docs = d->docs;
    e->n_docs = d->n_docs;
    e->queries = d->queries;
    e->n_queries = d->n_queries;
    e->k = d->k;
    e->k_eval = d->k_eval;
    e->width = d->width;
    e->bold = d->bold;
    e->ce = d->ce;
    const demo_ctx *x = &d->x;
    demo_ctx *y = &e->x;
    wn_status st = wn_model_load(dir, &d->mp, &e->bi);
    if (st) return fprintf(stderr, "winnow demo: cannot load the bi-encoder %s (%s):\n  %s\n", d->cmp_name, dir, wn_last_error()), 1;
    if (wn_model_kind_of(e->bi) != WN_MODEL_BIENCODER)
        return fprintf(stderr, "winnow demo: %s (%s) is a cross-encoder, not a bi-encoder\n", d->cmp_name, dir), 1;
    e->dim = y->dim = wn_model_dim(e->bi);
    y->bi = e->bi;
    y->ce = d->ce;
    y->bold = x->bold;
    y->width = x->width;
    y->threads = x->threads;
    y->precision = x->precision;
    y->bi_name = d->cmp_name;
    y->ce_name = x->ce_name;
    y->out_dir = x->cmp_dir;
    y->max_docs = x->max_docs;
    y->max_queries = x->max_queries;
    y->k_cand = x->k_cand;
    y->coll_path = x->coll_state > 0 ? x->coll_path : NULL; /* the Debian collection: the one written */
    y->coll_explicit = 1;
    snprintf(y->coll_note, sizeof y->coll_note, "%s", x->coll_note);
    return 0;
}

static void compare_free(demo *e) {
    demo_collection_free(&e->x);
    wn_searcher_free(e->s);
    wn_index_free(e->flat);
    free(e->doc_emb);
    wn_model_free(e->bi);
}

/* Exercise 3: the notebook's evaluation and the collection's exercises again with
 * --compare-bi-encoder in place of the bi-encoder, then both side by side. */
static int section_compare(demo *d) {
    demo_ctx *x = &d->x;
    if (!d->cmp_name) return 0;
    static demo e;
    static char dir[4096];
    heading(d, "Exercise 3 - the bi-encoder swapped for %s", d->cmp_name);
    wn_status st = resolve(d->cmp_name, &d->hp, dir, sizeof dir);
    if (st) return fprintf(stderr, "winnow demo: cannot get the bi-encoder %s:\n  %s\n", d->cmp_name, wn_last_error()), 1;
    snprintf(x->cmp_dir, sizeof x->cmp_dir, "%s/compare", x->out_dir);
    double ms;
    char path[4200];
    snprintf(path, sizeof path, "%s/results.json", x->cmp_dir);
    int rc = compare_init(d, &e, dir) || seed_searcher(&e, &ms) || section_evaluate(&e);
    if (!rc && e.x.coll_path)
        rc = demo_collection(&e.x) || demo_k_sweep(&e.x) || demo_ann_vs_flat(&e.x) || demo_bm25_hybrid(&e.x);
    if (!rc) rc = demo_mkdir_p(x->cmp_dir);
    if (!rc) rc = demo_results_json(&e.x, path);
    if (!rc) {
        heading(d, "Exercise 3 - %s", "the two bi-encoders side by side");
        demo_compare_print(x, &e.x);
        x->cmp = &e.x;
    }
    compare_free(&e);
    return rc;
}
static int section_report(demo *d) { return demo_report(&d->x); }

static const struct {
    const char *name;
    int (*fn)(demo *d);
} sections[] = {
    {"bi-encoder", section_bi_encoder},
    {"rerank", section_rerank},
    {"evaluate", section_evaluate},
    {"rank-shift", section_rank_shift},
    {"collection", section_collection},
    {"k-sweep", section_k_sweep},
    {"ann", section_ann},
    {"bm25-hybrid", section_bm25_hybrid},
    {"compare", section_compare},
    {"report", section_report},
};
enum { N_SECTIONS = sizeof sections / sizeof sections[0] };

/* ---- loading */

static void demo_usage(FILE *f) {
    fprintf(f,
            "usage: winnow demo [--bi-encoder M] [--cross-encoder M] [--k N] [--threads N]\n"
            "                   [--collection DIR | --no-collection] [--docs N] [--queries N]\n"
            "                   [--k-candidates N] [--out DIR] [--offline] [--section NAME]\n"
            "                   [--dpkg-status FILE] [--compare-bi-encoder M]\n"
            "The seed notebook end to end on its 8 documents and 5 queries: bi-encoder top-5,\n"
            "cross-encoder re-ranking, P@3 / MRR / latency of both stages, and a rank shift;\n"
            "then its exercises on a real collection: dense and re-ranked P@3 / MRR@10 /\n"
            "nDCG@10 with per-stage latency, the k sweep (5, 10, 20, 50), HNSW and IVF against\n"
            "brute force, BM25 and hybrid first stages; and an HTML report.\n"
            "  --bi-encoder M     directory, bundled name or hub id (default " DEMO_BI_ENCODER ")\n"
            "  --cross-encoder M  directory, bundled name or hub id (default " DEMO_CROSS_ENCODER ")\n"
            "  --k N              candidates re-ranked per query (k_candidates, default 5)\n"
            "  --threads N        threads per model (default: all CPUs)\n"
            "  --precision P      fp32 (default, exact), bf16 or int8 for both models (faster)\n"
            "  --collection DIR   BEIR folder: corpus.jsonl, queries.jsonl, qrels/test.tsv (default:\n"
            "                     the installed Debian packages' descriptions with the demo's own\n"
            "                     known-item queries, written to OUT/debian-collection)\n"
            "  --dpkg-status FILE where that collection comes from (default " DEMO_DPKG_STATUS ")\n"
            "  --no-collection    the seed notebook only\n"
            "  --docs N           use the collection's first N documents (default: all of the Debian\n"
            "                     collection, %d of a --collection)\n"
            "  --queries N        at most N queries with a relevant document among them (default: all,\n"
            "                     %d of a --collection)\n"
            "  --k-candidates N   candidates re-ranked after each first stage (default %d)\n"
            "  --out DIR          where report.html, results.json, runs/ go (default " DEMO_OUT ")\n"
            "  --offline          use the cache only (as HF_HUB_OFFLINE=1)\n"
            "  --compare-bi-encoder M  exercise 3: the notebook's evaluation and the collection's\n"
            "                     exercises again with bi-encoder M (e.g. sentence-transformers/\n"
            "                     all-mpnet-base-v2), side by side with the first (files in OUT/compare)\n"
            "  --section NAME     run one section:",
            DEMO_DOCS, DEMO_QUERIES, DEMO_K_CAND);
    for (int i = 0; i < N_SECTIONS; i++) fprintf(f, " %s", sections[i].name);
    fprintf(f,
            "\nModels come from $WINNOW_CACHE (default ~/.cache/winnow), downloaded once from\n"
            "$HF_ENDPOINT (default https://huggingface.co). When a default model is neither cached\n"
            "nor reachable (or --offline), the bundled " DEMO_BUNDLED_BI " / " DEMO_BUNDLED_CE " runs in\n"
            "its place (said once); a model named with --bi-encoder / --cross-encoder never is replaced.\n");
}

/* Resolves name (downloading it with a progress bar if need be) into dir; the
 * status, with wn_last_error() saying why not. */
static wn_status resolve(const char *name, const wn_hub_params *hp, char *dir, size_t cap) {
    cli_progress bar;
    cli_progress_init(&bar);
    wn_hub_params p = *hp;
    p.progress = cli_progress_cb;
    p.progress_ud = &bar;
    wn_status st = wn_hub_resolve(name, &p, dir, cap);
    cli_progress_end(&bar);
    return st;
}

/* One model of the demo: name (given, or the seed's default); when it is the default
 * and cannot be had (not cached, hub unreachable or offline), the bundled model in
 * its place. *used: the name that resolved; *why: why the seed did not (cap bytes),
 * "" when it did. After an unreachable hub, hp->offline is set so that the second
 * model does not wait on the network again. 0 ok, 1 failed (said). */
static int resolve_model(const char *role, const char *name, int may_fall_back, const char *bundled, wn_hub_params *hp,
                         int *hub_down, char *dir, const char **used, char *why, size_t cap) {
    why[0] = 0;
    *used = name;
    wn_status st = resolve(name, hp, dir, 4096);
    if (st == WN_OK) return 0;
    char first[1280];
    snprintf(first, sizeof first, "%s%s", *hub_down ? "(only the cache was looked at: the hub could not be reached) " : "",
             wn_last_error());
    if (may_fall_back) {
        int offline = hp->offline || (getenv("HF_HUB_OFFLINE") && strcmp(getenv("HF_HUB_OFFLINE"), "0") &&
                                      *getenv("HF_HUB_OFFLINE"));
        snprintf(why, cap, "%s", st == WN_ERR_NETWORK || *hub_down ? "the hub cannot be reached"
                                 : offline                         ? "offline mode is on"
                                 : st == WN_ERR_NOTFOUND           ? "the hub does not serve it"
                                                                   : "it cannot be fetched");
        if (st == WN_ERR_NETWORK) hp->offline = *hub_down = 1;
        if (resolve(bundled, hp, dir, 4096) == WN_OK) return *used = bundled, 0;
        fprintf(stderr, "winnow demo: cannot get the %s %s:\n  %s\nnor the bundled %s in its place:\n  %s\n", role, name,
                first, bundled, wn_last_error());
        return 1;
    }
    fprintf(stderr, "winnow demo: cannot get the %s %s:\n  %s\n", role, name, first);
    return 1;
}

static int load(const char *role, const char *name, const char *dir, wn_model_kind want, const wn_model_params *mp,
                wn_model **out) {
    wn_status st = wn_model_load(dir, mp, out);
    if (st) {
        fprintf(stderr, "winnow demo: cannot load the %s %s (%s):\n  %s\n", role, name, dir, wn_last_error());
        return 1;
    }
    if (wn_model_kind_of(*out) != want) {
        fprintf(stderr, "winnow demo: %s (%s) is a %s, not a %s\n", name, dir,
                want == WN_MODEL_BIENCODER ? "cross-encoder" : "bi-encoder", role);
        return 1;
    }
    return 0;
}

/* The command line of winnow demo. */
typedef struct {
    const char *bi_name, *ce_name, *only, *coll, *out_dir, *dpkg, *cmp;
    long k, threads, docs, nq, kc;
    int no_coll, sec;
    wn_precision prec;
    wn_hub_params hp;
    int bi_given, ce_given; /* --bi-encoder / --cross-encoder: no fallback to the bundled models */
} demo_args;

/* One option with a value at argv[*i] (advanced past it); 0 ok, 2 bad value, -1 not one. */
static int value_opt(demo_args *o, char **argv, int *i) {
    const char *a = argv[*i], *v = argv[*i + 1];
    const char **str = !strcmp(a, "--bi-encoder") ? &o->bi_name : !strcmp(a, "--cross-encoder") ? &o->ce_name
                     : !strcmp(a, "--collection") ? &o->coll : !strcmp(a, "--out") ? &o->out_dir
                     : !strcmp(a, "--section") ? &o->only : !strcmp(a, "--dpkg-status") ? &o->dpkg
                     : !strcmp(a, "--compare-bi-encoder") ? &o->cmp : NULL;
    long *num = !strcmp(a, "--docs") ? &o->docs : !strcmp(a, "--queries") ? &o->nq : !strcmp(a, "--k-candidates") ? &o->kc
              : !strcmp(a, "--k") ? &o->k : !strcmp(a, "--threads") ? &o->threads : NULL;
    long hi = num == &o->docs ? 10000000 : num == &o->nq ? 1000000 : num == &o->kc ? 50 : num == &o->k ? DEMO_MAX_K : 1024;
    (*i)++;
    if (str) *str = v;
    else if (num) return cli_parse_int(a, v, 1, hi, num) ? 0 : 2;
    else if (!strcmp(a, "--precision")) {
        if (!strcmp(v, "fp32")) o->prec = WN_PREC_FP32;
        else if (!strcmp(v, "bf16")) o->prec = WN_PREC_BF16;
        else if (!strcmp(v, "int8")) o->prec = WN_PREC_INT8;
        else return cli_error("demo: --precision must be fp32, bf16 or int8, got '%s'", v), 2;
    } else return (*i)--, -1;
    return 0;
}

/* 0 ok, 1 done (--help), 2 usage error (said). */
static int parse_args(int argc, char **argv, demo_args *o) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int r = -1;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return demo_usage(stdout), 1;
        if (!strcmp(a, "--offline")) o->hp.offline = 1;
        else if (!strcmp(a, "--no-collection")) o->no_coll = 1;
        else if (i + 1 < argc && (r = value_opt(o, argv, &i)) > 0) return r;
        if (r < 0 && strcmp(a, "--offline") && strcmp(a, "--no-collection")) {
            cli_error("demo: unknown option or missing value '%s'", a);
            return demo_usage(stderr), 2;
        }
    }
    o->sec = -1;
    if (!o->only) return 0;
    for (int i = 0; i < N_SECTIONS; i++)
        if (!strcmp(o->only, sections[i].name)) o->sec = i;
    if (o->sec >= 0) return 0;
    cli_error("demo: no section '%s'", o->only);
    return demo_usage(stderr), 2;
}

static void init_demo(demo *d, const demo_args *o) {
    memset(d, 0, sizeof *d);
    d->docs = seed_corpus;
    d->n_docs = (int)(sizeof seed_corpus / sizeof seed_corpus[0]);
    d->queries = seed_queries;
    d->n_queries = (int)(sizeof seed_queries / sizeof seed_queries[0]);
    d->cmp_name = o->cmp;
    d->k = (int)(o->k < d->n_docs ? o->k : d->n_docs);
    d->k_eval = 3;
    d->bold = isatty(STDOUT_FILENO);
    demo_ctx *x = &d->x;
    x->bold = d->bold;
    x->threads = (int)o->threads;
    x->bi_name = o->bi_name;
    x->ce_name = o->ce_name;
    x->out_dir = o->out_dir;
    x->debian = !o->no_coll && !o->coll;
    x->dpkg_status = o->dpkg ? o->dpkg : DEMO_DPKG_STATUS;
    x->dpkg_explicit = o->dpkg != NULL;
    /* the Debian collection is small: all of it by default */
    x->max_docs = (int)(o->docs ? o->docs : x->debian ? 0 : DEMO_DOCS);
    x->max_queries = (int)(o->nq ? o->nq : x->debian ? 1000000 : DEMO_QUERIES);
    x->k_cand = (int)o->kc;
    x->coll_explicit = o->coll != NULL;
    x->coll_path = o->no_coll ? NULL : o->coll;
    if (o->no_coll)
        snprintf(x->coll_note, sizeof x->coll_note,
                 "--no-collection: the exercises on a collection did not run (drop it, or pass --collection DIR).");
    struct winsize ws;
    if (d->bold && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40) d->width = ws.ws_col;
    x->width = d->width;
    x->precision = o->prec == WN_PREC_BF16 ? "bf16" : o->prec == WN_PREC_INT8 ? "int8" : "fp32";
}

/* The one line that says the bundled models run in place of the seed's (x->models_note). */
static void say_fallback(demo_ctx *x, const char *why_bi, const char *why_ce) {
    if (why_bi[0] && why_ce[0])
        snprintf(x->models_note, sizeof x->models_note,
                 "the seed models (" DEMO_BI_ENCODER ", " DEMO_CROSS_ENCODER ") are not in the cache and %s: "
                 "using the bundled %s and %s, offline.",
                 why_bi, x->bi_name, x->ce_name);
    else if (why_bi[0] || why_ce[0])
        snprintf(x->models_note, sizeof x->models_note,
                 "%s is not in the cache and %s: using the bundled %s in its place, with %s.",
                 why_bi[0] ? DEMO_BI_ENCODER : DEMO_CROSS_ENCODER, why_bi[0] ? why_bi : why_ce,
                 why_bi[0] ? x->bi_name : x->ce_name, why_bi[0] ? x->ce_name : x->bi_name);
    x->bi_bundled = why_bi[0] != 0;
    x->ce_bundled = why_ce[0] != 0;
    if (x->models_note[0]) printf("winnow demo: %s\n", x->models_note);
}

/* Both models, resolved into bi_dir/ce_dir (4096 bytes) and loaded; the seed's
 * defaults fall back to the bundled models (said once). 0 ok, 1 failed (said). */
static int load_models(demo *d, const demo_args *o, char *bi_dir, char *ce_dir) {
    wn_hub_params hp = o->hp;
    char why_bi[128], why_ce[128];
    demo_ctx *x = &d->x;
    int down = 0;
    int bad = resolve_model("bi-encoder", x->bi_name, !o->bi_given, DEMO_BUNDLED_BI, &hp, &down, bi_dir, &x->bi_name,
                            why_bi, sizeof why_bi);
    bad |= resolve_model("cross-encoder", x->ce_name, !o->ce_given, DEMO_BUNDLED_CE, &hp, &down, ce_dir, &x->ce_name,
                         why_ce, sizeof why_ce);
    if (bad) {
        fprintf(stderr,
                "winnow demo: the demo needs both models. Where there is no network: fetch them where there is\n"
                "  (winnow download %s; winnow download %s) and copy the cache,\n"
                "  then set WINNOW_CACHE to it (or HF_HUB_CACHE to a huggingface_hub cache that has them);\n"
                "  or set HF_ENDPOINT to a reachable mirror of the hub;\n"
                "  or pass --bi-encoder DIR --cross-encoder DIR (HuggingFace model directories).\n",
                o->bi_name, o->ce_name);
        return 1;
    }
    say_fallback(x, why_bi, why_ce);
    const char *bdir = !strcmp(x->bi_name, DEMO_BUNDLED_BI) ? bi_dir : !strcmp(x->ce_name, DEMO_BUNDLED_CE) ? ce_dir : NULL;
    if (bdir) { /* the models directory it came from, which holds eval.json */
        snprintf(x->bundled_dir, sizeof x->bundled_dir, "%s", bdir);
        char *slash = strrchr(x->bundled_dir, '/');
        if (slash) *slash = 0;
    }
    d->hp = hp;
    d->mp = wn_model_default_params();
    d->mp.n_threads = (int)o->threads;
    d->mp.precision = o->prec;
    if (load("bi-encoder", x->bi_name, bi_dir, WN_MODEL_BIENCODER, &d->mp, &d->bi) ||
        load("cross-encoder", x->ce_name, ce_dir, WN_MODEL_CROSSENCODER, &d->mp, &d->ce))
        return 1;
    d->dim = wn_model_dim(d->bi);
    x->bi = d->bi;
    x->ce = d->ce;
    x->dim = d->dim;
    return 0;
}

/* The seed corpus embedded into a flat cosine index and the searcher over it;
 * *ms the time taken. 0 ok, 1 failed (said). */
static int seed_searcher(demo *d, double *ms) {
    if (!(d->doc_emb = malloc((size_t)d->n_docs * (size_t)d->dim * sizeof *d->doc_emb))) return cli_error("demo: out of memory");
    for (int j = 0; j < d->n_docs; j++) {
        d->texts[j] = d->docs[j].text;
        d->ids[j] = d->docs[j].id;
    }
    double t0 = now_s();
    wn_index_params ip = wn_index_default_params();
    ip.n_threads = 1;
    wn_status st = demo_embed(d->bi, d->n_docs, d->texts, d->doc_emb, 0);
    if (!st) st = wn_index_create(WN_INDEX_FLAT, d->dim, WN_METRIC_COS, &ip, &d->flat);
    if (!st) st = wn_index_add(d->flat, d->n_docs, d->doc_emb, NULL);
    *ms = (now_s() - t0) * 1e3;
    wn_searcher_parts parts = {NULL, d->texts, d->ids, d->n_docs, NULL, d->flat, NULL, 0, d->bi, d->ce};
    wn_pipeline_params pp = wn_pipeline_default_params();
    pp.first_stage = WN_FIRST_DENSE;
    pp.ann.n_threads = 1;
    if (!st) st = wn_searcher_create(&parts, &pp, &d->s);
    return st ? cli_lib_error("demo", st) : 0;
}

static void print_header(const demo *d, const demo_args *o, const char *bi_dir, const char *ce_dir, double embed_ms) {
    printf("%swinnow demo: bi-encoder retrieval vs cross-encoder re-ranking (the seed notebook)%s\n",
           d->bold ? "\033[1m" : "", d->bold ? "\033[0m" : "");
    const demo_ctx *x = &d->x;
    printf("  bi-encoder     %s%s  (%d dimensions)\n", x->bi_name, x->bi_bundled ? " (bundled)" : "", d->dim);
    if (strcmp(x->bi_name, bi_dir)) printf("                 %s\n", bi_dir);
    printf("  cross-encoder  %s%s\n", x->ce_name, x->ce_bundled ? " (bundled)" : "");
    if (strcmp(x->ce_name, ce_dir)) printf("                 %s\n", ce_dir);
    printf("  corpus         %d documents embedded in %.1f ms; %d queries with one relevant document each\n",
           d->n_docs, embed_ms, d->n_queries);
    if (o->threads)
        printf("  run            %s kernels, %s, %ld thread%s per model\n", wn_isa_name(wn_cpu_isa()), d->x.precision,
               o->threads, o->threads > 1 ? "s" : "");
    else printf("  run            %s kernels, %s, all CPUs\n", wn_isa_name(wn_cpu_isa()), d->x.precision);
}

int cmd_demo(int argc, char **argv) {
    demo_args o = {NULL, NULL, NULL, NULL, DEMO_OUT, NULL, NULL, 5, 0, 0, 0,
                   DEMO_K_CAND, 0, -1, WN_PREC_FP32, wn_hub_default_params(), 0, 0};
    o.hp.models_dir = cli_models_dir();
    int rc = parse_args(argc, argv, &o);
    if (rc) return rc == 1 ? 0 : rc;
    o.bi_given = o.bi_name != NULL;
    o.ce_given = o.ce_name != NULL;
    if (!o.bi_given) o.bi_name = DEMO_BI_ENCODER;
    if (!o.ce_given) o.ce_name = DEMO_CROSS_ENCODER;
    static demo d;
    static char bi_dir[4096], ce_dir[4096];
    init_demo(&d, &o);
    double embed_ms = 0;
    rc = load_models(&d, &o, bi_dir, ce_dir) || seed_searcher(&d, &embed_ms);
    if (!rc) print_header(&d, &o, bi_dir, ce_dir, embed_ms);
    for (int i = 0; i < N_SECTIONS && !rc; i++)
        if (o.sec < 0 || o.sec == i) rc = sections[i].fn(&d);
    demo_collection_free(&d.x);
    wn_searcher_free(d.s);
    wn_index_free(d.flat);
    free(d.doc_emb);
    wn_model_free(d.bi);
    wn_model_free(d.ce);
    return rc;
}
