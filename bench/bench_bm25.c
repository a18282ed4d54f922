/*
 * bench_bm25.c - winnow's BM25: indexing speed and top-k OR-query throughput.
 *
 *   build/bench/bench_bm25 DOCS.tsv QUERIES.tsv [K=10] [RUN_OUT]
 * DOCS.tsv: "id<TAB>text" (id an integer); QUERIES.tsv: "qid<TAB>text".
 * Prints one line "winnow index_s=... index_cpu=... docs=... query_s=... query_cpu=...
 * queries=..." (wall and thread CPU seconds; the
 * format of bench/LuceneBM25.java and bench/xapian_bm25.py, read by bench/bm25.sh)
 * and a second with the 2-thread batch, save and load times. Documents are read
 * into memory first: indexing time is analysis + postings only, as for the others.
 * Queries run on one thread: 2 warm-up passes, then the fastest of 3 passes; the time
 * includes analyzing each query (Lucene's and Xapian's query parsing is not timed,
 * which favours them). RUN_OUT, when given, receives the top K as a TREC run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "winnow.h"
#include "util/util.h"

/* CPU time of the calling thread: what the machine's other load does not inflate */
static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

typedef struct {
    char **id, **text;
    size_t n, cap;
} tsv;

static int read_tsv(const char *path, tsv *t) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    wn_line_reader r;
    wn_lines_init(&r, f);
    while (wn_lines_next(&r) == 1) {
        char *tab = strchr(r.buf, '\t');
        if (!tab) continue;
        *tab = 0;
        if (t->n == t->cap) {
            t->cap = t->cap ? 2 * t->cap : 1024;
            t->id = realloc(t->id, t->cap * sizeof *t->id);
            t->text = realloc(t->text, t->cap * sizeof *t->text);
        }
        t->id[t->n] = strdup(r.buf);
        t->text[t->n] = strdup(tab + 1);
        t->n++;
    }
    wn_lines_free(&r);
    fclose(f);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s DOCS.tsv QUERIES.tsv [K] [RUN_OUT]\n", argv[0]);
        return 2;
    }
    int k = argc > 3 ? atoi(argv[3]) : 10;
    tsv docs = {0}, qs = {0};
    if (read_tsv(argv[1], &docs) || read_tsv(argv[2], &qs)) {
        fprintf(stderr, "cannot read %s or %s\n", argv[1], argv[2]);
        return 1;
    }
    wn_bm25 *ix;
    double t0 = wn_now(), c0 = cpu_now();
    if (wn_bm25_create(NULL, &ix) != WN_OK) return 1;
    for (size_t i = 0; i < docs.n; i++)
        if (wn_bm25_add(ix, atoll(docs.id[i]), docs.text[i]) != WN_OK) {
            fprintf(stderr, "add: %s\n", wn_last_error());
            return 1;
        }
    double t_index = wn_now() - t0, c_index = cpu_now() - c0;

    float *sc = malloc(sizeof(float) * qs.n * (size_t)k);
    int64_t *ids = malloc(sizeof(int64_t) * qs.n * (size_t)k);
    int *n_out = malloc(sizeof(int) * qs.n);
    /* 2 warm-up passes, then the fastest of 3 timed passes (as the other drivers) */
    long hits = 0;
    double t_query = 1e30, c_query = 1e30;
    for (int pass = 0; pass < 5; pass++) {
        t0 = wn_now(), c0 = cpu_now();
        for (size_t q = 0; q < qs.n; q++) {
            if (wn_bm25_search(ix, qs.text[q], k, sc + q * (size_t)k, ids + q * (size_t)k, &n_out[q]) != WN_OK) {
                fprintf(stderr, "search: %s\n", wn_last_error());
                return 1;
            }
            hits += n_out[q];
        }
        if (pass >= 2) {
            t_query = WN_MIN(t_query, wn_now() - t0);
            c_query = WN_MIN(c_query, cpu_now() - c0);
        }
    }
    printf("winnow index_s=%.4f index_cpu=%.4f docs=%zu query_s=%.4f query_cpu=%.4f queries=%zu hits=%ld\n", t_index,
           c_index, docs.n, t_query, c_query, qs.n, hits);

    t0 = wn_now();
    wn_bm25_search_batch(ix, (int64_t)qs.n, (const char *const *)qs.text, k, 2, sc, ids, n_out);
    double t_batch = wn_now() - t0;
    const char *path = "/tmp/bench_bm25.wnbm";
    t0 = wn_now();
    wn_status st = wn_bm25_save(ix, path);
    double t_save = wn_now() - t0;
    wn_bm25 *ld = NULL;
    t0 = wn_now();
    if (!st) st = wn_bm25_load(path, &ld);
    double t_load = wn_now() - t0;
    if (st) fprintf(stderr, "save/load: %s\n", wn_last_error());
    FILE *f = fopen(path, "rb");
    long bytes = 0;
    if (f) {
        fseek(f, 0, SEEK_END);
        bytes = ftell(f);
        fclose(f);
    }
    remove(path);
    /* lengths, in analyzed terms */
    double doc_terms = 0, query_terms = 0;
    for (size_t i = 0; i < docs.n; i++) {
        int len = 0;
        wn_bm25_doc_length(ix, atoll(docs.id[i]), &len);
        doc_terms += len;
    }
    for (size_t q = 0; q < qs.n; q++) {
        char *terms = NULL;
        if (wn_bm25_analyze(NULL, qs.text[q], &terms) == WN_OK && *terms) {
            query_terms += 1;
            for (const char *c = terms; *c; c++) query_terms += *c == ' ';
        }
        wn_free_buffer(terms);
    }
    printf("winnow-extra batch2_s=%.4f save_s=%.4f load_s=%.4f file_mb=%.1f avg_doc_terms=%.1f avg_query_terms=%.2f\n",
           t_batch, t_save, t_load, (double)bytes / 1e6, doc_terms / (double)docs.n, query_terms / (double)qs.n);
    if (argc > 4) {
        FILE *o = fopen(argv[4], "w");
        for (size_t q = 0; o && q < qs.n; q++)
            for (int i = 0; i < n_out[q]; i++)
                fprintf(o, "%s Q0 %lld %d %.6f winnow\n", qs.id[q], (long long)ids[q * (size_t)k + i], i + 1,
                        (double)sc[q * (size_t)k + i]);
        if (o) fclose(o);
    }
    wn_bm25_free(ld);
    wn_bm25_free(ix);
    for (size_t i = 0; i < docs.n; i++) free(docs.id[i]), free(docs.text[i]);
    for (size_t i = 0; i < qs.n; i++) free(qs.id[i]), free(qs.text[i]);
    free(docs.id), free(docs.text), free(qs.id), free(qs.text);
    free(sc), free(ids), free(n_out);
    return 0;
}
