/* test_mine.c - wn_train_mine (src/train/mine.c) on a searcher built from handles
 * (a fresh store + a BM25 index): mined negatives come in rank order after
 * skip_top, never the positive or its near-duplicate (other case and punctuation),
 * never a kept negative again, at most per_query of them; JSON escapes survive;
 * a bad row stops with FILE:LINE and leaves no output; a searcher without a store,
 * and bad parameters, are refused. */
#include <string.h>

#include "check.h"
#include "scratch.h"
#include "util/util.h"
#include "winnow.h"

static const char *docs[][3] = {
    {"d1", "Cats", "the cat sat on the warm mat near the window"},
    {"d2", "", "THE CAT sat on the warm mat, near the window!"}, /* the positive, other case and punctuation */
    {"d3", "Kittens", "a kitten chases the cat toy across the mat"},
    {"d4", "Parks", "city parks give people room to walk the cat"},
    {"d5", "Cooking", "a good risotto needs patience and stirring"},
    {"d6", "Quotes", "the cat said \"meow\" on the mat\\floor"},
};
#define NDOC 6

static char *slurp(const char *path) {
    char *t = NULL;
    size_t n;
    return wn_read_file(path, &t, &n) == WN_OK ? t : NULL;
}

int main(void) {
    char dir[512], data[600], out[600], bad[600];
    scratch_path(dir, sizeof dir, "mine_store");
    snprintf(data, sizeof data, "%s.rows.jsonl", dir);
    snprintf(out, sizeof out, "%s.out.jsonl", dir);
    snprintf(bad, sizeof bad, "%s.bad.jsonl", dir);
    CHECK(wn_mkdirs(dir, 0755) == WN_OK, "mkdir %s", dir);
    char db[600];
    snprintf(db, sizeof db, "%s/docs.sqlite", dir);
    remove(db);
    wn_store *store = NULL;
    wn_bm25 *bm25 = NULL;
    wn_bm25_params bp = wn_bm25_default_params();
    CHECK(wn_store_open(dir, 1, &store) == WN_OK, "store: %s", wn_last_error());
    CHECK(wn_bm25_create(&bp, &bm25) == WN_OK, "bm25: %s", wn_last_error());
    if (!store || !bm25) return check_done();
    for (int i = 0; i < NDOC; i++) {
        int64_t row;
        char txt[256];
        snprintf(txt, sizeof txt, "%s%s%s", docs[i][1], *docs[i][1] ? " " : "", docs[i][2]);
        CHECK(wn_store_add(store, docs[i][0], docs[i][1], docs[i][2], "", &row) == WN_OK, "add: %s", wn_last_error());
        CHECK(wn_bm25_add(bm25, row, txt) == WN_OK, "bm25 add: %s", wn_last_error());
    }
    CHECK(wn_store_flush(store) == WN_OK, "flush: %s", wn_last_error());
    wn_pipeline_params pp = wn_pipeline_default_params();
    pp.first_stage = WN_FIRST_BM25;
    wn_searcher_parts parts = {store, NULL, NULL, 0, bm25, NULL, NULL, 0, NULL, NULL};
    wn_searcher *s = NULL;
    CHECK(wn_searcher_create(&parts, &pp, &s) == WN_OK, "searcher: %s", wn_last_error());
    if (!s) return check_done();

    /* the first stage's own order, to compare with */
    wn_hit h[NDOC];
    int n = 0;
    CHECK(wn_searcher_first(s, "cat on a mat", NDOC, h, &n, NULL) == WN_OK && n >= 4, "first stage: %d hits", n);
    write_file(data, "{\"query\": \"cat on a mat\", \"positive\": \"the cat sat on the warm mat near the window\"}\n"
                     "\n"
                     "{\"query\": \"cat on a mat\", \"positive\": \"the cat sat on the warm mat near the window\", "
                     "\"negatives\": [\"Kittens: a kitten chases the cat toy across the mat\"], \"x\": 1}\n");
    wn_train_mine_params mp = wn_train_mine_default_params();
    mp.per_query = 2;
    mp.depth = NDOC;
    int64_t rows = -1, added = -1;
    CHECK(wn_train_mine(s, data, out, &mp, &rows, &added) == WN_OK, "mine: %s", wn_last_error());
    CHECK(rows == 2 && added == 4, "rows %lld, added %lld", (long long)rows, (long long)added);
    char *o = slurp(out);
    CHECK(o != NULL, "no output");
    if (o) {
        fprintf(stderr, "%s", o);
        char *l2 = strchr(o, '\n');
        CHECK(l2 && strchr(l2 + 1, '\n') && !strchr(strchr(l2 + 1, '\n') + 1, '\n'), "two lines expected");
        if (l2) *l2++ = 0;
        /* row 1: the best two hits that are not d1 / d2, in rank order */
        char expect[2][64];
        int k = 0;
        for (int i = 0; i < n && k < 2; i++) /* a mined text starts with its document's title */
            if (h[i].row >= 2) snprintf(expect[k++], sizeof expect[0], "\"%s ", docs[h[i].row][1]);
        CHECK(k == 2, "two non-duplicate hits");
        const char *a = k == 2 ? strstr(o, expect[0]) : NULL, *b = k == 2 ? strstr(o, expect[1]) : NULL;
        CHECK(a && b && a < b, "row 1: mined negatives not in rank order: %s", o);
        const char *negs = strstr(o, "\"negatives\"");
        CHECK(negs && !strstr(negs, "warm mat"), "row 1 mined its positive or its near-duplicate: %s", o);
        /* a mined text with quotes and a backslash comes out escaped */
        if (strstr(o, "meow") || (l2 && strstr(l2, "meow")))
            CHECK(strstr(o, "\\\"meow\\\" on the mat\\\\floor") || (l2 && strstr(l2, "\\\"meow\\\" on the mat\\\\floor")),
                  "escapes lost");
        /* row 2: the kept negative first, the kitten document (its near-duplicate) not mined again */
        CHECK(l2 && strstr(l2, "\"negatives\": [\"Kittens: a kitten chases"), "row 2: the kept negative must be first: %s", l2);
        CHECK(l2 && !strstr(l2, "Kittens a kitten"), "row 2 mined a near-duplicate of its negative: %s", l2);
        wn_free(o);
    }
    /* skip_top drops the best hits */
    mp.skip_top = NDOC;
    CHECK(wn_train_mine(s, data, out, &mp, &rows, &added) == WN_OK && rows == 2 && added == 0, "skip_top: added %lld",
          (long long)added);
    /* a bad row: FILE:LINE, the old output untouched */
    remove(out);
    write_file(bad, "{\"query\": \"a\", \"positive\": \"b\"}\n{\"query\": \"a\"}\n");
    wn_status st = wn_train_mine(s, bad, out, NULL, &rows, &added);
    char where[700];
    snprintf(where, sizeof where, "%s:2: missing or empty \"positive\"", bad);
    CHECK(st == WN_ERR_FORMAT && strstr(wn_last_error(), where), "bad row: %d %s", st, wn_last_error());
    CHECK(!wn_file_exists(out), "a failed run left its output");
    write_file(bad, "{\"query\": \"a\", \"positive\": \"b\"}\n{\"query\": \"a\", \"positive\": \"b\"\n");
    st = wn_train_mine(s, bad, out, NULL, NULL, NULL);
    snprintf(where, sizeof where, "%s:2: invalid JSON", bad);
    CHECK(st == WN_ERR_FORMAT && strstr(wn_last_error(), where), "bad JSON: %d %s", st, wn_last_error());
    write_file(bad, "{\"query\": \"a\", \"positive\": \"b\", \"negatives\": [\"\"]}\n");
    CHECK(wn_train_mine(s, bad, out, NULL, NULL, NULL) == WN_ERR_FORMAT, "empty negative accepted");
    CHECK(wn_train_mine(s, "/nonexistent/rows.jsonl", out, NULL, NULL, NULL) == WN_ERR_IO, "missing data");
    mp = wn_train_mine_default_params();
    mp.per_query = 0;
    CHECK(wn_train_mine(s, data, out, &mp, NULL, NULL) == WN_ERR_ARG, "per_query 0 accepted");
    /* a searcher without a store */
    const char *texts[NDOC];
    for (int i = 0; i < NDOC; i++) texts[i] = docs[i][2];
    wn_searcher_parts mem = {NULL, texts, NULL, NDOC, bm25, NULL, NULL, 0, NULL, NULL};
    wn_searcher *t = NULL;
    CHECK(wn_searcher_create(&mem, &pp, &t) == WN_OK, "searcher (texts): %s", wn_last_error());
    if (t) CHECK(wn_train_mine(t, data, out, NULL, NULL, NULL) == WN_ERR_ARG, "a searcher without a store accepted");
    wn_searcher_free(t);
    wn_searcher_free(s);
    wn_bm25_free(bm25);
    wn_store_free(store);
    remove(db);
    remove(data), remove(out), remove(bad);
    rmdir(dir);
    return check_done();
}
