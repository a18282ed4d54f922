/*
 * test_tokenizer_families.c - tokenizers other than plain BERT's, driven by their
 * tokenizer.json (special tokens, added tokens matched raw or normalized, lstrip,
 * the post-processor's template, truncation), against the ids and type ids of
 * HuggingFace's own tokenizer (npm tokenizers 0.23.2, scripts/hf_ids.js):
 *   all-mpnet-base-v2: WordPiece with <s> A </s></s> B </s> (RobertaProcessing),
 *   <unk> matched after normalization, <mask> with lstrip
 *   (tests/fixtures/tokenizer/hf_mpnet.jsonl, hard texts, pairs, truncation; and the
 *   byte offsets of each token, hf_mpnet_offsets.jsonl);
 *   byte-level BPE: GPT-2's vocabulary and merges in RoBERTa's tokenizer.json layout
 *   (scripts/make_bpe_tokenizer.py; <s> A </s></s> B </s>, <mask> with lstrip),
 *   tests/fixtures/tokenizer/hf_bpe.jsonl, and its offsets, hf_bpe_offsets.jsonl;
 *   SentencePiece Unigram: t5-small's real tokenizer.json (Precompiled charsmap,
 *   WhitespaceSplit + Metaspace, A </s>) and two layouts derived from it
 *   (scripts/make_unigram_variants.py: XLM-R's <s> A </s></s> B </s> and plain
 *   Metaspace; byte_fallback, prepend_scheme first, a Replace normalizer), each on the
 *   hard texts and on a sweep of code points and grapheme clusters
 *   (tests/fixtures/tokenizer/make_unigram_cases.js); and their byte offsets
 *   (hf_t5_offsets.jsonl, hf_unigram_xlmr_offsets.jsonl, hf_unigram_fallback_offsets.jsonl:
 *   the hard texts and make_unigram_offset_cases.js's, where the Precompiled normalizer,
 *   Replace and Metaspace move text about).
 */
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "hf_offsets.h"
#include "fixture.h"
#include "util/util.h"

/* all-mpnet-base-v2's real tokenizer files, committed (xz) from ../shared/models */
#define MPNET_FIXTURE "tests/fixtures/tokenizer/all-mpnet-base-v2"
static char MPNET[256]; /* MPNET_FIXTURE unpacked */

/* Every line of a hf_ids.js file: {a, b, max, ids, type_ids}; at least min_cases compared. */
static void run_cases(const char *dir, const char *path, int min_cases) {
    wn_tokenizer *t = NULL;
    if (wn_tokenizer_load(dir, &t) != WN_OK) {
        CHECK(0, "load %s: %s", dir, wn_last_error());
        return;
    }
    char *data = NULL;
    size_t n = 0, cap = 0;
    FILE *f = fixture_open(path); /* .xz: decompressed */
    for (size_t k; f && wn_grow((void **)&data, &cap, n + 65537, 1) == WN_OK && (k = fread(data + n, 1, 65536, f)) > 0;) n += k;
    if (data) data[n] = 0;
    if (fixture_close(f, path) != 0 || !n) {
        wn_free(data);
        CHECK(0, "read %s: absent or not readable", path);
        wn_tokenizer_free(t);
        return;
    }
    int n_cases = 0, n_ok = 0, n_refused = 0;
    int32_t *ids = malloc(sizeof(int32_t) << 16), *types = malloc(sizeof(int32_t) << 16);
    for (char *line = data, *nl; (nl = strchr(line, '\n')); line = nl + 1) {
        *nl = 0;
        if (strstr(line, "\\u0000")) continue; /* a C string cannot hold the NUL */
        cJSON *j = cJSON_Parse(line);
        const cJSON *a = cJSON_GetObjectItem(j, "a"), *b = cJSON_GetObjectItem(j, "b"), *want = cJSON_GetObjectItem(j, "ids"),
                    *wt = cJSON_GetObjectItem(j, "type_ids");
        int max = cJSON_GetObjectItem(j, "max")->valueint, k = 0;
        wn_status st = wn_tokenizer_encode(t, a->valuestring, cJSON_IsString(b) ? b->valuestring : NULL, max ? max : 1 << 15,
                                           ids, types, 1 << 16, &k);
        if (st == WN_ERR_ARG && max && strstr(wn_last_error(), "special tokens")) {
            /* winnow refuses a max_len below the template's special tokens; HF
             * then leaves the text untruncated */
            n_refused++;
            cJSON_Delete(j);
            continue;
        }
        int ok = st == WN_OK && k == cJSON_GetArraySize(want);
        for (int i = 0; ok && i < k; i++)
            ok = ids[i] == cJSON_GetArrayItem(want, i)->valueint && types[i] == cJSON_GetArrayItem(wt, i)->valueint;
        n_cases++;
        n_ok += ok;
        if (!ok) {
            char got[4096];
            size_t o = 0;
            got[0] = 0;
            for (int i = 0; i < k && o < sizeof got - 16; i++) o += (size_t)snprintf(got + o, sizeof got - o, " %d/%d", ids[i], types[i]);
            char *w = cJSON_PrintUnformatted(want);
            CHECK(0, "%s: a=\"%.80s\" b=%s max %d: got%s (%s), want %.600s", path, a->valuestring,
                  cJSON_IsString(b) ? "(pair)" : "null", max, got, st ? wn_last_error() : "ok", w);
            free(w);
        }
        cJSON_Delete(j);
    }
    fprintf(stderr, "%s: %d of %d cases equal to the HF tokenizer (%d refused: max_len below the special tokens)\n", path,
            n_ok, n_cases, n_refused);
    CHECK(n_refused <= 4, "%s: %d cases refused", path, n_refused);
    CHECK(n_cases >= min_cases, "%s: only %d cases", path, n_cases);
    free(ids);
    free(types);
    wn_free(data);
    wn_tokenizer_free(t);
}

/* A tiny Unigram tokenizer.json in dir: pieces a, b, ab, \u2581 (no unk_id unless
 * with_unk) and the given normalizer / pre_tokenizer JSON. */
static void write_unigram(const char *dir, const char *normalizer, const char *pre, int with_unk) {
    char path[300];
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    FILE *f = fopen(path, "w");
    if (!f) return;
    fprintf(f, "{\"added_tokens\": [], \"normalizer\": %s, \"pre_tokenizer\": %s, \"post_processor\": null,\n"
               " \"model\": {\"type\": \"Unigram\", %s \"vocab\": [[\"<unk>\", 0.0], [\"a\", -2.0], [\"b\", -2.0],"
               " [\"ab\", -3.0], [\"\u2581\", -1.0]]}}\n",
            normalizer, pre, with_unk ? "\"unk_id\": 0," : "");
    fclose(f);
}

/* Unigram: what winnow refuses, with messages that name it; Viterbi on a tiny vocab. */
static void unigram_small(void) {
    char dir[128];
    snprintf(dir, sizeof dir, "/tmp/wn_test_tok_uni_small_%d", (int)getpid());
    if (wn_mkdirs(dir, 0755) != WN_OK) {
        CHECK(0, "mkdir %s", dir);
        return;
    }
    wn_tokenizer *t = NULL;
    const char *meta = "{\"type\": \"Metaspace\", \"replacement\": \"\u2581\", \"prepend_scheme\": \"always\"}";
    /* Regex Replace: what winnow reads (greedy, backtracking), and what it refuses */
    static const struct {
        const char *pattern, *to, *text, *same_as;
    } rx[] = {
        {"a+ab", "b", "aaab", "b"},        /* a+ gives one a back so that ab matches */
        {"a{2,}", "b", "aaab aab ab", "bb bb ab"},
        {"a{1,2}b?", "b", "aaaab", "bb"},  /* aa, then aab -> b b */
        {"\\\\s+", " ", "a\t\n b", "a b"}, /* JSON "\\\\s+": \\s */
    };
    for (size_t i = 0; i < sizeof rx / sizeof rx[0]; i++) {
        char norm[200];
        snprintf(norm, sizeof norm, "{\"type\": \"Replace\", \"pattern\": {\"Regex\": \"%s\"}, \"content\": \"%s\"}",
                 rx[i].pattern, rx[i].to);
        write_unigram(dir, norm, meta, 1);
        int32_t *x = NULL, *y = NULL;
        int nx = 0, ny = 0;
        CHECK(wn_tokenizer_load(dir, &t) == WN_OK, "Regex %s: %s", rx[i].pattern, wn_last_error());
        if (t && wn_tokenizer_tokenize(t, rx[i].text, &x, &nx) == WN_OK && wn_tokenizer_tokenize(t, rx[i].same_as, &y, &ny) == WN_OK)
            CHECK(nx == ny && !memcmp(x, y, (size_t)nx * sizeof *x), "Regex %s on '%s': not as '%s' (%d, %d ids)", rx[i].pattern,
                  rx[i].text, rx[i].same_as, nx, ny);
        wn_free(x);
        wn_free(y);
        wn_tokenizer_free(t);
        t = NULL;
    }
    static const char *refused[] = {"[ab]+", "a*", "(ab)+", "a|b", "^a", "a+?", "\\\\d+", "."};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        char norm[200];
        snprintf(norm, sizeof norm, "{\"type\": \"Replace\", \"pattern\": {\"Regex\": \"%s\"}, \"content\": \" \"}", refused[i]);
        write_unigram(dir, norm, meta, 1);
        CHECK(wn_tokenizer_load(dir, &t) == WN_ERR_UNSUPPORTED && strstr(wn_last_error(), "Regex") && !t, "Regex %s: %s",
              refused[i], wn_last_error());
    }
    write_unigram(dir, "{\"type\": \"NFKC\"}", meta, 1);
    CHECK(wn_tokenizer_load(dir, &t) == WN_ERR_UNSUPPORTED && strstr(wn_last_error(), "normalizer NFKC"),
          "an NFKC normalizer: %s", wn_last_error());
    write_unigram(dir, "null", "{\"type\": \"Whitespace\"}", 1);
    CHECK(wn_tokenizer_load(dir, &t) == WN_ERR_UNSUPPORTED && strstr(wn_last_error(), "pre_tokenizer Whitespace"),
          "a Whitespace pre-tokenizer: %s", wn_last_error());
    /* ab scores -3 > a + b = -4: one piece; "abba" -> ab, b, a; x is unknown (unk 0) */
    write_unigram(dir, "null", "null", 1);
    int32_t *ids = NULL;
    int n = 0;
    if (wn_tokenizer_load(dir, &t) == WN_OK && wn_tokenizer_tokenize(t, "abbaxx", &ids, &n) == WN_OK) {
        CHECK(n == 4 && ids[0] == 3 && ids[1] == 2 && ids[2] == 1 && ids[3] == 0, "abbaxx: %d ids (%d %d %d %d)", n,
              n > 0 ? ids[0] : -1, n > 1 ? ids[1] : -1, n > 2 ? ids[2] : -1, n > 3 ? ids[3] : -1);
        wn_free(ids);
    } else {
        CHECK(0, "tiny unigram: %s", wn_last_error());
    }
    wn_tokenizer_free(t);
    t = NULL;
    write_unigram(dir, "null", "null", 0); /* no unk_id: an unknown character is an error */
    if (wn_tokenizer_load(dir, &t) == WN_OK) {
        CHECK(wn_tokenizer_tokenize(t, "abx", &ids, &n) == WN_ERR_FORMAT && strstr(wn_last_error(), "no unk_id"),
              "no unk_id: %s", wn_last_error());
    } else {
        CHECK(0, "tiny unigram without unk_id: %s", wn_last_error());
    }
    wn_tokenizer_free(t);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

int main(void) {
    unigram_small();
    run_cases("tests/fixtures/tokenizer/bytelevel-bpe", "tests/fixtures/tokenizer/hf_bpe.jsonl", 120);
    { /* byte-level offsets, trimmed of their spaces as RobertaProcessing's trim_offsets */
        wn_tokenizer *bt = NULL;
        CHECK(wn_tokenizer_load("tests/fixtures/tokenizer/bytelevel-bpe", &bt) == WN_OK, "load bpe: %s", wn_last_error());
        if (bt)
            CHECK(check_hf_offsets(bt, "tests/fixtures/tokenizer/hf_bpe_offsets.jsonl", 140, 1000) == 0,
                  "byte-level BPE offsets as HF (above)");
        wn_tokenizer_free(bt);
    }
    snprintf(MPNET, sizeof MPNET, "/tmp/wn_test_tok_mpnet_%d", (int)getpid());
    if (fixture_unpack(MPNET_FIXTURE, MPNET) != 0) {
        CHECK(0, "cannot unpack %s into %s", MPNET_FIXTURE, MPNET);
        return check_done();
    }
    run_cases(MPNET, "tests/fixtures/tokenizer/hf_mpnet.jsonl", 120);
    { /* offsets through the normalizer's alignment (<unk> is matched after normalization) */
        wn_tokenizer *mt = NULL;
        CHECK(wn_tokenizer_load(MPNET, &mt) == WN_OK, "load %s: %s", MPNET, wn_last_error());
        if (mt)
            CHECK(check_hf_offsets(mt, "tests/fixtures/tokenizer/hf_mpnet_offsets.jsonl", 140, 1000) == 0,
                  "all-mpnet-base-v2 offsets as HF (above)");
        wn_tokenizer_free(mt);
    }
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", MPNET);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", MPNET);
    /* SentencePiece Unigram: t5-small's real tokenizer.json, and variants of it */
    const char *uni[][4] = {
        {"tests/fixtures/tokenizer/t5-small", "tests/fixtures/tokenizer/hf_t5.jsonl", "tests/fixtures/tokenizer/hf_t5_sweep.jsonl.xz",
         "tests/fixtures/tokenizer/hf_t5_offsets.jsonl"},
        {"tests/fixtures/tokenizer/unigram-xlmr", "tests/fixtures/tokenizer/hf_unigram_xlmr.jsonl",
         "tests/fixtures/tokenizer/hf_unigram_xlmr_sweep.jsonl.xz", "tests/fixtures/tokenizer/hf_unigram_xlmr_offsets.jsonl"},
        {"tests/fixtures/tokenizer/unigram-fallback", "tests/fixtures/tokenizer/hf_unigram_fallback.jsonl",
         "tests/fixtures/tokenizer/hf_unigram_fallback_sweep.jsonl.xz", "tests/fixtures/tokenizer/hf_unigram_fallback_offsets.jsonl"},
    };
    for (size_t i = 0; i < sizeof uni / sizeof uni[0]; i++) {
        snprintf(MPNET, sizeof MPNET, "/tmp/wn_test_tok_uni_%d", (int)getpid());
        if (fixture_unpack(uni[i][0], MPNET) != 0) {
            CHECK(0, "cannot unpack %s into %s", uni[i][0], MPNET);
            continue;
        }
        run_cases(MPNET, uni[i][1], 120);
        if (uni[i][2]) run_cases(MPNET, uni[i][2], 800);
        wn_tokenizer *ut = NULL; /* byte offsets through the normalizers' alignment */
        CHECK(wn_tokenizer_load(MPNET, &ut) == WN_OK, "load %s: %s", uni[i][0], wn_last_error());
        if (ut) CHECK(check_hf_offsets(ut, uni[i][3], 240, 800) == 0, "%s offsets as HF (above)", uni[i][0]);
        wn_tokenizer_free(ut);
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", MPNET);
        if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", MPNET);
    }
    return check_done();
}
