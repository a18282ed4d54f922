/* faults.h - the tests' failing allocator (SQLite's fault simulation): install it
 * with wn_set_allocator, arm it to fail its n-th call, run the scenario, and check
 * the status and that no block is left live. Calls (malloc and realloc) are counted
 * from 1; a run that made fewer calls than n (fault_reached false) ran through.
 * A header of static inline functions, not a .c file: every .c file in tests/ that is not
 * test_*.c is linked into every test binary.
 *
 *     fault_alloc f = {0};
 *     wn_allocator al = fault_allocator(&f, 1);
 *     for (long n = 1;; n++) {
 *         wn_set_allocator(&al);
 *         fault_arm(&f, n);
 *         st = scenario();
 *         wn_set_allocator(NULL);
 *         CHECK(fault_live(&f) == 0, ...);
 *         if (!fault_reached(&f)) break;
 *     } */
#ifndef WN_TEST_FAULTS_H
#define WN_TEST_FAULTS_H
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "winnow.h"

typedef struct {
    atomic_long calls;   /* malloc + realloc calls since fault_arm */
    atomic_long fail_at; /* the call (from 1) that returns NULL; 0: none fails */
    atomic_long live;    /* blocks allocated and not yet freed */
} fault_alloc;

/* Counts the call; true if it is the one to fail. Atomic: the library may allocate
 * from its worker threads. */
static inline int fault_fail_now(fault_alloc *f) {
    return atomic_fetch_add(&f->calls, 1) + 1 == atomic_load(&f->fail_at);
}

static inline void *fault_malloc(size_t n, void *ud) {
    fault_alloc *f = ud;
    if (fault_fail_now(f)) return NULL;
    void *p = malloc(n);
    if (p) atomic_fetch_add(&f->live, 1);
    return p;
}

static inline void *fault_realloc(void *p, size_t n, void *ud) {
    fault_alloc *f = ud;
    if (fault_fail_now(f)) return NULL;
    void *q = realloc(p, n);
    if (q && !p) atomic_fetch_add(&f->live, 1);
    return q;
}

static inline void fault_free(void *p, void *ud) {
    fault_alloc *f = ud;
    if (p) atomic_fetch_sub(&f->live, 1);
    free(p);
}

/* with_realloc 0: the library grows blocks by malloc + copy + free (counted as such). */
static inline wn_allocator fault_allocator(fault_alloc *f, int with_realloc) {
    wn_allocator a = {fault_malloc, with_realloc ? fault_realloc : NULL, fault_free, f};
    return a;
}

/* Fail the n-th call from now on (n >= 1; 0 fails none); resets the counters. */
static inline void fault_arm(fault_alloc *f, long n) {
    atomic_store(&f->calls, 0);
    atomic_store(&f->live, 0);
    atomic_store(&f->fail_at, n);
}

static inline long fault_calls(fault_alloc *f) { return atomic_load(&f->calls); }
static inline long fault_live(fault_alloc *f) { return atomic_load(&f->live); }

/* Whether the armed call was made (and failed): false means the run went through. */
static inline int fault_reached(fault_alloc *f) {
    long at = atomic_load(&f->fail_at);
    return at > 0 && atomic_load(&f->calls) >= at;
}

/* Leaves a message from a failed call on this thread ("index: dimension 0 ..."), so
 * that a check of a later failure's message cannot pass on a stale one. */
static inline void fault_plant_stale_message(void) {
    wn_index *ix = NULL;
    (void)wn_index_create(WN_INDEX_FLAT, 0, WN_METRIC_L2, NULL, &ix);
}
/* A failure's message is its own (set, not the planted one) and, for out of memory,
 * says so: what a failure injected on a worker thread must still report. */
static inline int fault_message_ok(wn_status st) {
    const char *m = wn_last_error();
    return st != WN_OK && m[0] && !strstr(m, "dimension 0 is outside") && (st != WN_ERR_NOMEM || strstr(m, "memory"));
}

#endif
