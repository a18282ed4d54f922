/* test_model_reserve.c - wn_model_params.reserve_tokens (what the server sets): a
 * reserved model sizes its activations and batch buffers once, at load, and never
 * grows them, whatever mix of short and maximal inputs, batch sizes and thread splits
 * follows; its outputs are those of an unreserved model (which does grow: the counter
 * is live). While a reserved model runs, no single allocation through the hook is
 * larger than a small bound: the per-call allocations are small and short-lived.
 * Models: the tiny fixtures (tests/fixtures/model, 128 tokens at most). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "model/model.h"

#define FIX_DIR "tests/fixtures/model"

/* the allocation hook: the largest single request while `watch` is set */
static size_t largest;
static int watch;
static void *h_malloc(size_t n, void *ud) {
    (void)ud;
    if (watch && n > largest) largest = n;
    return malloc(n);
}
static void *h_realloc(void *p, size_t n, void *ud) {
    (void)ud;
    if (watch && n > largest) largest = n;
    return realloc(p, n);
}
static void h_free(void *p, void *ud) {
    (void)ud;
    free(p);
}

static wn_model *load(const char *dir, int threads, int reserve) {
    wn_model_params p = wn_model_default_params();
    p.n_threads = threads;
    p.max_batch = 16;
    p.reserve_tokens = reserve;
    wn_model *m = NULL;
    wn_status st = wn_model_load(dir, &p, &m);
    CHECK(st == WN_OK, "load %s (threads %d, reserve %d): %s", dir, threads, reserve, st ? wn_last_error() : "");
    return m;
}

/* text i of a round: from one word to far past the 128-token limit, in a scrambled order */
static char *text_of(int i, int round) {
    int words = 1 + (int)(((unsigned)i * 2654435761u + (unsigned)round * 40503u) % 7u == 0 ? 400 : (i * 37 + round * 11) % 90);
    char *t = malloc((size_t)words * 11 + 1), *o = t; /* "retrieval " is the longest word */
    for (int w = 0; w < words; w++) o += sprintf(o, "%s ", w % 3 ? "fox" : "retrieval");
    return t;
}

static int64_t part_allocs(const wn_model *m) {
    int64_t k = 0;
    for (int p = 0; m->part_ws && p < wn_pool_size(m->ws.pool); p++) k += m->part_ws[p].allocs;
    return k;
}

/* rounds of n inputs each (1 maximal, then mixes big enough to split and to pass
 * several text chunks) through ref (unreserved) and m (reserved) */
static void run_rounds(wn_model *ref, wn_model *m, int pairs, const char *what) {
    const int sizes[] = {1, 3, 40, 300, 16, 200};
    const size_t cap0 = m->ws.cap;
    const int64_t allocs0 = m->ws.allocs;
    const int dim = pairs ? wn_model_num_labels(m) : wn_model_dim(m);
    int split = 0;
    for (int r = 0; r < (int)(sizeof sizes / sizeof sizes[0]); r++) {
        const int n = sizes[r];
        char **a = malloc(sizeof *a * n), **b = malloc(sizeof *b * n);
        for (int i = 0; i < n; i++) a[i] = text_of(i, r), b[i] = text_of(i + 7, r + 1);
        if (n == 1) { /* the longest input there is */
            free(a[0]);
            a[0] = text_of(0, 0);
            a[0] = realloc(a[0], 5000);
            memset(a[0], 0, 5000);
            for (int w = 0; w < 400; w++) strcat(a[0], "retrieval ");
        }
        float *want = malloc(sizeof(float) * n * dim), *got = malloc(sizeof(float) * n * dim);
        wn_status st = pairs ? wn_model_score(ref, n, (const char *const *)a, (const char *const *)b, want)
                             : wn_model_embed(ref, n, (const char *const *)a, want);
        CHECK(st == WN_OK, "%s: unreserved run of %d: %s", what, n, st ? wn_last_error() : "");
        largest = 0, watch = 1;
        st = pairs ? wn_model_score(m, n, (const char *const *)a, (const char *const *)b, got)
                   : wn_model_embed(m, n, (const char *const *)a, got);
        watch = 0;
        CHECK(st == WN_OK, "%s: reserved run of %d: %s", what, n, st ? wn_last_error() : "");
        double worst = 0;
        for (size_t k = 0; k < (size_t)n * dim; k++) worst = fmax(worst, fabs((double)got[k] - want[k]));
        CHECK(worst <= 1e-5, "%s, %d inputs: reserved and unreserved outputs differ by %g", what, n, worst);
        /* the token rows of one text chunk are the largest per-call buffers: 64 x 128 x 4 */
        CHECK(largest <= 64 * 1024, "%s, %d inputs: an allocation of %zu bytes while running", what, n, largest);
        split |= m->part_ws != NULL;
        for (int i = 0; i < n; i++) free(a[i]), free(b[i]);
        free(a), free(b), free(want), free(got);
    }
    CHECK(m->ws.cap == cap0 && m->ws.allocs == allocs0, "%s: activations grew from %zu to %zu floats (%lld allocations)",
          what, cap0, m->ws.cap, (long long)(m->ws.allocs - allocs0));
    CHECK(part_allocs(m) == 0, "%s: the split parts allocated %lld blocks of their own", what, (long long)part_allocs(m));
    if (wn_pool_size(m->ws.pool) > 1) CHECK(split, "%s: no batch was split between the threads", what);
}

int main(void) {
    wn_allocator hook = {h_malloc, h_realloc, h_free, NULL};
    wn_set_allocator(&hook);
    const char *dirs[2] = {FIX_DIR "/tiny-bi", FIX_DIR "/tiny-ce"};
    for (int pairs = 0; pairs < 2; pairs++) {
        for (int threads = 1; threads <= 2; threads++) {
            wn_model *ref = load(dirs[pairs], threads, 0);
            /* 1: raised to one sequence of the longest length; 512: a quarter of 16 x 128;
             * 1 << 30: lowered to 16 x 128 */
            const int reserve[3] = {1, 512, 1 << 30};
            for (int k = 0; k < 3 && ref; k++) {
                wn_model *m = load(dirs[pairs], threads, reserve[k]);
                if (!m) continue;
                CHECK(m->tok_cap >= config_max_tokens(&m->cfg) && m->tok_cap <= WN_MAX(m->max_batch * m->max_len, config_max_tokens(&m->cfg)),
                      "reserve %d: a pass of %d tokens", reserve[k], m->tok_cap);
                CHECK(m->ws.scratch && m->ws.cap >= bert_scratch_floats(m, &m->ws, 1, config_max_tokens(&m->cfg)),
                      "reserve %d: %zu floats reserved", reserve[k], m->ws.cap);
                char what[96];
                snprintf(what, sizeof what, "%s, %d thread(s), reserve %d", pairs ? "tiny-ce" : "tiny-bi", threads, reserve[k]);
                run_rounds(ref, m, pairs, what);
                wn_model_free(m);
            }
            /* the counter is live: the unreserved model grew its activations */
            if (ref) CHECK(ref->ws.allocs + part_allocs(ref) > 1, "unreserved: %lld allocations", (long long)ref->ws.allocs);
            wn_model_free(ref);
        }
    }
    wn_model_params p = wn_model_default_params();
    p.reserve_tokens = -1;
    wn_model *bad = NULL;
    CHECK(wn_model_load(dirs[0], &p, &bad) == WN_ERR_ARG && !bad, "reserve_tokens -1 accepted");
    wn_set_allocator(NULL);
    return check_done();
}
