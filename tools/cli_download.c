/* cli_download.c - winnow download (not built yet: see the issue that owns it). */
#include "cli.h"

int cmd_download(int argc, char **argv) {
    (void)argc;
    (void)argv;
    return cli_error("download: not built yet");
}
