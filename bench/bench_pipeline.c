/*
 * bench_pipeline.c - ingestion and evaluation speed on SciFact (../shared):
 *   1. reading the corpus alone (the baseline), 2. corpus -> SQLite store,
 *   3. corpus -> store + BM25 (wn_pipeline_build), in documents per second and as
 *   ratios of the baseline; then 4. evaluating a BM25 run of 1000 per query with
 *   10 measures, against tests/tools/trec_eval.py (same figures, checked) in the
 *   same run. One thread throughout.
 *   make bench && build/bench/bench_pipeline
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "winnow.h"

#define C "../shared/data/collections/scifact"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int die(const char *what) {
    fprintf(stderr, "bench_pipeline: %s: %s\n", what, wn_last_error());
    return 1;
}

int main(void) {
    if (access(C "/corpus.jsonl", R_OK) != 0) {
        printf("SKIPPED: %s absent\n", C);
        return 0;
    }
    char dir[] = "/tmp/wn_bench_pipeline_XXXXXX";
    if (!mkdtemp(dir)) return 1;
    char ix[600], sdir[600], run[600], cmd[2048];
    snprintf(ix, sizeof ix, "%s/ix", dir);
    snprintf(sdir, sizeof sdir, "%s/store", dir);
    snprintf(run, sizeof run, "%s/bm25.run", dir);

    /* 1. read only */
    double t0 = now();
    wn_corpus *c;
    if (wn_corpus_open(C "/corpus.jsonl", NULL, &c) != WN_OK) return die("open corpus");
    int64_t n = 0;
    int got = 1;
    wn_doc d;
    while (got) {
        if (wn_corpus_next(c, &d, &got) != WN_OK) return die("read");
        n += got;
    }
    wn_corpus_free(c);
    double t_read = now() - t0;

    /* 2. store only */
    t0 = now();
    wn_store *s;
    if (wn_corpus_open(C "/corpus.jsonl", NULL, &c) != WN_OK || wn_store_open(sdir, 1, &s) != WN_OK) return die("store");
    got = 1;
    while (got) {
        if (wn_corpus_next(c, &d, &got) != WN_OK) return die("read");
        if (got && wn_store_add(s, d.id, d.title, d.text, d.meta, NULL) != WN_OK) return die("add");
    }
    wn_store_free(s);
    wn_corpus_free(c);
    double t_store = now() - t0;

    /* 3. store + BM25 */
    wn_pipeline_build_params bp = wn_pipeline_build_default_params();
    bp.bm25 = 1;
    wn_pipeline_build_stats bs;
    t0 = now();
    if (wn_pipeline_build(C "/corpus.jsonl", ix, &bp, &bs) != WN_OK) return die("build");
    double t_build = now() - t0;
    printf("ingestion, %lld SciFact documents, 1 thread:\n", (long long)n);
    printf("  read corpus (baseline)   %8.0f docs/s  %.3f s\n", n / t_read, t_read);
    printf("  + SQLite store           %8.0f docs/s  %.3f s  (%.2fx the baseline's time)\n", n / t_store, t_store, t_store / t_read);
    printf("  + store + BM25 (index)   %8.0f docs/s  %.3f s  (%.2fx)\n", n / t_build, t_build, t_build / t_read);

    /* 4. a BM25 run of 1000 per query over the train queries, then evaluation */
    wn_pipeline_params pp = wn_pipeline_default_params();
    wn_searcher *se;
    if (wn_searcher_open(ix, &pp, &se) != WN_OK) return die("searcher");
    FILE *qf = fopen(C "/queries.jsonl", "rb");
    wn_run *r;
    wn_run_create(&r);
    wn_hit *h = malloc(1000 * sizeof *h);
    char line[8192];
    int nq = 0;
    while (qf && fgets(line, sizeof line, qf)) { /* {"_id": "X", "text": "..."}: a crude parse is enough here */
        char *id = strstr(line, "\"_id\": \""), *tx = strstr(line, "\"text\": \"");
        if (!id || !tx) continue;
        id += 8;
        *strchr(id, '"') = 0;
        tx += 9;
        char *e = strrchr(tx, '"');
        if (e) *e = 0;
        int k;
        double secs;
        if (wn_searcher_first(se, tx, 1000, h, &k, &secs) != WN_OK) return die("search");
        for (int i = 0; i < k; i++) {
            wn_doc dd;
            wn_store_get(wn_searcher_store(se), h[i].row, &dd);
            wn_run_add(r, id, dd.id, h[i].score);
        }
        nq++;
    }
    if (qf) fclose(qf);
    free(h);
    wn_searcher_free(se);
    wn_run_save(r, run, "bench", 1000);
    wn_run_free(r);
    const char *names[] = {"ndcg@10", "ndcg@100", "map", "mrr@10", "recall@10", "recall@100", "recall@1000", "p@1", "p@3", "p@10"};
    wn_measure ms[10];
    for (int j = 0; j < 10; j++) wn_measure_parse(names[j], &ms[j]);
    t0 = now();
    wn_qrels *q;
    wn_eval *e;
    if (wn_qrels_load(C "/qrels/train.tsv", &q) != WN_OK || wn_run_load(run, &r) != WN_OK ||
        wn_eval_create(q, r, 10, ms, &e) != WN_OK)
        return die("evaluate");
    double t_eval = now() - t0;
    int len = snprintf(cmd, sizeof cmd, "/usr/bin/python3 tests/tools/trec_eval.py %s %s", C "/qrels/train.tsv", run);
    for (int j = 0; j < 10; j++) len += snprintf(cmd + len, sizeof cmd - (size_t)len, " %s", names[j]);
    t0 = now();
    FILE *p = popen(cmd, "r");
    double worst = 0;
    while (p && fgets(line, sizeof line, p)) {
        char m[32], qid[64];
        double v;
        if (sscanf(line, "%31s %63s %lf", m, qid, &v) == 3 && !strcmp(qid, "all"))
            for (int j = 0; j < 10; j++)
                if (!strcmp(m, names[j])) worst = fmax(worst, fabs(v - wn_eval_mean(e, j)));
    }
    int prc = p ? pclose(p) : -1;
    double t_py = now() - t0;
    printf("evaluation, %d queries x 1000 results, 10 measures, 1 thread (load run + qrels + evaluate):\n", nq);
    printf("  tests/tools/trec_eval.py (baseline) %.3f s%s\n", t_py, prc ? " (failed)" : "");
    printf("  winnow                              %.3f s  (%.1fx faster; nDCG@10 %.4f; max |diff| %.1g)\n", t_eval,
           t_py / t_eval, wn_eval_mean(e, 0), worst);
    wn_eval_free(e);
    wn_run_free(r);
    wn_qrels_free(q);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return 0;
}
