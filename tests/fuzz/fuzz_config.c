/* fuzz_config.c - libFuzzer harness for config.json and Pooling config parsing
 * (src/model/config.c) and the JSON validator (json_check.c). Accepted configs
 * must satisfy what the forward pass relies on; and json_valid must never accept
 * text that cJSON rejects (with memory to spare, a failed parse of text the
 * validator accepts would be misreported as out of memory).
 * Build and run: tests/fuzz/run.sh. */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "model/config.h"

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
    cJSON *j = cJSON_ParseWithLength(buf, size);
    if (!j && json_valid(buf, size)) abort(); /* the validator accepted what cJSON rejects */
    cJSON_Delete(j);
    free(buf);
    return 0;
}
