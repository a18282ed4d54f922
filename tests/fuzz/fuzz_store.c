/* fuzz_store.c - libFuzzer harness for src/store's readers. The first byte picks:
 *   0: the rest is a corpus file read with format auto (BEIR or JSONL),
 *   1: a .tsv corpus,
 *   2: a docs.sqlite file opened by wn_store_open (application id, version, rows).
 * Every document a reader returns has non-NULL UTF-8 fields; a malformed line or
 * file is reported with a message and the reader goes on or stops cleanly.
 * Build and run: tests/fuzz/run.sh [SECONDS]; replayed by tests/t_fuzz_replay.sh. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "winnow.h"
#include "util/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void touch(const char *s) {
    if (!s) abort();
    volatile size_t n = strlen(s);
    (void)n;
}

static void corpus(const char *path) {
    wn_corpus *c = NULL;
    wn_corpus_params p = wn_corpus_default_params();
    if (wn_corpus_open(path, &p, &c) != WN_OK) {
        if (!*wn_last_error()) abort();
        return;
    }
    for (int i = 0; i < 1000; i++) {
        wn_doc d;
        int got = 0;
        wn_status st = wn_corpus_next(c, &d, &got);
        if (st != WN_OK) {
            if (st != WN_ERR_FORMAT || !*wn_last_error()) abort();
            continue;
        }
        if (!got) break;
        touch(d.id), touch(d.title), touch(d.text), touch(d.meta);
    }
    wn_corpus_free(c);
}

static void store(const char *dir) {
    wn_store *s = NULL;
    if (wn_store_open(dir, 0, &s) != WN_OK) {
        if (!*wn_last_error()) abort();
        return;
    }
    int64_t n = wn_store_count(s), row;
    for (int64_t i = 0; i < n && i < 16; i++) {
        wn_doc d;
        if (wn_store_get(s, i, &d) == WN_OK) {
            touch(d.id), touch(d.title), touch(d.text), touch(d.meta);
            char *id = strdup(d.id);
            wn_store_find(s, id, &row);
            free(id);
        }
    }
    char *v = NULL;
    if (wn_store_get_meta(s, "model", &v) == WN_OK) wn_free(v);
    wn_store_find(s, "no such id", &row);
    wn_store_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    char dir[64], path[96];
    snprintf(dir, sizeof dir, "/tmp/wn_fuzz_store.%d", (int)getpid());
    wn_mkdirs(dir, 0755);
    int mode = data[0] % 3;
    snprintf(path, sizeof path, "%s/%s", dir, mode == 0 ? "corpus.jsonl" : mode == 1 ? "corpus.tsv" : "docs.sqlite");
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    fwrite(data + 1, 1, size - 1, f);
    fclose(f);
    if (mode == 2) store(dir);
    else corpus(path);
    unlink(path);
    rmdir(dir);
    return 0;
}
