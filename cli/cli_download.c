/* cli_download.c - winnow download MODEL [--revision R] [--offline]: fetches a hub
 * model into the cache (or checks a local directory) and prints its local directory. */
#include <string.h>

#include "cli.h"

static void download_usage(FILE *f) {
    fprintf(f,
            "usage: winnow download MODEL [--revision R] [--offline]\n"
            "  MODEL          a local model directory, a bundled name or a hub id (owner/name)\n"
            "  --revision R   branch, tag or commit (default main)\n"
            "  --offline      use the cache only (as HF_HUB_OFFLINE=1)\n"
            "Prints the model's local directory. The files go to $WINNOW_CACHE (default\n"
            "~/.cache/winnow), fetched from $HF_ENDPOINT (default https://huggingface.co);\n"
            "HF_TOKEN, if set, is sent for private or gated models.\n");
}

int cmd_download(int argc, char **argv) {
    const char *model = NULL;
    wn_hub_params p = wn_hub_default_params();
    p.models_dir = cli_models_dir();
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            download_usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--revision") && i + 1 < argc) {
            p.revision = argv[++i];
        } else if (!strcmp(argv[i], "--offline")) {
            p.offline = 1;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            cli_error("download: unknown option '%s'", argv[i]);
            download_usage(stderr);
            return 2;
        } else if (!model) {
            model = argv[i];
        } else {
            cli_error("download: one model at a time ('%s' and '%s')", model, argv[i]);
            return 2;
        }
    }
    if (!model) {
        download_usage(stderr);
        return 2;
    }
    cli_progress bar;
    cli_progress_init(&bar);
    p.progress = cli_progress_cb;
    p.progress_ud = &bar;
    char dir[4096];
    wn_status st = wn_hub_resolve(model, &p, dir, sizeof dir);
    cli_progress_end(&bar);
    if (st != WN_OK) return cli_lib_error("download", st);
    printf("%s\n", dir);
    return 0;
}
