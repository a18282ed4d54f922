/* test_embed_host.c - winnow inside a host program that uses cJSON itself (as a
 * server embedding the library would): the host's cJSON objects live across
 * wn_set_allocator and winnow calls that read JSON (tokenizer, model, corpus
 * metadata) and are freed afterwards. When wn_set_allocator rewired cJSON's global
 * hooks, the host's free went to winnow's allocator (ASan: free of an address not
 * from malloc). Now winnow's JSON goes through winnow's allocator (the counter
 * sees it), and cJSON's through the host's malloc, untouched. Clean under ASan
 * (make check SANITIZE=1). */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "winnow.h"

#define MODEL_DIR "tests/fixtures/model/tiny-bi"

static atomic_long n_alloc, n_live;
static void *h_malloc(size_t n, void *ud) {
    (void)ud;
    atomic_fetch_add(&n_alloc, 1);
    atomic_fetch_add(&n_live, 1);
    return malloc(n);
}
static void *h_realloc(void *p, size_t n, void *ud) {
    (void)ud;
    atomic_fetch_add(&n_alloc, 1);
    if (!p) atomic_fetch_add(&n_live, 1);
    return realloc(p, n);
}
static void h_free(void *p, void *ud) {
    (void)ud;
    if (p) atomic_fetch_sub(&n_live, 1);
    free(p);
}

int main(void) {
    /* the host's JSON, made before winnow is configured */
    cJSON *before = cJSON_CreateObject();
    cJSON_AddStringToObject(before, "service", "search");
    cJSON_AddNumberToObject(before, "port", 8080);
    cJSON *arr = cJSON_AddArrayToObject(before, "models");
    cJSON_AddItemToArray(arr, cJSON_CreateString("tiny-bi"));

    wn_allocator al = {h_malloc, h_realloc, h_free, NULL};
    wn_set_allocator(&al);

    /* cJSON calls in between do not go through winnow's allocator */
    long a0 = atomic_load(&n_alloc);
    cJSON *during = cJSON_Parse("{\"q\": \"hello\", \"k\": [1, 2, 3]}");
    CHECK(during && atomic_load(&n_alloc) == a0, "cJSON allocated through winnow's allocator (%ld calls)",
          atomic_load(&n_alloc) - a0);

    /* winnow reads JSON: the model directory's files, a corpus line with metadata */
    wn_model_params mp = wn_model_default_params();
    mp.n_threads = 1;
    wn_model *m = NULL;
    CHECK(wn_model_load(MODEL_DIR, &mp, &m) == WN_OK, "load: %s", wn_last_error());
    float emb[2 * 512];
    const char *texts[2] = {"hello world", "embedded"};
    CHECK(m && wn_model_dim(m) <= 512 && wn_model_embed(m, 2, texts, emb) == WN_OK, "embed: %s", wn_last_error());
    wn_model_free(m);
    char path[] = "/tmp/wn_embed_host_XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    CHECK(f != NULL, "temp file");
    if (f) {
        fputs("{\"id\": \"d1\", \"text\": \"some text\", \"metadata\": {\"k\": [1, \"\\u00e9\"]}}\n", f);
        fclose(f);
    }
    wn_corpus_params cp = wn_corpus_default_params();
    cp.format = WN_CORPUS_JSONL;
    wn_corpus *c = NULL;
    wn_doc d;
    int got = 0;
    CHECK(wn_corpus_open(path, &cp, &c) == WN_OK && wn_corpus_next(c, &d, &got) == WN_OK && got, "corpus: %s",
          wn_last_error());
    if (got) CHECK(!strcmp(d.meta, "{\"k\":[1,\"\xc3\xa9\"]}"), "metadata '%s'", d.meta);
    wn_corpus_free(c);
    remove(path);
    CHECK(atomic_load(&n_alloc) > a0 + 10, "winnow made %ld allocations through the host's allocator",
          atomic_load(&n_alloc) - a0);
    CHECK(atomic_load(&n_live) == 0, "%ld of winnow's blocks still live", atomic_load(&n_live));

    /* made while winnow's allocator is set, freed after it is reset, and the reverse */
    cJSON *cross = cJSON_CreateString("made under winnow's allocator");
    wn_set_allocator(NULL);
    cJSON_Delete(cross);
    cJSON_Delete(during);
    char *out = cJSON_PrintUnformatted(before);
    CHECK(out && !strcmp(out, "{\"service\":\"search\",\"port\":8080,\"models\":[\"tiny-bi\"]}"), "host JSON %s",
          out ? out : "(null)");
    cJSON_free(out);
    cJSON_Delete(before);
    return check_done();
}
