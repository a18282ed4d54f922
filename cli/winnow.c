/* winnow.c - the winnow command line: dispatches to cli/cli_<command>.c. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

int cmd_tokenize(int argc, char **argv);
int cmd_embed(int argc, char **argv);
int cmd_score(int argc, char **argv);
int cmd_download(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_ann(int argc, char **argv);
int cmd_index(int argc, char **argv);
int cmd_search(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_mine(int argc, char **argv);
int cmd_train_static(int argc, char **argv);
int cmd_serve(int argc, char **argv);

static const struct {
    const char *name;
    cli_cmd_fn fn;
    const char *help;
} commands[] = {
    {"demo", cmd_demo, "the seed notebook end to end: retrieve, re-rank, evaluate"},
    {"tokenize", cmd_tokenize, "token ids of each input line, as the model's tokenizer gives them"},
    {"embed", cmd_embed, "sentence embedding of each input line (bi-encoder)"},
    {"score", cmd_score, "relevance score of each query<TAB>document line (cross-encoder)"},
    {"download", cmd_download, "fetch a model from the hub into the cache"},
    {"index", cmd_index, "index a corpus (documents, BM25, dense vectors)"},
    {"search", cmd_search, "search an index, with optional re-ranking"},
    {"eval", cmd_eval, "evaluate first stage and re-ranking against relevance judgments"},
    {"ann", cmd_ann, "build and search vector indexes on .fvecs files"},
    {"train", cmd_train, "fine-tune a bi-encoder (MNRL) or a cross-encoder (BCE) on JSONL data"},
    {"mine", cmd_mine, "add hard negatives to training rows from an index's first stage"},
    {"train-static", cmd_train_static, "train a static embedding model on (query, positive) pairs"},
    {"serve", cmd_serve, "HTTP server: embeddings, re-ranking and search (TEI, OpenAI, Jina/Cohere APIs)"},
};

static void usage(FILE *f) {
    fprintf(f, "usage: winnow <command> [options]   (winnow <command> --help for its options)\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
    fprintf(f, "\nwinnow %s, %s kernels\n", wn_version(), wn_isa_name(wn_cpu_isa()));
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
        printf("winnow %s (%s kernels)\n", wn_version(), wn_isa_name(wn_cpu_isa()));
        printf("kernels: %s\n", wn_kernels_name());
        return 0;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "winnow: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
