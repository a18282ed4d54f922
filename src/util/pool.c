/*
 * pool.c - a fixed thread pool (ggml style): wn_pool_run hands the same task to
 * every thread with its (ith, nth) and returns when all are done. The caller's
 * thread is thread 0, so a pool of one thread starts no thread at all.
 * Workers spin briefly before sleeping: forward passes issue many short tasks.
 * The pool is public as wn_threads: a caller may create one and hand it to models,
 * indexes and searches. Runs from several threads are serialised (run_mu); a task
 * that itself runs work on the pool it is running on gets it done inline (nth = 1).
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

typedef struct {
    struct wn_threads *p;
    int ith;
} worker_arg;

struct wn_threads {
    int n;
    worker_arg *args; /* (n) owned by the pool: a worker frees nothing, so no block of
                         the pool changes hands after wn_threads_create returns */
    pthread_mutex_t run_mu; /* one wn_pool_run at a time: a caller's pool may be shared */
    pthread_t *threads;
    pthread_mutex_t mu;
    pthread_cond_t cv_work;
    pthread_cond_t cv_done;
    wn_task_fn fn;
    void *arg;
    atomic_uint gen;     /* bumped per task */
    atomic_int pending;  /* workers still running the current task */
    int stop;
};


/* Waiting: first pause-spin (a forward pass hands out tasks every ~100 us), then
 * yield the CPU for a while (when the machine is oversubscribed, the thread we
 * wait for may need this very core), then sleep on the condition variable. */
#define SPIN_PAUSES 4000
#define SPIN_YIELDS 400
static void spin_once(int i) {
    if (i < SPIN_PAUSES) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
    } else {
        sched_yield();
    }
}

/* The pool whose task this thread is running, if any (for nested runs). */
static _Thread_local const wn_pool *running;

static void *worker(void *a) {
    worker_arg wa = *(worker_arg *)a;
    wn_pool *p = wa.p;
    unsigned seen = 0;
    for (;;) {
        /* spin a little, then sleep */
        int spins = 0;
        while (atomic_load_explicit(&p->gen, memory_order_acquire) == seen && spins < SPIN_PAUSES + SPIN_YIELDS) {
            spin_once(spins++);
        }
        pthread_mutex_lock(&p->mu);
        while (atomic_load(&p->gen) == seen && !p->stop) pthread_cond_wait(&p->cv_work, &p->mu);
        if (p->stop) {
            pthread_mutex_unlock(&p->mu);
            return NULL;
        }
        seen = atomic_load(&p->gen);
        wn_task_fn fn = p->fn;
        void *arg = p->arg;
        pthread_mutex_unlock(&p->mu);
        running = p;
        fn(arg, wa.ith, p->n);
        running = NULL;
        if (atomic_fetch_sub_explicit(&p->pending, 1, memory_order_acq_rel) == 1) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->cv_done);
            pthread_mutex_unlock(&p->mu);
        }
    }
}

int wn_ncpu(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

wn_status wn_pool_create(int n, wn_pool **out) {
    *out = NULL;
    if (n <= 0) n = wn_ncpu();
    if (n > 256) n = 256;
    wn_pool *p = wn_calloc(1, sizeof *p);
    if (!p) return wn_seterr(WN_ERR_NOMEM, "out of memory creating a thread pool");
    p->n = n;
    pthread_mutex_init(&p->mu, NULL);
    pthread_mutex_init(&p->run_mu, NULL);
    pthread_cond_init(&p->cv_work, NULL);
    pthread_cond_init(&p->cv_done, NULL);
    if (n > 1) {
        p->threads = wn_calloc((size_t)n, sizeof(pthread_t));
        p->args = wn_calloc((size_t)n, sizeof(worker_arg));
        if (!p->threads || !p->args) {
            p->n = 1; /* no thread started */
            wn_pool_free(p);
            return wn_seterr(WN_ERR_NOMEM, "out of memory creating a thread pool");
        }
        for (int i = 1; i < n; i++) {
            p->args[i].p = p, p->args[i].ith = i;
            if (pthread_create(&p->threads[i], NULL, worker, &p->args[i]) != 0) {
                p->n = i; /* only threads 1..i-1 exist */
                wn_pool_free(p);
                return wn_seterr(WN_ERR_INTERNAL, "cannot start thread %d of %d", i, n);
            }
        }
    }
    *out = p;
    return WN_OK;
}

int wn_pool_size(const wn_pool *p) { return p ? p->n : 1; }

void wn_pool_run(wn_pool *p, wn_task_fn fn, void *arg) {
    if (!p || p->n == 1 || running == p) {
        fn(arg, 0, 1);
        return;
    }
    pthread_mutex_lock(&p->run_mu);
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->arg = arg;
    atomic_store(&p->pending, p->n - 1);
    atomic_fetch_add_explicit(&p->gen, 1, memory_order_release);
    pthread_cond_broadcast(&p->cv_work);
    pthread_mutex_unlock(&p->mu);
    const wn_pool *outer = running; /* this thread may be running another pool's task */
    running = p;
    fn(arg, 0, p->n);
    running = outer;
    int spins = 0;
    while (atomic_load_explicit(&p->pending, memory_order_acquire) > 0 && spins < SPIN_PAUSES + SPIN_YIELDS) {
        spin_once(spins++);
    }
    if (atomic_load(&p->pending) > 0) {
        pthread_mutex_lock(&p->mu);
        while (atomic_load(&p->pending) > 0) pthread_cond_wait(&p->cv_done, &p->mu);
        pthread_mutex_unlock(&p->mu);
    }
    pthread_mutex_unlock(&p->run_mu);
}

void wn_pool_free(wn_pool *p) {
    if (!p) return;
    if (p->threads) {
        pthread_mutex_lock(&p->mu);
        p->stop = 1;
        pthread_cond_broadcast(&p->cv_work);
        pthread_mutex_unlock(&p->mu);
        for (int i = 1; i < p->n; i++) pthread_join(p->threads[i], NULL);
    }
    wn_free(p->threads);
    wn_free(p->args);
    pthread_mutex_destroy(&p->mu);
    pthread_mutex_destroy(&p->run_mu);
    pthread_cond_destroy(&p->cv_work);
    pthread_cond_destroy(&p->cv_done);
    wn_free(p);
}

/* ---- the public face */

wn_status wn_threads_create(int n_threads, wn_threads **out) {
    WN_ENTRY();
    if (!out) return wn_seterr(WN_ERR_ARG, "wn_threads_create: out is NULL");
    *out = NULL;
    if (n_threads < 0) return wn_seterr(WN_ERR_ARG, "wn_threads_create: n_threads %d < 0", n_threads);
    return wn_pool_create(n_threads, out);
}

int wn_threads_count(const wn_threads *t) { return wn_pool_size(t); }

void wn_threads_free(wn_threads *t) { wn_pool_free(t); }
