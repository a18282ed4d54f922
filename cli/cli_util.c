/* cli_util.c - argument, input and output helpers of the CLI. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

int cli_error(const char *fmt, ...) {
    va_list ap;
    fputs("winnow: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 1;
}

int cli_lib_error(const char *cmd, wn_status st) {
    const char *m = wn_last_error();
    fprintf(stderr, "winnow %s: %s\n", cmd, m && *m ? m : wn_status_name(st));
    return 1;
}

FILE *cli_open_input(const char *path) {
    if (!path || !strcmp(path, "-")) return stdin;
    FILE *f = fopen(path, "rb");
    if (!f) cli_error("cannot open %s: %s", path, strerror(errno));
    return f;
}

void cli_close_input(FILE *f) {
    if (f && f != stdin) fclose(f);
}

void cli_print_floats(FILE *out, const float *v, int n) {
    fputc('[', out);
    for (int i = 0; i < n; i++) fprintf(out, i ? ",%.9g" : "%.9g", (double)v[i]);
    fputc(']', out);
}

void cli_print_json_string(FILE *out, const char *s) {
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", out); break;
        case '\\': fputs("\\\\", out); break;
        case '\n': fputs("\\n", out); break;
        case '\r': fputs("\\r", out); break;
        case '\t': fputs("\\t", out); break;
        default:
            if (*p < 0x20) fprintf(out, "\\u%04x", *p);
            else fputc(*p, out);
        }
    }
    fputc('"', out);
}

int cli_parse_int(const char *opt, const char *s, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        cli_error("%s: expected a whole number from %ld to %ld, got '%s'", opt, lo, hi, s);
        return 0;
    }
    *out = v;
    return 1;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

void cli_progress_init(cli_progress *p) {
    memset(p, 0, sizeof *p);
    p->tty = isatty(STDERR_FILENO);
    p->start = now();
}

void cli_progress_cb(void *ud, const char *what, uint64_t done, uint64_t total) {
    cli_progress *p = ud;
    if (!p || !p->tty) return;
    double t = now();
    if (p->drawn && t - p->last < 0.1 && done != total) return;
    p->last = t;
    p->drawn = 1;
    double el = t - p->start;
    if (total) {
        int w = 30, fill = (int)((double)done / (double)total * w);
        if (fill > w) fill = w;
        char bar[31];
        for (int i = 0; i < w; i++) bar[i] = i < fill ? '#' : '.';
        bar[w] = 0;
        double rate = el > 0 ? (double)done / el : 0;
        double eta = rate > 0 ? (double)(total - done) / rate : 0;
        fprintf(stderr, "\r%-12.12s [%s] %5.1f%% %llu/%llu  %.0fs left ", what, bar, 100.0 * done / total,
                (unsigned long long)done, (unsigned long long)total, eta);
    } else {
        fprintf(stderr, "\r%-12.12s %llu  %.1fs ", what, (unsigned long long)done, el);
    }
    fflush(stderr);
}

void cli_progress_end(cli_progress *p) {
    if (p->tty && p->drawn) fputs("\r\033[K", stderr);
    p->drawn = 0;
}

const char *cli_models_dir(void) {
    static char list[2 * PATH_MAX + 2];
    static int done;
    if (done) return list[0] ? list : NULL;
    done = 1;
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return NULL;
    exe[n] = 0;
    char *slash = strrchr(exe, '/');
    if (!slash) return NULL;
    *slash = 0;
    const char *rel[] = {"/../models", "/../share/winnow/models"};
    for (int i = 0; i < 2; i++) {
        char cand[PATH_MAX + 32], real[PATH_MAX];
        struct stat st;
        snprintf(cand, sizeof cand, "%s%s", exe, rel[i]);
        if (!realpath(cand, real) || stat(real, &st) || !S_ISDIR(st.st_mode)) continue;
        size_t l = strlen(list), r = strlen(real);
        if (l + r + 2 > sizeof list) break;
        if (l) list[l++] = ':';
        memcpy(list + l, real, r + 1);
    }
    return list[0] ? list : NULL;
}
