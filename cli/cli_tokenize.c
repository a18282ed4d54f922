/* cli_tokenize.c - winnow tokenize --model M [--pair] [--max-length N] [FILE]: one
 * JSON line {"ids":[...],"type_ids":[...]} per input line, special tokens included,
 * truncated to the model's limit (or N). With --pair each line is query<TAB>document. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void tokenize_usage(FILE *f) {
    fprintf(f,
            "usage: winnow tokenize --model M [--pair] [--max-length N] [FILE]\n"
            "  --model M        a model directory, a bundled name or a hub id (owner/name)\n"
            "  --pair           each line is query<TAB>document: [CLS] q [SEP] d [SEP]\n"
            "  --max-length N   truncate to N tokens, special tokens included\n"
            "                   (default: the model's limit, e.g. 256 for all-MiniLM-L6-v2)\n"
            "  FILE             input lines (default: stdin); an empty line gives [CLS] [SEP]\n"
            "Prints one line {\"ids\":[...],\"type_ids\":[...]} per input line.\n");
}

static void print_ints(FILE *out, const int32_t *v, int n) {
    fputc('[', out);
    for (int i = 0; i < n; i++) fprintf(out, i ? ",%d" : "%d", (int)v[i]);
    fputc(']', out);
}

/* 0 ok, 1 done (--help), 2 usage error (said). */
static int parse_args(int argc, char **argv, const char **model, const char **file, int *pair, long *max_len) {
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            tokenize_usage(stdout);
            return 1;
        } else if (!strcmp(argv[i], "--model") && i + 1 < argc) {
            *model = argv[++i];
        } else if (!strcmp(argv[i], "--pair")) {
            *pair = 1;
        } else if (!strcmp(argv[i], "--max-length") && i + 1 < argc) {
            if (!cli_parse_int("--max-length", argv[++i], 2, 1000000, max_len)) return 2;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            cli_error("tokenize: unknown option or missing value '%s'", argv[i]);
            tokenize_usage(stderr);
            return 2;
        } else if (!*file) {
            *file = argv[i];
        } else {
            cli_error("tokenize: one input file at a time ('%s' and '%s')", *file, argv[i]);
            return 2;
        }
    }
    if (!*model) {
        cli_error("tokenize: --model is required");
        tokenize_usage(stderr);
        return 2;
    }
    if (*pair && *max_len == 2) {
        cli_error("tokenize: --max-length 2 leaves no room for a pair's 3 special tokens");
        return 2;
    }
    return 0;
}

/* Each line of in (name) encoded and printed as JSON; ids and types hold cap. */
static int tokenize_lines(const wn_tokenizer *t, FILE *in, const char *name, int pair, long max_len, int32_t *ids,
                          int32_t *types, int cap) {
    /* getline, not util's line reader: the CLI sees winnow.h only */
    char *line = NULL;
    size_t lcap = 0;
    ssize_t len = 0;
    unsigned long long lineno = 0;
    int rc = 0;
    while (!rc && (len = getline(&line, &lcap, in)) >= 0) {
        lineno++;
        if (len && line[len - 1] == '\n') line[--len] = 0;
        if (len && line[len - 1] == '\r') line[--len] = 0;
        if ((size_t)len != strlen(line)) { /* the rest of the line would be lost to C strings */
            rc = cli_error("tokenize: %s:%llu: the line holds a NUL byte", name, lineno);
            break;
        }
        const char *a = line, *b = NULL;
        if (pair) {
            char *tab = strchr(line, '\t');
            if (!tab) {
                rc = cli_error("tokenize: %s:%llu: no TAB in the line; --pair reads query<TAB>document", name,
                               lineno);
                break;
            }
            *tab = 0;
            b = tab + 1;
        }
        int n;
        wn_status st = wn_tokenizer_encode(t, a, b, (int)max_len, ids, types, cap, &n);
        if (st != WN_OK) {
            rc = cli_lib_error("tokenize", st);
            break;
        }
        fputs("{\"ids\":", stdout);
        print_ints(stdout, ids, n);
        fputs(",\"type_ids\":", stdout);
        print_ints(stdout, types, n);
        fputs("}\n", stdout);
    }
    if (!rc && ferror(in)) rc = cli_error("tokenize: error reading %s: %s", name, strerror(errno));
    free(line);
    return rc;
}

int cmd_tokenize(int argc, char **argv) {
    const char *model = NULL, *file = NULL;
    int pair = 0;
    long max_len = 0;
    int rc = parse_args(argc, argv, &model, &file, &pair, &max_len);
    if (rc) return rc == 1 ? 0 : rc;
    wn_hub_params hp = wn_hub_default_params();
    cli_progress bar;
    cli_progress_init(&bar);
    hp.models_dir = cli_models_dir();
    hp.progress = cli_progress_cb;
    hp.progress_ud = &bar;
    char dir[4096];
    wn_status st = wn_hub_resolve(model, &hp, dir, sizeof dir);
    cli_progress_end(&bar);
    if (st != WN_OK) return cli_lib_error("tokenize", st);
    wn_tokenizer *t;
    if ((st = wn_tokenizer_load(dir, &t)) != WN_OK) return cli_lib_error("tokenize", st);
    FILE *in = cli_open_input(file);
    if (!in) {
        wn_tokenizer_free(t);
        return 1;
    }
    int cap = max_len > 0 ? (int)max_len : wn_tokenizer_max_length(t);
    int32_t *ids = malloc((size_t)cap * sizeof *ids), *types = malloc((size_t)cap * sizeof *types);
    if (!ids || !types) rc = cli_error("tokenize: out of memory");
    else rc = tokenize_lines(t, in, file ? file : "stdin", pair, max_len, ids, types, cap);
    if (!rc && (fflush(stdout) != 0 || ferror(stdout))) rc = cli_error("tokenize: error writing the output");
    free(ids);
    free(types);
    cli_close_input(in);
    wn_tokenizer_free(t);
    return rc;
}
