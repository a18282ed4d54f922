/* cli_model.h - what `winnow embed` and `winnow score` share: their common
 * options (--model, --batch, --threads, --precision), loading the model, and
 * reading input in chunks of lines so memory stays constant on huge inputs. */
#ifndef WN_CLI_MODEL_H
#define WN_CLI_MODEL_H

#include <stdio.h>

#include "winnow.h"

typedef struct {
    const char *model, *file;
    long batch, threads;
    wn_precision precision;
} cli_model_opts;

/* Parses argv[i] (and its value) if it is a common option: returns the number of
 * arguments used (1 or 2), 0 if not a common option, -1 on a bad value (printed). */
int cli_model_opt(const char *cmd, int argc, char **argv, int i, cli_model_opts *o);
/* Loads o->model (directory or hub id), with a progress bar for downloads. */
wn_status cli_model_load(const cli_model_opts *o, wn_model **m);
/* argv[i] that is no common option: an unknown option (usage to stderr) or the one
 * input FILE into o->file. Returns 0, or 2 (printed) for a usage error. */
int cli_model_arg(const char *cmd, const char *arg, cli_model_opts *o, void (*usage)(FILE *));
/* After the arguments: --model is required; loads it, checks that it is of kind want
 * (else "CMD: MODEL <wrong>"), and opens the input (stdin without FILE). Returns 0 with
 * *m and *in to free and close, or the exit code (printed). */
int cli_model_open(const char *cmd, const cli_model_opts *o, wn_model_kind want, const char *wrong,
                   void (*usage)(FILE *), wn_model **m, FILE **in);

/* Up to cap lines of in; lines[] point into one buffer valid until the next call. */
typedef struct {
    FILE *in;
    const char *name;
    char *buf;
    size_t buf_cap, buf_len;
    size_t *off;
    char **lines;
    int cap, n;
    unsigned long long lineno; /* number of the last line read */
} cli_chunk;
int cli_chunk_init(cli_chunk *c, FILE *in, const char *name, int cap);
/* 1: c->n > 0 lines read, 0: end of input, -1: error (printed). */
int cli_chunk_next(cli_chunk *c, const char *cmd);
void cli_chunk_free(cli_chunk *c);

#endif
