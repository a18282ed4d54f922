/* test_seed.c - with the real weights, winnow reproduces the seed notebook
 * (../shared/seed/expected.json): bi-encoder top-5 cosine scores within 1e-4,
 * cross-encoder logits within 1e-3, P@3 and MRR exactly, the rank shift, and the
 * published sentence-transformers examples (cosine matrix to 4 digits, the Berlin
 * logits). Needs WINNOW_MODELS=/dir holding all-MiniLM-L6-v2/ and
 * ms-marco-MiniLM-L-6-v2/ with their model.safetensors; SKIPPED when it is not set,
 * FAILED when it is set but a model.safetensors is missing. */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "util/util.h"

#define EXPECTED "../shared/seed/expected.json"
#define ND 8
#define D 384

static char doc_ids[ND][8];
static const char *docs[ND];
static float demb[ND * D];

/* the top k docs by cosine (normalised vectors: dot), best first */
static void search(wn_model *bi, const char *q, int k, int *idx, float *sims) {
    float qv[D], all[ND];
    const char *t[1] = {q};
    CHECK(wn_model_embed(bi, 1, t, qv) == WN_OK, "embed: %s", wn_last_error());
    for (int i = 0; i < ND; i++) {
        double s = 0;
        for (int j = 0; j < D; j++) s += (double)demb[i * D + j] * qv[j];
        all[i] = (float)s;
    }
    int used[ND] = {0};
    for (int r = 0; r < k; r++) {
        int best = -1;
        for (int i = 0; i < ND; i++)
            if (!used[i] && (best < 0 || all[i] > all[best])) best = i;
        used[best] = 1;
        idx[r] = best;
        sims[r] = all[best];
    }
}

/* cross-encoder logits of q with docs idx[0..k), then sorted best first */
static void rerank(wn_model *ce, const char *q, const int *idx, int k, int *out, float *scores) {
    const char *qs[ND], *ds[ND];
    float s[ND];
    for (int i = 0; i < k; i++) qs[i] = q, ds[i] = docs[idx[i]];
    CHECK(wn_model_score(ce, k, qs, ds, s) == WN_OK, "score: %s", wn_last_error());
    int used[ND] = {0};
    for (int r = 0; r < k; r++) {
        int best = -1;
        for (int i = 0; i < k; i++)
            if (!used[i] && (best < 0 || s[i] > s[best])) best = i;
        used[best] = 1;
        out[r] = idx[best];
        scores[r] = s[best];
    }
}

static int doc_index(const char *id) {
    for (int i = 0; i < ND; i++)
        if (!strcmp(doc_ids[i], id)) return i;
    return -1;
}

int main(void) {
    const char *dir = getenv("WINNOW_MODELS");
    if (!dir || !*dir) SKIP_TEST("WINNOW_MODELS is not set (a directory with the real all-MiniLM-L6-v2 and ms-marco-MiniLM-L-6-v2 weights)");
    char bi_dir[4096], ce_dir[4096], path[4200];
    snprintf(bi_dir, sizeof bi_dir, "%s/all-MiniLM-L6-v2", dir);
    snprintf(ce_dir, sizeof ce_dir, "%s/ms-marco-MiniLM-L-6-v2", dir);
    snprintf(path, sizeof path, "%s/model.safetensors", bi_dir);
    /* WINNOW_MODELS set means the weights are meant to be there: a wrong path fails */
    CHECK(wn_file_exists(path), "WINNOW_MODELS=%s but %s is missing", dir, path);
    snprintf(path, sizeof path, "%s/model.safetensors", ce_dir);
    CHECK(wn_file_exists(path), "WINNOW_MODELS=%s but %s is missing", dir, path);
    if (check_failures) return check_done();
    char *text;
    size_t len;
    if (wn_read_file(EXPECTED, &text, &len) != WN_OK) SKIP_OR_FAIL("%s is not readable", EXPECTED);
    cJSON *ex = cJSON_Parse(text);
    wn_free(text);
    CHECK(ex != NULL, "expected.json parses");
    if (!ex) return check_done();

    wn_model_params p = wn_model_default_params();
    wn_model *bi = NULL, *ce = NULL;
    CHECK(wn_model_load(bi_dir, &p, &bi) == WN_OK, "%s: %s", bi_dir, wn_last_error());
    CHECK(wn_model_load(ce_dir, &p, &ce) == WN_OK, "%s: %s", ce_dir, wn_last_error());
    if (!bi || !ce) return check_done();
    CHECK(wn_model_dim(bi) == D, "dim %d", wn_model_dim(bi));
    CHECK(wn_model_kind_of(ce) == WN_MODEL_CROSSENCODER && wn_model_num_labels(ce) == 1, "%s is not a 1-label cross-encoder", ce_dir);
    if (wn_model_dim(bi) != D || wn_model_num_labels(ce) != 1) return check_done();

    int n = 0;
    for (const cJSON *d = cJSON_GetObjectItem(ex, "corpus")->child; d && n < ND; d = d->next, n++) {
        snprintf(doc_ids[n], sizeof doc_ids[n], "%s", d->child->valuestring);
        docs[n] = d->child->next->valuestring;
    }
    CHECK(wn_model_embed(bi, ND, docs, demb) == WN_OK, "embed corpus: %s", wn_last_error());

    /* stage 1 and stage 2 on the notebook's test query */
    const cJSON *b5 = cJSON_GetObjectItem(ex, "bi_encoder_top5");
    const char *tq = cJSON_GetObjectItem(b5, "query")->valuestring;
    int idx[5], rr[5];
    float sims[5], sc[5];
    search(bi, tq, 5, idx, sims);
    int r = 0;
    for (const cJSON *e = cJSON_GetObjectItem(b5, "results")->child; e && r < 5; e = e->next, r++) {
        CHECK(!strcmp(doc_ids[idx[r]], e->child->valuestring), "bi-encoder rank %d: %s, expected %s", r + 1, doc_ids[idx[r]],
              e->child->valuestring);
        CHECK_NEAR(sims[r], e->child->next->valuedouble, 1e-4);
        fprintf(stderr, "bi  %s %.7f (expected %.7f)\n", doc_ids[idx[r]], sims[r], e->child->next->valuedouble);
    }
    rerank(ce, tq, idx, 5, rr, sc);
    r = 0;
    for (const cJSON *e = cJSON_GetObjectItem(cJSON_GetObjectItem(ex, "cross_encoder_rerank"), "results")->child; e && r < 5;
         e = e->next, r++) {
        CHECK(!strcmp(doc_ids[rr[r]], e->child->valuestring), "re-rank %d: %s, expected %s", r + 1, doc_ids[rr[r]],
              e->child->valuestring);
        CHECK_NEAR(sc[r], e->child->next->valuedouble, 1e-3);
        fprintf(stderr, "ce  %s %.6f (expected %.6f)\n", doc_ids[rr[r]], sc[r], e->child->next->valuedouble);
    }

    /* P@3 and MRR over the labelled queries, k_candidates 5 */
    double p3[2] = {0, 0}, mrr[2] = {0, 0};
    int nq = 0;
    for (const cJSON *q = cJSON_GetObjectItem(ex, "queries")->child; q; q = q->next, nq++) {
        int gold = doc_index(q->child->next->valuestring);
        search(bi, q->child->valuestring, 5, idx, sims);
        rerank(ce, q->child->valuestring, idx, 5, rr, sc);
        for (int k = 0; k < 5; k++) {
            if (idx[k] == gold) p3[0] += k < 3, mrr[0] += 1.0 / (k + 1);
            if (rr[k] == gold) p3[1] += k < 3, mrr[1] += 1.0 / (k + 1);
        }
    }
    const cJSON *ev = cJSON_GetObjectItem(ex, "evaluation_k_candidates_5_k_eval_3");
    for (int s = 0; s < 2; s++) {
        CHECK(p3[s] / nq == cJSON_GetArrayItem(cJSON_GetObjectItem(ev, "P@3"), s)->valuedouble, "P@3[%d] = %g", s, p3[s] / nq);
        CHECK(fabs(mrr[s] / nq - cJSON_GetArrayItem(cJSON_GetObjectItem(ev, "MRR"), s)->valuedouble) < 1e-12, "MRR[%d] = %g", s,
              mrr[s] / nq);
    }

    /* rank shift */
    const cJSON *rs = cJSON_GetObjectItem(ex, "rank_shift");
    search(bi, cJSON_GetObjectItem(rs, "query")->valuestring, 5, idx, sims);
    rerank(ce, cJSON_GetObjectItem(rs, "query")->valuestring, idx, 5, rr, sc);
    for (int k = 0; k < 5; k++) {
        CHECK(!strcmp(doc_ids[idx[k]], cJSON_GetArrayItem(cJSON_GetObjectItem(rs, "bi_encoder"), k)->valuestring), "rank shift bi %d", k);
        CHECK(!strcmp(doc_ids[rr[k]], cJSON_GetArrayItem(cJSON_GetObjectItem(rs, "re_ranker"), k)->valuestring), "rank shift ce %d", k);
    }

    /* published examples */
    const cJSON *pub = cJSON_GetObjectItem(ex, "published_elsewhere");
    const cJSON *cm = cJSON_GetObjectItem(pub, "sbert_docs_all-MiniLM-L6-v2_cosine_matrix");
    const char *s3[3];
    for (int i = 0; i < 3; i++) s3[i] = cJSON_GetArrayItem(cJSON_GetObjectItem(cm, "sentences"), i)->valuestring;
    float e3[3 * D];
    CHECK(wn_model_embed(bi, 3, s3, e3) == WN_OK, "embed: %s", wn_last_error());
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            double s = 0;
            for (int k = 0; k < D; k++) s += (double)e3[i * D + k] * e3[j * D + k];
            double want = cJSON_GetArrayItem(cJSON_GetArrayItem(cJSON_GetObjectItem(cm, "matrix"), i), j)->valuedouble;
            CHECK_NEAR(s, want, 5e-4); /* published to 4 digits */
        }
    const cJSON *bl = cJSON_GetObjectItem(pub, "sbert_docs_ms-marco-MiniLM-L-6-v2_logits");
    const char *bq[2], *bd[2];
    float bs[2];
    int k = 0;
    for (const cJSON *e = cJSON_GetObjectItem(bl, "pairs")->child; e && k < 2; e = e->next, k++)
        bq[k] = cJSON_GetObjectItem(bl, "query")->valuestring, bd[k] = e->child->valuestring;
    CHECK(wn_model_score(ce, 2, bq, bd, bs) == WN_OK, "score: %s", wn_last_error());
    k = 0;
    for (const cJSON *e = cJSON_GetObjectItem(bl, "pairs")->child; e && k < 2; e = e->next, k++) CHECK_NEAR(bs[k], e->child->next->valuedouble, 1e-3);

    wn_model_free(bi);
    wn_model_free(ce);
    cJSON_Delete(ex);
    return check_done();
}
