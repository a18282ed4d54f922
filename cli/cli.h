/* cli.h - helpers shared by the winnow CLI's commands (cli/cli_*.c). The CLI is
 * a thin layer over include/winnow.h: it parses arguments, reads input, prints. */
#ifndef WN_CLI_H
#define WN_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "winnow.h"

/* Every command: int cmd_NAME(int argc, char **argv), argv[0] is the command name.
 * Returns the process exit code: 0 ok, 1 failure, 2 usage error. */
typedef int (*cli_cmd_fn)(int argc, char **argv);

/* Prints "winnow: <message>\n" to stderr. Returns 1 for `return cli_error(...)`. */
int cli_error(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
/* Prints "winnow <cmd>: <wn_last_error()>" for a failed library call; returns 1. */
int cli_lib_error(const char *cmd, wn_status st);

/* Opens FILE, or stdin for NULL or "-"; prints an error and returns NULL on failure. */
FILE *cli_open_input(const char *path);
void cli_close_input(FILE *f);

/* Prints n floats as a JSON array with %.9g (round-trips float32). */
void cli_print_floats(FILE *out, const float *v, int n);
/* Prints s as a JSON string (quotes and escapes included). */
void cli_print_json_string(FILE *out, const char *s);

/* Parses a positive int option value; returns 0 and prints an error on failure. */
int cli_parse_int(const char *opt, const char *s, long lo, long hi, long *out);

/* A progress bar drawn on stderr when it is a terminal, silent otherwise.
 * Usable directly as a wn_progress_fn with a cli_progress* as ud. */
typedef struct {
    int tty;
    double start, last;
    int drawn;
} cli_progress;
void cli_progress_init(cli_progress *p);
void cli_progress_cb(void *ud, const char *what, uint64_t done, uint64_t total);
void cli_progress_end(cli_progress *p);

/* winnow's own models beside this executable, for wn_hub_params.models_dir:
 * <exe dir>/../models (a source tree's build/winnow) and <exe dir>/../share/winnow/models
 * (an installed bin/winnow), those that exist, ':'-separated; NULL when neither does.
 * Found through /proc/self/exe, so the current directory does not matter. */
const char *cli_models_dir(void);

#endif
