/* test_errors.c - the error contract of include/winnow.h at run time:
 *   - after every successful call, wn_last_error() reads "", though a failure
 *     left a message just before (each call below runs after a planted failure),
 *     including a build that skipped a bad line on the way;
 *   - context is prefixed once: an index file whose header says m = 999 fails in
 *     wn_index_create inside wn_index_load, and the message names the file once;
 *   - a failure on a worker thread (an allocator that fails only off the calling
 *     thread) reaches the caller with its own status and message, and so does an
 *     argument error raised on a worker;
 *   - accessors and destructors leave a failure's message alone.
 * tests/t_error_contract.sh checks the source side (WN_ENTRY in every entry point). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "faults.h"
#include "index/index.h"
#include "util/util.h"
#include "winnow.h"

#define MODEL_DIR "tests/fixtures/model/tiny-bi"

/* A message from a failed public call, then the call under test: it must succeed
 * and leave "". */
#define OK(call)                                                                                      \
    do {                                                                                              \
        fault_plant_stale_message();                                                                  \
        CHECK(*wn_last_error(), "no message was planted before %s", #call);                          \
        wn_status s_ = (call);                                                                        \
        CHECK(s_ == WN_OK, "%s: %s: %s", #call, wn_status_name(s_), wn_last_error());                \
        CHECK(wn_last_error()[0] == 0, "%s succeeded but wn_last_error() reads '%s'", #call, wn_last_error()); \
    } while (0)

static int write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    fputs(text, f);
    return fclose(f) == 0;
}

static int count(const char *hay, const char *needle) {
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle)) n++;
    return n;
}

static void test_success_clears(const char *dir) {
    char p1[512], p2[512], p3[512], p4[512], p5[512], p6[512];
    snprintf(p1, sizeof p1, "%s/a.wnix", dir);
    snprintf(p2, sizeof p2, "%s/b.wnbm", dir);
    snprintf(p3, sizeof p3, "%s/corpus.jsonl", dir);
    snprintf(p4, sizeof p4, "%s/idx", dir);
    snprintf(p5, sizeof p5, "%s/qrels.tsv", dir);
    snprintf(p6, sizeof p6, "%s/run.txt", dir);

    wn_threads *pool = NULL;
    OK(wn_threads_create(2, &pool));

    /* vector index */
    enum { N = 300, D = 8 };
    static float x[N * D];
    for (int i = 0; i < N * D; i++) x[i] = (float)((i * 7919) % 101) / 50.0f - 1.0f;
    wn_index_params ip = wn_index_default_params();
    ip.threads = pool;
    wn_index *ix = NULL, *lx = NULL;
    OK(wn_index_create(WN_INDEX_HNSW, D, WN_METRIC_L2, &ip, &ix));
    OK(wn_index_train(ix, N, x));
    OK(wn_index_add(ix, N, x, NULL));
    OK(wn_index_remove(ix, 5));
    OK(wn_index_replace(ix, 6, x));
    float dist[3 * 4];
    int64_t ids[3 * 4];
    wn_index_search_params sp = wn_index_search_default_params();
    sp.threads = pool;
    OK(wn_index_search(ix, 3, x, 4, &sp, dist, ids));
    OK(wn_index_save(ix, p1));
    OK(wn_index_load(p1, &lx));
    wn_index_free(lx);
    wn_index_free(ix);

    /* BM25 */
    wn_bm25 *bm = NULL, *bl = NULL;
    OK(wn_bm25_create(NULL, &bm));
    OK(wn_bm25_add(bm, 1, "cats and dogs"));
    OK(wn_bm25_add(bm, 2, "dogs bark"));
    float sc[2 * 3];
    int64_t bid[2 * 3];
    int nf[2], n1;
    const char *qs[2] = {"dogs", "cats"};
    OK(wn_bm25_search(bm, "dogs", 3, sc, bid, &n1));
    OK(wn_bm25_search_batch(bm, 2, qs, 3, 2, sc, bid, nf));
    OK(wn_bm25_search_batch_threads(bm, pool, 2, qs, 3, sc, bid, nf));
    char *s = NULL;
    OK(wn_bm25_analyze(NULL, "Running dogs", &s));
    wn_free_buffer(s);
    OK(wn_bm25_explain(bm, "dogs", 2, &s));
    wn_free_buffer(s);
    int len;
    OK(wn_bm25_doc_length(bm, 1, &len));
    OK(wn_bm25_save(bm, p2));
    OK(wn_bm25_load(p2, &bl));
    wn_bm25_free(bl);
    wn_bm25_free(bm);

    /* tokenizer and model */
    wn_tokenizer *tok = NULL;
    OK(wn_tokenizer_load(MODEL_DIR, &tok));
    int32_t tid[32], tty[32];
    int nt = 0;
    OK(wn_tokenizer_encode(tok, "hello world", NULL, 0, tid, tty, 32, &nt));
    int32_t *tk = NULL;
    OK(wn_tokenizer_tokenize(tok, "hello", &tk, &nt));
    wn_free_buffer(tk);
    wn_tokenizer_free(tok);
    char rdir[512];
    wn_hub_params hp = wn_hub_default_params();
    hp.offline = 1;
    OK(wn_hub_resolve(MODEL_DIR, &hp, rdir, sizeof rdir));
    wn_model_params mp = wn_model_default_params();
    mp.threads = pool;
    wn_model *m = NULL;
    OK(wn_model_load(MODEL_DIR, &mp, &m));
    if (m) {
        float *emb = malloc(sizeof(float) * 2 * (size_t)wn_model_dim(m));
        const char *texts[2] = {"a text", "another"};
        OK(wn_model_embed(m, 2, texts, emb));
        free(emb);
    }
    wn_model_free(m);

    /* evaluation */
    wn_qrels *q = NULL, *ql = NULL;
    wn_run *r = NULL, *rl = NULL;
    wn_eval *e = NULL;
    OK(wn_qrels_create(&q));
    OK(wn_qrels_add(q, "q1", "d1", 1));
    OK(wn_run_create(&r));
    OK(wn_run_add(r, "q1", "d1", 2.0));
    OK(wn_run_add(r, "q1", "d2", 1.0));
    wn_measure ms[1];
    CHECK(wn_measure_parse("ndcg@10", &ms[0]) == 0, "measure");
    OK(wn_eval_create(q, r, 1, ms, &e));
    OK(wn_run_save(r, p6, "t", 0));
    OK(wn_run_load(p6, &rl));
    CHECK(write_text(p5, "query-id\tcorpus-id\tscore\nq1\td1\t1\n"), "write %s", p5);
    OK(wn_qrels_load(p5, &ql));
    wn_eval_free(e);
    wn_run_free(rl);
    wn_run_free(r);
    wn_qrels_free(ql);
    wn_qrels_free(q);

    /* corpus, build (skipping a bad line: a recovered error leaves no message), searcher */
    CHECK(write_text(p3, "{\"_id\": \"d1\", \"title\": \"T\", \"text\": \"cats and dogs\", \"metadata\": {\"a\": [1, 2.5]}}\n"
                         "not json\n"
                         "{\"_id\": \"d2\", \"text\": \"dogs bark\"}\n"),
          "write %s", p3);
    wn_corpus *c = NULL;
    OK(wn_corpus_open(p3, NULL, &c));
    wn_doc d;
    int got;
    OK(wn_corpus_next(c, &d, &got));
    CHECK(got && !strcmp(d.meta, "{\"a\":[1,2.5]}"), "metadata written back as '%s'", got ? d.meta : "");
    wn_corpus_free(c);
    wn_pipeline_build_params bp = wn_pipeline_build_default_params();
    bp.bm25 = 1;
    bp.skip_bad = 1;
    wn_pipeline_build_stats bs;
    OK(wn_pipeline_build(p3, p4, &bp, &bs));
    CHECK(bs.docs == 2 && bs.skipped == 1, "build: %lld docs, %lld skipped", (long long)bs.docs, (long long)bs.skipped);
    wn_pipeline_params pp = wn_pipeline_default_params();
    wn_searcher *se = NULL;
    OK(wn_searcher_open(p4, &pp, &se));
    if (se) {
        wn_hit hits[4];
        int nh;
        double secs;
        OK(wn_searcher_first(se, "dogs", 4, hits, &nh, &secs));
        wn_store *st = wn_searcher_store(se);
        int64_t row;
        OK(wn_store_find(st, "d2", &row));
        OK(wn_store_get(st, row, &d));
        char *v = NULL;
        OK(wn_store_get_meta(st, "winnow.version", &v));
        wn_free_buffer(v);
        wn_hit fused[8];
        int nfz;
        OK(wn_pipeline_fuse(WN_FUSE_RRF, 60, 0.5f, hits, nh, hits, nh, fused, &nfz));
    }
    wn_searcher_free(se);
    wn_threads_free(pool);
}

/* The m = 999 header: wn_index_create fails inside wn_index_load, which adds the
 * file's name in front of that message, once. */
static void test_prefix_once(const char *dir) {
    char path[512];
    snprintf(path, sizeof path, "%s/m999.wnix", dir);
    wn_index_params ip = wn_index_default_params();
    ip.n_threads = 1;
    wn_index *ix = NULL;
    float x[16 * 4];
    for (int i = 0; i < 64; i++) x[i] = (float)(i % 7);
    CHECK(wn_index_create(WN_INDEX_HNSW, 4, WN_METRIC_L2, &ip, &ix) == WN_OK, "%s", wn_last_error());
    CHECK(wn_index_add(ix, 16, x, NULL) == WN_OK && wn_index_save(ix, path) == WN_OK, "%s", wn_last_error());
    wn_index_free(ix);
    char *b = NULL;
    size_t n = 0;
    CHECK(wn_read_file(path, &b, &n) == WN_OK && n >= 128, "read %s", path);
    if (!b) return;
    uint32_t hbytes, m = 999, zero = 0, crc;
    memcpy(&hbytes, b + 8, 4); /* little-endian host: the file's byte order */
    memcpy(b + 56, &m, 4);
    memcpy(b + 112, &zero, 4);
    crc = dist_get()->crc32c(0, b, hbytes); /* the header's checksum, recomputed */
    memcpy(b + 112, &crc, 4);
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(b, 1, n, f) == n && fclose(f) == 0, "rewrite %s", path);
    wn_free(b);
    wn_index *lx = NULL;
    wn_status st = wn_index_load(path, &lx);
    const char *msg = wn_last_error();
    CHECK(st != WN_OK && lx == NULL, "a header with m = 999 loaded");
    CHECK(count(msg, path) == 1 && !strncmp(msg, path, strlen(path)), "the path is not prefixed exactly once: '%s'", msg);
    CHECK(strstr(msg, "999") != NULL, "the message does not name m = 999: '%s'", msg);
    fprintf(stderr, "m = 999: %s\n", msg);
    wn_index_free(lx);
}

/* An allocator that fails every allocation made off the thread that armed it. */
static pthread_t main_thread;
static atomic_int off_main_fail, off_main_failed;
static void *om_malloc(size_t n, void *ud) {
    (void)ud;
    if (atomic_load(&off_main_fail) && !pthread_equal(pthread_self(), main_thread)) {
        atomic_fetch_add(&off_main_failed, 1);
        return NULL;
    }
    return malloc(n);
}
static void *om_realloc(void *p, size_t n, void *ud) {
    (void)ud;
    if (atomic_load(&off_main_fail) && !pthread_equal(pthread_self(), main_thread)) {
        atomic_fetch_add(&off_main_failed, 1);
        return NULL;
    }
    return realloc(p, n);
}
static void om_free(void *p, void *ud) {
    (void)ud;
    free(p);
}

static void test_worker_errors(void) {
    main_thread = pthread_self();
    wn_threads *pool = NULL;
    CHECK(wn_threads_create(2, &pool) == WN_OK, "pool: %s", wn_last_error());
    wn_allocator al = {om_malloc, om_realloc, om_free, NULL};
    wn_set_allocator(&al);

    /* HNSW build on the pool: the worker's scratch allocation fails */
    enum { N = 600, D = 8 };
    static float x[N * D];
    for (int i = 0; i < N * D; i++) x[i] = (float)((i * 2654435761u) % 1000) / 500.0f - 1.0f;
    wn_index_params ip = wn_index_default_params();
    ip.threads = pool;
    wn_index *ix = NULL;
    CHECK(wn_index_create(WN_INDEX_HNSW, D, WN_METRIC_L2, &ip, &ix) == WN_OK, "%s", wn_last_error());
    fault_plant_stale_message();
    atomic_store(&off_main_fail, 1);
    wn_status st = ix ? wn_index_add(ix, N, x, NULL) : WN_ERR_INTERNAL;
    atomic_store(&off_main_fail, 0);
    CHECK(atomic_load(&off_main_failed) > 0, "no allocation was made on a worker thread");
    CHECK(st == WN_ERR_NOMEM, "worker failure gave %s: %s", wn_status_name(st), wn_last_error());
    CHECK(strstr(wn_last_error(), "hnsw: out of memory") && strstr(wn_last_error(), "build thread 1 of 2"),
          "not the worker's own message: '%s'", wn_last_error());
    fprintf(stderr, "worker failure: %s\n", wn_last_error());
    /* an accessor and a destructor leave the message as it is */
    char keep[1024];
    snprintf(keep, sizeof keep, "%s", wn_last_error());
    (void)wn_index_count(ix);
    wn_index_free(ix);
    CHECK(!strcmp(keep, wn_last_error()), "an accessor or destructor changed the message to '%s'", wn_last_error());
    wn_set_allocator(NULL);

    /* an argument error raised on a worker: query 37 of 64 is NULL */
    wn_bm25 *bm = NULL;
    CHECK(wn_bm25_create(NULL, &bm) == WN_OK && wn_bm25_add(bm, 1, "alpha beta") == WN_OK, "%s", wn_last_error());
    const char *qs[64];
    for (int i = 0; i < 64; i++) qs[i] = i == 37 ? NULL : "alpha";
    float sc[64 * 2];
    int64_t ids[64 * 2];
    fault_plant_stale_message();
    st = wn_bm25_search_batch_threads(bm, pool, 64, qs, 2, sc, ids, NULL);
    CHECK(st == WN_ERR_ARG && !strcmp(wn_last_error(), "wn_bm25_search_batch: query 37 is NULL"),
          "worker argument error: %s '%s'", wn_status_name(st), wn_last_error());
    fault_plant_stale_message();
    st = wn_bm25_search_batch(bm, 64, qs, 2, 2, sc, ids, NULL);
    CHECK(st == WN_ERR_ARG && !strcmp(wn_last_error(), "wn_bm25_search_batch: query 37 is NULL"),
          "worker argument error (own threads): %s '%s'", wn_status_name(st), wn_last_error());
    wn_bm25_free(bm);
    wn_threads_free(pool);
}

int main(void) {
    char dir[] = "/tmp/wn_test_errors_XXXXXX", cmd[600];
    if (!mkdtemp(dir)) {
        CHECK(0, "no scratch directory");
        return check_done();
    }
    test_success_clears(dir);
    test_prefix_once(dir);
    test_worker_errors();
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0, "%s", cmd);
    return check_done();
}
