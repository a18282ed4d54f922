/*
 * bench_tokenizer.c - tokenizer throughput on a shared collection.
 *
 *   bench_tokenizer [MODEL_DIR] [CORPUS_JSONL] [REPS]
 *     defaults: ../shared/models/all-MiniLM-L6-v2, ../shared/data/collections/scifact/corpus.jsonl, 3
 *
 * First checks the ids of the HuggingFace reference inputs (../shared/data/tokenizer),
 * then times, on every document (title + " " + text), best of REPS:
 *   full     wn_tokenizer_tokenize, all pieces, 1 thread   (the baseline, ratio 1)
 *   enc256   wn_tokenizer_encode to 256 tokens, 1 thread   (stops at 254 pieces)
 *   full x2  wn_tokenizer_tokenize on 2 threads, one tokenizer shared
 * and prints docs, MB, pieces, MB/s, pieces/s, the ratio to the baseline, and MB per
 * CPU second (steadier than the wall clock when other work shares the cores).
 * bench/tokenizer_vs_hf.sh runs HuggingFace tokenizers on the same documents.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "util/util.h"

typedef struct {
    const wn_tokenizer *t;
    char **docs;
    int n_docs, ith, nth, mode; /* mode 0 full, 1 encode 256 */
    int64_t pieces;
    uint32_t hash; /* FNV-1a of all ids in order, with 0xFFFFFFFF after each doc (1 thread) */
    int failed;
} job;

static uint32_t fnv(uint32_t h, uint32_t v) { return (h ^ v) * 16777619u; }

static void *run(void *p) {
    job *j = p;
    int32_t ids[256], types[256];
    for (int i = j->ith; i < j->n_docs; i += j->nth) {
        if (j->mode == 0) {
            int32_t *v;
            int n;
            if (wn_tokenizer_tokenize(j->t, j->docs[i], &v, &n) != WN_OK) j->failed = 1;
            else {
                for (int k = 0; k < n; k++) j->hash = fnv(j->hash, (uint32_t)v[k]);
                j->hash = fnv(j->hash, 0xFFFFFFFFu);
                j->pieces += n;
                wn_free_buffer(v);
            }
        } else {
            int n;
            if (wn_tokenizer_encode(j->t, j->docs[i], NULL, 256, ids, types, 256, &n) != WN_OK) j->failed = 1;
            else j->pieces += n;
        }
    }
    return NULL;
}

/* CPU seconds of the process (all threads): on a busy machine a steadier measure
 * than the wall clock. */
static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Runs mode on nth threads; returns the best wall seconds of reps, *cpu the best CPU
 * seconds, *pieces the count. */
static uint32_t ids_hash;

static double timed(const wn_tokenizer *t, char **docs, int n_docs, int mode, int nth, int reps, int64_t *pieces,
                    double *cpu) {
    double best = 1e30;
    *cpu = 1e30;
    for (int r = 0; r < reps; r++) {
        double c0 = cpu_now();
        job jobs[8];
        pthread_t th[8];
        double t0 = wn_now();
        for (int i = 0; i < nth; i++) {
            jobs[i] = (job){t, docs, n_docs, i, nth, mode, 0, 2166136261u, 0};
            if (i) pthread_create(&th[i], NULL, run, &jobs[i]);
        }
        run(&jobs[0]);
        for (int i = 1; i < nth; i++) pthread_join(th[i], NULL);
        double dt = wn_now() - t0, dc = cpu_now() - c0;
        if (dc < *cpu) *cpu = dc;
        *pieces = 0;
        for (int i = 0; i < nth; i++) {
            *pieces += jobs[i].pieces;
            if (jobs[i].failed) {
                fprintf(stderr, "bench_tokenizer: %s\n", wn_last_error());
                exit(1);
            }
        }
        if (dt < best) best = dt;
        if (nth == 1 && mode == 0) ids_hash = jobs[0].hash;
    }
    return best;
}

/* The reference check: every id of ../shared/data/tokenizer/bert-uncased.{inp,out}. */
static int check_reference(const wn_tokenizer *t) {
    char *inp, *out;
    size_t n;
    if (wn_read_file("../shared/data/tokenizer/bert-uncased.inp", &inp, &n) != WN_OK ||
        wn_read_file("../shared/data/tokenizer/bert-uncased.out", &out, &n) != WN_OK) {
        printf("reference ids: absent, not checked\n");
        return 0;
    }
    const char *sep = "\n__ggml_vocab_test__\n";
    int bad = 0, cases = 0;
    char *p = inp, *line = out;
    for (char *e; (e = strstr(p, sep)); p = e + strlen(sep)) {
        *e = 0;
        char *nl = strchr(line, '\n');
        if (!nl) break;
        *nl = 0;
        int32_t *ids;
        int k;
        char got[16384];
        size_t o = 0;
        got[0] = 0;
        if (wn_tokenizer_tokenize(t, p, &ids, &k) != WN_OK) return -1;
        for (int i = 0; i < k && o < sizeof got - 16; i++) o += (size_t)snprintf(got + o, sizeof got - o, " %d", ids[i]);
        wn_free_buffer(ids);
        bad += strcmp(got, line) != 0;
        cases++;
        line = nl + 1;
    }
    printf("reference ids: %d of %d HuggingFace inputs match\n", cases - bad, cases);
    wn_free(inp);
    wn_free(out);
    return bad ? -1 : 0;
}

int main(int argc, char **argv) {
    const char *model = argc > 1 ? argv[1] : "../shared/models/all-MiniLM-L6-v2";
    const char *corpus = argc > 2 ? argv[2] : "../shared/data/collections/scifact/corpus.jsonl";
    int reps = argc > 3 ? atoi(argv[3]) : 3;
    if (reps < 1) reps = 1;
    wn_tokenizer *t;
    double best_load = 1e30;
    for (int r = 0; r < 5; r++) {
        double t0 = wn_now();
        if (wn_tokenizer_load(model, &t) != WN_OK) {
            fprintf(stderr, "bench_tokenizer: %s\n", wn_last_error());
            return 1;
        }
        double dt = wn_now() - t0;
        if (dt < best_load) best_load = dt;
        if (r < 4) wn_tokenizer_free(t);
    }
    printf("model %s: load %.2f ms (best of 5)\n", model, best_load * 1e3);
    if (check_reference(t) != 0) {
        fprintf(stderr, "bench_tokenizer: the reference ids do not match; not timing\n");
        return 1;
    }
    char *data;
    size_t n;
    if (wn_read_file(corpus, &data, &n) != WN_OK) {
        fprintf(stderr, "bench_tokenizer: %s\n", wn_last_error());
        return 1;
    }
    char **docs = NULL;
    int n_docs = 0, cap = 0;
    double mb = 0;
    for (char *line = data, *nl; *line; line = nl + 1) {
        if (!(nl = strchr(line, '\n'))) nl = line + strlen(line) - 1;
        *nl = 0;
        cJSON *j = cJSON_Parse(line);
        const cJSON *title = cJSON_GetObjectItem(j, "title"), *text = cJSON_GetObjectItem(j, "text");
        if (cJSON_IsString(text)) {
            if (n_docs == cap) docs = realloc(docs, (size_t)(cap = cap ? 2 * cap : 1024) * sizeof *docs);
            const char *ti = cJSON_IsString(title) ? title->valuestring : "";
            size_t len = strlen(ti) + strlen(text->valuestring) + 2;
            docs[n_docs] = malloc(len);
            snprintf(docs[n_docs++], len, "%s %s", ti, text->valuestring);
            mb += (double)len / 1e6;
        }
        cJSON_Delete(j);
    }
    wn_free(data);
    printf("corpus %s: %d docs, %.2f MB; best of %d runs\n", corpus, n_docs, mb, reps);
    printf("%-10s %7s %12s %9s %12s %8s %11s\n", "variant", "threads", "pieces", "MB/s", "pieces/s", "ratio", "CPU MB/s");
    int64_t pieces;
    double cpu, base = timed(t, docs, n_docs, 0, 1, reps, &pieces, &cpu);
    printf("%-10s %7d %12lld %9.2f %12.0f %8.2f %11.2f\n", "full", 1, (long long)pieces, mb / base, pieces / base, 1.0,
           mb / cpu);
    printf("ids hash (FNV-1a over all ids, full): %08x\n", ids_hash);
    double s = timed(t, docs, n_docs, 1, 1, reps, &pieces, &cpu);
    printf("%-10s %7d %12lld %9.2f %12.0f %8.2f %11.2f\n", "enc256", 1, (long long)pieces, mb / s, pieces / s, base / s,
           mb / cpu);
    s = timed(t, docs, n_docs, 0, 2, reps, &pieces, &cpu);
    printf("%-10s %7d %12lld %9.2f %12.0f %8.2f %11.2f\n", "full", 2, (long long)pieces, mb / s, pieces / s, base / s,
           mb / cpu);
    for (int i = 0; i < n_docs; i++) free(docs[i]);
    free(docs);
    wn_tokenizer_free(t);
    return 0;
}
