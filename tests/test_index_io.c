/*
 * test_index_io.c - index files: save -> load (mmap) -> identical results for
 * every type, adds and deletes after a load (copy on write, file untouched), a
 * fixed seed gives a byte-identical HNSW file when built single-threaded, and
 * corrupt, truncated or foreign files are rejected with WN_ERR_FORMAT and a
 * message (every truncation length up to the header, random byte flips: a flip
 * that loads must be in padding and change nothing), never a crash.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <unistd.h>

#include "check.h"
#include "winnow.h"

enum { N = 1500, NQ = 40, D = 32, K = 10 };

static float *make_data(int n, unsigned seed) {
    float *x = malloc(sizeof(float) * n * D);
    for (int i = 0; i < n * D; i++) {
        seed = seed * 1664525u + 1013904223u;
        x[i] = (float)((seed >> 8) & 0xFFFF) / 65536.0f - 0.5f + (float)((i / D) % 7) * 0.1f;
    }
    return x;
}

static char *slurp(const char *path, long *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)*len + 1);
    if (fread(b, 1, (size_t)*len, f) != (size_t)*len) *len = -1;
    fclose(f);
    return b;
}
static void spill(const char *path, const char *b, long len) {
    FILE *f = fopen(path, "wb");
    fwrite(b, 1, (size_t)len, f);
    fclose(f);
}

static wn_index *build(wn_index_type t, wn_metric m, wn_storage st, int threads, const float *x) {
    wn_index_params p = wn_index_default_params();
    p.storage = st;
    p.n_threads = threads;
    p.m = 8;
    p.ef_construction = 64;
    p.nlist = 16;
    p.pq_m = 8;
    wn_index *ix = NULL;
    CHECK(wn_index_create(t, D, m, &p, &ix) == WN_OK, "%s", wn_last_error());
    CHECK(wn_index_add(ix, N, x, NULL) == WN_OK, "%s", wn_last_error());
    return ix;
}

static void search(const wn_index *ix, const float *q, float *dist, int64_t *ids) {
    wn_index_search_params sp = wn_index_search_default_params();
    sp.ef = 50;
    sp.nprobe = 4;
    CHECK(wn_index_search(ix, NQ, q, K, &sp, dist, ids) == WN_OK, "%s", wn_last_error());
}

int main(void) {
    char dir[64], path[128], path2[128];
    snprintf(dir, sizeof dir, "/tmp/wn_test_index_io.%d", (int)getpid());
    snprintf(path, sizeof path, "%s.wnix", dir);
    snprintf(path2, sizeof path2, "%s.bad.wnix", dir);
    float *x = make_data(N, 1), *q = make_data(NQ, 2);
    float d1[NQ * K], d2[NQ * K];
    int64_t i1[NQ * K], i2[NQ * K];
    for (int t = 0; t < 4; t++)
        for (int st = 0; st < 3; st++) {
            if (t == WN_INDEX_IVFPQ && st) continue;
            wn_metric m = (wn_metric)((t + st) % 3);
            wn_index *ix = build((wn_index_type)t, m, (wn_storage)st, 2, x);
            for (int64_t id = 0; id < N; id += 9) wn_index_remove(ix, id);
            search(ix, q, d1, i1);
            CHECK(wn_index_save(ix, path) == WN_OK, "save: %s", wn_last_error());
            wn_index *lx = NULL;
            CHECK(wn_index_load(path, &lx) == WN_OK, "load: %s", wn_last_error());
            if (!lx) continue;
            CHECK(wn_index_count(lx) == wn_index_count(ix) && wn_index_dim(lx) == D && wn_index_metric_of(lx) == m &&
                      wn_index_type_of(lx) == (wn_index_type)t,
                  "loaded header differs");
            search(lx, q, d2, i2);
            CHECK(!memcmp(i1, i2, sizeof i1) && !memcmp(d1, d2, sizeof d1), "%s/%s storage %d: results differ after load",
                  wn_index_type_name((wn_index_type)t), wn_metric_name(m), st);
            size_t mapped = 0;
            wn_index_memory(lx, &mapped);
            CHECK(mapped > 0, "loaded index maps nothing");
            /* changes after a load: copy on write, the file stays as it was */
            long len0, len1;
            char *before = slurp(path, &len0);
            CHECK(wn_index_remove(lx, 1) == WN_OK, "remove after load: %s", wn_last_error());
            int64_t nid = 100000;
            CHECK(wn_index_add(lx, 1, q, &nid) == WN_OK, "add after load: %s", wn_last_error());
            search(lx, q, d2, i2);
            CHECK(i2[0] == nid, "%s: added vector not found first (%lld)", wn_index_type_name((wn_index_type)t), (long long)i2[0]);
            for (int j = 0; j < NQ * K; j++) CHECK(i2[j] != 1, "removed id returned");
            char *after = slurp(path, &len1);
            CHECK(len0 == len1 && !memcmp(before, after, (size_t)len0), "the mapped file changed");
            free(before), free(after);
            wn_index_free(lx);
            wn_index_free(ix);
        }

    /* same seed, one thread: the same graph, byte for byte */
    {
        wn_index *a = build(WN_INDEX_HNSW, WN_METRIC_L2, WN_STORAGE_FP32, 1, x);
        wn_index *b = build(WN_INDEX_HNSW, WN_METRIC_L2, WN_STORAGE_FP32, 1, x);
        wn_index_save(a, path), wn_index_save(b, path2);
        long la, lb;
        char *fa = slurp(path, &la), *fb = slurp(path2, &lb);
        CHECK(la == lb && !memcmp(fa, fb, (size_t)la), "HNSW with a fixed seed built twice differs");
        free(fa), free(fb);
        wn_index_free(a), wn_index_free(b);
    }

    /* corrupt files: a small HNSW index, truncated everywhere in the header and at
     * many points after it, and with random bytes flipped */
    wn_index *ix = build(WN_INDEX_HNSW, WN_METRIC_L2, WN_STORAGE_FP32, 1, x);
    search(ix, q, d1, i1);
    wn_index_save(ix, path);
    wn_index_free(ix);
    long len;
    char *good = slurp(path, &len);
    wn_index *lx = NULL;
    for (long cut = 0; cut < len; cut += cut < 1200 ? 1 : 997) {
        spill(path2, good, cut);
        wn_status s = wn_index_load(path2, &lx);
        CHECK(s != WN_OK && lx == NULL, "truncated at %ld of %ld: loaded", cut, len);
        CHECK(s == WN_OK || strlen(wn_last_error()) > 10, "no message for truncation at %ld", cut);
    }
    char *bad = malloc((size_t)len);
    unsigned r = 12345;
    int rejected = 0;
    for (int trial = 0; trial < 300; trial++) {
        memcpy(bad, good, (size_t)len);
        r = r * 1103515245u + 12345u;
        long pos = trial < 128 ? trial : (long)(r % (unsigned)len);
        bad[pos] ^= (char)(1 + (r >> 24) % 255);
        spill(path2, bad, len);
        wn_status s = wn_index_load(path2, &lx);
        if (s == WN_OK) { /* padding only: must behave exactly like the original */
            search(lx, q, d2, i2);
            CHECK(!memcmp(i1, i2, sizeof i1) && !memcmp(d1, d2, sizeof d1), "flip at %ld loaded and changed results", pos);
            wn_index_free(lx);
        } else {
            rejected++;
            CHECK(s == WN_ERR_FORMAT, "flip at %ld: status %s", pos, wn_status_name(s));
        }
    }
    CHECK(rejected >= 128, "only %d of 300 flips rejected", rejected);
    memcpy(bad, good, (size_t)len);
    memcpy(bad, "WNBM", 4);
    spill(path2, bad, len);
    CHECK(wn_index_load(path2, &lx) == WN_ERR_FORMAT && strstr(wn_last_error(), "magic"), "magic: %s", wn_last_error());
    memcpy(bad, good, (size_t)len);
    bad[4] = 9;
    spill(path2, bad, len);
    CHECK(wn_index_load(path2, &lx) == WN_ERR_FORMAT && strstr(wn_last_error(), "version"), "version: %s", wn_last_error());
    CHECK(wn_index_load("/nonexistent/x.wnix", &lx) == WN_ERR_NOTFOUND, "missing file");
    /* the committed fuzz corpus of the reader (tests/fuzz/run.sh grows it): every input
     * loads and answers a search, or is refused with a message; the corpus must be there */
    DIR *fz = opendir("tests/fuzz/corpus/fuzz_index_load");
    CHECK(fz != NULL, "tests/fuzz/corpus/fuzz_index_load is absent (it is committed)");
    int n_fuzz = 0, n_loaded = 0;
    for (struct dirent *e; fz && (e = readdir(fz));) {
        if (e->d_name[0] == '.') continue;
        char fp[512];
        snprintf(fp, sizeof fp, "tests/fuzz/corpus/fuzz_index_load/%s", e->d_name);
        n_fuzz++;
        wn_status ls = wn_index_load(fp, &lx);
        if (ls == WN_OK) {
            n_loaded++;
            search(lx, q, d2, i2);
            wn_index_free(lx);
        } else {
            CHECK(*wn_last_error(), "%s refused (%s) without a message", fp, wn_status_name(ls));
        }
    }
    if (fz) closedir(fz);
    CHECK(n_fuzz >= 10, "only %d fuzz inputs replayed", n_fuzz);
    fprintf(stderr, "fuzz corpus: %d inputs, %d loaded\n", n_fuzz, n_loaded);
    free(bad), free(good);
    remove(path), remove(path2);
    free(x), free(q);
    return check_done();
}
