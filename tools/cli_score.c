/* cli_score.c - winnow score (not built yet: see the issue that owns it). */
#include "cli.h"

int cmd_score(int argc, char **argv) {
    (void)argc;
    (void)argv;
    return cli_error("score: not built yet");
}
