/* cli_index.c - winnow index (not built yet: see the issue that owns it). */
#include "cli.h"

int cmd_index(int argc, char **argv) {
    (void)argc;
    (void)argv;
    return cli_error("index: not built yet");
}
