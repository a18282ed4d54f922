/* cli_mine.c - winnow mine --index DIR --data FILE --out FILE [--depth N]
 * [--per-query M] [--skip-top K] [pipeline options]: adds hard negatives to
 * bi-encoder training rows {"query", "positive", "negatives"?} from the first
 * stage of an index (BM25, dense or hybrid). A thin caller of wn_train_mine
 * (src/train/mine.c), where the rules are. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_pipeline.h"

static void mine_usage(FILE *f) {
    fprintf(f,
            "usage: winnow mine --index DIR --data FILE --out FILE [--depth N] [--per-query M] [--skip-top K]\n"
            "                   [--first-stage bm25|dense|hybrid] [--dense MODEL] [--threads N]\n"
            "  --data FILE      training rows {\"query\", \"positive\", \"negatives\": [...]} (JSONL)\n"
            "  --out FILE       the rows with mined negatives added (written atomically)\n"
            "  --depth N        first-stage hits looked at per query (default 50)\n"
            "  --per-query M    negatives added per row (default 5)\n"
            "  --skip-top K     skip the K best hits (they may be unlabelled positives; default 0)\n");
}

/* The command line into o, data, out, mp; 0 = run, else the exit code (2: usage). */
static int mine_args(int argc, char **argv, cli_pipeline_opts *o, const char **data, const char **out,
                     wn_train_mine_params *mp) {
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            mine_usage(stdout);
            return -1;
        }
        int k = !strcmp(argv[i], "--depth") ? 0 : cli_pipeline_opt("mine", argc, argv, i, o);
        if (k < 0) return 2;
        if (k > 0) {
            i += k - 1;
            continue;
        }
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        long x = 0;
        if (!v) {
            cli_error("mine: unexpected argument '%s'", argv[i]);
            mine_usage(stderr);
            return 2;
        }
        if (!strcmp(argv[i], "--data")) *data = v;
        else if (!strcmp(argv[i], "--out")) *out = v;
        else if (!strcmp(argv[i], "--depth")) {
            if (!cli_parse_int("--depth", v, 1, 100000, &x)) return 2;
            mp->depth = (int)x;
        } else if (!strcmp(argv[i], "--per-query")) {
            if (!cli_parse_int("--per-query", v, 1, 10000, &x)) return 2;
            mp->per_query = (int)x;
        } else if (!strcmp(argv[i], "--skip-top")) {
            if (!cli_parse_int("--skip-top", v, 0, 100000, &x)) return 2;
            mp->skip_top = (int)x;
        } else {
            cli_error("mine: unknown option '%s'", argv[i]);
            mine_usage(stderr);
            return 2;
        }
        i++;
    }
    if (!o->index || !*data || !*out) {
        cli_error("mine: needs --index, --data and --out");
        mine_usage(stderr);
        return 2;
    }
    return 0;
}

int cmd_mine(int argc, char **argv) {
    cli_pipeline_opts o;
    cli_pipeline_opts_init(&o);
    const char *data = NULL, *out = NULL;
    wn_train_mine_params mp = wn_train_mine_default_params();
    int rc = mine_args(argc, argv, &o, &data, &out, &mp);
    if (rc) return rc < 0 ? 0 : rc;
    wn_searcher *s = NULL;
    wn_status st = cli_pipeline_open(&o, &s);
    if (st) return cli_lib_error("mine", st);
    int64_t rows = 0, added = 0;
    st = wn_train_mine(s, data, out, &mp, &rows, &added);
    wn_searcher_free(s);
    if (st) return cli_lib_error("mine", st);
    fprintf(stderr, "mine: %lld rows, %lld negatives added\n", (long long)rows, (long long)added);
    return 0;
}
