/* test_model_text.c - text in, vectors out through the public API
 * (wn_model_load / wn_model_embed / wn_model_score): the tokenizer's ids equal
 * the ids the PyTorch reference was run on (scripts/make_reference.py's own
 * WordPiece for ASCII text), and embeddings and logits match the reference;
 * empty text, text past the limit (truncated), invalid UTF-8 (replaced). */
#include "model_fixture.h"

static void check_ids(const wn_model *m, const fixture *f, int i, const char *a, const char *b) {
    int32_t ids[512], ty[512];
    int n = 0;
    wn_status st = wn_tokenizer_encode(wn_model_tokenizer(m), a, b, m->max_len, ids, ty, 512, &n);
    CHECK(st == WN_OK, "encode: %s", wn_last_error());
    int same = n == f->lens[i];
    for (int k = 0; same && k < n; k++) same = ids[k] == f->ids[i][k] && ty[k] == f->types[i][k];
    CHECK(same, "input %d: the tokenizer gives %d ids, the reference used %d (first ids %d %d vs %d %d)", i, n, f->lens[i],
          n > 1 ? ids[1] : -1, n > 2 ? ids[2] : -1, f->lens[i] > 1 ? f->ids[i][1] : -1, f->lens[i] > 2 ? f->ids[i][2] : -1);
}

/* lines of a file (texts or query<TAB>doc), at most cap */
static int read_lines(const char *path, char **lines, int cap, char **buf) {
    size_t len;
    if (wn_read_file(path, buf, &len) != WN_OK) return 0;
    int n = 0;
    char *p = *buf;
    while (*p && n < cap) {
        char *nl = strchr(p, '\n');
        if (nl) *nl = 0;
        lines[n++] = p;
        if (!nl) break;
        p = nl + 1;
    }
    return n;
}

int main(void) {
    wn_model_params p = wn_model_default_params();
    p.n_threads = 2;
    p.max_batch = 64;
    wn_model *m = NULL;
    wn_status st = wn_model_load(FIX_DIR "/tiny-bi", &p, &m);
    CHECK(st == WN_OK, "load: %s", wn_last_error());
    fixture f;
    if (!m || !fixture_load("tiny_bi_text", &f)) return check_done();
    char *texts[16], *buf;
    int n = read_lines(FIX_DIR "/cli_embed.txt", texts, 16, &buf);
    CHECK(n == f.n, "%d texts, %d reference inputs", n, f.n);
    for (int i = 0; i < n && i < f.n; i++) check_ids(m, &f, i, texts[i], NULL);
    CHECK(f.lens[1] == 2, "the empty line is [CLS] [SEP]");
    CHECK(f.lens[4] == m->max_len, "the long line is truncated to %d", m->max_len);
    float *emb = calloc((size_t)n * wn_model_dim(m), sizeof *emb);
    st = wn_model_embed(m, n, (const char *const *)texts, emb);
    CHECK(st == WN_OK, "embed: %s", wn_last_error());
    size_t ne = 0;
    const float *want = fixture_tensor(&f, "embedding", &ne);
    if (want && ne == (size_t)n * wn_model_dim(m)) compare("tiny-bi text embeddings", emb, want, ne, 1e-5);
    else CHECK(0, "fixture size");

    /* more texts than one internal chunk (4096): same vectors, input order kept */
    {
        const int N = 4099;
        const char **many = malloc(sizeof *many * N);
        float *big = malloc(sizeof(float) * (size_t)N * 64);
        for (int i = 0; i < N; i++) many[i] = texts[(i * 7) % 3 == 0];
        st = wn_model_embed(m, N, many, big);
        CHECK(st == WN_OK, "embed %d: %s", N, wn_last_error());
        double worst = 0;
        for (int i = 0; i < N && st == WN_OK; i++) {
            int t = (i * 7) % 3 == 0;
            for (int j = 0; j < 64; j++) worst = fmax(worst, fabs(big[(size_t)i * 64 + j] - emb[(size_t)t * 64 + j]));
        }
        fprintf(stderr, "%d texts across chunks: worst |diff| to the single call %g\n", N, worst);
        CHECK(worst <= 1e-6, "%d texts: worst %g", N, worst);
        free(many);
        free(big);
    }

    /* invalid UTF-8 is replaced by U+FFFD: same vector as the text with U+FFFD */
    const char *bad[2] = {"caf\xe9 ok \xff", "caf\xef\xbf\xbd ok \xef\xbf\xbd"};
    float two[2 * 64];
    st = wn_model_embed(m, 2, bad, two);
    CHECK(st == WN_OK, "invalid UTF-8: %s", wn_last_error());
    compare("invalid UTF-8 vs U+FFFD", two, two + 64, 64, 0);
    CHECK(wn_model_score(m, 1, bad, bad, two) == WN_ERR_ARG, "score on a bi-encoder must fail");
    CHECK(wn_model_embed(m, 0, NULL, NULL) == WN_OK, "n = 0 is a no-op");
    free(emb);
    wn_free(buf);
    fixture_free(&f);
    wn_model_free(m);

    /* the cross-encoder: pairs, token types, longest_first truncation */
    st = wn_model_load(FIX_DIR "/tiny-ce", &p, &m);
    CHECK(st == WN_OK, "load: %s", wn_last_error());
    if (!m || !fixture_load("tiny_ce_text", &f)) return check_done();
    CHECK(wn_model_kind_of(m) == WN_MODEL_CROSSENCODER && wn_model_num_labels(m) == 1, "kind %d labels %d",
          wn_model_kind_of(m), wn_model_num_labels(m));
    char *lines[16], *q[16], *d[16];
    n = read_lines(FIX_DIR "/cli_score.txt", lines, 16, &buf);
    CHECK(n == f.n, "%d pairs, %d reference inputs", n, f.n);
    for (int i = 0; i < n; i++) {
        char *tab = strchr(lines[i], '\t');
        *tab = 0;
        q[i] = lines[i];
        d[i] = tab + 1;
        if (i < f.n) check_ids(m, &f, i, q[i], d[i]);
    }
    float logits[16];
    st = wn_model_score(m, n, (const char *const *)q, (const char *const *)d, logits);
    CHECK(st == WN_OK, "score: %s", wn_last_error());
    want = fixture_tensor(&f, "logits", &ne);
    if (want && ne == (size_t)n) compare("tiny-ce text logits", logits, want, ne, 1e-4);
    CHECK(wn_model_embed(m, 1, (const char *const *)q, logits) == WN_ERR_ARG, "embed on a cross-encoder must fail");
    wn_free(buf);
    fixture_free(&f);
    wn_model_free(m);
    return check_done();
}
