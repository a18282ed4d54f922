/* fuzz_eval.c - libFuzzer harness for the evaluation file readers (src/eval/io.c):
 * the first byte picks qrels (even: BEIR tsv or TREC qrels) or a TREC run (odd);
 * the rest is the file. What loads is walked through its accessors and evaluated
 * against a small fixed run or qrels; a rejection must say why.
 * Build and run: tests/fuzz/run.sh [SECONDS]; replayed by tests/t_fuzz_replay.sh. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "winnow.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void evaluate(const wn_qrels *q, const wn_run *r) {
    wn_measure ms[4];
    const char *names[4] = {"ndcg@10", "map", "mrr@10", "p@3"};
    for (int i = 0; i < 4; i++)
        if (wn_measure_parse(names[i], &ms[i]) != 0) abort();
    wn_eval *e = NULL;
    if (wn_eval_create(q, r, 4, ms, &e) != WN_OK) {
        if (!*wn_last_error()) abort();
        return;
    }
    for (int m = 0; m < 4; m++) {
        double v = wn_eval_mean(e, m);
        if (!(v >= 0 && v <= 1) && !isnan(v)) abort();
    }
    for (int64_t i = 0; i < wn_eval_count(e); i++)
        if (!wn_eval_query(e, i)) abort();
    wn_eval_free(e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    char path[64];
    snprintf(path, sizeof path, "/tmp/wn_fuzz_eval.%d", (int)getpid());
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    fwrite(data + 1, 1, size - 1, f);
    fclose(f);
    wn_qrels *q = NULL, *fq = NULL;
    wn_run *r = NULL, *fr = NULL;
    if (wn_qrels_create(&fq) != WN_OK || wn_run_create(&fr) != WN_OK) abort();
    wn_qrels_add(fq, "1", "d1", 2);
    wn_qrels_add(fq, "2", "d2", 1);
    wn_run_add(fr, "1", "d1", 3.5);
    wn_run_add(fr, "1", "d3", 2.0);
    wn_run_add(fr, "2", "d2", 1.0);
    if (data[0] % 2 == 0) {
        if (wn_qrels_load(path, &q) == WN_OK) {
            for (int64_t i = 0; i < wn_qrels_count(q); i++) {
                const char *qid = wn_qrels_query(q, i);
                if (!qid) abort();
                for (int64_t j = 0; j < wn_qrels_num_judged(q, i); j++) {
                    int g = 0;
                    const char *d = wn_qrels_judged(q, i, j, &g);
                    if (!d) abort();
                    wn_qrels_grade(q, qid, d);
                }
            }
            evaluate(q, fr);
        } else if (!*wn_last_error()) {
            abort();
        }
    } else {
        if (wn_run_load(path, &r) == WN_OK) {
            if (wn_run_count(r) < 0) abort();
            evaluate(fq, r);
        } else if (!*wn_last_error()) {
            abort();
        }
    }
    wn_qrels_free(q);
    wn_qrels_free(fq);
    wn_run_free(r);
    wn_run_free(fr);
    unlink(path);
    return 0;
}
