/* fuzz_json.c - libFuzzer harness for winnow's JSON reader and writer
 * (src/util/json.c): any input is read without a crash or a leak; a rejection is
 * WN_ERR_FORMAT with a message; what is read writes out and reads back to the same
 * text; and the same bytes read with WN_JSON_RAW_BYTES are accepted whenever they
 * are without it. Seeds: tests/fuzz/seeds/fuzz_json (replayed by tests/test_json.c).
 * Build and run: tests/fuzz/run.sh SECONDS fuzz_json. */
#include <stdlib.h>
#include <string.h>

#include "util/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    wn_json *j = NULL, *raw = NULL;
    wn_status st = wn_json_parse((const char *)data, size, 0, "fuzz", &j);
    if (st != WN_OK && (st != WN_ERR_FORMAT || !*wn_last_error())) abort();
    if (wn_json_parse((const char *)data, size, WN_JSON_RAW_BYTES, "fuzz", &raw) != WN_OK && j) abort();
    if (j) {
        char *w1, *w2;
        size_t l1, l2;
        wn_json *j2;
        if (wn_json_write(j, &w1, &l1) || wn_json_parse(w1, l1, 0, "rewritten", &j2) || wn_json_write(j2, &w2, &l2))
            abort();
        if (l1 != l2 || memcmp(w1, w2, l1)) abort();
        wn_json_free(j2);
        wn_free(w1), wn_free(w2);
    }
    wn_json_free(raw);
    wn_json_free(j);
    return 0;
}
