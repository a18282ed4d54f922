/*
 * test_bm25_scifact.c - BM25 on BEIR SciFact against Lucene 8.7's own run
 * (tests/fixtures/scifact, made by scripts/make_scifact_fixture.sh from ../shared;
 * CC BY-NC, a test fixture only, never installed: tests/fixtures/README.md):
 * indexes the 5,183 abstracts as title + " " + text (Pyserini's "flat" index),
 * searches the 809 training queries (top 100, two threads) and computes nDCG@10
 * with src/eval (trec_eval's conventions: ties by document id descending).
 *
 * What it checks, against references we did not write:
 *  - the analyzer: the same 838,128 tokens as Lucene's EnglishAnalyzer on this corpus
 *    (a 64-bit FNV-1a of Lucene's output, printed by the fixture script);
 *  - per query, against Lucene's top 10 (lucene-bm25-train-top10.run.xz: Lucene 8.7,
 *    BM25Similarity 0.9/0.4, Anserini's bag-of-words query): at every rank winnow's
 *    score / (k1 + 1) equals Lucene's within 2e-5 (Lucene 8 dropped the (k1 + 1)
 *    factor; it prints 6 decimals), and a document in one top 10 but not the other
 *    ties with the 10th score (no other difference is allowed);
 *  - nDCG@10 of winnow's run within 0.003 of Lucene's run, both computed here;
 *  - the published figure for the test split is 0.679 (Pyserini flat, Lucene 8) and
 *    0.665 (BEIR paper); train and test are drawn from the same claims, so the
 *    train figure must also lie in [0.65, 0.72].
 * The fixture is committed: if it is missing or xz cannot read it, the test fails.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "fixture.h"
#include "scratch.h"
#include "winnow.h"
#include "util/util.h"

#define DIR "tests/fixtures/scifact/"
#define LUCENE_RUN DIR "lucene-bm25-train-top10.run.xz"
#define K 100
#define TOP 10
#define K1 0.9
/* Lucene 8.7's EnglishAnalyzer on the corpus (bench/LuceneBM25.java analyze, one
 * line of space-separated terms per document, title + " " + text): its 64-bit
 * FNV-1a over all lines, and its token count (scripts/make_scifact_fixture.sh
 * prints both). */
#define LUCENE_TERMS_FNV 0xa8cd3f7b65e98784ull
#define LUCENE_TERMS_COUNT 838128

/* Lucene's run: per query (in file order) its top 10 ids and scores. */
typedef struct {
    char qid[32];
    char doc[TOP][32];
    double score[TOP];
    int n;
} lucene_q;

static lucene_q *read_lucene(size_t *n_out) {
    FILE *f = fixture_open(LUCENE_RUN);
    lucene_q *L = NULL;
    size_t n = 0, cap = 0;
    char line[256];
    while (f && fgets(line, sizeof line, f)) {
        char q[32], d[32], tag[32];
        int rank;
        double sc;
        if (sscanf(line, "%31s Q0 %31s %d %lf %31s", q, d, &rank, &sc, tag) != 5) continue;
        if (!n || strcmp(L[n - 1].qid, q)) {
            if (wn_grow((void **)&L, &cap, n + 1, sizeof *L)) break;
            memset(&L[n], 0, sizeof *L);
            snprintf(L[n].qid, sizeof L[n].qid, "%s", q);
            n++;
        }
        lucene_q *x = &L[n - 1];
        if (x->n < TOP) {
            snprintf(x->doc[x->n], sizeof x->doc[0], "%s", d);
            x->score[x->n++] = sc;
        }
    }
    CHECK(f && fixture_close(f, LUCENE_RUN) == 0, "cannot read %s (committed; xz-utils installed?)", LUCENE_RUN);
    *n_out = n;
    return L;
}

static char *json_str(cJSON *o, const char *key) {
    cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : "";
}

int main(void) {
    FILE *f = fixture_open(DIR "corpus.jsonl.xz");
    if (!f) {
        CHECK(0, "%scorpus.jsonl.xz is absent (it is committed: a broken checkout?)", DIR);
        return check_done();
    }
    wn_qrels *qrels = NULL;
    if (wn_qrels_load(DIR "qrels/train.tsv", &qrels) != WN_OK) {
        fixture_close(f, DIR "corpus.jsonl.xz");
        CHECK(0, "cannot read %sqrels/train.tsv: %s", DIR, wn_last_error());
        return check_done();
    }
    wn_bm25 *ix;
    CHECK(wn_bm25_create(NULL, &ix) == WN_OK, "%s", wn_last_error());
    /* documents: internal id = line number, string ids kept for the run */
    char **docids = NULL;
    size_t n_docs = 0, cap = 0;
    wn_line_reader r;
    wn_lines_init(&r, f);
    char *text = NULL;
    size_t tcap = 0;
    uint64_t fnv = 0xcbf29ce484222325ull, n_tokens = 0;
    double t0 = wn_now();
    while (wn_lines_next(&r) == 1) {
        cJSON *o = cJSON_Parse(r.buf);
        CHECK(o != NULL, "corpus line %llu is not JSON", (unsigned long long)r.lineno);
        if (!o) continue;
        const char *title = json_str(o, "title"), *body = json_str(o, "text");
        size_t need = strlen(title) + strlen(body) + 2;
        if (wn_grow((void **)&text, &tcap, need, 1) || wn_grow((void **)&docids, &cap, n_docs + 1, sizeof *docids)) {
            CHECK(0, "out of memory");
            break;
        }
        snprintf(text, need, "%s %s", title, body);
        docids[n_docs] = strdup(json_str(o, "_id"));
        CHECK(wn_bm25_add(ix, (int64_t)n_docs, text) == WN_OK, "%s", wn_last_error());
        char *terms = NULL;
        CHECK(wn_bm25_analyze(NULL, text, &terms) == WN_OK, "%s", wn_last_error());
        for (const char *c = terms; c && *c; c++) {
            fnv = (fnv ^ (uint8_t)*c) * 0x100000001b3ull;
            n_tokens += *c == ' ';
        }
        if (terms && *terms) n_tokens++;
        fnv = (fnv ^ (uint8_t)'\n') * 0x100000001b3ull;
        wn_free_buffer(terms);
        n_docs++;
        cJSON_Delete(o);
    }
    double t_index = wn_now() - t0;
    CHECK(n_tokens == LUCENE_TERMS_COUNT, "%llu tokens, Lucene's analyzer gives %d", (unsigned long long)n_tokens,
          LUCENE_TERMS_COUNT);
    CHECK(fnv == LUCENE_TERMS_FNV, "the analyzed corpus differs from Lucene's (FNV %016llx, Lucene %016llx)",
          (unsigned long long)fnv, LUCENE_TERMS_FNV);
    wn_lines_free(&r);
    CHECK(fixture_close(f, DIR "corpus.jsonl.xz") == 0, "xz failed on %scorpus.jsonl.xz", DIR);
    wn_free(text);
    CHECK(n_docs == 5183, "%zu documents, SciFact has 5183", n_docs);

    /* the training queries: those of the qrels */
    f = fixture_open(DIR "queries.jsonl.xz");
    CHECK(f != NULL, "no %squeries.jsonl.xz", DIR);
    char **qids = NULL, **qtext = NULL;
    size_t nq = 0, qcap = 0, qcap2 = 0;
    if (f) {
        wn_lines_init(&r, f);
        while (wn_lines_next(&r) == 1) {
            cJSON *o = cJSON_Parse(r.buf);
            if (!o) continue;
            const char *id = json_str(o, "_id");
            int judged = 0;
            for (int64_t i = 0; i < wn_qrels_count(qrels) && !judged; i++)
                judged = strcmp(wn_qrels_query(qrels, i), id) == 0;
            if (judged && !wn_grow((void **)&qids, &qcap, nq + 1, sizeof *qids) &&
                !wn_grow((void **)&qtext, &qcap2, nq + 1, sizeof *qtext)) {
                qids[nq] = strdup(id);
                qtext[nq] = strdup(json_str(o, "text"));
                nq++;
            }
            cJSON_Delete(o);
        }
        wn_lines_free(&r);
        CHECK(fixture_close(f, DIR "queries.jsonl.xz") == 0, "xz failed on %squeries.jsonl.xz", DIR);
    }
    CHECK(nq == 809, "%zu training queries, SciFact has 809", nq);

    float *scores = malloc(sizeof(float) * nq * K);
    int64_t *ids = malloc(sizeof(int64_t) * nq * K);
    int *n_out = malloc(sizeof(int) * nq);
    t0 = wn_now();
    CHECK(wn_bm25_search_batch(ix, (int64_t)nq, (const char *const *)qtext, K, 2, scores, ids, n_out) == WN_OK, "%s",
          wn_last_error());
    double t_search = wn_now() - t0;
    wn_run *run, *lrun;
    CHECK(wn_run_create(&run) == WN_OK && wn_run_create(&lrun) == WN_OK, "%s", wn_last_error());
    for (size_t q = 0; q < nq; q++)
        for (int i = 0; i < n_out[q]; i++)
            CHECK(wn_run_add(run, qids[q], docids[ids[q * K + i]], scores[q * K + i]) == WN_OK, "%s", wn_last_error());

    /* per query against Lucene's top 10 */
    size_t nl = 0;
    lucene_q *L = read_lucene(&nl);
    CHECK(nl == nq, "Lucene's run has %zu queries, winnow searched %zu", nl, nq);
    size_t n_cmp = 0, n_same = 0, n_tied = 0;
    double worst = 0;
    for (size_t li = 0; li < nl; li++) {
        const lucene_q *x = &L[li];
        for (int i = 0; i < x->n; i++) CHECK(wn_run_add(lrun, x->qid, x->doc[i], x->score[i]) == WN_OK, "%s", wn_last_error());
        size_t q = 0;
        while (q < nq && strcmp(qids[q], x->qid)) q++;
        if (q == nq) {
            CHECK(0, "query %s of Lucene's run was not searched", x->qid);
            continue;
        }
        int m = n_out[q] < TOP ? n_out[q] : TOP;
        CHECK(m == x->n, "query %s: winnow returned %d of the top %d, Lucene %d", x->qid, m, TOP, x->n);
        for (int i = 0; i < m && i < x->n; i++) {
            double d = fabs(scores[q * K + i] / (1 + K1) - x->score[i]);
            if (d > worst) worst = d;
            CHECK(d <= 2e-5, "query %s rank %d: winnow %.7f / (k1 + 1) = %.7f, Lucene %.6f", x->qid, i + 1,
                  scores[q * K + i], scores[q * K + i] / (1 + K1), x->score[i]);
        }
        double last = x->n ? x->score[x->n - 1] : 0;
        for (int i = 0; i < x->n; i++) {
            int found = 0;
            for (int j = 0; j < m && !found; j++) found = !strcmp(docids[ids[q * K + j]], x->doc[i]);
            n_cmp++;
            n_same += found;
            if (!found) {
                n_tied++;
                CHECK(fabs(x->score[i] - last) <= 2e-5, "query %s: Lucene's rank %d (%s, %.6f) is not in winnow's top %d "
                      "and does not tie with the 10th score %.6f", x->qid, i + 1, x->doc[i], x->score[i], TOP, last);
            }
        }
    }
    fprintf(stderr, "against Lucene's top %d: %zu of %zu documents the same (%zu differ at a tie); "
            "max |winnow/(k1+1) - Lucene| at equal rank %.2g\n", TOP, n_same, n_cmp, n_tied, worst);
    wn_free(L);

    wn_measure ms[2];
    wn_measure_parse("ndcg@10", &ms[0]);
    wn_measure_parse("recall@100", &ms[1]);
    wn_eval *ev = NULL, *lev = NULL;
    CHECK(wn_eval_create(qrels, run, 2, ms, &ev) == WN_OK, "%s", wn_last_error());
    CHECK(wn_eval_create(qrels, lrun, 1, ms, &lev) == WN_OK, "%s", wn_last_error());
    if (ev && lev) {
        double ndcg = wn_eval_mean(ev, 0), rec = wn_eval_mean(ev, 1), lndcg = wn_eval_mean(lev, 0);
        fflush(stderr);
        printf("SciFact train (%zu queries, %zu docs): nDCG@10 = %.4f, Recall@100 = %.4f "
               "(Lucene 8.7's run: %.4f; published test: 0.679 Pyserini, 0.665 BEIR); "
               "index + analyzer check %.2f s, search %.3f s on 2 threads\n",
               nq, n_docs, ndcg, rec, lndcg, t_index, t_search);
        CHECK(fabs(ndcg - lndcg) <= 0.003, "nDCG@10 %.4f, Lucene's run %.4f", ndcg, lndcg);
        CHECK(ndcg >= 0.65 && ndcg <= 0.72, "nDCG@10 %.4f outside [0.65, 0.72]", ndcg);
    }
    wn_eval_free(lev);
    wn_run_free(lrun);
    /* save -> load gives the same first query */
    char pbuf[512];
    const char *path = scratch_path(pbuf, sizeof pbuf, "scifact.wnbm");
    wn_bm25 *ld = NULL;
    CHECK(wn_bm25_save(ix, path) == WN_OK && wn_bm25_load(path, &ld) == WN_OK, "%s", wn_last_error());
    if (ld && nq) {
        float s2[K];
        int64_t i2[K];
        int n2 = 0;
        CHECK(wn_bm25_search(ld, qtext[0], K, s2, i2, &n2) == WN_OK && n2 == n_out[0] &&
                  memcmp(s2, scores, sizeof(float) * (size_t)n2) == 0 && memcmp(i2, ids, sizeof(int64_t) * (size_t)n2) == 0,
              "loaded index answers differently");
    }
    remove(path);
    wn_bm25_free(ld);
    wn_eval_free(ev);
    wn_run_free(run);
    wn_qrels_free(qrels);
    wn_bm25_free(ix);
    for (size_t i = 0; i < n_docs; i++) free(docids[i]);
    for (size_t q = 0; q < nq; q++) {
        free(qids[q]);
        free(qtext[q]);
    }
    wn_free(docids);
    wn_free(qids);
    wn_free(qtext);
    free(scores);
    free(ids);
    free(n_out);
    return check_done();
}
