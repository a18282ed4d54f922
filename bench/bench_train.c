/* bench_train.c - one training step (forward, loss, backward, clip, AdamW) of
 * src/train on MiniLM-L6 shapes with random weights (synth.c) and random token
 * ids: an MNRL step over B queries and B positives of T tokens (bi), or a BCE
 * step over B pairs of T tokens (ce). Prints one JSON line per run with the
 * median step time, examples/s, tokens/s and the peak resident memory, so that
 * bench/train.sh can interleave it with the same step in PyTorch
 * (bench/train_torch.py).
 *
 * Usage: bench_train [--mode bi|ce] [--batch B] [--len T] [--steps N] [--threads N] [--dir DIR]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "../tests/synth.h"
#include "train/train.h"

static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    const char *mode = "bi", *dir = NULL;
    int B = 32, T = 64, steps = 5, threads = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--mode")) mode = argv[i + 1];
        else if (!strcmp(argv[i], "--batch")) B = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--len")) T = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--steps")) steps = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--threads")) threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--dir")) dir = argv[i + 1];
        else return fprintf(stderr, "unknown option %s\n", argv[i]), 2;
    }
    const int ce = !strcmp(mode, "ce");
    char tmp[256];
    if (!dir) {
        snprintf(tmp, sizeof tmp, "/tmp/bench_train_%s_%d", mode, (int)getpid());
        synth_spec s = synth_minilm(ce, ST_F32, 1);
        if (synth_write_model(tmp, &s)) return fprintf(stderr, "synth: %s\n", wn_last_error()), 1;
        dir = tmp;
    }
    train_model *m;
    if (train_model_load(dir, threads, &m)) return fprintf(stderr, "load: %s\n", wn_last_error()), 1;
    if (dir == tmp) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
        if (system(cmd)) fprintf(stderr, "could not remove %s\n", tmp);
    }
    m->p_hidden = m->p_attn = 0.1f; /* training as configured: dropout on */
    train_adamw opt;
    if (train_adamw_init(&opt, m, 2e-5f, 0.01f)) return 1;
    const int V = m->cfg.vocab_size, nseq = ce ? B : 2 * B;
    int32_t *ids = malloc(sizeof *ids * (size_t)nseq * T), *ty = calloc((size_t)nseq * T, sizeof *ty);
    int *len = malloc(sizeof *len * (size_t)nseq);
    uint64_t r = 88172645463325252ULL;
    for (int i = 0; i < nseq * T; i++) {
        r ^= r << 13, r ^= r >> 7, r ^= r << 17;
        ids[i] = 1000 + (int32_t)(r % (uint64_t)(V - 1000));
        if (ce && i % T >= T / 2) ty[i] = 1;
    }
    for (int b = 0; b < nseq; b++) len[b] = T, ids[(size_t)b * T] = 101, ids[(size_t)b * T + T - 1] = 102;
    float *o1 = malloc(sizeof(float) * nseq * m->dim), *o2 = malloc(sizeof(float) * nseq * m->dim);
    float *d1 = malloc(sizeof(float) * nseq * m->dim), *d2 = malloc(sizeof(float) * nseq * m->dim), y[4096];
    for (int i = 0; i < B && i < 4096; i++) y[i] = (float)(i % 2);
    train_acts *a1 = NULL, *a2 = NULL;
    double *t = malloc(sizeof(double) * (steps + 1)), *ct = malloc(sizeof(double) * (steps + 1)), loss = 0;
    for (int s = 0; s <= steps; s++) { /* step 0 warms up (allocations, page faults) */
        double t0 = wn_now(), c0 = cpu_now();
        train_zero_grad(m);
        if (ce) {
            if (train_forward(m, &a1, B, T, ids, ty, len, (uint64_t)s, o1)) return fprintf(stderr, "%s\n", wn_last_error()), 1;
            loss = train_bce(B, o1, y, d1);
            train_backward(m, a1, d1);
        } else {
            if (train_forward(m, &a1, B, T, ids, ty, len, 2 * (uint64_t)s, o1) ||
                train_forward(m, &a2, B, T, ids + (size_t)B * T, ty, len, 2 * (uint64_t)s + 1, o2))
                return fprintf(stderr, "%s\n", wn_last_error()), 1;
            float fl = 0;
            if (train_mnrl(B, B, m->dim, o1, o2, 20, d1, d2, &fl)) return fprintf(stderr, "%s\n", wn_last_error()), 1;
            loss = fl;
            train_backward(m, a2, d2);
            train_backward(m, a1, d1);
        }
        train_clip_grad_norm(m, 1.0);
        train_adamw_step(&opt, m, 2e-5f);
        t[s] = wn_now() - t0;
        ct[s] = cpu_now() - c0;
    }
    qsort(t + 1, (size_t)steps, sizeof *t, cmp_d);
    qsort(ct + 1, (size_t)steps, sizeof *ct, cmp_d);
    double med = t[1 + steps / 2], cmed = ct[1 + steps / 2];
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("{\"impl\": \"winnow\", \"mode\": \"%s\", \"batch\": %d, \"len\": %d, \"threads\": %d, \"isa\": \"%s\", "
           "\"step_ms\": %.1f, \"cpu_ms\": %.1f, \"examples_per_s\": %.1f, \"tokens_per_s\": %.0f, \"peak_rss_mb\": %.0f, \"loss\": %.4f}\n",
           mode, B, T, wn_pool_size(m->pool), wn_isa_name(wn_cpu_isa()), med * 1e3, cmed * 1e3, B / med, (double)nseq * T / med,
           ru.ru_maxrss / 1024.0, loss);
    train_acts_free(a1);
    train_acts_free(a2);
    train_adamw_free(&opt);
    train_model_free(m);
    free(ids), free(ty), free(len), free(o1), free(o2), free(d1), free(d2), free(t), free(ct);
    return 0;
}
