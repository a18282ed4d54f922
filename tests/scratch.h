/* scratch.h - the tests' scratch files: scratch_path (a file in $BUILD/tests),
 * write_file and scratch_copy (a header: every .c file in tests/ that is not test_*.c is
 * linked into every test binary). */
#ifndef WN_TEST_SCRATCH_H
#define WN_TEST_SCRATCH_H
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "util/util.h"

/* A scratch file in $BUILD/tests (run_tests.sh exports BUILD; default build), named
 * by the process id. */
static inline const char *scratch_path(char *buf, size_t cap, const char *name) {
    const char *b = getenv("BUILD");
    char dir[256];
    snprintf(dir, sizeof dir, "%s/tests", b && *b ? b : "build");
    wn_mkdirs(dir, 0755);
    snprintf(buf, cap, "%s/%ld_%s", dir, (long)getpid(), name); /* parallel runs share the tree */
    return buf;
}

/* Writes text to path (a fixture the test then reads back). */
static inline void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    fputs(text, f);
    fclose(f);
}

/* Copies the file from (a fixture) to to; 0, or -1 when either side failed. */
static inline int scratch_copy(const char *from, const char *to) {
    char *data = NULL;
    size_t len = 0;
    if (wn_read_file(from, &data, &len) != WN_OK) return -1;
    FILE *f = fopen(to, "wb");
    int ok = f && fwrite(data, 1, len, f) == len;
    if (f && fclose(f) != 0) ok = 0;
    wn_free(data);
    return ok ? 0 : -1;
}

#endif
