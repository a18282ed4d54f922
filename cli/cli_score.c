/* cli_score.c - winnow score --model M [--batch N] [--threads N]
 * [--activation sigmoid] [FILE]: reads query<TAB>document lines and prints one
 * JSON line {"score": s} per line (the raw logit unless --activation sigmoid;
 * "scores":[...] for a model with several labels), in input order, streamed. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_model.h"

#define CHUNK 2048

static void score_usage(FILE *f) {
    fprintf(f,
            "usage: winnow score --model M [--batch N] [--threads N] [--activation sigmoid] [FILE]\n"
            "  --model M              a cross-encoder: a model directory, a bundled name or a hub id (owner/name)\n"
            "  --batch N              pairs per forward pass (default 32)\n"
            "  --threads N            threads (default: all CPUs)\n"
            "  --precision P          fp32 (default), bf16 or int8\n"
            "  --activation sigmoid   print 1/(1+exp(-logit)) instead of the raw logit\n"
            "  FILE                   query<TAB>document lines (default: stdin)\n"
            "Prints one line {\"score\": s} per input line ({\"scores\": [...]} for several labels).\n");
}

int cmd_score(int argc, char **argv) {
    cli_model_opts o = {0};
    int sigmoid = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            score_usage(stdout);
            return 0;
        }
        int k = cli_model_opt("score", argc, argv, i, &o);
        if (k < 0) return 2;
        if (k > 0) {
            i += k - 1;
        } else if (!strcmp(argv[i], "--activation") && i + 1 < argc) {
            if (strcmp(argv[++i], "sigmoid")) {
                cli_error("score: --activation must be sigmoid, got '%s'", argv[i]);
                return 2;
            }
            sigmoid = 1;
        } else if (cli_model_arg("score", argv[i], &o, score_usage)) {
            return 2;
        }
    }
    wn_model *m;
    FILE *in;
    int rc = cli_model_open("score", &o, WN_MODEL_CROSSENCODER, "is a bi-encoder (it embeds texts): use winnow embed", score_usage, &m, &in);
    if (rc) return rc;
    wn_status st;
    const int nl = wn_model_num_labels(m);
    const char *name = o.file ? o.file : "stdin";
    float *out = malloc((size_t)CHUNK * nl * sizeof *out);
    const char **docs = malloc((size_t)CHUNK * sizeof *docs);
    cli_chunk c;
    int r;
    if (!out || !docs || !cli_chunk_init(&c, in, name, CHUNK)) rc = cli_error("score: out of memory");
    while (!rc && (r = cli_chunk_next(&c, "score")) != 0) {
        if (r < 0) {
            rc = 1;
            break;
        }
        for (int i = 0; i < c.n; i++) {
            char *tab = strchr(c.lines[i], '\t');
            if (!tab) {
                rc = cli_error("score: %s:%llu: no TAB in the line; each line is query<TAB>document", name,
                               c.lineno - (unsigned long long)(c.n - 1 - i));
                break;
            }
            *tab = 0;
            docs[i] = tab + 1;
        }
        if (rc) break;
        if ((st = wn_model_score(m, c.n, (const char *const *)c.lines, docs, out)) != WN_OK) {
            rc = cli_lib_error("score", st);
            break;
        }
        for (int i = 0; i < c.n; i++) {
            float *s = out + (size_t)i * nl;
            if (sigmoid)
                for (int j = 0; j < nl; j++) s[j] = (float)(1.0 / (1.0 + exp(-(double)s[j])));
            if (nl == 1) {
                printf("{\"score\": %.9g}\n", (double)s[0]);
            } else {
                fputs("{\"scores\": ", stdout);
                cli_print_floats(stdout, s, nl);
                fputs("}\n", stdout);
            }
        }
    }
    if (!rc && (fflush(stdout) != 0 || ferror(stdout))) rc = cli_error("score: error writing the output");
    cli_chunk_free(&c);
    free(out);
    free(docs);
    cli_close_input(in);
    wn_model_free(m);
    return rc;
}
