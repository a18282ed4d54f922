/* cli_ann.c - winnow ann (not built yet: see the issue that owns it). */
#include "cli.h"

int cmd_ann(int argc, char **argv) {
    (void)argc;
    (void)argv;
    return cli_error("ann: not built yet");
}
