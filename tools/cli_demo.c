/* cli_demo.c - winnow demo (not built yet: see the issue that owns it). */
#include "cli.h"

int cmd_demo(int argc, char **argv) {
    (void)argc;
    (void)argv;
    return cli_error("demo: not built yet");
}
