/* test_model.c - the BERT forward pass against PyTorch on the small fixture
 * (scripts/make_reference.py): the embeddings' output and every layer's hidden
 * states, mean pooling and Normalize, for a mixed-length batch; results that do
 * not depend on batch size or threads; the C weight generator writes the same
 * bytes as the Python one. */
#include "model_fixture.h"

typedef struct {
    fixture *f;
    int T;
    int n_layers_seen;
} tap_ctx;

/* Compares the real-token rows of one layer with the reference (sequences in
 * input order, rows of sequence b are b*T .. b*T + len[b]). */
static void tap(void *ud, int layer, const float *x, int B, int T, int H) {
    tap_ctx *c = ud;
    char key[32];
    snprintf(key, sizeof key, "layer%d", layer);
    size_t n = 0;
    const float *want = fixture_tensor(c->f, key, &n);
    CHECK(want != NULL, "fixture has no %s", key);
    if (!want) return;
    size_t rows = 0;
    for (int b = 0; b < B; b++) rows += (size_t)c->f->lens[b];
    CHECK(n == rows * (size_t)H, "%s: %zu values, expected %zu", key, n, rows * (size_t)H);
    float *got = malloc(sizeof(float) * rows * (size_t)H);
    size_t r = 0;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < c->f->lens[b]; t++, r++) memcpy(got + r * H, x + ((size_t)b * T + t) * H, sizeof(float) * H);
    char what[64];
    snprintf(what, sizeof what, "tiny-bi %s", layer ? key : "embeddings");
    compare(what, got, want, n, 1e-4);
    free(got);
    c->n_layers_seen++;
}

static wn_model *load(const char *dir, int threads, int batch) {
    wn_model_params p = wn_model_default_params();
    p.n_threads = threads;
    p.max_batch = batch;
    wn_model *m = NULL;
    wn_status st = model_load_dir(dir, &p, 0, &m);
    CHECK(st == WN_OK, "loading %s: %s", dir, wn_last_error());
    return m;
}

int main(void) {
    fixture f;
    if (!fixture_load("tiny_bi", &f)) return 1;
    wn_model *m = load(FIX_DIR "/tiny-bi", 2, 32);
    if (!m) return check_done();
    CHECK(wn_model_kind_of(m) == WN_MODEL_BIENCODER, "kind %d", wn_model_kind_of(m));
    CHECK(wn_model_dim(m) == 64, "dim %d", wn_model_dim(m));
    CHECK(m->pc.mean && m->pc.normalize && !m->pc.cls, "pooling: mean %d normalize %d cls %d", m->pc.mean, m->pc.normalize,
          m->pc.cls);

    /* every layer, one padded batch in input order */
    int B = f.n, T = 0;
    for (int b = 0; b < B; b++) T = WN_MAX(T, f.lens[b]);
    int32_t *ids = calloc((size_t)B * T, sizeof *ids), *ty = calloc((size_t)B * T, sizeof *ty);
    for (int b = 0; b < B; b++) {
        memcpy(ids + (size_t)b * T, f.ids[b], sizeof(int32_t) * (size_t)f.lens[b]);
        memcpy(ty + (size_t)b * T, f.types[b], sizeof(int32_t) * (size_t)f.lens[b]);
    }
    tap_ctx tc = {&f, T, 0};
    m->tap = tap;
    m->tap_ud = &tc;
    const float *hidden;
    CHECK(bert_forward(m, B, T, ids, ty, f.lens, &hidden) == WN_OK, "forward: %s", wn_last_error());
    CHECK(tc.n_layers_seen == 3, "saw %d layer outputs, expected 3", tc.n_layers_seen);
    m->tap = NULL;

    /* pooling before and after Normalize through the batched path */
    size_t n = 0;
    const float *want_pooled = fixture_tensor(&f, "pooled", &n), *want_emb = fixture_tensor(&f, "embedding", &n);
    float *emb = malloc(sizeof(float) * (size_t)B * 64);
    CHECK(model_run_ids(m, B, (const int32_t *const *)f.ids, (const int32_t *const *)f.types, f.lens, emb) == WN_OK, "run: %s",
          wn_last_error());
    compare("tiny-bi embedding", emb, want_emb, (size_t)B * 64, 1e-5);
    m->pc.normalize = 0;
    float *pooled = malloc(sizeof(float) * (size_t)B * 64);
    CHECK(model_run_ids(m, B, (const int32_t *const *)f.ids, (const int32_t *const *)f.types, f.lens, pooled) == WN_OK, "run");
    compare("tiny-bi pooled (mean)", pooled, want_pooled, (size_t)B * 64, 1e-4);
    /* the other pooling modes, and several at once (concatenated cls, max, mean, mean_sqrt) */
    const struct {
        const char *key;
        int cls, max, mean, sqrt;
    } modes[3] = {{"pool_cls", 1, 0, 0, 0}, {"pool_max", 0, 1, 0, 0}, {"pool_mean_sqrt", 0, 0, 0, 1}};
    for (int k = 0; k < 3; k++) {
        m->pc.cls = modes[k].cls, m->pc.max = modes[k].max, m->pc.mean = modes[k].mean, m->pc.mean_sqrt = modes[k].sqrt;
        m->dim = pool_dim(&m->pc, 64);
        const float *want_k = fixture_tensor(&f, modes[k].key, &n);
        CHECK(want_k && n == (size_t)B * 64, "fixture %s", modes[k].key);
        if (!want_k) continue;
        CHECK(model_run_ids(m, B, (const int32_t *const *)f.ids, (const int32_t *const *)f.types, f.lens, pooled) == WN_OK, "run");
        char what[64];
        snprintf(what, sizeof what, "tiny-bi %s", modes[k].key);
        compare(what, pooled, want_k, n, 1e-4);
    }
    m->pc.cls = m->pc.max = m->pc.mean = m->pc.mean_sqrt = 1;
    m->dim = pool_dim(&m->pc, 64);
    CHECK(m->dim == 256, "4 modes: dim %d", m->dim);
    float *cat = malloc(sizeof(float) * (size_t)B * 256);
    CHECK(model_run_ids(m, B, (const int32_t *const *)f.ids, (const int32_t *const *)f.types, f.lens, cat) == WN_OK, "run");
    const char *order[4] = {"pool_cls", "pool_max", "pooled", "pool_mean_sqrt"}; /* sentence-transformers' order */
    for (int k = 0; k < 4; k++) {
        const float *w = fixture_tensor(&f, order[k], &n);
        double worst = 0;
        for (int b = 0; b < B && w; b++)
            for (int j = 0; j < 64; j++) worst = fmax(worst, fabs(cat[(size_t)b * 256 + k * 64 + j] - w[(size_t)b * 64 + j]));
        CHECK(w && worst < 1e-4, "concatenated %s: worst %g", order[k], worst);
    }
    free(cat);
    m->pc.cls = m->pc.max = m->pc.mean_sqrt = 0, m->pc.mean = 1, m->pc.normalize = 1;
    m->dim = 64;
    wn_model_free(m);

    /* independent of batch size and threads: 1 thread batch 1, 2 threads batch 7, 1 thread batch 3 */
    const int cfg[3][2] = {{1, 1}, {2, 7}, {1, 3}};
    for (int c = 0; c < 3; c++) {
        wn_model *m2 = load(FIX_DIR "/tiny-bi", cfg[c][0], cfg[c][1]);
        if (!m2) continue;
        float *e2 = malloc(sizeof(float) * (size_t)B * 64);
        CHECK(model_run_ids(m2, B, (const int32_t *const *)f.ids, (const int32_t *const *)f.types, f.lens, e2) == WN_OK, "run");
        char what[64];
        snprintf(what, sizeof what, "threads %d batch %d vs 2/32", cfg[c][0], cfg[c][1]);
        compare(what, e2, emb, (size_t)B * 64, 1e-6);
        free(e2);
        wn_model_free(m2);
    }

    /* batches split between threads (each thread runs whole forward passes over
     * its share once a batch has MODEL_SPLIT_MIN_PER_THREAD sequences per thread):
     * the fixture's sequences 4 times over, on 2 and 3 threads, give the
     * single-thread embeddings bit for bit */
    {
        const int R = 4, NR_ = R * B;
        const int32_t **ids4 = malloc(sizeof(*ids4) * NR_), **ty4 = malloc(sizeof(*ty4) * NR_);
        int *len4 = malloc(sizeof(int) * NR_);
        for (int i = 0; i < NR_; i++) ids4[i] = f.ids[i % B], ty4[i] = f.types[i % B], len4[i] = f.lens[i % B];
        CHECK(NR_ >= MODEL_SPLIT_MIN_PER_THREAD * 3, "%d sequences are too few to split on 3 threads", NR_);
        for (int th = 2; th <= 3; th++) {
            wn_model *m3 = load(FIX_DIR "/tiny-bi", th, 32);
            if (!m3) continue;
            float *e3 = malloc(sizeof(float) * (size_t)NR_ * 64);
            CHECK(model_run_ids(m3, NR_, ids4, ty4, len4, e3) == WN_OK, "run: %s", wn_last_error());
            CHECK(m3->part_ws != NULL, "%d threads: the batch of %d was not split", th, NR_);
            for (int r = 0; r < R; r++) {
                char what[64];
                snprintf(what, sizeof what, "split on %d threads, copy %d", th, r);
                compare(what, e3 + (size_t)r * B * 64, emb, (size_t)B * 64, 0);
            }
            free(e3);
            wn_model_free(m3);
        }
        free(ids4), free(ty4), free(len4);
    }

    /* the C generator writes the bytes make_reference.py wrote */
    char tmp[] = "/tmp/wn_model_XXXXXX";
    CHECK(mkdtemp(tmp) != NULL, "mkdtemp");
    char path[600];
    const char *names[2] = {"tiny-bi", "tiny-ce"};
    synth_spec specs[2] = {f.spec, f.spec};
    specs[1].classifier = 1, specs[1].seed = 12;
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s.safetensors", tmp, names[i]);
        CHECK(synth_write_safetensors(path, &specs[i]) == WN_OK, "synth: %s", wn_last_error());
        char *a, *b;
        size_t la, lb;
        char ref[600];
        snprintf(ref, sizeof ref, FIX_DIR "/%s/model.safetensors", names[i]);
        if (wn_read_file(path, &a, &la) == WN_OK && wn_read_file(ref, &b, &lb) == WN_OK) {
            CHECK(la == lb && !memcmp(a, b, la), "%s: C writer and make_reference.py differ (%zu vs %zu bytes)", names[i], la, lb);
            wn_free(a);
            wn_free(b);
        } else CHECK(0, "reading %s: %s", ref, wn_last_error());
        unlink(path);
    }
    rmdir(tmp);
    free(ids);
    free(ty);
    free(emb);
    free(pooled);
    fixture_free(&f);
    return check_done();
}
