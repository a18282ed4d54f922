/*
 * bench_static.c - texts per second of a static embedding model against a
 * MiniLM-L6-shaped transformer (random weights, synth_minilm, fp32), both through
 * wn_model_embed on the same texts, interleaved rounds, median of the per-round
 * ratios. Default static model: models/winnow-small-embed. Texts: the STS-B test
 * sentences when ../shared is there, else generated sentences of 8-24 words.
 *   build/bench/bench_static [STATIC_DIR] [--rounds N] [--threads N] [--n N]
 * Prints threads, batch, mean tokens and the CPU ISA with the figures.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tests/synth.h"
#include "util/util.h"
#include "winnow.h"

static void die(const char *what) {
    fprintf(stderr, "bench_static: %s: %s\n", what, wn_last_error());
    exit(1);
}

static int cmpd(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void copy(const char *from, const char *to) {
    char *t = NULL;
    size_t n = 0;
    if (wn_read_file(from, &t, &n)) die(from);
    FILE *f = fopen(to, "wb");
    if (!f || fwrite(t, 1, n, f) != n) die(to);
    fclose(f);
    wn_free(t);
}

int main(int argc, char **argv) {
    const char *sdir = "models/winnow-small-embed";
    int rounds = 5, threads = 1, n = 1000;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--rounds") && i + 1 < argc) rounds = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--n") && i + 1 < argc) n = atoi(argv[++i]);
        else sdir = argv[i];
    }
    char **texts = calloc((size_t)n, sizeof *texts);
    FILE *f = fopen("../shared/data/sts/sts-test.csv", "rb");
    int nt = 0;
    if (f) {
        wn_line_reader r;
        wn_lines_init(&r, f);
        while (nt < n && wn_lines_next(&r) == 1) {
            char *p = r.buf;
            for (int c = 0; c < 5 && p; c++) p = strchr(p, '\t') ? strchr(p, '\t') + 1 : NULL;
            if (!p) continue;
            char *e = strchr(p, '\t');
            if (e) *e = 0;
            texts[nt++] = wn_strdup(p);
        }
        wn_lines_free(&r);
        fclose(f);
    }
    static const char *words[] = {"the", "a", "man", "woman", "is", "playing", "guitar", "on", "stage", "dog", "runs",
                                  "through", "field", "market", "prices", "fell", "sharply", "today", "after", "report"};
    uint64_t s = 1;
    for (; nt < n; nt++) {
        char buf[512] = "";
        int w = 8 + (int)(s % 17);
        for (int k = 0; k < w; k++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            strcat(buf, words[(s >> 33) % 20]);
            strcat(buf, " ");
        }
        texts[nt] = wn_strdup(buf);
    }
    char tdir[] = "/tmp/bench_static_XXXXXX";
    if (!mkdtemp(tdir)) die("mkdtemp");
    synth_spec sp = synth_minilm(0, ST_F32, 1);
    if (synth_write_model(tdir, &sp)) die(tdir);
    char from[1024], to[1024];
    snprintf(from, sizeof from, "%s/0_StaticEmbedding/vocab.txt", sdir);
    snprintf(to, sizeof to, "%s/vocab.txt", tdir);
    copy(from, to);
    wn_model_params p = wn_model_default_params();
    p.n_threads = threads;
    wn_model *ms, *mt;
    if (wn_model_load(sdir, &p, &ms)) die(sdir);
    if (wn_model_load(tdir, &p, &mt)) die(tdir);
    float *os = malloc((size_t)n * wn_model_dim(ms) * sizeof(float)), *ot = malloc((size_t)n * wn_model_dim(mt) * sizeof(float));
    long ntok = 0;
    for (int i = 0; i < n; i++) {
        int32_t *ids;
        int k;
        if (wn_tokenizer_tokenize(wn_model_tokenizer(ms), texts[i], &ids, &k) == WN_OK) ntok += k, wn_free_buffer(ids);
    }
    double ratio[64], rs[64], rt[64];
    if (rounds > 64) rounds = 64;
    for (int r = 0; r < rounds; r++) {
        double t0 = wn_now();
        if (wn_model_embed(ms, n, (const char *const *)texts, os)) die("static embed");
        double t1 = wn_now();
        if (wn_model_embed(mt, n, (const char *const *)texts, ot)) die("minilm embed");
        double t2 = wn_now();
        rs[r] = n / (t1 - t0), rt[r] = n / (t2 - t1), ratio[r] = rs[r] / rt[r];
    }
    qsort(ratio, (size_t)rounds, sizeof *ratio, cmpd);
    qsort(rs, (size_t)rounds, sizeof *rs, cmpd);
    qsort(rt, (size_t)rounds, sizeof *rt, cmpd);
    printf("texts %d (mean %.1f word-pieces), threads %d, MiniLM batch %d fp32, ISA %s, %d rounds\n", n, (double)ntok / n, threads,
           p.max_batch, wn_isa_name(wn_cpu_isa()), rounds);
    printf("static %s: %.0f texts/s   MiniLM-L6 shape: %.0f texts/s   ratio (median per round) %.1fx\n", sdir,
           rs[rounds / 2], rt[rounds / 2], ratio[rounds / 2]);
    wn_model_free(ms);
    wn_model_free(mt);
    for (int i = 0; i < n; i++) wn_free(texts[i]);
    free(texts), free(os), free(ot);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tdir);
    return system(cmd) != 0;
}
