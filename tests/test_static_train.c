/* test_static_train.c - the static-embedding trainer (src/train/static_train.c):
 * the MultipleNegativesRankingLoss it trains with (train_mnrl, shared with the
 * transformer loop) against central finite differences at the trainer's scale,
 * the JSONL pair reader, and a tiny training run:
 * the loss falls, each query ends nearest its own positive, the file is the same
 * bit for bit with 1 or 2 threads, and wn_model_load reads what was written. */
#include <string.h>

#include "check.h"
#include "scratch.h"
/* the trainer's file itself, for its static helpers (the archive's copy is then not linked) */
#include "train/static_train.c"

static float lossd(int nq, int nd, int dim, const float *q, const float *d) {
    float *gq = malloc(sizeof(float) * nq * dim), *gd = malloc(sizeof(float) * nd * dim);
    float l = NAN;
    CHECK(train_mnrl(nq, nd, dim, q, d, 20.0f, gq, gd, &l) == WN_OK, "train_mnrl: %s", wn_last_error());
    free(gq);
    free(gd);
    return l;
}

static void test_gradient(void) {
    enum { NQ = 3, ND = 5, DIM = 7 };
    float q[NQ * DIM], d[ND * DIM], gq[NQ * DIM], gd[ND * DIM];
    uint64_t s = 7;
    for (int i = 0; i < NQ * DIM; i++) q[i] = (float)(rng_unit(&s) * 2 - 1);
    for (int i = 0; i < ND * DIM; i++) d[i] = (float)(rng_unit(&s) * 2 - 1);
    for (int i = 0; i < DIM; i++) d[DIM + i] = 0.5f * q[DIM + i] + 0.2f * d[DIM + i]; /* a close positive */
    float l0 = NAN;
    CHECK(train_mnrl(NQ, ND, DIM, q, d, 20.0f, gq, gd, &l0) == WN_OK, "train_mnrl: %s", wn_last_error());
    CHECK(l0 > 0 && isfinite(l0), "loss %g", l0);
    double worst = 0;
    for (int which = 0; which < 2; which++) {
        float *x = which ? d : q, *g = which ? gd : gq;
        int n = which ? ND * DIM : NQ * DIM;
        for (int i = 0; i < n; i++) {
            const float h = 1e-2f;
            float keep = x[i];
            x[i] = keep + h;
            double lp = lossd(NQ, ND, DIM, q, d);
            x[i] = keep - h;
            double lm = lossd(NQ, ND, DIM, q, d);
            x[i] = keep;
            double fd = (lp - lm) / (2.0 * h), err = fabs(fd - g[i]);
            if (err > worst) worst = err;
            CHECK(err <= 2e-3 + 2e-2 * fabs(fd), "%s[%d]: analytic %.6g, finite difference %.6g", which ? "d" : "q", i, g[i], fd);
        }
    }
    fprintf(stderr, "mnrl gradient: worst |analytic - finite difference| = %.3g (loss %.4f)\n", worst, l0);
    /* a perfect batch: loss near 0, gradients near 0 */
    float e[2 * 2] = {1, 0, 0, 1}, z1[4], z2[4];
    float lz = NAN;
    CHECK(train_mnrl(2, 2, 2, e, e, 20.0f, z1, z2, &lz) == WN_OK, "train_mnrl: %s", wn_last_error());
    CHECK(lz < 1e-6, "orthogonal pairs: loss %g", lz);
}

static void test_parse(void) {
    char *q, *p;
    CHECK(static_parse_pair("{\"query\": \"a \\\"b\\\" \\u00e9\\ud83d\\ude00\", \"n\": 3, \"positive\": \"x\\ny\"}", "t", &q, &p) == WN_OK,
          "parse: %s", wn_last_error());
    if (q && p) {
        CHECK(!strcmp(q, "a \"b\" \xc3\xa9\xf0\x9f\x98\x80"), "query '%s'", q);
        CHECK(!strcmp(p, "x\ny"), "positive '%s'", p);
    }
    wn_free(q), wn_free(p);
    CHECK(static_parse_pair("{\"query\": \"a\"}", "f:3", &q, &p) == WN_ERR_FORMAT && strstr(wn_last_error(), "f:3"), "missing positive");
    CHECK(q == NULL && p == NULL, "outputs cleared on error");
    CHECK(static_parse_pair("{\"query\": 1, \"positive\": \"b\"}", "f", &q, &p) == WN_ERR_FORMAT, "number query");
    CHECK(static_parse_pair("[\"a\"]", "f", &q, &p) == WN_ERR_FORMAT, "array");
    CHECK(static_parse_pair("{\"query\": \"a\", \"positive\": \"b\"", "f", &q, &p) == WN_ERR_FORMAT, "unterminated");
    CHECK(static_parse_pair("{\"query\": \"a\\x\", \"positive\": \"b\"}", "f", &q, &p) == WN_ERR_FORMAT, "bad escape");
}

typedef struct {
    float first, last;
} losses;
static void on_step(void *ud, int64_t step, int64_t steps, float loss, double pps) {
    (void)steps, (void)pps;
    losses *l = ud;
    if (step == 1) l->first = loss;
    l->last = loss;
}

static char *slurp(const char *path, size_t *n) {
    char *t = NULL;
    if (wn_read_file(path, &t, n) != WN_OK) return NULL;
    return t;
}

static void test_train(void) {
    const char *tok = "models/winnow-small-embed/0_StaticEmbedding";
    if (!wn_file_exists("models/winnow-small-embed/0_StaticEmbedding/tokenizer.json")) {
        CHECK(0, "%s/tokenizer.json is missing", tok);
        return;
    }
    static const char *topics[][2] = {
        {"red apple fruit", "an apple is a sweet red fruit from a tree"},
        {"fast car engine", "the car has a powerful engine and drives fast"},
        {"ocean waves beach", "waves from the ocean break on the sandy beach"},
        {"computer memory chip", "a memory chip stores data inside the computer"},
        {"winter snow cold", "snow falls in the cold winter months"},
        {"music guitar song", "she played a song on her guitar"},
        {"bread bakery flour", "the bakery makes bread from flour and water"},
        {"river bridge water", "a bridge crosses the river above the water"},
        {"book library read", "people read books they borrow from the library"},
        {"moon night sky", "the moon shines in the night sky"},
        {"doctor hospital patient", "the doctor treats a patient in the hospital"},
        {"garden flower rose", "a rose is a flower grown in the garden"},
    };
    enum { NT = 12 };
    char data[512], out1[512], out2[512], path[600];
    scratch_path(data, sizeof data, "static_train.jsonl");
    FILE *f = fopen(data, "wb");
    for (int i = 0; i < NT; i++) fprintf(f, "{\"query\": \"%s\", \"positive\": \"%s\"}\n", topics[i][0], topics[i][1]);
    fclose(f);
    scratch_path(out1, sizeof out1, "static_train_m1");
    scratch_path(out2, sizeof out2, "static_train_m2");
    wn_static_train_params p = wn_static_train_default_params();
    p.dim = 12;
    p.batch = 6;
    p.steps = 150;
    p.lr = 0.05f;
    p.n_threads = 1;
    losses l = {0, 0};
    p.on_step = on_step;
    p.ud = &l;
    const char *files[1] = {data};
    float fin = 0;
    wn_status st = wn_static_train(files, 1, tok, out1, &p, &fin);
    CHECK(st == WN_OK, "train: %s", wn_last_error());
    CHECK(l.first > 0 && fin < 0.5f * l.first, "loss from %g to %g (mean of the last steps %g)", l.first, l.last, fin);
    p.n_threads = 2;
    st = wn_static_train(files, 1, tok, out2, &p, NULL);
    CHECK(st == WN_OK, "train 2 threads: %s", wn_last_error());
    size_t n1 = 0, n2 = 0;
    snprintf(path, sizeof path, "%s/0_StaticEmbedding/model.safetensors", out1);
    char *a = slurp(path, &n1);
    snprintf(path, sizeof path, "%s/0_StaticEmbedding/model.safetensors", out2);
    char *b = slurp(path, &n2);
    CHECK(a && b && n1 == n2 && n1 > (size_t)30522 * 12 * 2 && !memcmp(a, b, n1), "1 and 2 threads differ (%zu, %zu bytes)", n1, n2);
    wn_free(a), wn_free(b);

    wn_model *m = NULL;
    st = wn_model_load(out1, NULL, &m);
    CHECK(st == WN_OK && m && wn_model_dim(m) == 12, "load the trained model: %s", wn_last_error());
    if (!m) return;
    const char *qs[NT], *ds[NT];
    for (int i = 0; i < NT; i++) qs[i] = topics[i][0], ds[i] = topics[i][1];
    float qe[NT * 12], de[NT * 12];
    CHECK(wn_model_embed(m, NT, qs, qe) == WN_OK && wn_model_embed(m, NT, ds, de) == WN_OK, "embed");
    int top1 = 0;
    for (int i = 0; i < NT; i++) {
        int best = -1;
        float bs = -2;
        for (int j = 0; j < NT; j++) {
            float s = 0;
            for (int k = 0; k < 12; k++) s += qe[i * 12 + k] * de[j * 12 + k];
            if (s > bs) bs = s, best = j;
        }
        top1 += best == i;
    }
    CHECK(top1 == NT, "%d of %d queries nearest their own positive", top1, NT);
    /* a token never seen in training has a zero row: it does not move an embedding */
    const char *t2[2] = {"apple", "apple zeppelin"};
    float e2[24];
    CHECK(wn_model_embed(m, 2, t2, e2) == WN_OK, "embed unseen");
    for (int k = 0; k < 12; k++) CHECK(fabsf(e2[k] - e2[12 + k]) < 1e-6f, "unseen token moved dim %d", k);
    wn_model_free(m);

    /* errors: a bad line names file:line */
    f = fopen(data, "ab");
    fputs("{\"query\": \"x\"}\n", f);
    fclose(f);
    st = wn_static_train(files, 1, tok, out1, &p, NULL);
    CHECK(st == WN_ERR_FORMAT && strstr(wn_last_error(), ":13"), "bad line: %d %s", st, wn_last_error());
}

int main(void) {
    test_gradient();
    test_parse();
    test_train();
    return check_done();
}
