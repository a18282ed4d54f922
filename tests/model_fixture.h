/* model_fixture.h - shared by tests/test_model*.c: reads the PyTorch reference
 * fixtures of scripts/make_reference.py (name.json + name.f32) and compares
 * tensors element by element, printing the worst element. Static functions only
 * (a header, so it is not linked into every other test). */
#ifndef WN_MODEL_FIXTURE_H
#define WN_MODEL_FIXTURE_H

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "model/model.h"
#include "synth.h"

#define FIX_DIR "tests/fixtures/model"

typedef struct {
    cJSON *root;
    float *data;
    size_t n_data;
    int n;          /* sequences */
    int32_t **ids, **types;
    int *lens;
    synth_spec spec;
} fixture;

static void fixture_free(fixture *f) {
    for (int i = 0; i < f->n; i++) {
        free(f->ids[i]);
        free(f->types[i]);
    }
    free(f->ids);
    free(f->types);
    free(f->lens);
    free(f->data);
    cJSON_Delete(f->root);
    memset(f, 0, sizeof *f);
}

static int json_int(const cJSON *o, const char *k) {
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, k);
    return j ? (int)j->valuedouble : 0;
}

/* Returns 0 (and prints why) if the fixture cannot be read. */
static int fixture_load(const char *name, fixture *f) {
    memset(f, 0, sizeof *f);
    char path[512];
    snprintf(path, sizeof path, FIX_DIR "/%s.json", name);
    char *text;
    size_t len;
    if (wn_read_file(path, &text, &len) != WN_OK) {
        fprintf(stderr, "cannot read %s: %s\n", path, wn_last_error());
        return 0;
    }
    f->root = cJSON_Parse(text);
    wn_free(text);
    if (!f->root) {
        fprintf(stderr, "%s: invalid JSON\n", path);
        return 0;
    }
    snprintf(path, sizeof path, FIX_DIR "/%s.f32", name);
    char *bin;
    if (wn_read_file(path, &bin, &len) != WN_OK) {
        fprintf(stderr, "cannot read %s: %s\n", path, wn_last_error());
        return 0;
    }
    f->n_data = len / 4;
    f->data = malloc(len + 4);
    memcpy(f->data, bin, len);
    wn_free(bin);
    const cJSON *sp = cJSON_GetObjectItemCaseSensitive(f->root, "spec");
    const char *dt = cJSON_GetObjectItemCaseSensitive(sp, "dtype")->valuestring;
    f->spec = (synth_spec){json_int(sp, "vocab"), json_int(sp, "hidden"), json_int(sp, "heads"), json_int(sp, "layers"),
                           json_int(sp, "inter"), json_int(sp, "max_pos"), json_int(sp, "type_vocab"),
                           json_int(sp, "classifier"), json_int(sp, "num_labels"),
                           !strcmp(dt, "F16") ? ST_F16 : !strcmp(dt, "BF16") ? ST_BF16 : ST_F32,
                           (uint64_t)json_int(sp, "seed")};
    const cJSON *in = cJSON_GetObjectItemCaseSensitive(f->root, "inputs");
    f->n = cJSON_GetArraySize(in);
    f->ids = calloc((size_t)f->n, sizeof *f->ids);
    f->types = calloc((size_t)f->n, sizeof *f->types);
    f->lens = calloc((size_t)f->n, sizeof *f->lens);
    int i = 0;
    for (const cJSON *s = in->child; s; s = s->next, i++) {
        const cJSON *ids = cJSON_GetObjectItemCaseSensitive(s, "ids"), *ty = cJSON_GetObjectItemCaseSensitive(s, "types");
        int n = cJSON_GetArraySize(ids);
        f->lens[i] = n;
        f->ids[i] = malloc(sizeof(int32_t) * (size_t)(n + 1));
        f->types[i] = malloc(sizeof(int32_t) * (size_t)(n + 1));
        int k = 0;
        for (const cJSON *x = ids->child; x; x = x->next) f->ids[i][k++] = (int32_t)x->valuedouble;
        k = 0;
        for (const cJSON *x = ty->child; x; x = x->next) f->types[i][k++] = (int32_t)x->valuedouble;
    }
    return 1;
}

/* The expected tensor key (its element count in *n), or NULL. */
static const float *fixture_tensor(const fixture *f, const char *key, size_t *n) {
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(f->root, "tensors"), key);
    if (!t) return NULL;
    size_t off = (size_t)json_int(t, "offset"), cnt = 1;
    for (const cJSON *d = cJSON_GetObjectItemCaseSensitive(t, "shape")->child; d; d = d->next) cnt *= (size_t)d->valuedouble;
    if (off + cnt > f->n_data) return NULL;
    *n = cnt;
    return f->data + off;
}

/* Compares n elements: fails on any |got - want| > tol; prints the worst element.
 * Returns the worst difference. */
static double compare(const char *what, const float *got, const float *want, size_t n, double tol) {
    double worst = -1;
    size_t wi = 0;
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - (double)want[i]);
        if (!(d <= tol)) bad++;
        if (!(d <= worst)) {
            worst = d;
            wi = i;
        }
    }
    fprintf(stderr, "%-28s %7zu values, worst |diff| %.3g at [%zu] (got %.9g, expected %.9g), tolerance %g%s\n", what, n,
            worst, wi, n ? got[wi] : 0.0, n ? want[wi] : 0.0, tol, bad ? "  FAIL" : "");
    CHECK(bad == 0, "%s: %d of %zu values differ by more than %g (worst %.3g at %zu)", what, bad, n, tol, worst, wi);
    return worst;
}

#endif
