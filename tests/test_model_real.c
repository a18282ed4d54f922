/* test_model_real.c - the real MiniLM-L6 shapes (V 30522, H 384, 12 heads, 6
 * layers, I 1536, 512 positions) against PyTorch: the weights (~90 MB F32) are
 * regenerated here by the counter-based generator that scripts/make_reference.py
 * shares, into a temp dir; the committed fixtures hold only ids and outputs.
 * F32 bi-encoder embeddings within 1e-4, cross-encoder logits within 1e-3, and
 * the same on F16 / BF16 files against a reference on the rounded weights. */
#include <sys/stat.h>

#include "model_fixture.h"

typedef struct {
    float *out; /* per layer (0 = embeddings), the real-token rows of the sequences, concatenated */
    const int *lens;
    int n_layers, rows;
} layer_tap;

static void grab_layer(void *ud, int layer, const float *x, int B, int T, int H) {
    layer_tap *t = ud;
    if (layer >= t->n_layers) return;
    size_t r = (size_t)layer * t->rows;
    for (int b = 0; b < B; b++)
        for (int i = 0; i < t->lens[b]; i++, r++) memcpy(t->out + r * H, x + ((size_t)b * T + i) * H, sizeof(float) * H);
}

static double run_one(const char *name, const char *key, double tol, int max_batch) {
    fixture f;
    if (!fixture_load(name, &f)) {
        CHECK(0, "fixture %s", name);
        return -1;
    }
    char dir[256];
    snprintf(dir, sizeof dir, "/tmp/wn_real_%d_%s", (int)getpid(), name);
    double worst = -1;
    double t0 = wn_now();
    wn_status st = synth_write_model(dir, &f.spec);
    CHECK(st == WN_OK, "writing %s: %s", dir, wn_last_error());
    wn_model_params p = wn_model_default_params();
    p.max_batch = max_batch;
    wn_model *m = NULL;
    if (st == WN_OK) {
        st = model_load_dir(dir, &p, 0, &m);
        CHECK(st == WN_OK, "loading %s: %s", dir, wn_last_error());
    }
    double t1 = wn_now();
    if (m) {
        size_t n = 0;
        const float *want = fixture_tensor(&f, key, &n);
        CHECK(want && n == (size_t)f.n * m->dim, "%s: fixture has %zu values for %d x %d", name, n, f.n, m->dim);
        float *got = calloc((size_t)f.n * m->dim, sizeof *got);
        st = model_run_ids(m, f.n, (const int32_t *const *)f.ids, (const int32_t *const *)f.types, f.lens, got);
        CHECK(st == WN_OK, "%s: %s", name, wn_last_error());
        if (want && st == WN_OK) {
            char what[80];
            int tok = 0;
            for (int i = 0; i < f.n; i++) tok += f.lens[i];
            snprintf(what, sizeof what, "%s %s (%d tok)", name, key, tok);
            worst = compare(what, got, want, n, tol);
        }
        /* every layer's output (0 = embeddings) of the first two sequences, compared
         * layer by layer so a mismatch names its layer; older fixtures: layer 1 only */
        size_t nl = 0;
        const float *want_l = fixture_tensor(&f, "layers_head", &nl);
        int first = 0, n_layers = m->cfg.num_hidden_layers + 1;
        if (!want_l) {
            want_l = fixture_tensor(&f, "layer1_head", &nl);
            first = 1;
            n_layers = 2;
        }
        if (want_l && f.n >= 2) {
            const int H = m->cfg.hidden_size, T = WN_MAX(f.lens[0], f.lens[1]), rows = f.lens[0] + f.lens[1];
            CHECK(nl == (size_t)(n_layers - first) * rows * H, "layer outputs: %zu values for %d layers of %d x %d", nl,
                  n_layers - first, rows, H);
            int32_t *ids = calloc((size_t)2 * T, sizeof *ids), *ty = calloc((size_t)2 * T, sizeof *ty);
            for (int b = 0; b < 2; b++) {
                memcpy(ids + (size_t)b * T, f.ids[b], sizeof(int32_t) * (size_t)f.lens[b]);
                memcpy(ty + (size_t)b * T, f.types[b], sizeof(int32_t) * (size_t)f.lens[b]);
            }
            float *got_l = calloc((size_t)n_layers * rows * H, sizeof *got_l);
            layer_tap lt = {got_l, f.lens, n_layers, rows};
            m->tap = grab_layer;
            m->tap_ud = &lt;
            const float *hidden;
            CHECK(bert_forward(m, 2, T, ids, ty, f.lens, &hidden) == WN_OK, "forward: %s", wn_last_error());
            m->tap = NULL;
            for (int l = first; l < n_layers && nl == (size_t)(n_layers - first) * rows * H; l++) {
                char what[80];
                snprintf(what, sizeof what, "%s layer %d (2 seq)", name, l);
                compare(what, got_l + (size_t)l * rows * H, want_l + (size_t)(l - first) * rows * H, (size_t)rows * H, 1e-4);
            }
            free(got_l);
            free(ids);
            free(ty);
        }
        fprintf(stderr, "  %s: write+load %.2fs, forward %.2fs (batch %d, %d threads)\n", name, t1 - t0, wn_now() - t1,
                max_batch, wn_pool_size(m->ws.pool));
        free(got);
        wn_model_free(m);
    }
    char path[400];
    const char *files[] = {"model.safetensors", "config.json", "modules.json", "sentence_bert_config.json",
                           "1_Pooling/config.json"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
    }
    snprintf(path, sizeof path, "%s/1_Pooling", dir);
    rmdir(path);
    rmdir(dir);
    fixture_free(&f);
    return worst;
}

int main(void) {
    run_one("real_bi_f32", "embedding", 1e-4, 32);
    run_one("real_ce_f32", "logits", 1e-3, 4);
    run_one("real_bi_f16", "embedding", 1e-4, 3);
    run_one("real_ce_bf16", "logits", 1e-3, 32);
    return check_done();
}
