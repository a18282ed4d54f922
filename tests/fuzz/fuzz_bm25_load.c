/* fuzz_bm25_load.c - libFuzzer harness for the BM25 file reader (wn_bm25_load,
 * src/lexical/bm25_io.c). A file it accepts must answer searches and per-document
 * lookups without reading outside what it loaded; a rejection must say why.
 * Build and run: tests/fuzz/run.sh [SECONDS]; replayed by tests/t_fuzz_replay.sh. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "winnow.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[64];
    snprintf(path, sizeof path, "/tmp/wn_fuzz_bm25.%d", (int)getpid());
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    wn_bm25 *ix = NULL;
    if (wn_bm25_load(path, &ix) == WN_OK) {
        float scores[5];
        int64_t ids[5];
        int n = 0, len = 0;
        const char *qs[2] = {"the retrieval of documents", "zzz a b c"};
        if (wn_bm25_search(ix, qs[0], 5, scores, ids, &n) != WN_OK || n < 0 || n > 5) abort();
        for (int i = 0; i < n; i++)
            if (wn_bm25_doc_length(ix, ids[i], &len) != WN_OK || len < 0) abort();
        float s2[10];
        int64_t i2[10];
        int n2[2];
        if (wn_bm25_search_batch(ix, 2, qs, 5, 1, s2, i2, n2) != WN_OK) abort();
        wn_bm25_doc_length(ix, 0, &len);
        wn_bm25_free(ix);
    } else if (!*wn_last_error()) {
        abort();
    }
    unlink(path);
    return 0;
}
