/* cli_search.c - winnow search (not built yet: see the issue that owns it). */
#include "cli.h"

int cmd_search(int argc, char **argv) {
    (void)argc;
    (void)argv;
    return cli_error("search: not built yet");
}
