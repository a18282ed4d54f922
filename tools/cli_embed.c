/* cli_embed.c - winnow embed (not built yet: see the issue that owns it). */
#include "cli.h"

int cmd_embed(int argc, char **argv) {
    (void)argc;
    (void)argv;
    return cli_error("embed: not built yet");
}
