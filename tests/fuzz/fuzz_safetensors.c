/* fuzz_safetensors.c - libFuzzer harness for the safetensors header parser
 * (src/model/safetensors.c). Every accepted file must describe tensors that lie
 * inside the buffer, do not overlap and whose sizes match their shapes; the
 * harness reads every byte of every tensor so ASan sees any escape.
 * Build and run: tests/fuzz/run.sh (clang -fsanitize=fuzzer,address,undefined). */
#include <stdlib.h>
#include <string.h>

#include "model/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* a private copy, exactly size bytes, so reads past the end are caught */
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf) return 0;
    memcpy(buf, data, size);
    st_file f;
    if (st_parse(buf, size, "fuzz.safetensors", &f) == WN_OK) {
        unsigned sum = 0;
        for (int i = 0; i < f.n; i++) {
            const st_tensor *t = &f.t[i];
            if (t->end < t->begin || t->data < buf || t->data + (t->end - t->begin) > buf + size) abort();
            if ((uint64_t)st_numel(t) * st_dtype_size(t->dtype) != t->end - t->begin) abort();
            for (uint64_t k = 0; k < t->end - t->begin; k++) sum += t->data[k];
            if (st_find(&f, t->name) == NULL) abort();
        }
        if (sum == 0xdeadbeef) f.n += 0; /* keep the reads */
        st_close(&f);
    }
    free(buf);
    return 0;
}
