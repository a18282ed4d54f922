/* test_static_model.c - the static embedding model (src/model/static.c) against
 * PyTorch: tests/fixtures/static/ is a StaticEmbedding model (3,000 tokens x 16,
 * F16) and expected.txt the ids and embeddings torch's EmbeddingBag (mean) +
 * F.normalize give for a few texts (scripts/make_static_fixture.py). Also: the
 * dispatch by layout, the errors of a broken directory, score refused; and the same
 * model declared a pair scorer (config_sentence_transformers.json "winnow":
 * {"pair_scorer": true}): its scores are the cosines of torch's embeddings. */
#include <string.h>

#include "check.h"
#include "model/model.h"
#include "scratch.h"
#include "winnow.h"

#define FIX "tests/fixtures/static"
#define NCASE 8

/* The fixture as a pair scorer with config (the JSON of config_sentence_transformers.json)
 * in scratch directory name; returns the load's status, *m the model. */
static wn_status load_scorer(const char *name, const char *config, char *dir, size_t cap, wn_model **m) {
    char path[700];
    scratch_path(dir, cap, name);
    snprintf(path, sizeof path, "%s/0_StaticEmbedding", dir);
    wn_mkdirs(path, 0755);
    const char *files[] = {"modules.json", "0_StaticEmbedding/vocab.txt", "0_StaticEmbedding/model.safetensors"};
    for (int i = 0; i < 3; i++) {
        char from[256];
        snprintf(from, sizeof from, FIX "/%s", files[i]);
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        CHECK(scratch_copy(from, path) == 0, "copy %s to %s", from, path);
    }
    snprintf(path, sizeof path, "%s/config_sentence_transformers.json", dir);
    write_file(path, config);
    return wn_model_load(dir, NULL, m);
}

/* The pair scorer against torch: score(text i, text j) = the dot product of torch's
 * normalised embeddings of i and j; an empty text scores 0; a bad block is refused. */
static void test_pair_scorer(char texts[][256], float want[][16], int n) {
    char dir[512];
    wn_model *m = NULL;
    wn_status st = load_scorer("static_pairs", "{\"prompts\": {}, \"winnow\": {\"pair_scorer\": true, "
                                              "\"rerank_interpolate\": 0.25}}", dir, sizeof dir, &m);
    CHECK(st == WN_OK, "pair scorer: %s", wn_last_error());
    if (st != WN_OK) return;
    CHECK(wn_model_kind_of(m) == WN_MODEL_CROSSENCODER && wn_model_num_labels(m) == 1, "kind %d, %d labels",
          wn_model_kind_of(m), wn_model_num_labels(m));
    CHECK(wn_model_rerank_interpolate(m) == 0.25f, "interpolation %g", wn_model_rerank_interpolate(m));
    double worst = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            const char *q = texts[i], *d = texts[j];
            float got = -9;
            CHECK(wn_model_score(m, 1, &q, &d, &got) == WN_OK, "score: %s", wn_last_error());
            double dot = 0, qq = 0, dd = 0;
            for (int k = 0; k < 16; k++) {
                dot += (double)want[i][k] * want[j][k];
                qq += (double)want[i][k] * want[i][k];
                dd += (double)want[j][k] * want[j][k];
            }
            double cos = qq > 0 && dd > 0 ? dot / sqrt(qq * dd) : 0;
            worst = fmax(worst, fabs(got - cos));
            CHECK(fabs(got - cos) <= 2e-6, "score('%s', '%s') = %.9g, torch's cosine %.9g", q, d, got, cos);
        }
    fprintf(stderr, "pair scorer: %d pairs, worst |winnow - torch cosine| = %.3g\n", n * n, worst);
    const char *qs[2] = {"the cat", "the cat"}, *ds[2] = {"", "the cat"};
    float two[2];
    CHECK(wn_model_score(m, 2, qs, ds, two) == WN_OK && two[0] == 0 && fabs(two[1] - 1) < 1e-6, "empty / same: %g %g",
          two[0], two[1]);
    float e[16];
    CHECK(wn_model_embed(m, 1, qs, e) == WN_ERR_ARG, "embed on a pair scorer");
    wn_model_free(m);
    m = NULL;
    st = load_scorer("static_pairs_bad", "{\"winnow\": {\"pair_scorer\": 1}}", dir, sizeof dir, &m);
    CHECK(st == WN_ERR_FORMAT && !m && strstr(wn_last_error(), "config_sentence_transformers.json") &&
              strstr(wn_last_error(), "pair_scorer"), "pair_scorer 1: %d %s", st, wn_last_error());
    st = load_scorer("static_pairs_bad", "{\"winnow\": {\"pair_scorer\": true, \"rerank_interpolate\": 2}}", dir,
                     sizeof dir, &m);
    CHECK(st == WN_ERR_FORMAT && !m && strstr(wn_last_error(), "rerank_interpolate"), "interpolate 2: %d %s", st,
          wn_last_error());
    wn_model_free(m);
}

int main(void) {
    wn_model *m = NULL;
    wn_status st = wn_model_load(FIX, NULL, &m);
    CHECK(st == WN_OK, "load: %s", wn_last_error());
    if (st != WN_OK) return check_done();
    CHECK(wn_model_kind_of(m) == WN_MODEL_BIENCODER, "kind");
    CHECK(wn_model_dim(m) == 16, "dim %d", wn_model_dim(m));
    int V = 0, D = 0;
    CHECK(static_table(m, &V, &D) && V == 3000 && D == 16, "table %d x %d", V, D);

    FILE *f = fopen(FIX "/expected.txt", "rb");
    CHECK(f != NULL, "expected.txt");
    if (!f) return check_done();
    wn_line_reader r;
    wn_lines_init(&r, f);
    char *text = NULL;
    int32_t want_ids[256];
    char all_texts[NCASE][256];
    float all_want[NCASE][16];
    int n_want = 0, cases = 0;
    double worst = 0;
    while (wn_lines_next(&r) == 1) {
        if (r.buf[0] == 'T') {
            wn_free(text);
            text = wn_strdup(r.buf + 2);
        } else if (r.buf[0] == 'I') {
            n_want = 0;
            for (char *s = r.buf + 2, *e; *s && n_want < 256; s = e) {
                long v = strtol(s, &e, 10);
                if (e == s) break;
                want_ids[n_want++] = (int32_t)v;
            }
            int32_t *ids = NULL;
            int n = 0;
            CHECK(wn_tokenizer_tokenize(wn_model_tokenizer(m), text, &ids, &n) == WN_OK, "tokenize");
            CHECK(n == n_want, "'%s': %d ids, torch's tokenizer %d", text, n, n_want);
            for (int i = 0; i < n && i < n_want; i++) CHECK(ids[i] == want_ids[i], "'%s' id %d: %d vs %d", text, i, ids[i], want_ids[i]);
            wn_free_buffer(ids);
        } else if (r.buf[0] == 'E') {
            float want[16], got[16], viaids[16];
            char *s = r.buf + 2;
            for (int k = 0; k < 16; k++) want[k] = strtof(s, &s);
            const char *t = text;
            CHECK(wn_model_embed(m, 1, &t, got) == WN_OK, "embed: %s", wn_last_error());
            const int32_t *pi = want_ids;
            CHECK(model_run_ids(m, 1, &pi, NULL, &n_want, viaids) == WN_OK, "run_ids: %s", wn_last_error());
            for (int k = 0; k < 16; k++) {
                double err = fabs((double)got[k] - want[k]);
                if (err > worst) worst = err;
                CHECK(err <= 1e-6 + 1e-5 * fabs(want[k]), "'%s' [%d]: %.9g, torch %.9g", text, k, got[k], want[k]);
                CHECK(viaids[k] == got[k], "ids path [%d]", k);
            }
            if (cases < NCASE) {
                snprintf(all_texts[cases], sizeof all_texts[cases], "%s", text);
                memcpy(all_want[cases], want, sizeof want);
            }
            cases++;
        }
    }
    wn_lines_free(&r);
    fclose(f);
    wn_free(text);
    CHECK(cases == NCASE, "%d cases read", cases);
    fprintf(stderr, "%d texts, worst |winnow - torch| = %.3g\n", cases, worst);

    /* batch of several texts = one at a time */
    const char *texts[3] = {"the cat", "", "a man is playing music"};
    float b3[48], one[16];
    CHECK(wn_model_embed(m, 3, texts, b3) == WN_OK, "embed 3");
    for (int i = 0; i < 3; i++) {
        CHECK(wn_model_embed(m, 1, &texts[i], one) == WN_OK, "embed 1");
        CHECK(!memcmp(one, b3 + 16 * i, sizeof one), "text %d differs in a batch", i);
    }
    float sc;
    const char *q = "a", *d = "b";
    CHECK(wn_model_score(m, 1, &q, &d, &sc) == WN_ERR_ARG, "score on a static model");
    wn_model_free(m);
    if (cases == NCASE) test_pair_scorer(all_texts, all_want, NCASE);

    /* a broken directory: modules.json names a StaticEmbedding with no weights */
    char dir[512], path[600];
    scratch_path(dir, sizeof dir, "static_broken");
    wn_mkdirs(dir, 0755);
    snprintf(path, sizeof path, "%s/modules.json", dir);
    write_file(path, "[{\"idx\": 0, \"name\": \"0\", \"path\": \"0_StaticEmbedding\", "
                     "\"type\": \"sentence_transformers.models.StaticEmbedding\"}]");
    st = wn_model_load(dir, NULL, &m);
    CHECK(st == WN_ERR_NOTFOUND && m == NULL && strstr(wn_last_error(), "model.safetensors"), "broken: %d %s", st,
          wn_last_error());
    snprintf(path, sizeof path, "%s/0_StaticEmbedding", dir);
    wn_mkdirs(path, 0755);
    snprintf(path, sizeof path, "%s/0_StaticEmbedding/model.safetensors", dir);
    write_file(path, "\x10\0\0\0\0\0\0\0{\"x\":1}        ");
    st = wn_model_load(dir, NULL, &m);
    CHECK(st != WN_OK && m == NULL, "bad safetensors accepted");
    /* modules.json is read as JSON (util/json.h): "path" before "type", the type's
     * string escaped, other members between; a path leaving the directory is refused */
    snprintf(path, sizeof path, "%s/modules.json", dir);
    write_file(path, "[ {\"path\" : \"0_StaticEmbedding\", \"x\": {\"y\": [1, \"}\"]},\n"
                     "   \"type\": \"sentence_transformers.models.Static\\u0045mbedding\"} ]");
    st = wn_model_load(dir, NULL, &m);
    CHECK(st != WN_OK && m == NULL && strstr(wn_last_error(), "0_StaticEmbedding/model.safetensors"),
          "path before type: %d %s", st, wn_last_error());
    write_file(path, "[{\"path\": \"../x\", \"type\": \"sentence_transformers.models.StaticEmbedding\"}]");
    st = wn_model_load(dir, NULL, &m);
    CHECK(st == WN_ERR_FORMAT && m == NULL && strstr(wn_last_error(), "leaves the model directory"), "path ..: %d %s",
          st, wn_last_error());
    return check_done();
}
