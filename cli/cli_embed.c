/* cli_embed.c - winnow embed --model M [--batch N] [--threads N]
 * [--precision fp32|bf16|int8] [FILE]: one JSON line {"embedding":[...]} per
 * input line, in input order, streamed in chunks of lines. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_model.h"

#define CHUNK 2048

static void embed_usage(FILE *f) {
    fprintf(f,
            "usage: winnow embed --model M [--batch N] [--threads N] [--precision fp32|bf16|int8] [FILE]\n"
            "  --model M       a bi-encoder: a model directory or a hub id (owner/name)\n"
            "  --batch N       sequences per forward pass (default 32)\n"
            "  --threads N     threads (default: all CPUs)\n"
            "  --precision P   fp32 (default), bf16 or int8 weights where the kernels support it\n"
            "  FILE            one text per line (default: stdin); invalid UTF-8 is replaced,\n"
            "                  an empty line is valid, long lines are truncated to the model's limit\n"
            "Prints one line {\"embedding\":[...]} per input line (%%.9g floats).\n");
}

int cmd_embed(int argc, char **argv) {
    cli_model_opts o = {0};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            embed_usage(stdout);
            return 0;
        }
        int k = cli_model_opt("embed", argc, argv, i, &o);
        if (k < 0) return 2;
        if (k > 0) {
            i += k - 1;
        } else if (cli_model_arg("embed", argv[i], &o, embed_usage)) {
            return 2;
        }
    }
    wn_model *m;
    FILE *in;
    int rc = cli_model_open("embed", &o, WN_MODEL_BIENCODER, "is a cross-encoder (it scores query<TAB>document pairs): use winnow score", embed_usage, &m, &in);
    if (rc) return rc;
    wn_status st;
    const int dim = wn_model_dim(m);
    float *out = malloc((size_t)CHUNK * dim * sizeof *out);
    cli_chunk c;
    int r;
    if (!out || !cli_chunk_init(&c, in, o.file ? o.file : "stdin", CHUNK)) rc = cli_error("embed: out of memory");
    while (!rc && (r = cli_chunk_next(&c, "embed")) != 0) {
        if (r < 0) {
            rc = 1;
            break;
        }
        if ((st = wn_model_embed(m, c.n, (const char *const *)c.lines, out)) != WN_OK) {
            rc = cli_lib_error("embed", st);
            break;
        }
        for (int i = 0; i < c.n; i++) {
            fputs("{\"embedding\":", stdout);
            cli_print_floats(stdout, out + (size_t)i * dim, dim);
            fputs("}\n", stdout);
        }
    }
    if (!rc && (fflush(stdout) != 0 || ferror(stdout))) rc = cli_error("embed: error writing the output");
    cli_chunk_free(&c);
    free(out);
    cli_close_input(in);
    wn_model_free(m);
    return rc;
}
