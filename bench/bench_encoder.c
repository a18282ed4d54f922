/*
 * bench_encoder.c - winnow's side of bench/encoders.sh: random-weight MiniLM-L6
 * models (the counter-based weights of tests/synth.c, which
 * scripts/make_reference.py reproduces in PyTorch), the workloads every engine
 * runs (token ids written to DIR so ONNX Runtime and PyTorch run the very same
 * sequences), and winnow's timings as JSON lines on stdout.
 *
 *   bench_encoder setup DIR            models + workload files (idempotent)
 *   bench_encoder run DIR THREADS PREC [REPS]   checks PREC against fp32, then times
 *   bench_encoder check DIR THREADS PREC        only the outputs and the check
 *   bench_encoder rss DIR THREADS PREC one batch of 32 x 256, prints peak RSS
 *   bench_encoder loop DIR THREADS PREC LEN N   bi_LEN N times (for perf)
 *   bench_encoder serve DIR THREADS PREC       timings on request (bench/encoders_drive.py)
 *   bench_encoder fserve DIR THREADS PREC      one family's model, timings on request (bench/families.py)
 *
 * Workloads (B batch, T tokens incl. [CLS]/[SEP]): bi_T (32 sequences of T
 * tokens, T = 16..256), lat (1 x 16), ce (100 pairs of 128 tokens), cisi (the
 * 1,460 CISI documents, title + text, tokenised by winnow to <= 256 tokens).
 * Quality on real text: bf16/int8 CISI embeddings vs fp32 (cosine) and
 * cross-encoder scores of 500 CISI (query, document) pairs vs fp32 (Spearman).
 * Random weights: the quality figures measure arithmetic, not retrieval.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "model/model.h"
#include "../tests/synth.h"

#define NB 32
static const int LENS[] = {16, 32, 64, 128, 256};
#define NLENS 5
#define NCE 100
#define NQ 500 /* real-text cross-encoder pairs */
static const char *SHARED = "../shared";

static void die(const char *what) {
    fprintf(stderr, "bench_encoder: %s: %s\n", what, wn_last_error());
    exit(1);
}

static char *path2(const char *a, const char *b) {
    static char buf[4][2048];
    static int i;
    char *p = buf[i++ % 4];
    if ((size_t)snprintf(p, 2048, "%s/%s", a, b) >= 2048) {
        fprintf(stderr, "bench_encoder: path too long\n");
        exit(1);
    }
    return p;
}

static void copy_file(const char *from, const char *to) {
    char *data;
    size_t n;
    if (wn_read_file(from, &data, &n)) die(from);
    FILE *f = fopen(to, "wb");
    if (!f || fwrite(data, 1, n, f) != n || fclose(f)) {
        fprintf(stderr, "bench_encoder: cannot write %s\n", to);
        exit(1);
    }
    wn_free(data);
}

static uint64_t rs = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void) {
    rs ^= rs << 13, rs ^= rs >> 7, rs ^= rs << 17;
    return (uint32_t)(rs >> 32);
}

/* one line per sequence: space-separated ids */
static void write_ids(const char *path, int n, int32_t *const *ids, const int *lens) {
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "bench_encoder: cannot write %s\n", path);
        exit(1);
    }
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < lens[i]; j++) fprintf(f, j ? " %d" : "%d", ids[i][j]);
        fputc('\n', f);
    }
    fclose(f);
}

/* random word-piece ids between the specials: [CLS]=101, [SEP]=102 */
static void random_seq(int32_t *ids, int32_t *types, int T, int pair_at) {
    for (int t = 0; t < T; t++) {
        ids[t] = 1000 + (int32_t)(rnd() % 29000);
        types[t] = pair_at > 0 && t > pair_at ? 1 : 0;
    }
    ids[0] = 101;
    ids[T - 1] = 102;
    if (pair_at > 0) ids[pair_at] = 102;
}

typedef struct {
    int n;
    char **text;  /* documents: title + " " + text */
    char **q;     /* NQ pair queries */
    char **d;     /* NQ pair documents (aliases text) */
} corpus;

static char *jstr(cJSON *o, const char *k) {
    cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static void load_cisi(corpus *c) {
    char *p = path2(SHARED, "data/collections/cisi/corpus.jsonl");
    FILE *f = fopen(p, "r");
    if (!f) {
        fprintf(stderr, "bench_encoder: %s: %s\n", p, strerror(errno));
        exit(1);
    }
    wn_line_reader lr;
    wn_lines_init(&lr, f);
    memset(c, 0, sizeof *c);
    c->text = calloc(4000, sizeof(char *));
    while (wn_lines_next(&lr) == 1 && c->n < 4000) {
        cJSON *o = cJSON_Parse(lr.buf);
        if (!o) continue;
        const char *t = jstr(o, "title"), *x = jstr(o, "text");
        char *s = malloc(strlen(t) + strlen(x) + 2);
        sprintf(s, "%s %s", t, x);
        c->text[c->n++] = s;
        cJSON_Delete(o);
    }
    wn_lines_free(&lr);
    fclose(f);
    /* pairs: query q (in file order) with documents spread over the corpus */
    p = path2(SHARED, "data/collections/cisi/queries.jsonl");
    f = fopen(p, "r");
    if (!f) {
        fprintf(stderr, "bench_encoder: %s: %s\n", p, strerror(errno));
        exit(1);
    }
    char *qs[200];
    int nq = 0;
    wn_lines_init(&lr, f);
    while (wn_lines_next(&lr) == 1 && nq < 200) {
        cJSON *o = cJSON_Parse(lr.buf);
        if (!o) continue;
        qs[nq++] = strdup(jstr(o, "text"));
        cJSON_Delete(o);
    }
    wn_lines_free(&lr);
    fclose(f);
    c->q = calloc(NQ, sizeof(char *));
    c->d = calloc(NQ, sizeof(char *));
    for (int i = 0; i < NQ; i++) {
        c->q[i] = strdup(qs[i % nq]);
        c->d[i] = c->text[(i * 37) % c->n];
    }
    for (int i = 0; i < nq; i++) free(qs[i]);
}

static void setup(const char *dir) {
    wn_mkdirs(dir, 0755);
    const char *bi = path2(dir, "bi"), *ce = path2(dir, "ce");
    char bidir[1024], cedir[1024];
    snprintf(bidir, sizeof bidir, "%s", bi);
    snprintf(cedir, sizeof cedir, "%s", ce);
    if (!wn_file_exists(path2(bidir, "model.safetensors"))) {
        synth_spec s = synth_minilm(0, ST_F32, 1);
        if (synth_write_model(bidir, &s)) die(bidir);
    }
    if (!wn_file_exists(path2(cedir, "model.safetensors"))) {
        synth_spec s = synth_minilm(1, ST_F32, 2);
        if (synth_write_model(cedir, &s)) die(cedir);
    }
    static const char *bif[] = {"vocab.txt", "tokenizer_config.json", "special_tokens_map.json",
                                "sentence_bert_config.json"};
    for (int i = 0; i < 4; i++) {
        char from[1024];
        snprintf(from, sizeof from, "%s/models/all-MiniLM-L6-v2/%s", SHARED, bif[i]);
        copy_file(from, path2(bidir, bif[i]));
    }
    static const char *cef[] = {"vocab.txt", "tokenizer_config.json", "special_tokens_map.json"};
    for (int i = 0; i < 3; i++) {
        char from[1024];
        snprintf(from, sizeof from, "%s/models/ms-marco-MiniLM-L-6-v2/%s", SHARED, cef[i]);
        copy_file(from, path2(cedir, cef[i]));
    }
    /* synthetic workloads */
    int32_t *ids[NCE], *types[NCE];
    int lens[NCE];
    for (int i = 0; i < NCE; i++) ids[i] = malloc(256 * 4), types[i] = malloc(256 * 4);
    for (int li = 0; li < NLENS; li++) {
        for (int b = 0; b < NB; b++) random_seq(ids[b], types[b], LENS[li], 0), lens[b] = LENS[li];
        char name[64];
        snprintf(name, sizeof name, "ids_bi_%d.txt", LENS[li]);
        write_ids(path2(dir, name), NB, ids, lens);
    }
    random_seq(ids[0], types[0], 16, 0), lens[0] = 16;
    write_ids(path2(dir, "ids_lat.txt"), 1, ids, lens);
    for (int i = 0; i < NCE; i++) random_seq(ids[i], types[i], 128, 40), lens[i] = 128;
    write_ids(path2(dir, "ids_ce.txt"), NCE, ids, lens);
    write_ids(path2(dir, "types_ce.txt"), NCE, types, lens);
    for (int i = 0; i < NCE; i++) free(ids[i]), free(types[i]);
    /* CISI as winnow tokenises it (what ONNX Runtime and PyTorch get) */
    corpus c;
    load_cisi(&c);
    wn_tokenizer *tok;
    if (wn_tokenizer_load(bidir, &tok)) die("tokenizer");
    int32_t **cid = calloc((size_t)c.n + 1, sizeof(int32_t *)), ty[256];
    int *cl = malloc(sizeof(int) * c.n);
    for (int i = 0; i < c.n; i++) {
        cid[i] = malloc(256 * 4);
        if (wn_tokenizer_encode(tok, c.text[i], NULL, 256, cid[i], ty, 256, &cl[i])) die("tokenize");
    }
    write_ids(path2(dir, "ids_cisi.txt"), c.n, cid, cl);
    long tot = 0;
    for (int i = 0; i < c.n; i++) tot += cl[i], free(cid[i]);
    fprintf(stderr, "setup: %s ready; CISI: %d documents, %.1f tokens on average\n", dir, c.n, (double)tot / c.n);
    free(cid), free(cl);
    wn_tokenizer_free(tok);
}

/* ---- reading the workloads back */
typedef struct {
    int n;
    int32_t **ids;
    int *lens;
} seqs;

static seqs read_ids(const char *path) {
    seqs s = {0, NULL, NULL};
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "bench_encoder: %s: %s (run setup first)\n", path, strerror(errno));
        exit(1);
    }
    wn_line_reader lr;
    wn_lines_init(&lr, f);
    int cap = 0;
    while (wn_lines_next(&lr) == 1) {
        if (s.n == cap) {
            cap = cap ? 2 * cap : 64;
            s.ids = realloc(s.ids, sizeof(int32_t *) * cap);
            s.lens = realloc(s.lens, sizeof(int) * cap);
        }
        int32_t *row = malloc(sizeof(int32_t) * 512);
        int n = 0;
        char *p = lr.buf, *e;
        for (long v = strtol(p, &e, 10); e != p && n < 512; v = strtol(p, &e, 10)) row[n++] = (int32_t)v, p = e;
        s.ids[s.n] = row;
        s.lens[s.n++] = n;
    }
    wn_lines_free(&lr);
    fclose(f);
    return s;
}

static void free_seqs(seqs *s) {
    for (int i = 0; i < s->n; i++) free(s->ids[i]);
    free(s->ids), free(s->lens);
}

static wn_model *load(const char *dir, int threads, nn_precision prec) {
    wn_model_params p = wn_model_default_params();
    p.n_threads = threads;
    p.max_batch = NB;
    p.precision = prec == NN_PREC_BF16 ? WN_PREC_BF16 : prec == NN_PREC_INT8 ? WN_PREC_INT8 : WN_PREC_FP32;
    wn_model *m;
    if (model_load_dir(dir, &p, 1, &m)) die(dir);
    return m;
}

static void save(const char *dir, const char *name, const float *v, size_t n) {
    FILE *f = fopen(path2(dir, name), "wb");
    if (!f || fwrite(v, sizeof(float), n, f) != n || fclose(f)) die(name);
}

static float *load_floats(const char *dir, const char *name, size_t n) {
    FILE *f = fopen(path2(dir, name), "rb");
    if (!f) return NULL;
    float *v = malloc(sizeof(float) * n);
    size_t got = fread(v, sizeof(float), n, f);
    fclose(f);
    if (got != n) {
        free(v);
        return NULL;
    }
    return v;
}

static double cosine(const float *a, const float *b, int d) {
    double ab = 0, aa = 0, bb = 0;
    for (int i = 0; i < d; i++) ab += (double)a[i] * b[i], aa += (double)a[i] * a[i], bb += (double)b[i] * b[i];
    return ab / sqrt(aa * bb + 1e-300);
}

static const float *rank_key;
static int by_key(const void *a, const void *b) {
    float x = rank_key[*(const int *)a], y = rank_key[*(const int *)b];
    return (x > y) - (x < y);
}
static void ranks(const float *v, int n, double *r) {
    int *o = malloc(sizeof(int) * n);
    for (int i = 0; i < n; i++) o[i] = i;
    rank_key = v;
    qsort(o, n, sizeof(int), by_key);
    for (int i = 0; i < n;) { /* ties get their average rank */
        int j = i;
        while (j + 1 < n && v[o[j + 1]] == v[o[i]]) j++;
        for (int k = i; k <= j; k++) r[o[k]] = (i + j) / 2.0;
        i = j + 1;
    }
    free(o);
}
static double spearman(const float *a, const float *b, int n) {
    double *ra = malloc(sizeof(double) * n), *rb = malloc(sizeof(double) * n), ma = 0, mb = 0, ab = 0, aa = 0, bb = 0;
    ranks(a, n, ra), ranks(b, n, rb);
    for (int i = 0; i < n; i++) ma += ra[i] / n, mb += rb[i] / n;
    for (int i = 0; i < n; i++)
        ab += (ra[i] - ma) * (rb[i] - mb), aa += (ra[i] - ma) * (ra[i] - ma), bb += (rb[i] - mb) * (rb[i] - mb);
    free(ra), free(rb);
    return ab / sqrt(aa * bb);
}

static int cmpd(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* median seconds of reps runs of n sequences (one warm-up first) */
static double time_ids(wn_model *m, const seqs *s, const int32_t *const *types, int reps, float *out) {
    double t[64];
    if (reps > 64) reps = 64;
    if (model_run_ids(m, s->n, (const int32_t *const *)s->ids, types, s->lens, out)) die("run");
    for (int r = 0; r < reps; r++) {
        double t0 = wn_now();
        if (model_run_ids(m, s->n, (const int32_t *const *)s->ids, types, s->lens, out)) die("run");
        t[r] = wn_now() - t0;
    }
    qsort(t, reps, sizeof(double), cmpd);
    return t[reps / 2];
}

static const char *pname(nn_precision p) { return p == NN_PREC_BF16 ? "bf16" : p == NN_PREC_INT8 ? "int8" : "fp32"; }

static void emit(const char *prec, const char *what, int len, double value, const char *unit) {
    printf("{\"engine\":\"winnow\",\"prec\":\"%s\",\"what\":\"%s\",\"len\":%d,\"value\":%.6g,\"unit\":\"%s\"}\n", prec,
           what, len, value, unit);
    fflush(stdout);
}

static void run(const char *dir, int threads, nn_precision prec, int reps, int timing) {
    const char *P = pname(prec);
    char bidir[1024], cedir[1024], name[128];
    snprintf(bidir, sizeof bidir, "%s/bi", dir);
    snprintf(cedir, sizeof cedir, "%s/ce", dir);
    wn_model *bi = load(bidir, threads, prec), *ce = load(cedir, threads, prec);
    const int D = bi->dim;
    printf("{\"engine\":\"winnow\",\"what\":\"machine\",\"threads\":%d,\"isa\":\"%s\",\"kernels\":\"%s\"}\n", threads,
           wn_isa_name(wn_cpu_isa()), nn_kernels_describe());
    /* 1. outputs first: the check workloads, saved for the cross-engine check */
    corpus c;
    load_cisi(&c);
    float *emb = malloc(sizeof(float) * (size_t)c.n * D), *qs = malloc(sizeof(float) * NQ);
    double t0 = wn_now();
    if (wn_model_embed(bi, c.n, (const char *const *)c.text, emb)) die("embed cisi");
    double t_cisi = wn_now() - t0;
    if (wn_model_score(ce, NQ, (const char *const *)c.q, (const char *const *)c.d, qs)) die("score");
    snprintf(name, sizeof name, "out_winnow_%s_cisi.f32", P);
    save(dir, name, emb, (size_t)c.n * D);
    snprintf(name, sizeof name, "out_winnow_%s_pairs.f32", P);
    save(dir, name, qs, NQ);
    seqs s16 = read_ids(path2(dir, "ids_bi_16.txt")), sce = read_ids(path2(dir, "ids_ce.txt"));
    seqs tce = read_ids(path2(dir, "types_ce.txt"));
    float *o16 = malloc(sizeof(float) * NB * D), *oce = malloc(sizeof(float) * NCE);
    if (model_run_ids(bi, s16.n, (const int32_t *const *)s16.ids, NULL, s16.lens, o16)) die("bi16");
    if (model_run_ids(ce, sce.n, (const int32_t *const *)sce.ids, (const int32_t *const *)tce.ids, sce.lens, oce))
        die("ce");
    snprintf(name, sizeof name, "out_winnow_%s_bi16.f32", P);
    save(dir, name, o16, (size_t)NB * D);
    snprintf(name, sizeof name, "out_winnow_%s_ce.f32", P);
    save(dir, name, oce, NCE);
    int ok = 1;
    if (prec != NN_PREC_FP32) { /* 2. the check against fp32 (run first by encoders.sh) */
        float *ref = load_floats(dir, "out_winnow_fp32_cisi.f32", (size_t)c.n * D);
        float *rq = load_floats(dir, "out_winnow_fp32_pairs.f32", NQ);
        if (!ref || !rq) {
            fprintf(stderr, "bench_encoder: run fp32 first (its outputs are the reference)\n");
            exit(1);
        }
        double mn = 1, mean = 0;
        for (int i = 0; i < c.n; i++) {
            double cs = cosine(emb + (size_t)i * D, ref + (size_t)i * D, D);
            mn = cs < mn ? cs : mn;
            mean += cs / c.n;
        }
        double sp = spearman(qs, rq, NQ);
        double need_cos = prec == NN_PREC_BF16 ? 0.999 : 0.995;
        printf("{\"engine\":\"winnow\",\"prec\":\"%s\",\"what\":\"quality\",\"min_cos\":%.6f,\"mean_cos\":%.6f,"
               "\"spearman\":%.6f,\"n_docs\":%d,\"n_pairs\":%d}\n",
               P, mn, mean, sp, c.n, NQ);
        if (mn < need_cos || sp < 0.99) {
            printf("{\"engine\":\"winnow\",\"prec\":\"%s\",\"what\":\"refused\",\"why\":\"min cosine %.5f (needs %.3f), "
                   "Spearman %.5f (needs 0.99)\"}\n",
                   P, mn, need_cos, sp);
            ok = 0;
        }
        free(ref), free(rq);
    }
    if (ok && timing) { /* 3. timings */
        emit(P, "cisi", 0, c.n / t_cisi, "docs/s");
        for (int li = 0; li < NLENS; li++) {
            snprintf(name, sizeof name, "ids_bi_%d.txt", LENS[li]);
            seqs s = read_ids(path2(dir, name));
            float *o = malloc(sizeof(float) * s.n * D);
            double t = time_ids(bi, &s, NULL, LENS[li] >= 128 ? (reps + 1) / 2 : reps, o);
            emit(P, "bi", LENS[li], s.n / t, "seq/s");
            free(o);
            free_seqs(&s);
        }
        seqs sl = read_ids(path2(dir, "ids_lat.txt"));
        double t = time_ids(bi, &sl, NULL, 10 * reps, o16);
        emit(P, "lat", 16, t * 1e3, "ms");
        free_seqs(&sl);
        t = time_ids(ce, &sce, (const int32_t *const *)tce.ids, (reps + 1) / 2, oce);
        emit(P, "ce", 128, sce.n / t, "pairs/s");
    }
    free_seqs(&s16), free_seqs(&sce), free_seqs(&tce);
    free(o16), free(oce), free(emb), free(qs);
    wn_model_free(bi);
    wn_model_free(ce);
}

static void rss(const char *dir, int threads, nn_precision prec) {
    char bidir[1024];
    snprintf(bidir, sizeof bidir, "%s/bi", dir);
    wn_model *bi = load(bidir, threads, prec);
    seqs s = read_ids(path2(dir, "ids_bi_256.txt"));
    float *o = malloc(sizeof(float) * s.n * bi->dim);
    if (model_run_ids(bi, s.n, (const int32_t *const *)s.ids, NULL, s.lens, o)) die("run");
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    struct stat st;
    stat(path2(bidir, "model.safetensors"), &st);
    printf("{\"engine\":\"winnow\",\"prec\":\"%s\",\"what\":\"rss\",\"len\":256,\"value\":%.1f,\"unit\":\"MB\","
           "\"model_mb\":%.1f}\n",
           pname(prec), ru.ru_maxrss / 1024.0, st.st_size / 1048576.0);
    free(o);
    free_seqs(&s);
    wn_model_free(bi);
}

/* serve: the interleaved driver's worker (bench/encoders_drive.py). Loads both
 * models once, then reads commands "WHAT LEN REPS" from stdin (bi 16..256, lat
 * 16, ce 128, cisi 0) and answers each with one JSON line (the median of REPS
 * timed runs after a warm-up; cisi: one pass over the corpus, tokenisation
 * included). "quit" or end of input ends it. */
static void serve(const char *dir, int threads, nn_precision prec) {
    const char *P = pname(prec);
    char bidir[1024], cedir[1024], line[256], what[32], name[128];
    snprintf(bidir, sizeof bidir, "%s/bi", dir);
    snprintf(cedir, sizeof cedir, "%s/ce", dir);
    wn_model *bi = load(bidir, threads, prec), *ce = load(cedir, threads, prec);
    const int D = bi->dim;
    corpus c = {0};
    int have_cisi = 0;
    seqs sce = read_ids(path2(dir, "ids_ce.txt")), tce = read_ids(path2(dir, "types_ce.txt"));
    float *o = malloc(sizeof(float) * NB * D), *oce = malloc(sizeof(float) * NCE), *emb = NULL;
    printf("{\"engine\":\"winnow\",\"prec\":\"%s\",\"what\":\"ready\"}\n", P);
    fflush(stdout);
    while (fgets(line, sizeof line, stdin)) {
        int len = 0, reps = 1;
        if (sscanf(line, "%31s %d %d", what, &len, &reps) < 1 || !strcmp(what, "quit")) break;
        if (!strcmp(what, "bi") || !strcmp(what, "lat")) {
            if (!strcmp(what, "bi")) snprintf(name, sizeof name, "ids_bi_%d.txt", len);
            else snprintf(name, sizeof name, "ids_lat.txt");
            seqs s = read_ids(path2(dir, name));
            double t = time_ids(bi, &s, NULL, reps, o);
            if (!strcmp(what, "bi")) emit(P, "bi", len, s.n / t, "seq/s");
            else emit(P, "lat", len, t * 1e3, "ms");
            free_seqs(&s);
        } else if (!strcmp(what, "ce")) {
            double t = time_ids(ce, &sce, (const int32_t *const *)tce.ids, reps, oce);
            emit(P, "ce", len, sce.n / t, "pairs/s");
        } else if (!strcmp(what, "cisi")) {
            if (!have_cisi) {
                load_cisi(&c);
                emb = malloc(sizeof(float) * (size_t)c.n * D);
                have_cisi = 1;
            }
            double t0 = wn_now();
            if (wn_model_embed(bi, c.n, (const char *const *)c.text, emb)) die("embed cisi");
            emit(P, "cisi", 0, c.n / (wn_now() - t0), "docs/s");
        } else {
            printf("{\"engine\":\"winnow\",\"prec\":\"%s\",\"what\":\"error\",\"why\":\"unknown command\"}\n", P);
            fflush(stdout);
        }
    }
    free_seqs(&sce), free_seqs(&tce);
    free(o), free(oce), free(emb);
    wn_model_free(bi);
    wn_model_free(ce);
}

/* fserve: bench/families.py's worker. DIR/model is one bi-encoder of any family
 * (tokenizer not needed: the workloads are ids); its embeddings of DIR/ids_bi_16.txt
 * are checked against PyTorch's (DIR/ref_bi16.f32, float64 computed), then it
 * answers "bi LEN REPS" lines with sequences/s at batch 32. */
static void fserve(const char *dir, int threads, nn_precision prec) {
    const char *P = pname(prec);
    char mdir[1024], name[64], line[128];
    snprintf(mdir, sizeof mdir, "%s/model", dir);
    wn_model_params p = wn_model_default_params();
    p.n_threads = threads;
    p.max_batch = NB;
    p.precision = prec == NN_PREC_BF16 ? WN_PREC_BF16 : prec == NN_PREC_INT8 ? WN_PREC_INT8 : WN_PREC_FP32;
    wn_model *m;
    if (model_load_dir(mdir, &p, 0, &m)) die(mdir);
    const int D = m->dim;
    seqs s = read_ids(path2(dir, "ids_bi_16.txt"));
    float *o = malloc(sizeof(float) * (size_t)s.n * D), *ref = load_floats(dir, "ref_bi16.f32", (size_t)s.n * D);
    if (!ref) die("ref_bi16.f32");
    if (model_run_ids(m, s.n, (const int32_t *const *)s.ids, NULL, s.lens, o)) die("run");
    double worst = 0;
    for (size_t i = 0; i < (size_t)s.n * D; i++) worst = fmax(worst, fabs((double)o[i] - ref[i]));
    printf("{\"engine\":\"winnow\",\"prec\":\"%s\",\"what\":\"check\",\"max_abs_diff\":%.3g,\"n\":%d}\n", P, worst, s.n * D);
    printf("{\"engine\":\"winnow\",\"what\":\"machine\",\"threads\":%d,\"isa\":\"%s\",\"kernels\":\"%s\"}\n", threads,
           wn_isa_name(wn_cpu_isa()), nn_kernels_describe());
    printf("{\"engine\":\"winnow\",\"what\":\"ready\"}\n");
    fflush(stdout);
    free_seqs(&s), free(o), free(ref);
    int len, reps;
    while (fgets(line, sizeof line, stdin) && sscanf(line, "bi %d %d", &len, &reps) == 2) {
        snprintf(name, sizeof name, "ids_bi_%d.txt", len);
        seqs w = read_ids(path2(dir, name));
        float *out = malloc(sizeof(float) * (size_t)w.n * D);
        double t = time_ids(m, &w, NULL, reps, out);
        emit(P, "bi", len, w.n / t, "seq/s");
        free(out), free_seqs(&w);
    }
    wn_model_free(m);
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: bench_encoder setup DIR | run|check DIR THREADS fp32|bf16|int8 [REPS] | rss DIR THREADS PREC\n");
        return 2;
    }
    const char *env = getenv("WN_SHARED");
    if (env) SHARED = env;
    if (!strcmp(argv[1], "setup")) {
        setup(argv[2]);
        return 0;
    }
    if (argc < 5) return 2;
    int threads = atoi(argv[3]);
    nn_precision prec = !strcmp(argv[4], "bf16") ? NN_PREC_BF16 : !strcmp(argv[4], "int8") ? NN_PREC_INT8 : NN_PREC_FP32;
    if (!strcmp(argv[1], "run") || !strcmp(argv[1], "check"))
        run(argv[2], threads, prec, argc > 5 ? atoi(argv[5]) : 5, !strcmp(argv[1], "run"));
    else if (!strcmp(argv[1], "rss")) rss(argv[2], threads, prec);
    else if (!strcmp(argv[1], "serve")) serve(argv[2], threads, prec);
    else if (!strcmp(argv[1], "fserve")) fserve(argv[2], threads, prec);
    else if (!strcmp(argv[1], "loop") && argc > 6) { /* for perf: bi_LEN, N times */
        char bidir[1024], name[64];
        snprintf(bidir, sizeof bidir, "%s/bi", argv[2]);
        snprintf(name, sizeof name, "ids_bi_%d.txt", atoi(argv[5]));
        wn_model *bi = load(bidir, threads, prec);
        seqs s = read_ids(path2(argv[2], name));
        float *o = malloc(sizeof(float) * s.n * bi->dim);
        double t = time_ids(bi, &s, NULL, atoi(argv[6]), o);
        printf("%s len %s: %.1f seq/s (median)\n", argv[4], argv[5], s.n / t);
        free(o);
        free_seqs(&s);
        wn_model_free(bi);
    }
    else return 2;
    return 0;
}
