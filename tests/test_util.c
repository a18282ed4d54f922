/* test_util.c - floor 0: allocator hook, atomic files, line reader, UTF-8, pool. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "util/util.h"

static size_t n_alloc, n_free;
static void *my_malloc(size_t n, void *ud) { (void)ud; n_alloc++; return malloc(n); }
static void my_free(void *p, void *ud) { (void)ud; n_free++; free(p); }

typedef struct { atomic_int hits[8]; } pool_arg;
static void pool_fn(void *a, int ith, int nth) {
    pool_arg *pa = a;
    (void)nth;
    atomic_fetch_add(&pa->hits[ith], 1);
}

int main(void) {
    /* allocator hook: every block goes through it, realloc emulated */
    wn_allocator al = {my_malloc, NULL, my_free, NULL};
    wn_set_allocator(&al);
    char *s = wn_strdup("hello");
    s = wn_realloc(s, 100);
    CHECK(s && !strcmp(s, "hello"), "realloc lost data");
    wn_free(s);
    void *a = wn_malloc_aligned(1000);
    CHECK(((uintptr_t)a & 63) == 0, "not 64-byte aligned");
    wn_free_aligned(a);
    CHECK(n_alloc == n_free && n_alloc >= 3, "alloc %zu free %zu", n_alloc, n_free);
    wn_set_allocator(NULL);

    /* error message */
    CHECK(wn_seterr(WN_ERR_FORMAT, "x=%d", 5) == WN_ERR_FORMAT, "status");
    CHECK(!strcmp(wn_last_error(), "x=5"), "message '%s'", wn_last_error());

    /* atomic file: abort leaves nothing, commit replaces */
    char dir[] = "/tmp/wn_test_util_XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    char *path = wn_path_join(dir, "f.bin");
    wn_atomic_file af;
    CHECK(wn_atomic_open(&af, path) == WN_OK, "open");
    wn_atomic_write(&af, "abc", 3);
    wn_atomic_abort(&af);
    CHECK(!wn_file_exists(path), "aborted file exists");
    CHECK(wn_atomic_open(&af, path) == WN_OK, "open");
    wn_atomic_write(&af, "abc", 3);
    wn_atomic_pad(&af, 64);
    CHECK(wn_atomic_commit(&af) == WN_OK, "commit: %s", wn_last_error());
    char *data;
    size_t len;
    CHECK(wn_read_file(path, &data, &len) == WN_OK && len == 64 && !memcmp(data, "abc", 3), "content");
    wn_free(data);
    CHECK(wn_read_file("/nonexistent/x", &data, &len) == WN_ERR_NOTFOUND, "missing file status");
    CHECK(strstr(wn_last_error(), "/nonexistent/x") != NULL, "error names the file: %s", wn_last_error());
    unlink(path);
    rmdir(dir);
    wn_free(path);

    /* line reader: CRLF, no final newline, long lines */
    FILE *f = tmpfile();
    fputs("a\r\nbb\n\n", f);
    for (int i = 0; i < 100000; i++) fputc('x', f);
    rewind(f);
    wn_line_reader r;
    wn_lines_init(&r, f);
    CHECK(wn_lines_next(&r) == 1 && !strcmp(r.buf, "a"), "line 1");
    CHECK(wn_lines_next(&r) == 1 && !strcmp(r.buf, "bb"), "line 2");
    CHECK(wn_lines_next(&r) == 1 && r.len == 0, "empty line");
    CHECK(wn_lines_next(&r) == 1 && r.len == 100000 && r.lineno == 4, "long line");
    CHECK(wn_lines_next(&r) == 0, "eof");
    wn_lines_free(&r);
    fclose(f);

    /* UTF-8: valid kept, invalid replaced, overlong and surrogates rejected */
    size_t ol;
    char *u = wn_utf8_sanitize("h\xc3\xa9llo \xff x \xed\xa0\x80 \xc0\xaf", 18, &ol);
    CHECK(u && !strcmp(u, "h\xc3\xa9llo \xef\xbf\xbd x \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd"),
          "sanitize gave '%s'", u ? u : "(null)");
    wn_free(u);

    /* pool: every thread index runs once per task */
    for (int n = 1; n <= 4; n++) {
        wn_pool *p;
        CHECK(wn_pool_create(n, &p) == WN_OK, "pool");
        pool_arg pa;
        memset(&pa, 0, sizeof pa);
        for (int rep = 0; rep < 100; rep++) wn_pool_run(p, pool_fn, &pa);
        for (int i = 0; i < n; i++) CHECK(atomic_load(&pa.hits[i]) == 100, "thread %d of %d ran %d", i, n, atomic_load(&pa.hits[i]));
        wn_pool_free(p);
    }
    CHECK(wn_cpu_isa() <= WN_ISA_NEON, "isa");
    return check_done();
}
