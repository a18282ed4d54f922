/* cli_pipeline.c - the options of the two-stage pipeline shared by search and eval. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_pipeline.h"

void cli_pipeline_opts_init(cli_pipeline_opts *o) {
    memset(o, 0, sizeof *o);
    o->p = wn_pipeline_default_params();
    o->p.model_params.hub.models_dir = cli_models_dir();
}

int cli_pipeline_opt(const char *cmd, int argc, char **argv, int i, cli_pipeline_opts *o) {
    const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
    static const char *with_value[] = {"--index", "--first-stage", "--fusion", "--rrf-k", "--dense-weight",
                                       "--dense", "--rerank", "--interpolate", "--threads", "--depth",
                                       "--query-prompt-name", "--query-prompt", "--dimensions"};
    int ours = 0;
    for (size_t j = 0; j < sizeof with_value / sizeof with_value[0]; j++) ours |= !strcmp(a, with_value[j]);
    if (!ours) return 0;
    if (!val) {
        cli_error("%s: %s needs a value", cmd, a);
        return -1;
    }
    long v;
    char *end;
    if (!strcmp(a, "--index")) o->index = val;
    else if (!strcmp(a, "--dense")) o->p.dense_model = val;
    else if (!strcmp(a, "--rerank")) o->p.rerank_model = val;
    else if (!strcmp(a, "--query-prompt-name")) o->p.query_prompt_name = val;
    else if (!strcmp(a, "--query-prompt")) o->p.query_prompt = val;
    else if (!strcmp(a, "--dimensions")) {
        if (!cli_parse_int(a, val, 1, 1 << 20, &v)) return -1;
        o->p.dimensions = (int)v;
    }
    else if (!strcmp(a, "--first-stage")) {
        if (wn_first_stage_parse(val, &o->p.first_stage) != WN_OK) {
            cli_error("%s: --first-stage must be bm25, dense or hybrid, not '%s'", cmd, val);
            return -1;
        }
        o->first_stage_set = 1;
    } else if (!strcmp(a, "--fusion")) {
        if (!strcmp(val, "rrf")) o->p.fusion = WN_FUSE_RRF;
        else if (!strcmp(val, "minmax")) o->p.fusion = WN_FUSE_MINMAX;
        else if (!strcmp(val, "zscore")) o->p.fusion = WN_FUSE_ZSCORE;
        else {
            cli_error("%s: --fusion must be rrf, minmax or zscore, not '%s'", cmd, val);
            return -1;
        }
    } else if (!strcmp(a, "--rrf-k")) {
        if (!cli_parse_int(a, val, 0, 1000000, &v)) return -1;
        o->p.rrf_k = (int)v;
    } else if (!strcmp(a, "--depth")) {
        if (!cli_parse_int(a, val, 1, 1000000, &v)) return -1;
        o->p.depth = (int)v;
    } else if (!strcmp(a, "--threads")) {
        if (!cli_parse_int(a, val, 1, 1024, &v)) return -1;
        o->p.model_params.n_threads = (int)v;
    } else { /* --dense-weight, --interpolate */
        double d = strtod(val, &end);
        if (end == val || *end || !(d >= 0 && d <= 1)) {
            cli_error("%s: %s must be a number from 0 to 1, not '%s'", cmd, a, val);
            return -1;
        }
        if (!strcmp(a, "--dense-weight")) o->p.dense_weight = (float)d;
        else o->p.interpolate = (float)d;
    }
    return 2;
}

wn_status cli_pipeline_open(cli_pipeline_opts *o, wn_searcher **out) {
    if (!o->first_stage_set) {
        char *p = malloc(strlen(o->index) + 16);
        if (p) {
            sprintf(p, "%s/bm25.idx", o->index);
            o->p.first_stage = access(p, R_OK) == 0 ? WN_FIRST_BM25 : WN_FIRST_DENSE;
            sprintf(p, "%s/docs.sqlite", o->index);
            if (access(p, R_OK) != 0) o->p.first_stage = WN_FIRST_BM25; /* let open name the problem */
            free(p);
        }
    }
    return wn_searcher_open(o->index, &o->p, out);
}

void cli_snippet(const char *title, const char *text, char *out, size_t cap) {
    size_t n = 0;
    int cut = 0;
    const char *parts[2] = {title, text};
    for (int k = 0; k < 2 && !cut; k++) {
        const char *s = parts[k];
        if (!s || !*s) continue;
        if (n && n + 3 < cap) {
            out[n++] = ' ';
            out[n++] = '|';
            out[n++] = ' ';
        }
        for (; *s; s++) {
            if (n + 4 >= cap) {
                cut = 1;
                break;
            }
            char c = *s;
            if (c == '\n' || c == '\r' || c == '\t') c = ' ';
            if (c == ' ' && n && out[n - 1] == ' ') continue;
            out[n++] = c;
        }
    }
    if (cut) {
        while (n && ((unsigned char)out[n - 1] & 0xC0) == 0x80) n--; /* continuation bytes */
        if (n && ((unsigned char)out[n - 1] & 0xC0) == 0xC0) n--;    /* a dangling lead byte */
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = 0;
}
