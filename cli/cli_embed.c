/* cli_embed.c - winnow embed --model M [--batch N] [--threads N]
 * [--precision fp32|bf16|int8] [--prompt-name NAME | --prompt TEXT]
 * [--dimensions N] [FILE]: one JSON line {"embedding":[...]} per input line, in
 * input order, streamed in chunks of lines. A prompt is put before every text
 * (sentence-transformers' prompts; the model's default_prompt_name when neither
 * option is given); --dimensions keeps the first N numbers and normalises again
 * (Matryoshka). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_model.h"

#define CHUNK 2048

static void embed_usage(FILE *f) {
    fprintf(f,
            "usage: winnow embed --model M [--batch N] [--threads N] [--precision fp32|bf16|int8]\n"
            "                    [--prompt-name NAME | --prompt TEXT] [--dimensions N] [FILE]\n"
            "  --model M       a bi-encoder: a model directory, a bundled name (winnow-small-embed)\n"
            "                  or a hub id (owner/name)\n"
            "  --batch N       sequences per forward pass (default 32)\n"
            "  --threads N     threads (default: all CPUs)\n"
            "  --precision P   fp32 (default), bf16 or int8 weights where the kernels support it\n"
            "  --prompt-name NAME  put the model's prompt NAME (config_sentence_transformers.json,\n"
            "                  e.g. query, passage) before every text; default: its default_prompt_name\n"
            "  --prompt TEXT   put TEXT before every text (\"\" for none)\n"
            "  --dimensions N  keep the first N numbers of each embedding, normalised again (Matryoshka)\n"
            "  FILE            one text per line (default: stdin); invalid UTF-8 is replaced,\n"
            "                  an empty line is valid, long lines are truncated to the model's limit\n"
            "Prints one line {\"embedding\":[...]} per input line (%%.9g floats).\n");
}

/* lines[i] = prompt + lines[i], in buf (grown); 0 on out of memory */
static int add_prompt(cli_chunk *c, const char *prompt, char **buf, size_t *cap) {
    size_t pl = strlen(prompt), need = 0;
    for (int i = 0; i < c->n; i++) need += pl + strlen(c->lines[i]) + 1;
    if (need > *cap) {
        char *nb = realloc(*buf, need);
        if (!nb) return 0;
        *buf = nb, *cap = need;
    }
    char *p = *buf;
    for (int i = 0; i < c->n; i++) {
        size_t n = strlen(c->lines[i]);
        memcpy(p, prompt, pl);
        memcpy(p + pl, c->lines[i], n + 1);
        c->lines[i] = p;
        p += pl + n + 1;
    }
    return 1;
}

/* The prompt to put before each text: --prompt as given, --prompt-name looked up,
 * else the model's default prompt (sentence-transformers' encode()). 0 or 2 (said). */
static int pick_prompt(const wn_model *m, const char *model, const char *prompt_name, const char **prompt) {
    if (prompt_name && *prompt) return cli_error("embed: --prompt-name and --prompt are exclusive");
    if (!prompt_name) {
        if (!*prompt) *prompt = wn_model_prompt(m, NULL);
        return 0;
    }
    if ((*prompt = wn_model_prompt(m, prompt_name))) return 0;
    int n;
    const char *const *names = wn_model_prompt_names(m, &n);
    char list[512] = "";
    for (int i = 0; i < n && strlen(list) < 400; i++) {
        strcat(list, i ? ", " : "");
        strncat(list, names[i], 64);
    }
    return cli_error("embed: %s has no prompt named '%s' (%s)", model, prompt_name, n ? list : "it has no prompts");
}

int cmd_embed(int argc, char **argv) {
    cli_model_opts o = {0};
    const char *prompt_name = NULL, *prompt = NULL;
    long dims = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            embed_usage(stdout);
            return 0;
        }
        if (!strcmp(argv[i], "--prompt-name") && i + 1 < argc) {
            prompt_name = argv[++i];
            continue;
        }
        if (!strcmp(argv[i], "--prompt") && i + 1 < argc) {
            prompt = argv[++i];
            continue;
        }
        if (!strcmp(argv[i], "--dimensions") && i + 1 < argc) {
            if (!cli_parse_int("--dimensions", argv[++i], 1, 1 << 20, &dims)) return 2;
            continue;
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
    const int full = wn_model_dim(m);
    int dim = full;
    char *pbuf = NULL;
    size_t pcap = 0;
    rc = pick_prompt(m, o.model, prompt_name, &prompt);
    if (!rc && dims) {
        if (dims > full) rc = cli_error("embed: --dimensions %ld, the model's embeddings have %d", dims, full);
        else dim = (int)dims;
    }
    float *out = malloc((size_t)CHUNK * full * sizeof *out);
    cli_chunk c;
    memset(&c, 0, sizeof c);
    int r;
    if (!out || !cli_chunk_init(&c, in, o.file ? o.file : "stdin", CHUNK)) rc = rc ? rc : cli_error("embed: out of memory");
    while (!rc && (r = cli_chunk_next(&c, "embed")) != 0) {
        if (r < 0) {
            rc = 1;
            break;
        }
        if (prompt && *prompt && !add_prompt(&c, prompt, &pbuf, &pcap)) {
            rc = cli_error("embed: out of memory");
            break;
        }
        if ((st = wn_model_embed(m, c.n, (const char *const *)c.lines, out)) != WN_OK ||
            (dim < full && (st = wn_embed_truncate(out, c.n, full, dim)) != WN_OK)) {
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
    free(pbuf);
    free(out);
    cli_close_input(in);
    wn_model_free(m);
    return rc;
}
