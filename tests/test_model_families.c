/* test_model_families.c - the other encoder families against PyTorch
 * (scripts/make_reference_families.py, written from the HF modules' semantics):
 * MPNet (relative position bias, positions after the pad id, a pad id inside the
 * text), DistilBERT, RoBERTa and XLM-RoBERTa, bi-encoders and cross-encoders, in
 * the HF layout and names (with the "mpnet." / "distilbert." / "roberta." prefixes
 * of the *For* classes). Every layer's hidden states <= 1e-4, embeddings <= 1e-4,
 * logits <= 1e-3; the same through length-sorted batches on 1 and 2 threads; the
 * relative position buckets against exact integer arithmetic; an unknown
 * model_type and a missing tensor are named in the error. */
#include <sys/stat.h>

#include "model_fixture.h"

typedef struct {
    fixture *f;
    const char *name;
    int n_layers_seen;
    double worst;
} tap_ctx;

static void tap(void *ud, int layer, const float *x, int B, int T, int H) {
    tap_ctx *c = ud;
    char key[32];
    snprintf(key, sizeof key, "layer%d", layer);
    size_t n = 0, rows = 0;
    const float *want = fixture_tensor(c->f, key, &n);
    CHECK(want != NULL, "%s: fixture has no %s", c->name, key);
    if (!want) return;
    for (int b = 0; b < B; b++) rows += (size_t)c->f->lens[b];
    CHECK(n == rows * (size_t)H, "%s %s: %zu values, expected %zu", c->name, key, n, rows * (size_t)H);
    if (n != rows * (size_t)H) return;
    float *got = malloc(sizeof(float) * rows * (size_t)H);
    size_t r = 0;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < c->f->lens[b]; t++, r++) memcpy(got + r * H, x + ((size_t)b * T + t) * H, sizeof(float) * H);
    char what[96];
    snprintf(what, sizeof what, "%s %s", c->name, layer ? key : "embeddings");
    c->worst = fmax(c->worst, compare(what, got, want, n, 1e-4));
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

static void check_family(const char *name, model_family fam, int classifier) {
    char fx[128], dir[256];
    snprintf(fx, sizeof fx, "families/%s", name);
    snprintf(dir, sizeof dir, FIX_DIR "/families/%s", name);
    fixture f;
    if (!fixture_load(fx, &f)) {
        CHECK(0, "fixture %s", fx);
        return;
    }
    wn_model *m = load(dir, 2, 32);
    if (!m) {
        fixture_free(&f);
        return;
    }
    CHECK(m->cfg.family == fam, "%s: family %d, expected %d", name, (int)m->cfg.family, (int)fam);
    CHECK((wn_model_kind_of(m) == WN_MODEL_CROSSENCODER) == classifier, "%s: kind %d", name, wn_model_kind_of(m));
    /* every layer, one padded batch in input order */
    int B = f.n, T = 0;
    for (int b = 0; b < B; b++) T = WN_MAX(T, f.lens[b]);
    int32_t *ids = calloc((size_t)B * T, sizeof *ids), *ty = calloc((size_t)B * T, sizeof *ty);
    for (int b = 0; b < B; b++) memcpy(ids + (size_t)b * T, f.ids[b], sizeof(int32_t) * (size_t)f.lens[b]);
    tap_ctx tc = {&f, name, 0, 0};
    m->tap = tap;
    m->tap_ud = &tc;
    const float *hidden;
    CHECK(bert_forward(m, B, T, ids, ty, f.lens, &hidden) == WN_OK, "%s forward: %s", name, wn_last_error());
    CHECK(tc.n_layers_seen == m->cfg.num_hidden_layers + 1, "%s: saw %d layer outputs", name, tc.n_layers_seen);
    m->tap = NULL;
    /* outputs through the batched path (length-sorted), then on 1 thread in batches of 2 */
    size_t n = 0;
    const char *key = classifier ? "logits" : "embedding";
    const float *want = fixture_tensor(&f, key, &n);
    CHECK(want && n == (size_t)B * m->dim, "%s: fixture %s has %zu values", name, key, n);
    float *out = malloc(sizeof(float) * (size_t)B * m->dim), *out2 = malloc(sizeof(float) * (size_t)B * m->dim);
    CHECK(model_run_ids(m, B, (const int32_t *const *)f.ids, NULL, f.lens, out) == WN_OK, "%s run: %s", name, wn_last_error());
    char what[96];
    snprintf(what, sizeof what, "%s %s", name, key);
    if (want && n == (size_t)B * m->dim) compare(what, out, want, n, classifier ? 1e-3 : 1e-4);
    wn_model *m1 = load(dir, 1, 2);
    if (m1) {
        CHECK(model_run_ids(m1, B, (const int32_t *const *)f.ids, NULL, f.lens, out2) == WN_OK, "%s run: %s", name,
              wn_last_error());
        snprintf(what, sizeof what, "%s 1 thread, batch 2", name);
        compare(what, out2, out, (size_t)B * m->dim, 1e-6);
        wn_model_free(m1);
    }
    free(out);
    free(out2);
    free(ids);
    free(ty);
    wn_model_free(m);
    fixture_free(&f);
}

/* Writes text to dir/name. */
static void put(const char *dir, const char *name, const char *text) {
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *fp = fopen(p, "wb");
    if (fp) {
        fputs(text, fp);
        fclose(fp);
    }
}

static void check_errors(void) {
    char tmp[] = "/tmp/wn_fam_XXXXXX";
    CHECK(mkdtemp(tmp) != NULL, "mkdtemp");
    char cmd[700];
    snprintf(cmd, sizeof cmd, "cp %s/families/mpnet_ce/model.safetensors %s/", FIX_DIR, tmp);
    CHECK(system(cmd) == 0, "%s", cmd);
    /* an unknown model_type is named */
    put(tmp, "config.json",
        "{\"model_type\": \"deberta-v2\", \"vocab_size\": 10, \"hidden_size\": 8, \"num_attention_heads\": 2,"
        " \"num_hidden_layers\": 1, \"intermediate_size\": 16, \"max_position_embeddings\": 8}");
    wn_model *m = NULL;
    wn_status st = model_load_dir(tmp, NULL, 0, &m);
    CHECK(st == WN_ERR_UNSUPPORTED && strstr(wn_last_error(), "deberta-v2"), "unknown model_type: %d %s", st, wn_last_error());
    /* a missing tensor is named: an MPNet cross-encoder's file read as a DistilBERT */
    put(tmp, "config.json",
        "{\"model_type\": \"distilbert\", \"architectures\": [\"DistilBertForSequenceClassification\"], \"vocab_size\": 1000,"
        " \"dim\": 48, \"n_heads\": 4, \"n_layers\": 2, \"hidden_dim\": 96, \"max_position_embeddings\": 514}");
    st = model_load_dir(tmp, NULL, 0, &m);
    CHECK(st == WN_ERR_NOTFOUND && strstr(wn_last_error(), "distilbert.embeddings.word_embeddings.weight"),
          "missing tensor: %d %s", st, wn_last_error());
    /* and one the MPNet file lacks when read as MPNet with a layer more */
    put(tmp, "config.json",
        "{\"model_type\": \"mpnet\", \"architectures\": [\"MPNetForSequenceClassification\"], \"vocab_size\": 1000,"
        " \"hidden_size\": 48, \"num_attention_heads\": 4, \"num_hidden_layers\": 3, \"intermediate_size\": 96,"
        " \"max_position_embeddings\": 514, \"num_labels\": 1}");
    st = model_load_dir(tmp, NULL, 0, &m);
    CHECK(st == WN_ERR_NOTFOUND && strstr(wn_last_error(), "encoder.layer.2.attention.attn.q.weight") &&
              strstr(wn_last_error(), "mpnet."),
          "missing layer: %d %s", st, wn_last_error());
    /* the relative bias table's shape comes from relative_attention_num_buckets */
    put(tmp, "config.json",
        "{\"model_type\": \"mpnet\", \"architectures\": [\"MPNetForSequenceClassification\"], \"vocab_size\": 1000,"
        " \"hidden_size\": 48, \"num_attention_heads\": 4, \"num_hidden_layers\": 2, \"intermediate_size\": 96,"
        " \"max_position_embeddings\": 514, \"num_labels\": 1, \"relative_attention_num_buckets\": 64}");
    st = model_load_dir(tmp, NULL, 0, &m);
    CHECK(st == WN_ERR_FORMAT && strstr(wn_last_error(), "relative_attention_bias"), "bucket count: %d %s", st,
          wn_last_error());
    CHECK(m == NULL, "a failed load leaves no model");
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    CHECK(system(cmd) == 0, "%s", cmd);
}

/* T5's buckets as exact integers: below 8 the distance itself, else 8 + the
 * largest k with (n / 8)^8 >= 16^k (up to 15), + 16 for keys after the query. */
static int exact_bucket(int d) {
    int n = d < 0 ? -d : d, ret = d > 0 ? 16 : 0;
    if (n < 8) return ret + n;
    long double r = powl((long double)n / 8, 8);
    int k = 0;
    while (k < 7 && r >= powl(16, k + 1)) k++;
    return ret + 8 + k;
}

int main(void) {
    int bad = 0;
    for (int d = -4096; d <= 4096; d++) bad += bert_rel_bucket(d, 32) != exact_bucket(d);
    CHECK(bad == 0, "%d relative buckets differ from the exact ones", bad);
    CHECK(bert_rel_bucket(-1, 32) == 1 && bert_rel_bucket(1, 32) == 17 && bert_rel_bucket(-16, 32) == 10 &&
              bert_rel_bucket(-64, 32) == 14 && bert_rel_bucket(-127, 32) == 15 && bert_rel_bucket(500, 32) == 31,
          "hand-computed buckets");
    check_family("mpnet_bi", FAMILY_MPNET, 0);
    check_family("mpnet_ce", FAMILY_MPNET, 1);
    check_family("distilbert_bi", FAMILY_DISTILBERT, 0);
    check_family("distilbert_ce", FAMILY_DISTILBERT, 1);
    check_family("roberta_bi", FAMILY_ROBERTA, 0);
    check_family("roberta_ce", FAMILY_ROBERTA, 1);
    check_family("xlmr_bi", FAMILY_ROBERTA, 0);
    check_errors();
    return check_done();
}
