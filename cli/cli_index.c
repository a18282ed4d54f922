/* cli_index.c - winnow index --corpus FILE --out DIR [--bm25] [--dense MODEL] ...:
 * builds an index directory (documents in SQLite, BM25, dense vectors), atomically. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void index_usage(FILE *f) {
    fprintf(f,
            "usage: winnow index --corpus FILE|DIR --out DIR [--bm25] [--dense MODEL] [options]\n"
            "  --corpus PATH        BEIR corpus.jsonl, JSONL, TSV or a folder of .txt files\n"
            "  --format F           beir|jsonl|tsv|dir (default: from the path and first line)\n"
            "  --id-field NAME      JSONL fields (defaults id, title, text; BEIR: _id)\n"
            "  --title-field NAME\n"
            "  --text-field NAME\n"
            "  --out DIR            the index directory (built in DIR.tmp.PID, then renamed)\n"
            "  --force              replace DIR when it exists\n"
            "  --bm25               build a BM25 index (title and text)\n"
            "  --k1 X --b X         BM25 parameters (default 0.9, 0.4)\n"
            "  --no-stem            BM25 without stemming\n"
            "  --dense MODEL        embed documents with this bi-encoder (directory, bundled name or hub id)\n"
            "  --prompt-name NAME   put the model's prompt NAME before every document (default: its\n"
            "                       document/passage/corpus prompt, else its default prompt)\n"
            "  --prompt TEXT        put TEXT before every document (\"\" for none)\n"
            "  --dimensions N       keep the first N numbers of each vector, normalised again\n"
            "                       (Matryoshka; search and eval cut the queries to match)\n"
            "  --ann T              flat|hnsw|ivf|ivfpq vector index (default flat)\n"
            "  --batch N            documents per embedding batch (default 64)\n"
            "  --threads N          model threads (default: all CPUs)\n"
            "  --chunk-tokens N     embed windows of N words instead of truncating (max-pooled)\n"
            "  --chunk-overlap M    words shared by consecutive windows (default N/4)\n"
            "  --adapt              adapt the dense model (a static one) to this corpus first, without\n"
            "                       labels; it is saved as DIR/adapted-model and used by search/eval\n"
            "  --adapt-pairs N      at most N training pairs per document (default 64)\n"
            "  --adapt-init I       model (default: start from --dense's rows) or random\n"
            "  --adapt-lr X         learning rate (default 5e-3)\n"
            "  --adapt-patience N   stop after N passes without a lower held-out loss (default 3)\n"
            "  --seed N             the adaptation's seed (default 42; same seed, same index)\n"
            "  --skip-bad           skip malformed lines and duplicate ids with a warning\n"
            "                       (default: stop, leaving DIR as it was)\n"
            "Without --bm25 or --dense, --bm25 is assumed.\n");
}

static void warn_cb(void *ud, const char *msg) {
    long *n = ud;
    if ((*n)++ < 20) fprintf(stderr, "winnow index: warning: %s (skipped)\n", msg);
}

static int parse_float(const char *opt, const char *s, float *out) {
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v >= 0) || v > 1e6) {
        cli_error("%s: expected a number >= 0, got '%s'", opt, s);
        return 0;
    }
    *out = (float)v;
    return 1;
}

typedef struct {
    wn_pipeline_build_params p;
    const char *corpus, *out;
    long overlap;
    int adapt;
    wn_static_adapt_params a;
} index_args;

/* --adapt-* and --seed; 0 ok, 2 bad value (said), -1 not one of them. */
static int adapt_opt(index_args *x, const char *a, const char *val) {
    long v;
    if (!strcmp(a, "--adapt-pairs")) {
        if (!cli_parse_int(a, val, 1, 100000, &v)) return 2;
        x->a.pairs_per_doc = (int)v;
    } else if (!strcmp(a, "--seed")) {
        if (!cli_parse_int(a, val, 0, 2147483647L, &v)) return 2;
        x->a.seed = (uint64_t)v;
    } else if (!strcmp(a, "--adapt-patience")) {
        if (!cli_parse_int(a, val, 1, 1000000, &v)) return 2;
        x->a.patience = (int)v;
    } else if (!strcmp(a, "--adapt-init")) {
        if (strcmp(val, "model") && strcmp(val, "random"))
            return cli_error("index: --adapt-init must be model or random, not '%s'", val), 2;
        x->a.random_init = !strcmp(val, "random");
    } else if (!strcmp(a, "--adapt-lr")) {
        if (!parse_float(a, val, &x->a.lr) || !(x->a.lr > 0 && x->a.lr < 10))
            return cli_error("index: --adapt-lr must be in (0, 10)"), 2;
    } else return -1;
    return 0;
}

/* An option with a value; 0 ok, 2 bad value (said), -1 not one of ours. */
static int value_opt(index_args *x, const char *a, const char *val) {
    wn_pipeline_build_params *p = &x->p;
    long v;
    if (!strcmp(a, "--corpus")) x->corpus = val;
    else if (!strcmp(a, "--out")) x->out = val;
    else if (!strcmp(a, "--dense")) p->dense_model = val;
    else if (!strcmp(a, "--prompt-name")) p->doc_prompt_name = val;
    else if (!strcmp(a, "--prompt")) p->doc_prompt = val;
    else if (!strcmp(a, "--id-field")) p->corpus.id_field = val;
    else if (!strcmp(a, "--title-field")) p->corpus.title_field = val;
    else if (!strcmp(a, "--text-field")) p->corpus.text_field = val;
    else if (!strcmp(a, "--format")) {
        if (wn_corpus_format_parse(val, &p->corpus.format) != WN_OK)
            return cli_error("index: --format must be beir, jsonl, tsv or dir, not '%s'", val), 2;
    } else if (!strcmp(a, "--ann")) {
        if (wn_index_type_parse(val, &p->ann) != WN_OK)
            return cli_error("index: --ann must be flat, hnsw, ivf or ivfpq, not '%s'", val), 2;
    } else if (!strcmp(a, "--k1")) {
        if (!parse_float(a, val, &p->bm25_params.k1)) return 2;
    } else if (!strcmp(a, "--b")) {
        if (!parse_float(a, val, &p->bm25_params.b) || p->bm25_params.b > 1) return cli_error("index: --b must be from 0 to 1"), 2;
    } else if (!strcmp(a, "--batch")) {
        if (!cli_parse_int(a, val, 1, 4096, &v)) return 2;
        p->batch = (int)v;
    } else if (!strcmp(a, "--threads")) {
        if (!cli_parse_int(a, val, 1, 1024, &v)) return 2;
        p->model_params.n_threads = (int)v;
        p->index_params.n_threads = (int)v;
    } else if (!strcmp(a, "--chunk-tokens")) {
        if (!cli_parse_int(a, val, 2, 100000, &v)) return 2;
        p->chunk_tokens = (int)v;
    } else if (!strcmp(a, "--dimensions")) {
        if (!cli_parse_int(a, val, 1, 1 << 20, &v)) return 2;
        p->dimensions = (int)v;
    } else if (!strcmp(a, "--chunk-overlap")) {
        if (!cli_parse_int(a, val, 0, 100000, &x->overlap)) return 2;
    } else return adapt_opt(x, a, val);
    return 0;
}

/* 0 ok, 1 done (--help), 2 usage error (said). */
static int parse_args(int argc, char **argv, index_args *x) {
    wn_pipeline_build_params *p = &x->p;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return index_usage(stdout), 1;
        if (!strcmp(a, "--bm25")) p->bm25 = 1;
        else if (!strcmp(a, "--force")) p->overwrite = 1;
        else if (!strcmp(a, "--skip-bad")) p->skip_bad = 1;
        else if (!strcmp(a, "--adapt")) x->adapt = 1;
        else if (!strcmp(a, "--no-stem")) p->bm25_params.stem = 0;
        else if (!val) {
            cli_error("index: unknown option or missing value '%s'", a);
            return index_usage(stderr), 2;
        } else {
            int r = value_opt(x, a, val);
            i++;
            if (r > 0) return r;
            if (r < 0) return cli_error("index: unknown option '%s'", a), index_usage(stderr), 2;
        }
    }
    return 0;
}

int cmd_index(int argc, char **argv) {
    index_args x = {wn_pipeline_build_default_params(), NULL, NULL, -1, 0, wn_static_adapt_default_params()};
    x.p.model_params.hub.models_dir = cli_models_dir();
    int rc = parse_args(argc, argv, &x);
    if (rc) return rc == 1 ? 0 : rc;
    wn_pipeline_build_params p = x.p;
    const char *corpus = x.corpus, *out = x.out;
    long overlap = x.overlap;
    if (!corpus || !out) {
        cli_error("index: --corpus and --out are required");
        index_usage(stderr);
        return 2;
    }
    if (x.adapt && !p.dense_model) return cli_error("index: --adapt needs --dense MODEL (a static model to adapt)"), 2;
    if (!p.bm25 && !p.dense_model) p.bm25 = 1;
    if (p.chunk_tokens) p.chunk_overlap = overlap >= 0 ? (int)overlap : p.chunk_tokens / 4;
    else if (overlap >= 0) return cli_error("index: --chunk-overlap needs --chunk-tokens"), 2;
    if (p.chunk_tokens && p.chunk_overlap >= p.chunk_tokens)
        return cli_error("index: --chunk-overlap %d must be below --chunk-tokens %d", p.chunk_overlap, p.chunk_tokens), 2;
    cli_progress pr;
    cli_progress_init(&pr);
    long n_warn = 0;
    p.progress = cli_progress_cb;
    p.progress_ud = &pr;
    p.warn = warn_cb;
    p.warn_ud = &n_warn;
    wn_pipeline_build_stats stats;
    wn_static_adapt_stats as;
    x.a.n_threads = p.model_params.n_threads;
    x.a.progress = cli_progress_cb;
    x.a.progress_ud = &pr;
    wn_status st = x.adapt ? wn_static_adapt_build(corpus, out, &p, &x.a, &stats, &as) : wn_pipeline_build(corpus, out, &p, &stats);
    cli_progress_end(&pr);
    if (st != WN_OK) {
        cli_lib_error("index", st);
        if (st == WN_ERR_FORMAT && !p.skip_bad)
            fprintf(stderr, "winnow index: nothing was written to %s; fix the input or pass --skip-bad to skip such lines\n", out);
        return 1;
    }
    if (n_warn > 20) fprintf(stderr, "winnow index: ... %ld warnings in all\n", n_warn);
    fprintf(stderr, "winnow index: %lld documents%s%s into %s in %.1fs", (long long)stats.docs, p.bm25 ? ", BM25" : "",
            p.dense_model ? ", dense" : "", out, stats.seconds);
    if (p.dense_model) fprintf(stderr, " (%lld vectors)", (long long)stats.vectors);
    if (stats.skipped) fprintf(stderr, ", %lld lines skipped", (long long)stats.skipped);
    fputc('\n', stderr);
    if (x.adapt)
        fprintf(stderr,
                "winnow index: adapted %s to %lld documents (%lld held out) in %.1fs: step %lld of %lld kept, "
                "held-out loss %.4f -> %.4f\n",
                p.dense_model, (long long)as.train_docs, (long long)as.heldout_docs, as.seconds, (long long)as.best_step,
                (long long)as.steps, as.loss_start, as.loss_best);
    return 0;
}
