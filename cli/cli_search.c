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
            "  --dense-weight W     hybrid weight of dense, BM25 gets 1-W (default 0.5)\n"
            "  --dense MODEL        query encoder (default: the one the index was built with)\n"
            "  --rerank MODEL       re-rank the candidates with this cross-encoder\n"
            "  --k-candidates N     candidates re-ranked (default 50)\n"
            "  --interpolate A      final = (1-A) minmax(cross-encoder) + A minmax(first stage)\n"
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

int cmd_search(int argc, char **argv) {
    cli_pipeline_opts o;
    cli_pipeline_opts_init(&o);
    int json = 0, shift = 0, k = 10, kc = 50, nq = 0;
    const char **queries = calloc((size_t)argc, sizeof *queries);
    if (!queries) return cli_error("search: out of memory");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        long v;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            search_usage(stdout);
            free(queries);
            return 0;
        }
        int used = cli_pipeline_opt("search", argc, argv, i, &o);
        if (used < 0) goto usage;
        if (used > 0) {
            i += used - 1;
            continue;
        }
        if (!strcmp(a, "--json")) json = 1;
        else if (!strcmp(a, "--shift")) shift = 1;
        else if (!strcmp(a, "--k") && val) {
            if (!cli_parse_int(a, val, 1, 100000, &v)) goto usage;
            k = (int)v;
            i++;
        } else if (!strcmp(a, "--k-candidates") && val) {
            if (!cli_parse_int(a, val, 1, 100000, &v)) goto usage;
            kc = (int)v;
            i++;
        } else if (a[0] == '-' && a[1] && strcmp(a, "--")) {
            cli_error("search: unknown option or missing value '%s'", a);
            goto usage;
        } else {
            if (!strcmp(a, "--")) i++;
            for (; i < argc; i++) queries[nq++] = argv[i];
        }
    }
    if (!o.index || !nq) {
        cli_error("search: --index and at least one QUERY are required");
        goto usage;
    }
    if (shift && !o.p.rerank_model) {
        cli_error("search: --shift needs --rerank MODEL");
        goto usage;
    }
    wn_searcher *s;
    wn_status st = cli_pipeline_open(&o, &s);
    if (st != WN_OK) {
        free(queries);
        return cli_lib_error("search", st);
    }
    wn_store *store = wn_searcher_store(s);
    int depth = o.p.rerank_model ? (kc > k ? kc : k) : k;
    wn_hit *first = malloc((size_t)depth * sizeof *first), *rr = malloc((size_t)depth * sizeof *rr);
    int rc = 0;
    const char *stage = wn_first_stage_name(o.p.first_stage);
    for (int qi = 0; qi < nq && !rc && first && rr; qi++) {
        int n;
        double t1 = 0, t2 = 0;
        if ((st = wn_searcher_first(s, queries[qi], depth, first, &n, &t1)) != WN_OK) {
            rc = cli_lib_error("search", st);
            break;
        }
        int m = n < kc ? n : kc;
        if (o.p.rerank_model && (st = wn_searcher_rerank(s, queries[qi], first, n, m, rr, &t2)) != WN_OK) {
            rc = cli_lib_error("search", st);
            break;
        }
        int show = n < k ? n : k;
        if (json) {
            fputs("{\"query\":", stdout);
            cli_print_json_string(stdout, queries[qi]);
            printf(",\"stages\":{\"%s\":", stage);
            print_hits_json(store, first, show, t1);
            if (o.p.rerank_model) {
                printf(",\"rerank\":");
                print_hits_json(store, rr, show, t2);
            }
            fputs("}}\n", stdout);
        } else if (shift) {
            print_shift(store, queries[qi], stage, first, rr, m < k ? m : k);
        } else {
            printf("query: %s\n", queries[qi]);
            print_hits_text(store, stage, first, show, t1, 0);
            if (o.p.rerank_model) print_hits_text(store, "rerank", rr, show, t2, 1);
            if (qi + 1 < nq) printf("\n");
        }
    }
    if (!first || !rr) rc = cli_error("search: out of memory");
    free(first);
    free(rr);
    free(queries);
    wn_searcher_close(s);
    return rc;
usage:
    search_usage(stderr);
    free(queries);
    return 2;
}
