/* cli_eval.c - winnow eval (not built yet: see the issue that owns it). */
#include "cli.h"

int cmd_eval(int argc, char **argv) {
    (void)argc;
    (void)argv;
    return cli_error("eval: not built yet");
}
