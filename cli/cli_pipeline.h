/* cli_pipeline.h - options shared by winnow search and winnow eval (the pipeline's
 * stages and models), and text snippets. */
#ifndef WN_CLI_PIPELINE_H
#define WN_CLI_PIPELINE_H

#include "cli.h"

typedef struct {
    const char *index;
    int first_stage_set;
    wn_pipeline_params p;
} cli_pipeline_opts;

void cli_pipeline_opts_init(cli_pipeline_opts *o);
/* Parses argv[i] (and its value) if it is a pipeline option: returns the number of
 * arguments used (0: not one of ours, -1: bad value, message printed). */
int cli_pipeline_opt(const char *cmd, int argc, char **argv, int i, cli_pipeline_opts *o);
/* Opens the searcher; without --first-stage, bm25 when the index has it, else dense. */
wn_status cli_pipeline_open(cli_pipeline_opts *o, wn_searcher **out);
/* title + text as one line of at most cap - 1 bytes (UTF-8 safe, "..." when cut). */
void cli_snippet(const char *title, const char *text, char *out, size_t cap);

#endif
