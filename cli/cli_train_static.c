/* cli_train_static.c - winnow train-static --data FILE[,FILE...] --out DIR
 * [--tokenizer DIR] [--dim 256] [--steps N] [--batch B] [--lr LR] [--seed S]
 * [--threads T] [--log FILE]: trains a static embedding model (wn_static_train)
 * on JSONL (query, positive) pairs. A progress line on stderr when it is a
 * terminal; --log FILE gets "step loss pairs/s" every 100 steps and the last. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static void train_static_usage(FILE *f) {
    fprintf(f,
            "usage: winnow train-static --data FILE[,FILE...] --out DIR [--tokenizer DIR] [--dim 256]\n"
            "                           [--steps N] [--batch 256] [--lr 5e-3] [--seed 42] [--threads T] [--log FILE]\n"
            "  --data FILES    JSONL, one {\"query\": ..., \"positive\": ...} a line (scripts/make_training_data.sh)\n"
            "  --out DIR       the model, in sentence-transformers' StaticEmbedding layout (created or replaced)\n"
            "  --tokenizer DIR tokenizer.json + vocab.txt of a WordPiece tokenizer, shipped with the model\n"
            "                  (default: models/winnow-small-embed/0_StaticEmbedding, bert-base-uncased's)\n"
            "  --dim N         embedding size (default 256)\n"
            "  --steps N       optimiser steps (default: one pass over the pairs)\n"
            "  --batch N       pairs per step, in-batch negatives (default 256)\n"
            "  --lr X          Adam learning rate (default 5e-3)\n"
            "  --seed N        the same seed and data give the same model bit for bit (default 42)\n"
            "  --threads N     threads (default: all CPUs); the result does not depend on it\n"
            "  --log FILE      \"step loss pairs_per_s\" every 100 steps\n");
}

typedef struct {
    cli_progress bar;
    FILE *log;
    double ema;
} train_ui;

static void on_step(void *ud, int64_t step, int64_t steps, float loss, double pps) {
    train_ui *u = ud;
    u->ema = step == 1 ? loss : 0.98 * u->ema + 0.02 * loss;
    if (u->log && (step % 100 == 0 || step == steps)) {
        fprintf(u->log, "%lld %.6f %.0f\n", (long long)step, loss, pps);
        fflush(u->log);
    }
    char what[64];
    snprintf(what, sizeof what, "loss %.3f", u->ema);
    cli_progress_cb(&u->bar, what, (uint64_t)step, (uint64_t)steps);
}

int cmd_train_static(int argc, char **argv) {
    wn_static_train_params p = wn_static_train_default_params();
    const char *data = NULL, *out = NULL, *tok = "models/winnow-small-embed/0_StaticEmbedding", *logf = NULL;
    long v;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            train_static_usage(stdout);
            return 0;
        } else if (!strcmp(a, "--data") && has) data = argv[++i];
        else if (!strcmp(a, "--out") && has) out = argv[++i];
        else if (!strcmp(a, "--tokenizer") && has) tok = argv[++i];
        else if (!strcmp(a, "--log") && has) logf = argv[++i];
        else if (!strcmp(a, "--dim") && has) {
            if (!cli_parse_int("--dim", argv[++i], 1, 4096, &v)) return 2;
            p.dim = (int)v;
        } else if (!strcmp(a, "--steps") && has) {
            if (!cli_parse_int("--steps", argv[++i], 1, 1000000000L, &v)) return 2;
            p.steps = v;
        } else if (!strcmp(a, "--batch") && has) {
            if (!cli_parse_int("--batch", argv[++i], 2, 65536, &v)) return 2;
            p.batch = (int)v;
        } else if (!strcmp(a, "--seed") && has) {
            if (!cli_parse_int("--seed", argv[++i], 0, 2147483647L, &v)) return 2;
            p.seed = (uint64_t)v;
        } else if (!strcmp(a, "--threads") && has) {
            if (!cli_parse_int("--threads", argv[++i], 1, 1024, &v)) return 2;
            p.n_threads = (int)v;
        } else if (!strcmp(a, "--lr") && has) {
            char *end;
            double x = strtod(argv[++i], &end);
            if (*end || !(x > 0 && x < 10)) {
                cli_error("train-static: --lr %s: expected a number in (0, 10)", argv[i]);
                return 2;
            }
            p.lr = (float)x;
        } else {
            train_static_usage(stderr);
            cli_error("train-static: unknown or incomplete option '%s'", a);
            return 2;
        }
    }
    if (!data || !out) {
        train_static_usage(stderr);
        cli_error("train-static: --data and --out are required");
        return 2;
    }
    char *dcopy = strdup(data);
    const char **files = calloc(strlen(data) + 1, sizeof *files);
    if (!dcopy || !files) {
        free(dcopy);
        free(files);
        return cli_error("train-static: out of memory");
    }
    int n = 0;
    for (char *s = strtok(dcopy, ","); s; s = strtok(NULL, ",")) files[n++] = s;
    train_ui ui = {0};
    cli_progress_init(&ui.bar);
    int rc = 0;
    if (logf && !(ui.log = fopen(logf, "w"))) rc = cli_error("train-static: cannot write %s", logf);
    p.on_step = on_step;
    p.ud = &ui;
    p.progress = cli_progress_cb;
    p.progress_ud = &ui.bar;
    float loss = 0;
    time_t t0 = time(NULL);
    if (!rc) {
        wn_status st = wn_static_train(files, n, tok, out, &p, &loss);
        cli_progress_end(&ui.bar);
        if (st != WN_OK) rc = cli_lib_error("train-static", st);
    }
    if (!rc)
        fprintf(stderr, "winnow train-static: wrote %s (mean loss of the last 100 steps %.4f, %.0f s)\n", out, loss,
                difftime(time(NULL), t0));
    if (ui.log) fclose(ui.log);
    free(dcopy);
    free(files);
    return rc;
}
