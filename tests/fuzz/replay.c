/* replay.c - a main() for the fuzz harnesses (tests/fuzz/fuzz_*.c) without
 * libFuzzer: each argument is a directory (every file in it) or a file, fed once to
 * LLVMFuzzerTestOneInput; with no argument, the harness's committed corpus
 * (FUZZ_CORPUS, set by the Makefile: tests/fuzz/corpus/<harness>). A harness aborts when an invariant breaks; under ASan
 * (make check SANITIZE=1) memory errors abort too. Exits 1 when an argument cannot
 * be read or a directory is empty, so a missing corpus fails instead of passing.
 * Built per harness by the Makefile as build/tests/fuzz_replay_<harness>, one of the
 * tests `make check` runs. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return fprintf(stderr, "replay: cannot open %s\n", path), -1;
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    for (size_t r; buf && (r = fread(buf + n, 1, cap - n, f)) > 0;) {
        n += r;
        if (n == cap) {
            uint8_t *b2 = realloc(buf, cap *= 2);
            if (!b2) free(buf);
            buf = b2;
        }
    }
    fclose(f);
    if (!buf) return fprintf(stderr, "replay: out of memory on %s\n", path), -1;
    /* an exact-size copy, so that reads past the end are caught by ASan */
    uint8_t *exact = malloc(n ? n : 1);
    memcpy(exact, buf, n);
    free(buf);
    LLVMFuzzerTestOneInput(exact, n);
    free(exact);
    return 0;
}

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv) {
    int files = 0;
#ifdef FUZZ_CORPUS
    static char *dflt[] = {NULL, FUZZ_CORPUS, NULL};
    if (argc == 1) {
        dflt[0] = argv[0];
        argc = 2, argv = dflt;
    }
#endif
    for (int i = 1; i < argc; i++) {
        struct stat sb;
        if (stat(argv[i], &sb) != 0) return fprintf(stderr, "replay: %s does not exist\n", argv[i]), 1;
        if (!S_ISDIR(sb.st_mode)) {
            if (run_file(argv[i])) return 1;
            files++;
            continue;
        }
        DIR *d = opendir(argv[i]);
        if (!d) return fprintf(stderr, "replay: cannot open %s\n", argv[i]), 1;
        char **names = NULL;
        size_t n = 0;
        for (struct dirent *e; (e = readdir(d));) {
            if (e->d_name[0] == '.') continue;
            names = realloc(names, (n + 1) * sizeof *names);
            names[n++] = strdup(e->d_name);
        }
        closedir(d);
        qsort(names, n, sizeof *names, cmp);
        int here = 0;
        for (size_t k = 0; k < n; k++) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", argv[i], names[k]);
            if (run_file(path)) return 1;
            here++;
            free(names[k]);
        }
        free(names);
        if (!here) return fprintf(stderr, "replay: %s is empty\n", argv[i]), 1;
        files += here;
    }
    printf("replayed %d inputs\n", files);
    return 0;
}
