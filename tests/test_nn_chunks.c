/*
 * test_nn_chunks.c - the memory-bounding parts of the forward pass change no
 * result: the feed-forward run in row chunks of any size (1, 5, 7, 16, 100 rows)
 * and on 1 or 2 threads gives bit-identical outputs in fp32, bf16 and int8, for
 * the bi-encoder (also within 1e-5 of PyTorch's embeddings) and the
 * cross-encoder head. After loading, a packed model keeps no f32 copy of its
 * weights (the stacked qkv block is freed, packed weights drop their view).
 */
#include <string.h>

#include "model_fixture.h"

static wn_model *load(const char *dir, int threads, nn_precision prec) {
    wn_model_params p = wn_model_default_params();
    p.n_threads = threads;
    p.max_batch = 32;
    p.precision = prec == NN_PREC_BF16 ? WN_PREC_BF16 : prec == NN_PREC_INT8 ? WN_PREC_INT8 : WN_PREC_FP32;
    wn_model *m = NULL;
    wn_status st = model_load_dir(dir, &p, 0, &m);
    CHECK(st == WN_OK, "loading %s: %s", dir, wn_last_error());
    return m;
}

/* n sequences of 1..maxlen tokens, ids and types from a fixed LCG */
typedef struct {
    int n;
    int32_t *ids[40], *types[40];
    int lens[40];
} batch;

static void make_batch(batch *b, int n, int maxlen, int vocab, int tv) {
    uint32_t s = 12345;
    b->n = n;
    for (int i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        b->lens[i] = 1 + (int)((s >> 8) % (uint32_t)maxlen);
        b->ids[i] = malloc(sizeof(int32_t) * (size_t)b->lens[i]);
        b->types[i] = malloc(sizeof(int32_t) * (size_t)b->lens[i]);
        for (int t = 0; t < b->lens[i]; t++) {
            s = s * 1664525u + 1013904223u;
            b->ids[i][t] = (int32_t)((s >> 8) % (uint32_t)vocab);
            b->types[i][t] = t > b->lens[i] / 2 ? tv - 1 : 0;
        }
    }
}

static void free_batch(batch *b) {
    for (int i = 0; i < b->n; i++) free(b->ids[i]), free(b->types[i]);
}

static const char *pname(nn_precision p) { return p == NN_PREC_BF16 ? "bf16" : p == NN_PREC_INT8 ? "int8" : "fp32"; }

/* Runs (ids, types, lens) on dir at every (threads, chunk) and checks each output
 * against the first bit for bit; returns the first output (caller frees). */
static float *chunk_invariance(const char *dir, nn_precision prec, const int chunks[4], int n,
                               const int32_t *const *ids, const int32_t *const *types, const int *lens) {
    float *first = NULL;
    int dim = 0;
    /* (threads, chunk): the 2-thread runs are few (a busy machine makes pool hand-offs slow) */
    const int runs[5][2] = {{1, 0}, {1, chunks[1]}, {1, chunks[2]}, {2, chunks[3]}, {2, 0}};
    for (int r = 0; r < 5; r++) {
        const int th = runs[r][0], chunk = runs[r][1];
        wn_model *m = load(dir, th, prec);
        if (!m) return first;
        if (r == 0) {
            /* a packed model keeps no f32 copy of its weights */
            const int packed = m->layer[0].qkv.packed != NULL;
            CHECK(packed == (m->qkv_w == NULL), "%s %s: qkv packed %d but qkv_w %p", dir, pname(prec), packed,
                  (void *)m->qkv_w);
            for (int l = 0; l < m->cfg.num_hidden_layers; l++)
                CHECK(!m->layer[l].inter.packed || m->layer[l].inter.w == NULL, "layer %d keeps an f32 view", l);
        }
        m->ffn_rows = chunk;
        dim = m->dim;
        float *o = malloc(sizeof(float) * (size_t)n * dim);
        CHECK(model_run_ids(m, n, ids, types, lens, o) == WN_OK, "run: %s", wn_last_error());
        if (!first) {
            first = o;
        } else {
            size_t bad = 0;
            for (size_t i = 0; i < (size_t)n * dim; i++) bad += memcmp(&o[i], &first[i], sizeof(float)) != 0;
            CHECK(bad == 0, "%s %s threads %d chunk %d: %zu of %zu outputs differ from threads 1 chunk default", dir,
                  pname(prec), th, chunk, bad, (size_t)n * dim);
            free(o);
        }
        wn_model_free(m);
    }
    fprintf(stderr, "%-30s %s: %5d outputs bit-identical over chunks of %d/%d/%d/all rows, threads 1/2\n", dir,
            pname(prec), n * dim, chunks[1], chunks[2], chunks[3]);
    return first;
}

int main(void) {
    fixture f;
    if (!fixture_load("tiny_bi", &f)) return 1;
    const nn_precision precs[3] = {NN_PREC_FP32, NN_PREC_BF16, NN_PREC_INT8};
    size_t n = 0;
    const float *want = fixture_tensor(&f, "embedding", &n);
    CHECK(want && n == (size_t)f.n * 64, "fixture embedding");
    for (int p = 0; p < 3; p++) {
        static const int small[4] = {0, 1, 5, 16};
        float *e = chunk_invariance(FIX_DIR "/tiny-bi", precs[p], small, f.n, (const int32_t *const *)f.ids,
                                    (const int32_t *const *)f.types, f.lens);
        if (e && want && precs[p] == NN_PREC_FP32) compare("tiny-bi fp32 vs PyTorch", e, want, n, 1e-5);
        free(e);
    }
    /* longer random batches (chunks across and inside sequences) on both heads */
    static const int big[4] = {0, 7, 16, 100};
    const char *dirs[2] = {FIX_DIR "/tiny-bi", FIX_DIR "/tiny-ce"};
    for (int d = 0; d < 2; d++) {
        wn_model *m = load(dirs[d], 1, NN_PREC_FP32);
        if (!m) continue;
        batch b;
        make_batch(&b, 20, WN_MIN(60, m->cfg.max_position_embeddings), m->cfg.vocab_size, m->cfg.type_vocab_size);
        wn_model_free(m);
        for (int p = 0; p < 3; p++)
            free(chunk_invariance(dirs[d], precs[p], big, b.n, (const int32_t *const *)b.ids,
                                  (const int32_t *const *)b.types, b.lens));
        free_batch(&b);
    }
    fixture_free(&f);
    return check_done();
}
