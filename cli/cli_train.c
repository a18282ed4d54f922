/* cli_train.c - winnow train bi|ce --model DIR --data FILE --out DIR [options]:
 * fine-tunes a bi-encoder (MultipleNegativesRankingLoss) or a cross-encoder (BCE
 * with logits, or --listwise) through wn_train_run, and writes a checkpoint that
 * winnow embed / score and sentence-transformers load as it is. A progress bar on
 * a terminal only; --log FILE gets one JSON object per update; --save-every N
 * and --resume continue an interrupted run exactly. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void train_usage(FILE *f) {
    fprintf(f,
            "usage: winnow train bi|ce|mlm --model DIR|--config FILE --data FILE --out DIR [options]\n"
            "  bi               a bi-encoder, MultipleNegativesRankingLoss (cosine x scale, in-batch and hard negatives);\n"
            "                   data: {\"query\": ..., \"positive\": ..., \"negatives\": [...]} per line (negatives optional)\n"
            "  ce               a cross-encoder, BCE with logits; data: {\"query\": ..., \"document\": ..., \"label\": 0..1}\n"
            "  mlm              masked-language-model pre-training (BertForMaskedLM's head, tied decoder);\n"
            "                   data: {\"text\": ...}; 15%% of tokens picked: 80%% [MASK], 10%% random, 10%% kept\n"
            "  --mlm-prob P     mlm: share of tokens picked (default 0.15)\n"
            "  --model DIR      the model to start from (HuggingFace / sentence-transformers directory)\n"
            "  --config FILE    or a new model from this config.json (HF's random initialisation, from --seed);\n"
            "                   the tokenizer files come from its directory (or --model DIR)\n"
            "  --data FILE      training rows, JSONL\n"
            "  --out DIR        where the checkpoint goes (files replaced atomically)\n"
            "  --epochs E       passes over the data (default 1)\n"
            "  --steps N        exactly N updates instead (also the schedule's total)\n"
            "  --batch B        rows per update (default 32); with --no-shuffle update k takes rows (k-1)B .. kB-1\n"
            "  --grad-accum A   average A batches per update (default 1)\n"
            "  --lr LR          peak learning rate (default 2e-5)\n"
            "  --warmup W       linear warm-up updates (default 0), then linear decay to 0\n"
            "  --max-length L   tokens per text, special tokens included, pairs truncated longest-first\n"
            "                   (default: the model's limit)\n"
            "  --weight-decay D AdamW weight decay, not on biases and LayerNorm weights (default 0.01)\n"
            "  --max-grad-norm G  clip the global gradient norm to G; 0 turns clipping off (default 1)\n"
            "  --dropout P      every dropout probability (default: the model's config); 0 turns dropout off\n"
            "  --scale S        MNRL cosine scale (default 20)\n"
            "  --listwise       ce: a listwise softmax loss over {\"query\", \"positive\", \"negatives\"} rows\n"
            "  --no-shuffle     keep the file's order (default: a seeded shuffle each epoch)\n"
            "  --seed S         shuffling and dropout (default 42); the same seed reproduces a run bit for bit\n"
            "  --save-every N   also write the checkpoint every N updates, with the optimiser state\n"
            "                   (trainer_state.wnts) that --resume continues from\n"
            "  --resume         continue from --out's saved state (same data, seed and options): the\n"
            "                   result is the uninterrupted run's; without a saved state, start afresh\n"
            "  --dev FILE       rows in the same format: their mean loss (dropout off) goes to the log\n"
            "  --eval-every N   evaluate --dev every N updates (default: at the end)\n"
            "  --threads T      threads (default: all CPUs); results do not depend on it\n"
            "  --log FILE       one JSON object per update: {\"step\", \"loss\" (before the update), \"lr\" (used by it), ...}\n");
}

static int num(const char *opt, const char *s, double lo, double hi, double *out) {
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v >= lo && v <= hi)) {
        cli_error("train: %s takes a number from %g to %g, not '%s'", opt, lo, hi, s);
        return 0;
    }
    *out = v;
    return 1;
}

static int real_opt(wn_train_params *p, const char *a, const char *v);

/* One option with a value: 1 taken, 0 not an option of train's, -1 a bad value (said). */
static int value_opt(wn_train_params *p, const char *a, const char *v) {
    long n;
    double d;
    if (!strcmp(a, "--model")) p->model_dir = v;
    else if (!strcmp(a, "--config")) p->config_path = v;
    else if (!strcmp(a, "--data")) p->data_path = v;
    else if (!strcmp(a, "--out")) p->out_dir = v;
    else if (!strcmp(a, "--log")) p->log_path = v;
    else if (!strcmp(a, "--dev")) p->dev_path = v;
    else if (!strcmp(a, "--eval-every")) {
        if (!cli_parse_int(a, v, 1, 1000000000, &n)) return -1;
        p->eval_every = n;
    } else if (!strcmp(a, "--epochs")) {
        if (!cli_parse_int(a, v, 1, 1000000, &n)) return -1;
        p->epochs = (int)n;
    } else if (!strcmp(a, "--steps")) {
        if (!cli_parse_int(a, v, 1, 1000000000, &n)) return -1;
        p->steps = n;
    } else if (!strcmp(a, "--batch")) {
        if (!cli_parse_int(a, v, 1, 1 << 20, &n)) return -1;
        p->batch = (int)n;
    } else if (!strcmp(a, "--grad-accum")) {
        if (!cli_parse_int(a, v, 1, 1 << 20, &n)) return -1;
        p->grad_accum = (int)n;
    } else if (!strcmp(a, "--warmup")) {
        if (!num(a, v, 0, 1e12, &d) || d != (double)(int64_t)d) return cli_error("train: --warmup takes a whole number"), -1;
        p->warmup = (int64_t)d;
    } else if (!strcmp(a, "--max-length")) {
        if (!cli_parse_int(a, v, 3, 1 << 20, &n)) return -1;
        p->max_length = (int)n;
    } else if (!strcmp(a, "--threads")) {
        if (!cli_parse_int(a, v, 1, 1024, &n)) return -1;
        p->n_threads = (int)n;
    } else if (!strcmp(a, "--save-every")) {
        if (!cli_parse_int(a, v, 1, 1000000000, &n)) return -1;
        p->save_every = n;
        p->save_state = 1;
    } else return real_opt(p, a, v);
    return 1;
}

/* The options with a real-valued or seed argument (value_opt's second half). */
static int real_opt(wn_train_params *p, const char *a, const char *v) {
    if (!strcmp(a, "--seed")) {
        char *end;
        unsigned long long s = strtoull(v, &end, 10);
        if (end == v || *end) return cli_error("train: --seed takes a whole number, not '%s'", v), -1;
        p->seed = s;
        return 1;
    }
    static const struct {
        const char *name;
        double lo, hi;
        size_t off;
    } reals[] = {{"--lr", 0, 10, offsetof(wn_train_params, lr)},
                 {"--weight-decay", 0, 10, offsetof(wn_train_params, weight_decay)},
                 {"--max-grad-norm", 0, 1e30, offsetof(wn_train_params, max_grad_norm)},
                 {"--dropout", 0, 0.99, offsetof(wn_train_params, dropout)},
                 {"--mlm-prob", 0.001, 0.999, offsetof(wn_train_params, mlm_prob)},
                 {"--scale", 1e-6, 1e6, offsetof(wn_train_params, scale)}};
    for (size_t i = 0; i < sizeof reals / sizeof reals[0]; i++)
        if (!strcmp(a, reals[i].name))
            return num(a, v, reals[i].lo, reals[i].hi, (double *)((char *)p + reals[i].off)) ? 1 : -1;
    return 0;
}

/* argv into p: 0 ok, 1 --help was printed, 2 an error (said). */
static int parse_args(int argc, char **argv, wn_train_params *p, int *have_task) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return train_usage(stdout), 1;
        if (!strcmp(a, "bi") || !strcmp(a, "ce") || !strcmp(a, "mlm")) {
            p->task = !strcmp(a, "bi") ? WN_TRAIN_BI : !strcmp(a, "ce") ? WN_TRAIN_CE : WN_TRAIN_MLM;
            *have_task = 1;
        } else if (!strcmp(a, "--no-shuffle")) p->shuffle = 0;
        else if (!strcmp(a, "--listwise")) p->listwise = 1;
        else if (!strcmp(a, "--resume")) p->resume = p->save_state = 1;
        else if (a[0] != '-' || a[1] != '-') {
            cli_error("train: unexpected argument '%s'", a);
            return train_usage(stderr), 2;
        } else if (!v) {
            return cli_error("train: %s needs a value", a), 2;
        } else {
            i++;
            int r = value_opt(p, a, v);
            if (r < 0) return 2;
            if (r == 0) {
                cli_error("train: unknown option '%s'", a);
                return train_usage(stderr), 2;
            }
        }
    }
    return 0;
}

int cmd_train(int argc, char **argv) {
    wn_train_params p = wn_train_default_params();
    int have_task = 0, r = parse_args(argc, argv, &p, &have_task);
    if (r) return r == 1 ? 0 : r;
    char *cfg_dir = NULL;
    if (p.config_path && !p.model_dir) { /* the tokenizer files sit beside the config */
        cfg_dir = strdup(p.config_path);
        char *sl = cfg_dir ? strrchr(cfg_dir, '/') : NULL;
        if (sl) *sl = 0;
        else if (cfg_dir) strcpy(cfg_dir, ".");
        p.model_dir = cfg_dir;
    }
    if (!have_task || !p.model_dir || !p.data_path || !p.out_dir) {
        free(cfg_dir);
        cli_error("train: needs bi, ce or mlm, --model (or --config), --data and --out");
        train_usage(stderr);
        return 2;
    }
    if (p.listwise && p.task != WN_TRAIN_CE) return free(cfg_dir), cli_error("train: --listwise is for ce"), 2;
    cli_progress prog;
    cli_progress_init(&prog);
    p.progress = cli_progress_cb;
    p.progress_ud = &prog;
    wn_status st = wn_train_run(&p);
    cli_progress_end(&prog);
    free(cfg_dir);
    if (st) return cli_lib_error("train", st);
    return 0;
}
