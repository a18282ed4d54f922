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
 * self-contained HTML report (cli/demo/demo_report.c) whose path ends the output.
 *
 * Each section is one function taking the loaded demo; a new section is a function
 * and a row in `sections` (run in order; `--section NAME` runs one). The corpus and
 * queries are the notebook's own, embedded here: this part reads nothing but the two
 * models, which come from the hub cache (downloaded once) or from --bi-encoder /
 * --cross-encoder directories. The collection is --collection DIR, by default
 * ../shared/data/collections/cisi when it exists (else those sections say they are
 * skipped and how to enable them). It uses include/winnow.h only.
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
#define DEMO_MAX_K 64
#define DEMO_COLLECTION "../shared/data/collections/cisi"
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
    float *doc_emb;      /* (D, E), L2-normalised */
    int width;           /* terminal columns, 0: do not cut texts */
    int bold;            /* stdout is a terminal */
    demo_run test;       /* the notebook's test query, shared by the first two sections */
    int have_test;
    demo_ctx x;          /* what the collection sections and the report share */
} demo;

/* ---- the two stages */

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void normalize(float *v, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) s += (double)v[i] * v[i];
    float inv = s > 0 ? (float)(1.0 / sqrt(s)) : 0.0f;
    for (int i = 0; i < n; i++) v[i] *= inv;
}

/* Stage 1: embed the query, cosine against every document (brute force, as the
 * notebook's doc_embs @ qv), keep the top k; ties go to the earlier document. */
static wn_status bi_search(demo *d, const char *query, demo_run *r) {
    float *q = malloc((size_t)d->dim * sizeof *q);
    if (!q) return WN_ERR_NOMEM;
    double t0 = now_s();
    wn_status st = wn_model_embed(d->bi, 1, &query, q);
    if (st == WN_OK) {
        normalize(q, d->dim);
        r->n = 0;
        for (int j = 0; j < d->n_docs; j++) {
            float s = 0;
            for (int e = 0; e < d->dim; e++) s += q[e] * d->doc_emb[(size_t)j * d->dim + e];
            /* insertion into the sorted top k */
            int pos = r->n < d->k ? r->n : d->k;
            while (pos > 0 && s > r->bi_score[pos - 1]) pos--;
            if (pos >= d->k) continue;
            int last = r->n < d->k ? r->n : d->k - 1;
            for (int i = last; i > pos; i--) {
                r->bi_score[i] = r->bi_score[i - 1];
                r->bi_idx[i] = r->bi_idx[i - 1];
            }
            r->bi_score[pos] = s;
            r->bi_idx[pos] = j;
            if (r->n < d->k) r->n++;
        }
    }
    r->bi_ms = (now_s() - t0) * 1e3;
    free(q);
    return st;
}

/* Stage 2: score (query, candidate) pairs with the cross-encoder, sort by logit
 * (first label when there are several); ties keep the bi-encoder's order. */
static wn_status rerank(demo *d, const char *query, demo_run *r) {
    int nl = wn_model_num_labels(d->ce);
    const char *qs[DEMO_MAX_K], *ds[DEMO_MAX_K];
    float *logits = malloc((size_t)(r->n ? r->n : 1) * (size_t)nl * sizeof *logits);
    if (!logits) return WN_ERR_NOMEM;
    double t0 = now_s();
    for (int i = 0; i < r->n; i++) {
        qs[i] = query;
        ds[i] = d->docs[r->bi_idx[i]].text;
    }
    wn_status st = wn_model_score(d->ce, r->n, qs, ds, logits);
    if (st == WN_OK) {
        for (int i = 0; i < r->n; i++) {
            float s = logits[(size_t)i * nl];
            int pos = i;
            while (pos > 0 && s > r->re_score[pos - 1]) pos--;
            for (int j = i; j > pos; j--) {
                r->re_score[j] = r->re_score[j - 1];
                r->re_idx[j] = r->re_idx[j - 1];
            }
            r->re_score[pos] = s;
            r->re_idx[pos] = r->bi_idx[i];
        }
    }
    r->re_ms = (now_s() - t0) * 1e3;
    free(logits);
    return st;
}

static wn_status run_query(demo *d, const char *query, demo_run *r) {
    memset(r, 0, sizeof *r);
    wn_status st = bi_search(d, query, r);
    return st ? st : rerank(d, query, r);
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
    char title[96];
    snprintf(title, sizeof title, "Stage 2 - cross-encoder re-ranking of those %d (logits: higher is more relevant)",
             r->n);
    heading(d, "%s", title);
    printf("query: %s\n\n  rank  doc     logit  was  text\n", seed_test_query);
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
    double p_bi = 0, p_re = 0, rr_bi = 0, rr_re = 0, ms_bi = 0, ms_re = 0;
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
    {"report", section_report},
};
enum { N_SECTIONS = sizeof sections / sizeof sections[0] };

/* ---- loading */

static void demo_usage(FILE *f) {
    fprintf(f,
            "usage: winnow demo [--bi-encoder M] [--cross-encoder M] [--k N] [--threads N]\n"
            "                   [--collection DIR | --no-collection] [--docs N] [--queries N]\n"
            "                   [--k-candidates N] [--out DIR] [--offline] [--section NAME]\n"
            "The seed notebook end to end on its 8 documents and 5 queries: bi-encoder top-5,\n"
            "cross-encoder re-ranking, P@3 / MRR / latency of both stages, and a rank shift;\n"
            "then its exercises on a real collection: dense and re-ranked P@3 / MRR@10 /\n"
            "nDCG@10 with per-stage latency, the k sweep (5, 10, 20, 50), HNSW and IVF against\n"
            "brute force, BM25 and hybrid first stages; and an HTML report.\n"
            "  --bi-encoder M     hub id or directory (default " DEMO_BI_ENCODER ")\n"
            "  --cross-encoder M  hub id or directory (default " DEMO_CROSS_ENCODER ")\n"
            "  --k N              candidates re-ranked per query (k_candidates, default 5)\n"
            "  --threads N        threads per model (default: all CPUs)\n"
            "  --precision P      fp32 (default, exact), bf16 or int8 for both models (faster)\n"
            "  --collection DIR   BEIR folder: corpus.jsonl, queries.jsonl, qrels/test.tsv\n"
            "                     (default " DEMO_COLLECTION " when it exists)\n"
            "  --no-collection    the seed notebook only\n"
            "  --docs N           use the collection's first N documents (default %d)\n"
            "  --queries N        at most N queries with a relevant document among them (default %d)\n"
            "  --k-candidates N   candidates re-ranked after each first stage (default %d)\n"
            "  --out DIR          where report.html, results.json, runs/ go (default " DEMO_OUT ")\n"
            "  --offline          use the cache only (as HF_HUB_OFFLINE=1)\n"
            "  --section NAME     run one section:",
            DEMO_DOCS, DEMO_QUERIES, DEMO_K_CAND);
    for (int i = 0; i < N_SECTIONS; i++) fprintf(f, " %s", sections[i].name);
    fprintf(f,
            "\nModels come from $WINNOW_CACHE (default ~/.cache/winnow), downloaded once from\n"
            "$HF_ENDPOINT (default https://huggingface.co).\n");
}

/* Resolves name (downloading it with a progress bar if need be) into dir; prints why not. */
static int resolve(const char *role, const char *name, const wn_hub_params *hp, char *dir, size_t cap) {
    cli_progress bar;
    cli_progress_init(&bar);
    wn_hub_params p = *hp;
    p.progress = cli_progress_cb;
    p.progress_ud = &bar;
    wn_status st = wn_hub_resolve(name, &p, dir, cap);
    cli_progress_end(&bar);
    if (st == WN_OK) return 0;
    fprintf(stderr, "winnow demo: cannot get the %s %s:\n  %s\n", role, name, wn_last_error());
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

int cmd_demo(int argc, char **argv) {
    const char *bi_name = DEMO_BI_ENCODER, *ce_name = DEMO_CROSS_ENCODER, *only = NULL;
    const char *coll = NULL, *out_dir = DEMO_OUT;
    long k = 5, threads = 0, docs = DEMO_DOCS, nq = DEMO_QUERIES, kc = DEMO_K_CAND;
    int no_coll = 0;
    wn_precision prec = WN_PREC_FP32;
    wn_hub_params hp = wn_hub_default_params();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            demo_usage(stdout);
            return 0;
        } else if (!strcmp(a, "--offline")) {
            hp.offline = 1;
        } else if (v && !strcmp(a, "--bi-encoder")) {
            bi_name = argv[++i];
        } else if (v && !strcmp(a, "--cross-encoder")) {
            ce_name = argv[++i];
        } else if (!strcmp(a, "--no-collection")) {
            no_coll = 1;
        } else if (v && !strcmp(a, "--precision")) {
            const char *pv = argv[++i];
            if (!strcmp(pv, "fp32")) prec = WN_PREC_FP32;
            else if (!strcmp(pv, "bf16")) prec = WN_PREC_BF16;
            else if (!strcmp(pv, "int8")) prec = WN_PREC_INT8;
            else {
                cli_error("demo: --precision must be fp32, bf16 or int8, got '%s'", pv);
                return 2;
            }
        } else if (v && !strcmp(a, "--collection")) {
            coll = argv[++i];
        } else if (v && !strcmp(a, "--out")) {
            out_dir = argv[++i];
        } else if (v && !strcmp(a, "--docs")) {
            if (!cli_parse_int("--docs", argv[++i], 1, 10000000, &docs)) return 2;
        } else if (v && !strcmp(a, "--queries")) {
            if (!cli_parse_int("--queries", argv[++i], 1, 1000000, &nq)) return 2;
        } else if (v && !strcmp(a, "--k-candidates")) {
            if (!cli_parse_int("--k-candidates", argv[++i], 1, 50, &kc)) return 2;
        } else if (v && !strcmp(a, "--section")) {
            only = argv[++i];
        } else if (v && !strcmp(a, "--k")) {
            if (!cli_parse_int("--k", argv[++i], 1, DEMO_MAX_K, &k)) return 2;
        } else if (v && !strcmp(a, "--threads")) {
            if (!cli_parse_int("--threads", argv[++i], 1, 1024, &threads)) return 2;
        } else {
            cli_error("demo: unknown option or missing value '%s'", a);
            demo_usage(stderr);
            return 2;
        }
    }
    int sec = -1;
    if (only) {
        for (int i = 0; i < N_SECTIONS; i++)
            if (!strcmp(only, sections[i].name)) sec = i;
        if (sec < 0) {
            cli_error("demo: no section '%s'", only);
            demo_usage(stderr);
            return 2;
        }
    }

    demo d;
    memset(&d, 0, sizeof d);
    d.docs = seed_corpus;
    d.n_docs = (int)(sizeof seed_corpus / sizeof seed_corpus[0]);
    d.queries = seed_queries;
    d.n_queries = (int)(sizeof seed_queries / sizeof seed_queries[0]);
    d.k = (int)(k < d.n_docs ? k : d.n_docs);
    d.k_eval = 3;
    d.bold = isatty(STDOUT_FILENO);
    demo_ctx *x = &d.x;
    x->bold = d.bold;
    x->threads = (int)threads;
    x->bi_name = bi_name;
    x->ce_name = ce_name;
    x->out_dir = out_dir;
    x->max_docs = (int)docs;
    x->max_queries = (int)nq;
    x->k_cand = (int)kc;
    x->coll_explicit = coll != NULL;
    x->coll_path = no_coll ? NULL : coll ? coll : DEMO_COLLECTION;
    if (no_coll)
        snprintf(x->coll_note, sizeof x->coll_note,
                 "--no-collection: the exercises on a collection did not run (drop it, or pass --collection DIR).");
    struct winsize ws;
    if (d.bold && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40) d.width = ws.ws_col;
    x->width = d.width;

    static char bi_dir[4096], ce_dir[4096];
    int bad = resolve("bi-encoder", bi_name, &hp, bi_dir, sizeof bi_dir);
    bad |= resolve("cross-encoder", ce_name, &hp, ce_dir, sizeof ce_dir);
    if (bad) {
        fprintf(stderr,
                "winnow demo: the demo needs both models. Where there is no network: fetch them where there is\n"
                "  (winnow download %s; winnow download %s) and copy the cache,\n"
                "  then set WINNOW_CACHE to it (or HF_HUB_CACHE to a huggingface_hub cache that has them);\n"
                "  or set HF_ENDPOINT to a reachable mirror of the hub;\n"
                "  or pass --bi-encoder DIR --cross-encoder DIR (HuggingFace model directories).\n",
                bi_name, ce_name);
        return 1;
    }
    int rc = 1;
    wn_model_params mp = wn_model_default_params();
    mp.n_threads = (int)threads;
    mp.precision = prec;
    if (load("bi-encoder", bi_name, bi_dir, WN_MODEL_BIENCODER, &mp, &d.bi) ||
        load("cross-encoder", ce_name, ce_dir, WN_MODEL_CROSSENCODER, &mp, &d.ce))
        goto done;
    d.dim = wn_model_dim(d.bi);
    x->bi = d.bi;
    x->ce = d.ce;
    x->dim = d.dim;
    d.doc_emb = malloc((size_t)d.n_docs * (size_t)d.dim * sizeof *d.doc_emb);
    if (!d.doc_emb) {
        cli_error("demo: out of memory");
        goto done;
    }
    const char *texts[sizeof seed_corpus / sizeof seed_corpus[0]];
    for (int j = 0; j < d.n_docs; j++) texts[j] = d.docs[j].text;
    double t0 = now_s();
    wn_status st = wn_model_embed(d.bi, d.n_docs, texts, d.doc_emb);
    if (st) {
        rc = cli_lib_error("demo", st);
        goto done;
    }
    double embed_ms = (now_s() - t0) * 1e3;
    for (int j = 0; j < d.n_docs; j++) normalize(d.doc_emb + (size_t)j * d.dim, d.dim);

    printf("%swinnow demo: bi-encoder retrieval vs cross-encoder re-ranking (the seed notebook)%s\n",
           d.bold ? "\033[1m" : "", d.bold ? "\033[0m" : "");
    printf("  bi-encoder     %s  (%d dimensions)\n", bi_name, d.dim);
    if (strcmp(bi_name, bi_dir)) printf("                 %s\n", bi_dir);
    printf("  cross-encoder  %s\n", ce_name);
    if (strcmp(ce_name, ce_dir)) printf("                 %s\n", ce_dir);
    printf("  corpus         %d documents embedded in %.1f ms; %d queries with one relevant document each\n",
           d.n_docs, embed_ms, d.n_queries);
    x->precision = prec == WN_PREC_BF16 ? "bf16" : prec == WN_PREC_INT8 ? "int8" : "fp32";
    if (threads)
        printf("  run            %s kernels, %s, %ld thread%s per model\n", wn_isa_name(wn_cpu_isa()), x->precision,
               threads, threads > 1 ? "s" : "");
    else printf("  run            %s kernels, %s, all CPUs\n", wn_isa_name(wn_cpu_isa()), x->precision);
    rc = 0;
    for (int i = 0; i < N_SECTIONS && !rc; i++)
        if (sec < 0 || sec == i) rc = sections[i].fn(&d);
done:
    demo_collection_free(x);
    free(d.doc_emb);
    wn_model_free(d.bi);
    wn_model_free(d.ce);
    return rc;
}
