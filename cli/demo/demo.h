/* demo.h - what the parts of `winnow demo` share: cli/demo/cli_demo.c (the seed notebook
 * and the command), cli/demo/demo_collection.c (the exercises on a BEIR collection) and
 * cli/demo/demo_report.c (the report's tables and results.json). Uses include/winnow.h only. */
#ifndef WN_DEMO_H
#define WN_DEMO_H

#include "cli.h"

#define DEMO_MAX_STAGES 12
#define DEMO_MAX_SWEEP 8
#define DEMO_MAX_ANN 6

/* One stage over the collection's queries: means over queries. */
typedef struct {
    char name[40];    /* "dense", "dense + rerank@20", ... */
    char run[48];     /* run file under DIR/runs/ */
    int k;            /* candidates re-ranked; 0 for a first stage */
    double p3, mrr10, ndcg10, recall100;
    double first_ms;  /* first stage per query (for a re-ranked stage: its first stage's) */
    double rerank_ms; /* re-ranking per query (0 for a first stage) */
} demo_stage;

/* One k of the sweep (dense first stage, then re-ranking of the top k). */
typedef struct {
    int k;
    double p3, mrr10, ndcg10, rerank_ms, total_ms;
} demo_sweep;

/* One vector index against brute force on the collection's embeddings. */
typedef struct {
    char name[16], params[64];
    double build_s, ms_per_query, recall10;
} demo_ann;

typedef struct demo_coll demo_coll; /* the loaded collection (demo_collection.c) */

/* The bundled models' evaluation, models/eval.json (demo_evaljson.c). */
#define DEMO_EVAL_ROWS 64
typedef struct {
    char collection[64], run[32];
    double ndcg10, mrr10, recall100, ms; /* NAN: null or absent */
} demo_eval_row;
typedef struct {
    demo_eval_row rows[DEMO_EVAL_ROWS];
    int n_rows, n_more; /* rows kept, rows past DEMO_EVAL_ROWS */
    int have_stsb;
    double stsb;        /* STS-B test Spearman of winnow-small-embed */
    char command[512];
    char err[200];      /* why it could not be read */
} demo_evaljson;
/* 0 read, -1 absent (e->err: why), 1 malformed (e->err: what and where). */
int demo_evaljson_load(const char *path, demo_evaljson *e);

typedef struct demo_ctx {
    wn_model *bi, *ce;
    int dim;
    int bold, width;       /* stdout is a terminal; its columns (0: do not cut) */
    int threads;           /* per model; 0: all CPUs */
    const char *bi_name, *ce_name; /* what runs: the seed's, given, or bundled */
    int bi_bundled, ce_bundled;    /* the bundled model runs in place of the seed's */
    char models_note[512];         /* the one line saying so ("" when the seed's run) */
    char bundled_dir[4096];        /* where a bundled model that runs was found ("" none) */
    const char *precision; /* "fp32", "bf16", "int8" */
    const char *out_dir;   /* the report's directory */
    /* the seed notebook's evaluation, when it ran */
    int seed_done, seed_k, seed_docs, seed_queries;
    double seed_p_bi, seed_p_re, seed_mrr_bi, seed_mrr_re, seed_ms_bi, seed_ms_re;
    double seed_ndcg_bi, seed_ndcg_re; /* nDCG@10 of the k candidates */
    /* exercise 3: the same evaluation with another bi-encoder (--compare-bi-encoder) */
    const struct demo_ctx *cmp;        /* its numbers (NULL: not run) */
    char cmp_dir[4096];                /* where its runs and results.json are */
    /* the collection: where, how much */
    const char *coll_path; /* NULL: none (skipped) */
    int coll_explicit;     /* --collection given (absence is an error) */
    int max_docs, max_queries, k_cand;
    int coll_state;        /* 0 not loaded, 1 loaded, -1 skipped or failed */
    char coll_note[512];   /* why skipped, for the report */
    demo_coll *coll;
    /* the default collection: the installed Debian packages (demo_debian.c) */
    int debian;              /* build it (no --collection, no --no-collection) */
    const char *dpkg_status; /* the status file it comes from */
    int dpkg_explicit;       /* --dpkg-status given (absence is an error) */
    char deb_dir[4096];      /* where it is written: <out>/debian-collection */
    int deb_docs, deb_no_long, deb_queries, deb_kept; /* documents; installed packages without a
                                                         long description; queries in the tsv, kept */

    int n_docs, n_queries, n_judged; /* loaded documents, evaluated queries, their relevant docs */
    double embed_s;
    demo_stage stages[DEMO_MAX_STAGES];
    int n_stages;
    demo_sweep sweep[DEMO_MAX_SWEEP];
    int n_sweep;
    char eval_report[4200]; /* DIR/eval-report.html */
    int sweep_first_set; /* the sweep's first stage alone */
    double sweep_first_p3, sweep_first_ndcg;
    demo_ann ann[DEMO_MAX_ANN];
    int n_ann;
} demo_ctx;

void demo_heading(const demo_ctx *x, const char *fmt, const char *arg);
/* wn_model_embed with the model's prompt before each text, as the pipeline puts it
 * (config_sentence_transformers.json): queries its "query" prompt, documents its
 * "document", "passage" or "corpus" one, else the default prompt, else none (the seed
 * models have none). */
wn_status demo_embed(wn_model *m, int64_t n, const char *const *texts, float *out, int query);
/* mkdir -p; 0 ok, 1 failed (said). */
int demo_mkdir_p(const char *dir);
/* What to say about the models on this collection: the bundled bi-encoder was trained
 * on Debian package descriptions (NULL when that does not apply). */
const char *demo_seen_note(const demo_ctx *x);

/* The sections on the collection: 0 ok (also when skipped, saying so), 1 failed
 * (message printed). Each loads the collection first if need be. */
int demo_collection(demo_ctx *x);
int demo_k_sweep(demo_ctx *x);
int demo_ann_vs_flat(demo_ctx *x);
int demo_bm25_hybrid(demo_ctx *x);
void demo_collection_free(demo_ctx *x);
/* Writes the Debian collection (BEIR layout) to x->deb_dir from x->dpkg_status and
 * points x->coll_path at it; 0 ok, 1 failed (said). */
int demo_debian_build(demo_ctx *x);
/* The eval module's HTML report (wn_report_write) of the dense stage and the k sweep
 * at path; 0 ok or nothing to write, 1 failed (printed). */
int demo_eval_report(demo_ctx *x, const char *path);

/* A page through wn_report_write: intro and tables above the k sweep's stages,
 * latency distributions and rank shifts (when it ran); title NULL: the sweep's. */
int demo_sweep_report(demo_ctx *x, const char *path, const char *title, const char *intro, int n_tables,
                      const wn_report_table *tables);

/* Writes DIR/report.html and DIR/results.json (atomically); 0 ok, 1 failed (printed). */
int demo_report(demo_ctx *x);
/* Writes x's numbers to path (results.json's layout, atomically); 0 ok, 1 failed (printed). */
int demo_results_json(const demo_ctx *x, const char *path);
/* Prints x's evaluation beside y's (exercise 3): the notebook's stages, then every
 * collection stage both ran. */
void demo_compare_print(const demo_ctx *x, const demo_ctx *y);

#endif
