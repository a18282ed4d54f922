/*
 * batcher.c - dynamic batching (docs/SERVER.md). Request threads queue their inputs
 * (one item per text or pair, with its token count); one thread per model takes
 * everything queued at once, sorts it by length and cuts it into model calls whose
 * padded size (inputs x longest) stays within the token budget, so inputs of similar
 * length share a call. No batching timer: while the model runs, new inputs pile up and
 * form the next batches, so batches grow with the load and a lone request waits for
 * nothing (under load the queue may settle for up to 1 ms: loop). The queue is bounded
 * by the admission limit (common.c: admit), never grows.
 * A failed model call fails the jobs it held, with the library's message; the thread
 * goes on.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server.h"

typedef struct {
    srv_job *job;
    int i;    /* input of the job */
    int ntok; /* its tokens */
} item;

struct srv_batcher {
    wn_model *m;
    int cap, budget, width;
    srv_metrics *mx;
    const _Atomic int *abandon;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    item *queue; /* (cap) waiting */
    int n_queue;
    item *work;  /* (cap) the batcher thread's copy */
    const char **a, **b; /* (cap) one call's inputs */
    float *out;  /* (cap * width) one call's results */
    int stop;
    uint64_t calls; /* model calls made, from 1 (srv_job.seen_call) */
    int last_n;     /* inputs taken the last time */
    pthread_t thread;
    int started;
};

static int by_len(const void *x, const void *y) {
    const item *p = x, *q = y;
    return (p->ntok > q->ntok) - (p->ntok < q->ntok);
}

/* One model call over work[i0, i1); results scattered to the jobs. */
static void run_call(srv_batcher *b, int i0, int i1) {
    int n = i1 - i0, pairs = b->work[i0].job->b != NULL;
    for (int k = 0; k < n; k++) {
        const item *it = &b->work[i0 + k];
        b->a[k] = it->job->a[it->i];
        if (pairs) b->b[k] = it->job->b[it->i];
    }
    double t0 = wn_now();
    wn_status st;
    if (*b->abandon) st = wn_seterr(WN_ERR_UNSUPPORTED, "server: shutting down");
    else if (pairs) st = wn_model_score(b->m, n, b->a, b->b, b->out);
    else st = wn_model_embed(b->m, n, b->a, b->out);
    double t1 = wn_now();
    metrics_batch(b->mx, n, (int64_t)n * b->work[i1 - 1].ntok);
    metrics_stage(b->mx, STAGE_INFERENCE, t1 - t0);
    pthread_mutex_lock(&b->mu);
    b->calls++;
    for (int k = 0; k < n; k++) {
        item *it = &b->work[i0 + k];
        srv_job *j = it->job;
        if (st != WN_OK) wn_task_fail(&j->err, st);
        else memcpy(j->out + (size_t)it->i * b->width, b->out + (size_t)k * b->width, sizeof(float) * b->width);
        if (j->t_first == 0) {
            j->t_first = t0;
            metrics_stage(b->mx, STAGE_QUEUE, t0 - j->t_submit);
        }
        if (j->seen_call != b->calls) { /* once per call a job is in: the call's whole time */
            j->seen_call = b->calls;
            j->infer_s += t1 - t0;
        }
        if (--j->remaining == 0) pthread_cond_signal(&j->done);
    }
    pthread_mutex_unlock(&b->mu);
}

static void *loop(void *arg) {
    srv_batcher *b = arg;
    for (;;) {
        pthread_mutex_lock(&b->mu);
        while (!b->stop && b->n_queue == 0) pthread_cond_wait(&b->cv, &b->mu);
        if (b->n_queue == 0) { /* stop, and nothing left */
            pthread_mutex_unlock(&b->mu);
            break;
        }
        /* Under load (the last call held several inputs), the answers of that call set
         * its clients free, and their next requests arrive within a fraction of a
         * millisecond: let the queue settle before cutting batches, 100 us at a time
         * while it still grows, at most 1 ms. After a call of one input (a lone
         * client) nothing waits. */
        for (int k = 0, seen = b->n_queue; b->last_n > 1 && k < 10 && !b->stop; k++) {
            pthread_mutex_unlock(&b->mu);
            usleep(100);
            pthread_mutex_lock(&b->mu);
            if (b->n_queue == seen) break;
            seen = b->n_queue;
        }
        int n = b->n_queue;
        b->last_n = n;
        memcpy(b->work, b->queue, sizeof(item) * (size_t)n);
        b->n_queue = 0;
        pthread_mutex_unlock(&b->mu);
        metrics_queue(b->mx, -n);
        /* items of one kind (embedding or pairs) only: a batcher serves one model */
        qsort(b->work, (size_t)n, sizeof(item), by_len);
        for (int i = 0; i < n;) {
            int j = i + 1; /* sorted ascending: the padded size is count x the last */
            while (j < n && (int64_t)(j - i + 1) * b->work[j].ntok <= b->budget) j++;
            run_call(b, i, j);
            i = j;
        }
    }
    return NULL;
}

wn_status batcher_create(wn_model *m, int cap, int budget, int width, srv_metrics *mx, const _Atomic int *abandon,
                         srv_batcher **out) {
    *out = NULL;
    srv_batcher *b = wn_calloc(1, sizeof *b);
    if (!b) return wn_seterr(WN_ERR_NOMEM, "server: out of memory for a batcher");
    b->m = m;
    b->cap = cap;
    b->budget = budget;
    b->width = width;
    b->mx = mx;
    b->abandon = abandon;
    b->queue = wn_calloc((size_t)cap, sizeof(item));
    b->work = wn_calloc((size_t)cap, sizeof(item));
    b->a = wn_calloc((size_t)cap, sizeof(char *));
    b->b = wn_calloc((size_t)cap, sizeof(char *));
    b->out = wn_calloc((size_t)cap * (size_t)width, sizeof(float));
    if (!b->queue || !b->work || !b->a || !b->b || !b->out) {
        batcher_free(b);
        return wn_seterr(WN_ERR_NOMEM, "server: out of memory for a batcher of %d inputs", cap);
    }
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->cv, NULL);
    if (pthread_create(&b->thread, NULL, loop, b)) {
        pthread_cond_destroy(&b->cv);
        pthread_mutex_destroy(&b->mu);
        b->mu = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
        batcher_free(b);
        return wn_seterr(WN_ERR_INTERNAL, "server: cannot start the batcher thread");
    }
    b->started = 1;
    *out = b;
    return WN_OK;
}

wn_status batcher_run(srv_batcher *b, srv_job *job) {
    WN_ASSERT(job->n >= 0);
    if (job->n == 0) return WN_OK;
    wn_task_err_init(&job->err);
    job->remaining = job->n;
    job->t_submit = wn_now();
    job->t_first = 0;
    job->infer_s = 0;
    job->seen_call = 0;
    metrics_queue(b->mx, job->n);
    pthread_cond_init(&job->done, NULL);
    pthread_mutex_lock(&b->mu);
    /* admission (common.c) keeps the inputs in flight within cap */
    WN_ASSERT(b->n_queue + job->n <= b->cap);
    for (int i = 0; i < job->n; i++) b->queue[b->n_queue++] = (item){job, i, job->ntok[i]};
    pthread_cond_signal(&b->cv);
    while (job->remaining > 0) pthread_cond_wait(&job->done, &b->mu);
    pthread_mutex_unlock(&b->mu);
    pthread_cond_destroy(&job->done);
    return wn_task_failed(&job->err) ? wn_task_raise(&job->err) : WN_OK;
}

void batcher_free(srv_batcher *b) {
    if (!b) return;
    if (b->started) {
        pthread_mutex_lock(&b->mu);
        b->stop = 1;
        pthread_cond_signal(&b->cv);
        pthread_mutex_unlock(&b->mu);
        pthread_join(b->thread, NULL);
        pthread_cond_destroy(&b->cv);
        pthread_mutex_destroy(&b->mu);
    }
    wn_free(b->queue);
    wn_free(b->work);
    wn_free(b->a);
    wn_free(b->b);
    wn_free(b->out);
    wn_free(b);
}
