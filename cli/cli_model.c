/* cli_model.c - shared by cli_embed.c and cli_score.c (see cli_model.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_model.h"

int cli_model_opt(const char *cmd, int argc, char **argv, int i, cli_model_opts *o) {
    const char *a = argv[i];
    int has = i + 1 < argc;
    if (!strcmp(a, "--model") && has) {
        o->model = argv[i + 1];
        return 2;
    }
    if (!strcmp(a, "--batch") && has) return cli_parse_int("--batch", argv[i + 1], 1, 4096, &o->batch) ? 2 : -1;
    if (!strcmp(a, "--threads") && has) return cli_parse_int("--threads", argv[i + 1], 1, 1024, &o->threads) ? 2 : -1;
    if (!strcmp(a, "--precision") && has) {
        const char *v = argv[i + 1];
        if (!strcmp(v, "fp32")) o->precision = WN_PREC_FP32;
        else if (!strcmp(v, "bf16")) o->precision = WN_PREC_BF16;
        else if (!strcmp(v, "int8")) o->precision = WN_PREC_INT8;
        else {
            cli_error("%s: --precision must be fp32, bf16 or int8, got '%s'", cmd, v);
            return -1;
        }
        return 2;
    }
    return 0;
}

wn_status cli_model_load(const cli_model_opts *o, wn_model **m) {
    wn_model_params p = wn_model_default_params();
    if (o->batch > 0) p.max_batch = (int)o->batch;
    if (o->threads > 0) p.n_threads = (int)o->threads;
    p.precision = o->precision;
    cli_progress bar;
    cli_progress_init(&bar);
    p.hub.models_dir = cli_models_dir();
    p.hub.progress = cli_progress_cb;
    p.hub.progress_ud = &bar;
    wn_status st = wn_model_load(o->model, &p, m);
    cli_progress_end(&bar);
    return st;
}

int cli_model_arg(const char *cmd, const char *arg, cli_model_opts *o, void (*usage)(FILE *)) {
    if (arg[0] == '-' && arg[1]) {
        cli_error("%s: unknown option or missing value '%s'", cmd, arg);
        usage(stderr);
        return 2;
    }
    if (o->file) {
        cli_error("%s: one input file at a time ('%s' and '%s')", cmd, o->file, arg);
        return 2;
    }
    o->file = arg;
    return 0;
}

int cli_model_open(const char *cmd, const cli_model_opts *o, wn_model_kind want, const char *wrong,
                   void (*usage)(FILE *), wn_model **m, FILE **in) {
    if (!o->model) {
        cli_error("%s: --model is required", cmd);
        usage(stderr);
        return 2;
    }
    wn_status st = cli_model_load(o, m);
    if (st != WN_OK) return cli_lib_error(cmd, st);
    if (wn_model_kind_of(*m) != want) {
        wn_model_free(*m);
        return cli_error("%s: %s %s", cmd, o->model, wrong);
    }
    *in = cli_open_input(o->file);
    if (!*in) {
        wn_model_free(*m);
        return 1;
    }
    return 0;
}

int cli_chunk_init(cli_chunk *c, FILE *in, const char *name, int cap) {
    memset(c, 0, sizeof *c);
    c->in = in;
    c->name = name;
    c->cap = cap;
    c->off = malloc((size_t)cap * sizeof *c->off);
    c->lines = malloc((size_t)cap * sizeof *c->lines);
    return c->off && c->lines;
}

void cli_chunk_free(cli_chunk *c) {
    free(c->buf);
    free(c->off);
    free(c->lines);
    memset(c, 0, sizeof *c);
}

int cli_chunk_next(cli_chunk *c, const char *cmd) {
    c->n = 0;
    c->buf_len = 0;
    /* getline, not util's line reader: the CLI sees winnow.h only */
    char *line = NULL;
    size_t lcap = 0;
    ssize_t len;
    errno = 0;
    while (c->n < c->cap && (len = getline(&line, &lcap, c->in)) >= 0) {
        c->lineno++;
        if (len && line[len - 1] == '\n') line[--len] = 0;
        if (len && line[len - 1] == '\r') line[--len] = 0;
        if ((size_t)len != strlen(line)) {
            free(line);
            cli_error("%s: %s:%llu: the line holds a NUL byte", cmd, c->name, c->lineno);
            return -1;
        }
        if (c->buf_len + (size_t)len + 1 > c->buf_cap) {
            size_t nc = (c->buf_cap ? c->buf_cap * 2 : 1 << 16);
            while (nc < c->buf_len + (size_t)len + 1) nc *= 2;
            char *nb = realloc(c->buf, nc);
            if (!nb) {
                free(line);
                cli_error("%s: out of memory reading %s", cmd, c->name);
                return -1;
            }
            c->buf = nb;
            c->buf_cap = nc;
        }
        memcpy(c->buf + c->buf_len, line, (size_t)len + 1);
        c->off[c->n++] = c->buf_len;
        c->buf_len += (size_t)len + 1;
    }
    int err = errno;
    free(line);
    if (ferror(c->in)) {
        cli_error("%s: error reading %s: %s", cmd, c->name, strerror(err));
        return -1;
    }
    for (int i = 0; i < c->n; i++) c->lines[i] = c->buf + c->off[i];
    return c->n > 0;
}
