/* fixture.h - committed fixtures that are stored compressed (the .xz files under tests/fixtures,
 * see tests/fixtures/README.md). The tests read them through xz (Debian xz-utils,
 * installed by scripts/deps.sh), so no decompression library is linked.
 *   fixture_open(path)          a stream of the file, decompressed when it ends in .xz
 *   fixture_close(f)            closes it; non-zero if xz failed
 *   fixture_unpack(src, dst)    copies directory src to a new directory dst, every .xz
 *                               file decompressed (its name without .xz)
 * A fixture that is committed must be there: its absence is a failure, never a skip. */
#ifndef WN_TEST_FIXTURE_H
#define WN_TEST_FIXTURE_H
#include <dirent.h>
#include <stdio.h>
#include <string.h>

#include "util/util.h"

static inline int fixture_is_xz(const char *path) {
    size_t n = strlen(path);
    return n > 3 && !strcmp(path + n - 3, ".xz");
}

/* NULL if the file is absent or xz cannot run. */
static inline FILE *fixture_open(const char *path) {
    if (!fixture_is_xz(path)) return fopen(path, "rb");
    if (!wn_file_exists(path)) return NULL;
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "xz -dc '%s'", path);
    return popen(cmd, "r");
}

static inline int fixture_close(FILE *f, const char *path) {
    if (!f) return -1;
    return fixture_is_xz(path) ? pclose(f) : fclose(f);
}

/* 0 on success; -1 with a line on stderr saying what is missing. */
static inline int fixture_unpack(const char *src, const char *dst) {
    DIR *d = opendir(src);
    if (!d) return fprintf(stderr, "fixture: %s is absent (it is committed: a broken checkout?)\n", src), -1;
    if (wn_mkdirs(dst, 0755) != WN_OK) return closedir(d), fprintf(stderr, "fixture: %s\n", wn_last_error()), -1;
    int rc = 0;
    for (struct dirent *e; rc == 0 && (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        char in[1024], out[1024];
        snprintf(in, sizeof in, "%s/%s", src, e->d_name);
        snprintf(out, sizeof out, "%s/%s", dst, e->d_name);
        if (fixture_is_xz(out)) out[strlen(out) - 3] = 0;
        FILE *f = fixture_open(in), *g = fopen(out, "wb");
        char buf[65536];
        size_t n;
        while (f && g && (n = fread(buf, 1, sizeof buf, f)) > 0)
            if (fwrite(buf, 1, n, g) != n) rc = -1;
        if (!f || !g || fixture_close(f, in) != 0) rc = -1;
        if (g && fclose(g) != 0) rc = -1;
        if (rc) fprintf(stderr, "fixture: cannot unpack %s into %s (is xz installed? scripts/deps.sh)\n", in, out);
    }
    closedir(d);
    return rc;
}
#endif
