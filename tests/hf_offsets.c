/* hf_offsets.c - see hf_offsets.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "hf_offsets.h"
#include "util/util.h"

int check_hf_offsets(const wn_tokenizer *t, const char *path, int min_cases, int min_spans) {
    char *data;
    size_t n;
    if (wn_read_file(path, &data, &n) != WN_OK) {
        fprintf(stderr, "cannot read %s: %s\n", path, wn_last_error());
        return 1;
    }
    int n_cases = 0, n_ok = 0, n_spans = 0;
    int32_t *ids = malloc(1 << 20), *types = malloc(1 << 20), *off = malloc(1 << 21), *ids2 = malloc(1 << 20);
    for (char *line = data, *nl; (nl = strchr(line, '\n')); line = nl + 1) {
        *nl = 0;
        if (strstr(line, "\\u0000")) continue; /* a C string cannot hold the NUL */
        cJSON *j = cJSON_Parse(line);
        const cJSON *a = cJSON_GetObjectItem(j, "a"), *b = cJSON_GetObjectItem(j, "b"), *want = cJSON_GetObjectItem(j, "ids"),
                    *wo = cJSON_GetObjectItem(j, "offsets");
        int max = cJSON_GetObjectItem(j, "max")->valueint, k = 0, k2 = 0;
        const char *bs = cJSON_IsString(b) ? b->valuestring : NULL;
        wn_status st = wn_tokenizer_encode_offsets(t, a->valuestring, bs, max ? max : 1 << 18, ids, types, off, 1 << 18, &k);
        wn_status st2 = wn_tokenizer_encode(t, a->valuestring, bs, max ? max : 1 << 18, ids2, types, 1 << 18, &k2);
        if (st == WN_ERR_ARG && st2 == WN_ERR_ARG && max && strstr(wn_last_error(), "special tokens")) {
            cJSON_Delete(j); /* winnow refuses a max_len below the template's special tokens (HF does not cut) */
            continue;
        }
        int ok = st == WN_OK && st2 == WN_OK && k == k2 && k == cJSON_GetArraySize(want) && wo && k == cJSON_GetArraySize(wo);
        for (int i = 0; ok && i < k; i++) {
            const cJSON *sp = cJSON_GetArrayItem(wo, i);
            ok = ids[i] == ids2[i] && ids[i] == cJSON_GetArrayItem(want, i)->valueint &&
                 off[2 * i] == cJSON_GetArrayItem(sp, 0)->valueint && off[2 * i + 1] == cJSON_GetArrayItem(sp, 1)->valueint;
            n_spans += off[2 * i] >= 0;
        }
        n_cases++;
        n_ok += ok;
        if (!ok) {
            char got[2048];
            size_t o = 0;
            for (int i = 0; i < k && o < 2000; i++) o += (size_t)snprintf(got + o, sizeof got - o, "[%d,%d]", off[2 * i], off[2 * i + 1]);
            char *w = cJSON_PrintUnformatted(wo);
            if (n_cases - n_ok <= 10)
                fprintf(stderr, "%s case %d \"%.60s\" / \"%.40s\" (max %d): offsets %.600s, HF %.600s\n", path, n_cases,
                        a->valuestring, bs ? bs : "", max, got, w);
            free(w);
        }
        cJSON_Delete(j);
    }
    fprintf(stderr, "HF offsets (%s): %d of %d cases match, %d spans\n", path, n_ok, n_cases, n_spans);
    int bad = n_cases - n_ok;
    if (n_cases < min_cases || n_spans < min_spans) {
        fprintf(stderr, "only %d cases, %d spans read from %s\n", n_cases, n_spans, path);
        bad++;
    }
    int32_t dummy;
    if (wn_tokenizer_encode_offsets(t, "x", NULL, 8, ids, types, NULL, 8, &dummy) != WN_ERR_ARG) {
        fprintf(stderr, "wn_tokenizer_encode_offsets took NULL offsets\n");
        bad++;
    }
    free(ids);
    free(ids2);
    free(types);
    free(off);
    wn_free(data);
    return bad;
}

