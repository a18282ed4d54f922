/*
 * fuzz_index_load.c - libFuzzer target for the index file reader (wn_index_load).
 * Before loading, it recomputes the header's and sections' CRC32C when the table
 * is readable, so mutations get past the checksums and reach the structural
 * checks (counts, offsets, links and list entries in range); a loaded index is
 * then searched. Build and run: tests/fuzz/run.sh [SECONDS] fuzz_index_load; the corpus
 * is replayed by make check (fuzz_replay_fuzz_index_load, test_index_io).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "index/index.h"

static void fix_crcs(uint8_t *b, size_t len) {
    if (len < 128 || memcmp(b, "WNIX", 4)) return;
    uint32_t ns, hb;
    memcpy(&ns, b + 28, 4);
    memcpy(&hb, b + 8, 4);
    if (ns > 32 || hb != 128 + 32 * ns || hb > len) return;
    const dist_kernels *kr = dist_ref();
    for (uint32_t i = 0; i < ns; i++) {
        uint8_t *e = b + 128 + 32 * i;
        uint64_t off, size;
        memcpy(&off, e + 8, 8);
        memcpy(&size, e + 16, 8);
        if (off > len || size > len - off) continue;
        uint32_t c = kr->crc32c(0, b + off, size);
        memcpy(e + 24, &c, 4);
    }
    memset(b + 112, 0, 4);
    uint32_t c = kr->crc32c(0, b, hb);
    memcpy(b + 112, &c, 4);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[64];
    snprintf(path, sizeof path, "/tmp/wn_fuzz_index.%d", (int)getpid());
    uint8_t *b = malloc(size ? size : 1);
    memcpy(b, data, size);
    if (size > 4 && data[size - 1] & 1) fix_crcs(b, size); /* half the inputs keep their checksums */
    FILE *f = fopen(path, "wb");
    if (!f) return free(b), 0;
    fwrite(b, 1, size, f);
    fclose(f);
    free(b);
    wn_index *ix = NULL;
    if (wn_index_load(path, &ix) == WN_OK) {
        int d = wn_index_dim(ix);
        float *q = calloc((size_t)d, sizeof(float)), dist[5];
        int64_t ids[5];
        q[0] = 1;
        wn_index_search_params sp = wn_index_search_default_params();
        wn_index_search(ix, 1, q, 5, &sp, dist, ids);
        free(q);
        wn_index_free(ix);
    }
    unlink(path);
    return 0;
}
