/* fuzz_config.c - libFuzzer harness for config.json and Pooling config parsing
 * (src/model/config.c) and the JSON reader (src/util/json.c). Accepted configs
 * must satisfy what the forward pass relies on; the reader rejects only with
 * WN_ERR_FORMAT and a message, and what it accepts it writes out and reads back
 * to the same text.
 * Build and run: tests/fuzz/run.sh. */
#include <stdlib.h>
#include <string.h>

#include "model/config.h"
#include "util/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *buf = malloc(size + 1);
    if (!buf) return 0;
    memcpy(buf, data, size);
    buf[size] = 0;
    bert_config c;
    if (config_parse_bert(buf, size, "fuzz/config.json", &c) == WN_OK) {
        if (c.hidden_size <= 0 || c.num_attention_heads <= 0 || c.hidden_size % c.num_attention_heads) abort();
        if (c.vocab_size <= 0 || c.max_position_embeddings <= 0 || (c.type_vocab_size <= 0 && !c.type_vocab_none) || c.num_labels <= 0) abort();
        if (!(c.layer_norm_eps > 0)) abort();
    }
    pool_config p;
    memset(&p, 0, sizeof p);
    if (config_parse_pooling(buf, size, "fuzz/1_Pooling/config.json", &p) == WN_OK)
        if (pool_dim(&p, 384) <= 0) abort();
    wn_json *j = NULL;
    wn_status js = wn_json_parse(buf, size, 0, "fuzz", &j);
    if (js != WN_OK && (js != WN_ERR_FORMAT || !*wn_last_error())) abort();
    if (j) {
        char *w1, *w2;
        size_t l1, l2;
        wn_json *j2;
        if (wn_json_write(j, &w1, &l1) || wn_json_parse(w1, l1, 0, "rewritten", &j2) || wn_json_write(j2, &w2, &l2))
            abort();
        if (l1 != l2 || memcmp(w1, w2, l1)) abort(); /* written text reads back to itself */
        wn_json_free(j2);
        wn_free(w1), wn_free(w2);
    }
    wn_json_free(j);
    free(buf);
    return 0;
}
