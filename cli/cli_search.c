/* cli_search.c - winnow search --index DIR [--first-stage bm25|dense|hybrid]
 * [--rerank MODEL] [--k N] [--json] [--shift] QUERY...: results per stage with
 * scores and snippets; --shift prints the rank shift as the notebook's
 * show_rank_shift does, with moves marked. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_pipeline.h"

static void search_usage(FILE *f) {
    fprintf(f,
            "usage: winnow search --index DIR [options] QUERY...\n"
            "  --first-stage S      bm25|dense|hybrid (default: bm25 if the index has it, else dense)\n"
            "  --fusion F           hybrid: rrf (default), minmax or zscore\n"
            "  --rrf-k N            RRF constant (default 60)\n"
            "  --dense-weight W     hybrid weight of dense, BM25 gets 1-W (default 0.25)\n"
            "  --dense MODEL        query encoder (default: the one the index was built with)\n"
            "  --query-prompt-name NAME  the model's prompt put before queries (default: its\n"
            "                       query prompt, else its default prompt)\n"
            "  --query-prompt TEXT  put TEXT before queries (\"\" for none)\n"
            "  --dimensions N       cut query vectors to N numbers (default: the index's)\n"
            "  --rerank MODEL       re-rank the candidates with this cross-encoder\n"
            "  --k-candidates N     candidates re-ranked (default 50)\n"
            "  --interpolate A      final = (1-A) minmax(cross-encoder) + A minmax(first stage)\n"
            "                       (default: the cross-encoder's own, 0 for most)\n"
            "  --k N                results shown per stage (default 10)\n"
            "  --threads N          model threads (default: all CPUs)\n"
            "  --json               one JSON object per query\n"
            "  --shift              the rank shift between first stage and re-ranker\n");
}

static void print_hits_text(wn_store *st, const char *stage, const wn_hit *h, int n, double secs, int show_moves) {
    printf("%s (%.2f ms):\n", stage, secs * 1e3);
    for (int i = 0; i < n; i++) {
        wn_doc d;
        if (wn_store_get(st, h[i].row, &d) != WN_OK) continue;
        char snip[200];
        cli_snippet(d.title, d.text, snip, sizeof snip);
        printf("  %2d. %-12s %10.4f", i + 1, d.id, (double)h[i].score);
        if (show_moves) {
            int mv = h[i].first_rank - (i + 1);
            if (mv > 0) printf("  ^%-3d", mv);
            else if (mv < 0) printf("  v%-3d", -mv);
            else printf("  =   ");
        }
        printf("  %s\n", snip);
    }
}

static void print_hits_json(wn_store *st, const wn_hit *h, int n, double secs) {
    printf("{\"ms\":%.4f,\"hits\":[", secs * 1e3);
    for (int i = 0; i < n; i++) {
        wn_doc d;
        if (wn_store_get(st, h[i].row, &d) != WN_OK) continue;
        char snip[200];
        cli_snippet("", d.text, snip, sizeof snip);
        printf("%s{\"rank\":%d,\"id\":", i ? "," : "", i + 1);
        cli_print_json_string(stdout, d.id);
        printf(",\"score\":%.9g,\"first_rank\":%d,\"title\":", (double)h[i].score, h[i].first_rank);
        cli_print_json_string(stdout, d.title);
        fputs(",\"snippet\":", stdout);
        cli_print_json_string(stdout, snip);
        fputc('}', stdout);
    }
    fputs("]}", stdout);
}

/* show_rank_shift: both top-k id lists, then each re-ranked document with its move */
static void print_shift(wn_store *st, const char *q, const char *stage, const wn_hit *a, const wn_hit *b, int n) {
    printf("QUERY: %s\n\n", q);
    printf("%s top-%d: [", stage, n);
    for (int i = 0; i < n; i++) {
        wn_doc d;
        if (wn_store_get(st, a[i].row, &d) == WN_OK) printf("%s'%s'", i ? ", " : "", d.id);
    }
    printf("]\nRe-ranker top-%d: [", n);
    for (int i = 0; i < n; i++) {
        wn_doc d;
        if (wn_store_get(st, b[i].row, &d) == WN_OK) printf("%s'%s'", i ? ", " : "", d.id);
    }
    printf("]\n\nRank shift (before -> after):\n");
    for (int i = 0; i < n; i++) {
        wn_doc d;
        if (wn_store_get(st, b[i].row, &d) != WN_OK) continue;
        int mv = b[i].first_rank - (i + 1);
        char snip[120];
        cli_snippet(d.title, d.text, snip, sizeof snip);
        printf("  %3d -> %-3d %-5s %s: %s\n", b[i].first_rank, i + 1, mv > 0 ? "up" : mv < 0 ? "down" : "=", d.id, snip);
    }
    printf("\n");
}

typedef struct {
    cli_pipeline_opts o;
    int json, shift, k, kc, nq;
    const char **queries;
} search_args;

/* 0 ok, 1 done (--help), 2 usage error (said). */
static int parse_args(int argc, char **argv, search_args *a) {
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        long v;
        if (!strcmp(o, "--help") || !strcmp(o, "-h")) return search_usage(stdout), 1;
        int used = cli_pipeline_opt("search", argc, argv, i, &a->o);
        if (used < 0) return 2;
        if (used > 0) {
            i += used - 1;
            continue;
        }
        if (!strcmp(o, "--json")) a->json = 1;
        else if (!strcmp(o, "--shift")) a->shift = 1;
        else if (!strcmp(o, "--k") && val) {
            if (!cli_parse_int(o, val, 1, 100000, &v)) return 2;
            a->k = (int)v;
            i++;
        } else if (!strcmp(o, "--k-candidates") && val) {
            if (!cli_parse_int(o, val, 1, 100000, &v)) return 2;
            a->kc = (int)v;
            i++;
        } else if (o[0] == '-' && o[1] && strcmp(o, "--")) {
            return cli_error("search: unknown option or missing value '%s'", o), 2;
        } else {
            if (!strcmp(o, "--")) i++;
            for (; i < argc; i++) a->queries[a->nq++] = argv[i];
        }
    }
    if (!a->o.index || !a->nq) return cli_error("search: --index and at least one QUERY are required"), 2;
    if (a->shift && !a->o.p.rerank_model) return cli_error("search: --shift needs --rerank MODEL"), 2;
    return 0;
}

/* One query through the stages, printed as asked; first and rr hold depth hits. */
static wn_status search_one(wn_searcher *s, const search_args *a, int qi, int depth, wn_hit *first, wn_hit *rr) {
    const char *q = a->queries[qi], *stage = wn_first_stage_name(a->o.p.first_stage);
    wn_store *store = wn_searcher_store(s);
    int n, rerank = a->o.p.rerank_model != NULL;
    double t1 = 0, t2 = 0;
    wn_status st = wn_searcher_first(s, q, depth, first, &n, &t1);
    int m = n < a->kc ? n : a->kc, show = n < a->k ? n : a->k;
    if (st == WN_OK && rerank) st = wn_searcher_rerank(s, q, first, n, m, rr, &t2);
    if (st != WN_OK) return st;
    if (a->json) {
        fputs("{\"query\":", stdout);
        cli_print_json_string(stdout, q);
        printf(",\"stages\":{\"%s\":", stage);
        print_hits_json(store, first, show, t1);
        if (rerank) {
            printf(",\"rerank\":");
            print_hits_json(store, rr, show, t2);
        }
        fputs("}}\n", stdout);
    } else if (a->shift) {
        print_shift(store, q, stage, first, rr, m < a->k ? m : a->k);
    } else {
        printf("query: %s\n", q);
        print_hits_text(store, stage, first, show, t1, 0);
        if (rerank) print_hits_text(store, "rerank", rr, show, t2, 1);
        if (qi + 1 < a->nq) printf("\n");
    }
    return WN_OK;
}

int cmd_search(int argc, char **argv) {
    search_args a;
    memset(&a, 0, sizeof a);
    cli_pipeline_opts_init(&a.o);
    a.k = 10;
    a.kc = 50;
    if (!(a.queries = calloc((size_t)argc, sizeof *a.queries))) return cli_error("search: out of memory");
    int rc = parse_args(argc, argv, &a);
    if (rc) {
        if (rc == 2) search_usage(stderr);
        free(a.queries);
        return rc == 1 ? 0 : 2;
    }
    wn_searcher *s;
    wn_status st = cli_pipeline_open(&a.o, &s);
    if (st != WN_OK) {
        free(a.queries);
        return cli_lib_error("search", st);
    }
    int depth = a.o.p.rerank_model ? (a.kc > a.k ? a.kc : a.k) : a.k;
    wn_hit *first = malloc((size_t)depth * sizeof *first), *rr = malloc((size_t)depth * sizeof *rr);
    if (!first || !rr) rc = cli_error("search: out of memory");
    for (int qi = 0; qi < a.nq && !rc; qi++)
        if ((st = search_one(s, &a, qi, depth, first, rr)) != WN_OK) rc = cli_lib_error("search", st);
    free(first);
    free(rr);
    free(a.queries);
    wn_searcher_free(s);
    return rc;
}
