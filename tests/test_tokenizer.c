/*
 * test_tokenizer.c - BERT tokenizer against references we did not write:
 *   1. every id of the HuggingFace tokenizer on tests/fixtures/tokenizer/bert-uncased.*
 *      (llama.cpp's test strings) with the bert-base-uncased vocab of all-MiniLM-L6-v2
 *      (tests/fixtures/tokenizer/all-MiniLM-L6-v2/: the tokenizer files of
 *      ../shared/models/all-MiniLM-L6-v2, vocab.txt and tokenizer.json xz-compressed,
 *      unpacked into a scratch directory; committed, so never skipped);
 *   2. transformers' own unit tests of BertTokenizer (tests/models/bert/
 *      test_tokenization_bert.py: its 15-token vocab and expected tokens/ids);
 *   3. hand-computed cases: pairs, longest_first truncation (tokenizers'
 *      truncation.rs), special tokens in text, control chars, invalid UTF-8, long words,
 *      config precedence, loading errors, allocation failures.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "hf_offsets.h"
#include "faults.h"
#include "fixture.h"
#include "util/util.h"

#define MINILM_FIXTURE "tests/fixtures/tokenizer/all-MiniLM-L6-v2"
#define DATA "tests/fixtures/tokenizer/bert-uncased"
static char MINILM[256]; /* MINILM_FIXTURE unpacked */

/* ---- helpers */

/* A model directory in /tmp holding the given files (name, content, ..., NULL). */
static char *make_dir(const char *name, ...) {
    static int seq;
    char *dir = malloc(64);
    snprintf(dir, 64, "/tmp/wn_test_tok_%d_%d", (int)getpid(), seq++);
    wn_mkdirs(dir, 0755);
    va_list ap;
    va_start(ap, name);
    for (const char *n = name; n; n = va_arg(ap, const char *)) {
        const char *content = va_arg(ap, const char *);
        char *p = wn_path_join(dir, n);
        FILE *f = fopen(p, "wb");
        fputs(content, f);
        fclose(f);
        wn_free(p);
    }
    va_end(ap);
    return dir;
}

static void remove_dir(char *dir) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    free(dir);
}

/* The ids of text as a space-separated string (" 1 2 3", as the .out files). */
static void ids_str(const wn_tokenizer *t, const char *text, char *out, size_t cap) {
    int32_t *ids;
    int n;
    out[0] = 0;
    if (wn_tokenizer_tokenize(t, text, &ids, &n) != WN_OK) {
        snprintf(out, cap, "error: %s", wn_last_error());
        return;
    }
    size_t o = 0;
    for (int i = 0; i < n && o < cap; i++) o += (size_t)snprintf(out + o, cap - o, " %d", ids[i]);
    wn_free_buffer(ids);
}

#define CHECK_IDS(t, text, want)                                                                        \
    do {                                                                                                \
        char got_[4096];                                                                                \
        ids_str(t, text, got_, sizeof got_);                                                            \
        CHECK(!strcmp(got_, want), "tokenize(\"%s\"): got '%s', want '%s'", text, got_, want);          \
    } while (0)

/* Encodes (a, b) at max_len and compares ids and type ids with want ("101 7592 102|0 0 0"). */
static void check_encode(const wn_tokenizer *t, const char *a, const char *b, int max_len, const char *want, int line) {
    int32_t ids[600], types[600];
    int n = -1;
    char got[8192];
    size_t o = 0;
    if (wn_tokenizer_encode(t, a, b, max_len, ids, types, 600, &n) != WN_OK) {
        snprintf(got, sizeof got, "error: %s", wn_last_error());
    } else {
        for (int i = 0; i < n; i++) o += (size_t)snprintf(got + o, sizeof got - o, i ? " %d" : "%d", ids[i]);
        o += (size_t)snprintf(got + o, sizeof got - o, "|");
        for (int i = 0; i < n; i++) o += (size_t)snprintf(got + o, sizeof got - o, i ? " %d" : "%d", types[i]);
    }
    CHECK(!strcmp(got, want), "line %d: encode(\"%.40s\", \"%.40s\", %d): got '%s', want '%s'", line, a, b ? b : "(null)",
          max_len, got, want);
}
#define CHECK_ENC(t, a, b, max_len, want) check_encode(t, a, b, max_len, want, __LINE__)

/* ---- 1. the HuggingFace ids of llama.cpp's test strings */
static void test_reference_ids(const wn_tokenizer *t) {
    char *inp, *out;
    size_t ni, no;
    if (wn_read_file(DATA ".inp", &inp, &ni) != WN_OK || wn_read_file(DATA ".out", &out, &no) != WN_OK) {
        CHECK(0, "cannot read %s.{inp,out}: %s", DATA, wn_last_error());
        return;
    }
    /* inputs are separated by "\n__ggml_vocab_test__\n" (the last one ends with it);
     * .out has one line of ids per input */
    const char *sep = "\n__ggml_vocab_test__\n";
    char *p = inp, *line = out;
    int n_cases = 0, n_ok = 0;
    for (char *e; (e = strstr(p, sep)); p = e + strlen(sep)) {
        *e = 0;
        char *nl = strchr(line, '\n');
        if (!nl) {
            CHECK(0, "%s.out has fewer lines than inputs (%d)", DATA, n_cases);
            break;
        }
        *nl = 0;
        char got[16384];
        ids_str(t, p, got, sizeof got);
        n_cases++;
        if (!strcmp(got, line)) n_ok++;
        CHECK(!strcmp(got, line), "input %d \"%.60s\": got '%.300s', want '%.300s'", n_cases, p, got, line);
        line = nl + 1;
    }
    CHECK(n_cases == 46, "%d inputs parsed, the file has 46", n_cases);
    fprintf(stderr, "reference ids: %d of %d inputs match\n", n_ok, n_cases);
    wn_free(inp);
    wn_free(out);
}

/* ---- 1b. HuggingFace tokenizers (Rust, via its Node binding) on awkward inputs,
 * pairs and truncation lengths: tests/fixtures/tokenizer/hf_cases.jsonl, written by
 * make_hf_cases.js beside it; and random pairs truncated at small lengths,
 * trunc_pairs.jsonl (make_trunc_pairs.js). Cased lines use the same tokenizer.json with the
 * normalizer's lowercase false (and no tokenizer_config.json). */
static void test_hf_cases(const wn_tokenizer *uncased, const char *path, int min_cases) {
    char *tj, *data;
    size_t n;
    char tjp[300];
    snprintf(tjp, sizeof tjp, "%s/tokenizer.json", MINILM);
    if (wn_read_file(tjp, &tj, &n) != WN_OK ||
        wn_read_file(path, &data, &n) != WN_OK) {
        CHECK(0, "cannot read the HF cases %s: %s", path, wn_last_error());
        return;
    }
    char *low = strstr(tj, "\"lowercase\": true");
    CHECK(low != NULL, "tokenizer.json has no \"lowercase\": true");
    if (!low) return;
    char *cased_json = malloc(strlen(tj) + 2);
    size_t pre = (size_t)(low - tj) + 13; /* up to "true" */
    memcpy(cased_json, tj, pre);
    strcpy(cased_json + pre, "false");
    strcat(cased_json, low + 17);
    char *dir = make_dir("tokenizer.json", cased_json, NULL);
    free(cased_json);
    wn_free(tj);
    wn_tokenizer *cased = NULL;
    CHECK(wn_tokenizer_load(dir, &cased) == WN_OK, "load cased: %s", wn_last_error());
    int n_cases = 0, n_ok = 0;
    int32_t *ids = malloc(1 << 20), *types = malloc(1 << 20);
    for (char *line = data, *nl; cased && (nl = strchr(line, '\n')); line = nl + 1) {
        *nl = 0;
        if (strstr(line, "\\u0000")) continue; /* a C string cannot hold the NUL */
        cJSON *j = cJSON_Parse(line);
        const cJSON *a = cJSON_GetObjectItem(j, "a"), *b = cJSON_GetObjectItem(j, "b"), *want = cJSON_GetObjectItem(j, "ids"),
                    *wt = cJSON_GetObjectItem(j, "type_ids");
        int max = cJSON_GetObjectItem(j, "max")->valueint, is_cased = cJSON_GetObjectItem(j, "cased")->valueint;
        int k = 0, ok;
        wn_status st = wn_tokenizer_encode(is_cased ? cased : uncased, a->valuestring, cJSON_IsString(b) ? b->valuestring : NULL,
                                           max ? max : 1 << 18, ids, types, 1 << 18, &k);
        ok = st == WN_OK && k == cJSON_GetArraySize(want);
        for (int i = 0; ok && i < k; i++)
            ok = ids[i] == cJSON_GetArrayItem(want, i)->valueint && types[i] == cJSON_GetArrayItem(wt, i)->valueint;
        n_cases++;
        n_ok += ok;
        if (!ok) {
            char got[2048];
            size_t o = 0;
            for (int i = 0; i < k && o < 2000; i++) o += (size_t)snprintf(got + o, sizeof got - o, "%d,", ids[i]);
            char *w = cJSON_PrintUnformatted(want);
            CHECK(ok, "%s case %d (%s, max %d) \"%.60s\" / \"%.40s\": got [%.500s] (%s), want %.500s", path, n_cases,
                  is_cased ? "cased" : "uncased", max, a->valuestring, cJSON_IsString(b) ? b->valuestring : "", got,
                  wn_status_name(st), w);
            free(w);
        }
        cJSON_Delete(j);
    }
    fprintf(stderr, "HF tokenizers cases (%s): %d of %d match\n", path, n_ok, n_cases);
    CHECK(n_cases >= min_cases, "only %d cases read from %s", n_cases, path);
    free(ids);
    free(types);
    wn_free(data);
    wn_tokenizer_free(cased);
    remove_dir(dir);
}

/* ---- 2 and 3 on the real vocab: pairs, truncation, specials in text */
static void test_minilm(const wn_tokenizer *t) {
    CHECK(wn_tokenizer_max_length(t) == 256, "max length %d (sentence_bert_config says 256)", wn_tokenizer_max_length(t));
    CHECK(wn_tokenizer_vocab_size(t) == 30522, "vocab size %d", wn_tokenizer_vocab_size(t));
    /* ids from the reference file: "Hello world" = 7592 2088, " Hello, world!" = 7592 1010 2088 999 */
    CHECK_ENC(t, "Hello world", NULL, 0, "101 7592 2088 102|0 0 0 0");
    CHECK_ENC(t, "", NULL, 0, "101 102|0 0");
    CHECK_ENC(t, "", "", 0, "101 102 102|0 0 1");
    CHECK_ENC(t, "Hello world", " Hello, world!", 0, "101 7592 2088 102 7592 1010 2088 999 102|0 0 0 0 1 1 1 1 1");
    /* max_len smaller than the specials is an error; exactly the specials is empty */
    CHECK_ENC(t, "Hello", NULL, 2, "101 102|0 0");
    CHECK_ENC(t, "Hello", "world", 3, "101 102 102|0 0 1");
    int32_t ids[8], ty[8];
    int n;
    CHECK(wn_tokenizer_encode(t, "a", "b", 2, ids, ty, 8, &n) == WN_ERR_ARG, "pair with max_len 2 must fail");
    CHECK(strstr(wn_last_error(), "max_len 2"), "error names the value: %s", wn_last_error());
    CHECK(wn_tokenizer_encode(t, "a b c d e f", NULL, 0, ids, ty, 4, &n) == WN_ERR_ARG, "cap too small must fail");
    /* single truncation keeps the first tokens: "3333333" = 21211 22394 2509 */
    CHECK_ENC(t, "3333333", NULL, 4, "101 21211 22394 102|0 0 0 0");
    CHECK_ENC(t, "3333333", NULL, 3, "101 21211 102|0 0 0");
    /* longest_first, by truncation.rs (M = max_len - 3; n1 <= n2):
     * a = 7592 1010 2088 999 (4), b = 7592 2088 (2), max_len 7 -> M 4: the shorter
     * keeps 2 (n2 = max(2, 4 - 2) = 2), the longer M - 2 = 2 */
    CHECK_ENC(t, " Hello, world!", "Hello world", 7, "101 7592 1010 102 7592 2088 102|0 0 0 0 1 1 1");
    CHECK_ENC(t, "Hello world", " Hello, world!", 7, "101 7592 2088 102 7592 1010 102|0 0 0 0 1 1 1");
    /* both long: a 6 (999 x6), b 4: M = 5 -> shorter b keeps 5/2 = 2, longer a 3 */
    CHECK_ENC(t, "!!!!!!", " Hello, world!", 8, "101 999 999 999 102 7592 1010 102|0 0 0 0 0 1 1 1");
    /* swapped: a 4, b 6, M = 5: shorter a keeps 2, longer b 3 */
    CHECK_ENC(t, " Hello, world!", "!!!!!!", 8, "101 7592 1010 102 999 999 999 102|0 0 0 0 1 1 1 1");
    /* tie (4, 4), M = 5: a keeps 2, b 3 (the slow tokenizer's loop would give a 3, b 2) */
    CHECK_ENC(t, " Hello, world!", "Hello, world!", 8, "101 7592 1010 102 7592 1010 2088 102|0 0 0 0 1 1 1 1");
    /* tie, M even = 4: 2 and 2 */
    CHECK_ENC(t, " Hello, world!", "Hello, world!", 7, "101 7592 1010 102 7592 1010 102|0 0 0 0 1 1 1");
    /* one short (1), one long (6), M = 4: short keeps 1, long 3 */
    CHECK_ENC(t, "3", "!!!!!!", 7, "101 1017 102 999 999 999 102|0 0 0 1 1 1 1");
    CHECK_ENC(t, "!!!!!!", "3", 7, "101 999 999 999 102 1017 102|0 0 0 0 0 1 1");
    /* M = 0 */
    CHECK_ENC(t, "!!!!!!", "3", 3, "101 102 102|0 0 1");

    /* special tokens written in the text are matched as they are (case-sensitive) */
    CHECK_IDS(t, "Hello [SEP] world", " 7592 102 2088");
    CHECK_IDS(t, "Hello[MASK]world", " 7592 103 2088");
    CHECK_IDS(t, "[sep]", " 1031 19802 1033"); /* "[", "sep", "]" */
    /* control chars and U+FFFD are dropped, \t \n \r and U+3000 are spaces, ZWJ (Cf) too */
    CHECK_IDS(t, "Hello\x01\x7f world", " 7592 2088");
    CHECK_IDS(t, "Hel\xe2\x80\x8dlo\xe3\x80\x80world", " 7592 2088");
    CHECK_IDS(t, "Hello\xef\xbf\xbdworld", " 7592 11108"); /* "helloworld" = hello ##world */
    /* invalid UTF-8 becomes U+FFFD, then dropped like it */
    CHECK_IDS(t, "Hello\xff\xc3world", " 7592 11108");
    CHECK_IDS(t, "\xff", "");
    /* accents stripped, Chinese chars isolated: "Führer" = fuhrer, "博" alone */
    CHECK_IDS(t, "F\xc3\xbchrer", " 11865 17875");
    CHECK_IDS(t, "FU\xcc\x88HRER", " 11865 17875"); /* decomposed input too */
    /* U+0130 lowercases to "i" + U+0307, whose mark is stripped: "İ" = "i" */
    CHECK_IDS(t, "\xc4\xb0", " 1045");
    /* a word of 100 chars is split, of 101 chars is [UNK] */
    char w[256];
    memset(w, 'a', 101);
    w[101] = 0;
    CHECK_IDS(t, w, " 100");
    w[100] = 0;
    char got[4096];
    ids_str(t, w, got, sizeof got);
    CHECK(strcmp(got, " 100") && got[0] == ' ', "100 a's must not be [UNK]: '%s'", got);
    /* emoji not in the vocab: [UNK] (the reference has 🦙 -> 100) */
    CHECK_IDS(t, "\xf0\x9f\xa6\x99", " 100");
}

/* ---- a 1 MB line: a single encode stops early; the pair path stays linear */
static void test_long(const wn_tokenizer *t) {
    size_t n = 1 << 20;
    char *s = malloc(n + 1);
    for (size_t i = 0; i < n; i++) s[i] = "hello world "[i % 12];
    s[n] = 0;
    int32_t ids[300], ty[300];
    int k;
    double t0 = wn_now();
    CHECK(wn_tokenizer_encode(t, s, NULL, 0, ids, ty, 300, &k) == WN_OK && k == 256, "1 MB line: %d tokens", k);
    CHECK(ids[1] == 7592 && ids[2] == 2088 && ids[254] == 2088 && ids[255] == 102, "1 MB line ids");
    double t1 = wn_now();
    CHECK(wn_tokenizer_encode(t, "hello", s, 0, ids, ty, 300, &k) == WN_OK && k == 256, "1 MB pair: %d tokens", k);
    CHECK(ids[1] == 7592 && ids[2] == 102 && ids[3] == 7592 && ty[3] == 1, "1 MB pair ids");
    double t2 = wn_now();
    fprintf(stderr, "1 MB line: single %.1f ms, pair %.1f ms\n", (t1 - t0) * 1e3, (t2 - t1) * 1e3);
    free(s);
}

/* ---- every non-ASCII punctuation, control, format and mark character between two
 * letters, "q<c>q", against the HF tokenizer (tests/fixtures/tokenizer/unicode_chars.txt,
 * make_unicode_chars.js): its Unicode tables are older than utf8proc's */
static void test_unicode_chars(const wn_tokenizer *t) {
    char *data;
    if (wn_read_file("tests/fixtures/tokenizer/unicode_chars.txt", &data, NULL) != WN_OK) {
        CHECK(0, "cannot read unicode_chars.txt: %s", wn_last_error());
        return;
    }
    int n_cases = 0, n_ok = 0;
    for (char *line = data, *nl; (nl = strchr(line, '\n')); line = nl + 1) {
        *nl = 0;
        char *sp = strchr(line, ' ');
        if (!sp) {
            CHECK(0, "unicode_chars.txt: bad line '%.40s'", line);
            break;
        }
        unsigned long c = strtoul(line, NULL, 16);
        char text[8] = "q";
        size_t k = 1;
        if (c < 0x800) {
            text[k++] = (char)(0xC0 | (c >> 6));
        } else if (c < 0x10000) {
            text[k++] = (char)(0xE0 | (c >> 12));
            text[k++] = (char)(0x80 | ((c >> 6) & 0x3F));
        } else {
            text[k++] = (char)(0xF0 | (c >> 18));
            text[k++] = (char)(0x80 | ((c >> 12) & 0x3F));
            text[k++] = (char)(0x80 | ((c >> 6) & 0x3F));
        }
        text[k++] = (char)(0x80 | (c & 0x3F));
        text[k++] = 'q';
        text[k] = 0;
        int32_t ids[16], ty[16];
        int n;
        char got[160];
        size_t o = 0;
        got[0] = 0;
        if (wn_tokenizer_encode(t, text, NULL, 0, ids, ty, 16, &n) == WN_OK)
            for (int i = 0; i < n && o < sizeof got - 12; i++) o += (size_t)snprintf(got + o, sizeof got - o, i ? ",%d" : "%d", ids[i]);
        int ok = !strcmp(got, sp + 1);
        n_cases++;
        n_ok += ok;
        CHECK(ok, "U+%04lX between letters: got %s, HF gives %s", c, got, sp + 1);
    }
    fprintf(stderr, "unicode chars: %d of %d as HF\n", n_ok, n_cases);
    CHECK(n_cases == 3579, "%d characters read from unicode_chars.txt", n_cases);
    wn_free(data);
}

/* ---- pair truncation against the HF tokenizer on a grid: every length of a and b
 * (0..20 tokens) and max_len 3..22, tests/fixtures/tokenizer/trunc_grid.txt written
 * by make_trunc_grid.js beside it. Where a and b both reach max_len the HF tokenizer
 * calls it a tie (b gets the odd token even when a is longer). */
static void test_trunc_grid(const wn_tokenizer *t) {
    char *data;
    if (wn_read_file("tests/fixtures/tokenizer/trunc_grid.txt", &data, NULL) != WN_OK) {
        CHECK(0, "cannot read the truncation grid: %s", wn_last_error());
        return;
    }
    int rows = 0, bad = 0;
    for (char *line = data, *nl; (nl = strchr(line, '\n')); line = nl + 1) {
        *nl = 0;
        int max_len, la, off;
        if (sscanf(line, "%d %d%n", &max_len, &la, &off) != 2) {
            CHECK(0, "trunc_grid.txt: bad line '%.40s'", line);
            break;
        }
        char a[128] = "", b[128] = "";
        for (int i = 0; i < la; i++) strcat(a, i ? " the" : "the");
        const char *p = line + off;
        for (int lb = 0; lb <= 20; lb++) {
            int ka, kb, used;
            if (sscanf(p, " %d,%d%n", &ka, &kb, &used) != 2) {
                CHECK(0, "trunc_grid.txt: line '%.20s...' has %d entries", line, lb);
                break;
            }
            p += used;
            b[0] = 0;
            for (int i = 0; i < lb; i++) strcat(b, i ? " cat" : "cat");
            int32_t ids[64], ty[64];
            int n, got_a = 0, got_b = 0;
            wn_status st = wn_tokenizer_encode(t, a, b, max_len, ids, ty, 64, &n);
            for (int i = 0; i < n; i++) {
                got_a += ids[i] == 1996;
                got_b += ids[i] == 4937;
            }
            rows++;
            if (st != WN_OK || got_a != ka || got_b != kb) bad++;
            CHECK(st == WN_OK && got_a == ka && got_b == kb, "max_len %d, a %d, b %d tokens: kept %d + %d, HF keeps %d + %d",
                  max_len, la, lb, got_a, got_b, ka, kb);
        }
    }
    CHECK(rows == 20 * 21 * 21, "%d grid cases read", rows);
    fprintf(stderr, "truncation grid: %d of %d pairs as HF\n", rows - bad, rows);
    wn_free(data);
}

/* ---- early stop: a single text encoded to max_len is exactly [CLS] + the first
 * max_len - 2 pieces of the full tokenization + [SEP], on seeded random mixes of
 * ASCII, punctuation, accents, CJK, emoji, control bytes, invalid UTF-8 and "[SEP]" */
static void test_early_stop(const wn_tokenizer *t) {
    static const char *parts[] = {"a", "the ", "Hello", " ", "  ", ",", "!", "\xc3\xa9", "e\xcc\x81", "\xe5\x8d\x9a",
                                  "\xf0\x9f\xa6\x99", "\x01", "\t", "\xff", "\xc3", "[SEP]", "[SE", "unaffable", "3.14",
                                  "\xe2\x80\x8d", "\xd0\x9f\xd1\x80\xd0\xb8", "x"};
    uint64_t seed = 42;
    int bad = 0;
    for (int it = 0; it < 300; it++) {
        char text[2048];
        size_t o = 0;
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        int n_parts = (int)(seed >> 33) % 120;
        for (int k = 0; k < n_parts; k++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            const char *p = parts[(seed >> 33) % (sizeof parts / sizeof parts[0])];
            if (o + strlen(p) + 1 >= sizeof text) break;
            memcpy(text + o, p, strlen(p));
            o += strlen(p);
        }
        text[o] = 0;
        int32_t *full, ids[300], ty[300];
        int n_full, n;
        if (wn_tokenizer_tokenize(t, text, &full, &n_full) != WN_OK) {
            bad++;
            continue;
        }
        int max_len = 2 + it % 40;
        if (wn_tokenizer_encode(t, text, NULL, max_len, ids, ty, 300, &n) != WN_OK) bad++;
        else {
            int m = WN_MIN(n_full, max_len - 2);
            int ok = n == m + 2 && ids[0] == 101 && ids[n - 1] == 102;
            for (int i = 0; ok && i < m; i++) ok = ids[i + 1] == full[i];
            if (!ok) bad++;
            CHECK(ok, "early stop differs on text %d (max_len %d, %d full pieces, %d out)", it, max_len, n_full, n);
        }
        wn_free_buffer(full);
    }
    CHECK(bad == 0, "%d of 300 random texts differ", bad);
}

/* ---- concurrent encodes on one tokenizer give the same ids */
typedef struct {
    const wn_tokenizer *t;
    int ok;
} thr_arg;
static void *thr_fn(void *p) {
    thr_arg *a = p;
    a->ok = 1;
    for (int i = 0; i < 200; i++) {
        int32_t ids[16], ty[16];
        int n;
        if (wn_tokenizer_encode(a->t, "Hello, world!", "F\xc3\xbchrer", 16, ids, ty, 16, &n) != WN_OK || n != 9 ||
            ids[2] != 1010 || ids[6] != 11865)
            a->ok = 0;
    }
    return NULL;
}
static void test_threads(const wn_tokenizer *t) {
    pthread_t th[4];
    thr_arg a[4];
    for (int i = 0; i < 4; i++) {
        a[i].t = t;
        pthread_create(&th[i], NULL, thr_fn, &a[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        CHECK(a[i].ok, "thread %d got different ids", i);
    }
}

/* ---- 2. transformers' BertTokenizer unit tests, on their vocab */
static const char *hf_vocab = "[UNK]\n[CLS]\n[SEP]\n[PAD]\n[MASK]\nwant\n##want\n##ed\nwa\nun\nrunn\n##ing\n,\nlow\nlowest\n";

static void test_hf_unit(void) {
    char *dir = make_dir("vocab.txt", hf_vocab, NULL);
    wn_tokenizer *t;
    CHECK(wn_tokenizer_load(dir, &t) == WN_OK, "load: %s", wn_last_error());
    if (!t) return;
    /* test_full_tokenizer: "UNwant\u00E9d,running" -> un ##want ##ed , runn ##ing = 9 6 7 12 10 11 */
    CHECK_IDS(t, "UNwant\xc3\xa9" "d,running", " 9 6 7 12 10 11");
    /* test_wordpiece_tokenizer */
    CHECK_IDS(t, "", "");
    CHECK_IDS(t, "unwanted running", " 9 6 7 10 11");
    CHECK_IDS(t, "unwantedX running", " 0 10 11");
    CHECK(wn_tokenizer_max_length(t) == 512, "default max length %d", wn_tokenizer_max_length(t));
    CHECK(wn_tokenizer_vocab_size(t) == 15, "vocab size %d", wn_tokenizer_vocab_size(t));
    /* specials come from their names: [CLS] = 1, [SEP] = 2 */
    CHECK_ENC(t, "want", "low", 0, "1 5 2 13 2|0 0 0 1 1");
    wn_tokenizer_free(t);
    remove_dir(dir);
}

/* transformers' BasicTokenizer tests (test_basic_tokenizer_*), tokens mapped to a vocab
 * holding each expected token; "?" not in it would give [UNK] = 0. */
static const char *basic_vocab = "[UNK]\n[CLS]\n[SEP]\nhello\n!\nhow\nare\nyou\n?\nHeLLo\nAre\nyoU\nh\xc3\xa4llo\n"
                                 "H\xc3\xa4LLo\nHaLLo\nah\n\xe5\x8d\x9a\n\xe6\x8e\xa8\nzz\n";
static const char *basic_text = " \tHeLLo!how  \n Are yoU?  ";
static const char *basic_text_acc = " \tH\xc3\xa4LLo!how  \n Are yoU?  ";

static void check_config(const char *config, const char *text, const char *want, int line) {
    char *dir = config ? make_dir("vocab.txt", basic_vocab, "tokenizer_config.json", config, NULL)
                       : make_dir("vocab.txt", basic_vocab, NULL);
    wn_tokenizer *t;
    if (wn_tokenizer_load(dir, &t) != WN_OK) {
        CHECK(0, "line %d: load: %s", line, wn_last_error());
    } else {
        char got[512];
        ids_str(t, text, got, sizeof got);
        CHECK(!strcmp(got, want), "line %d: config %s: got '%s', want '%s'", line, config ? config : "(none)", got, want);
        wn_tokenizer_free(t);
    }
    remove_dir(dir);
}

static void test_hf_basic(void) {
    /* test_chinese: "ah\u535A\u63A8zz" -> ah 博 推 zz */
    check_config(NULL, "ah\xe5\x8d\x9a\xe6\x8e\xa8zz", " 15 16 17 18", __LINE__);
    /* tokenize_chinese_chars false: one word, not in the vocab */
    check_config("{\"tokenize_chinese_chars\": false}", "ah\xe5\x8d\x9a\xe6\x8e\xa8zz", " 0", __LINE__);
    /* test_basic_tokenizer_lower: hello ! how are you ? */
    check_config(NULL, basic_text, " 3 4 5 6 7 8", __LINE__);
    check_config(NULL, "H\xc3\xa9llo", " 3", __LINE__);
    /* lower, strip_accents false: hällo ! how are you ? */
    check_config("{\"do_lower_case\": true, \"strip_accents\": false}", basic_text_acc, " 12 4 5 6 7 8", __LINE__);
    /* lower, strip_accents true: hallo is not in the vocab */
    check_config("{\"strip_accents\": true}", basic_text_acc, " 0 4 5 6 7 8", __LINE__);
    /* lower by default (strip follows): Héllo = hello */
    check_config("{}", "H\xc3\xa9llo", " 3", __LINE__);
    /* test_basic_tokenizer_no_lower: HeLLo ! how Are yoU ? */
    check_config("{\"do_lower_case\": false}", basic_text, " 9 4 5 10 11 8", __LINE__);
    /* no lower, strip_accents false / null: HäLLo */
    check_config("{\"do_lower_case\": false, \"strip_accents\": false}", basic_text_acc, " 13 4 5 10 11 8", __LINE__);
    check_config("{\"do_lower_case\": false, \"strip_accents\": null}", basic_text_acc, " 13 4 5 10 11 8", __LINE__);
    /* sentence-transformers' own do_lower_case lowers the text before a cased tokenizer */
    char *dir = make_dir("vocab.txt", basic_vocab, "tokenizer_config.json", "{\"do_lower_case\": false}",
                         "sentence_bert_config.json", "{\"max_seq_length\": 9, \"do_lower_case\": true}", NULL);
    wn_tokenizer *t;
    CHECK(wn_tokenizer_load(dir, &t) == WN_OK, "load: %s", wn_last_error());
    if (t) {
        CHECK_IDS(t, basic_text_acc, " 12 4 5 6 7 8"); /* hällo: lowered, accents kept */
        CHECK(wn_tokenizer_max_length(t) == 9, "max length %d", wn_tokenizer_max_length(t));
        wn_tokenizer_free(t);
    }
    remove_dir(dir);
    /* no lower, strip_accents true: HaLLo */
    check_config("{\"do_lower_case\": false, \"strip_accents\": true}", basic_text_acc, " 14 4 5 10 11 8", __LINE__);
}

/* ---- loading: precedence, errors */
static void test_loading(void) {
    wn_tokenizer *t = NULL;
    CHECK(wn_tokenizer_load("/nonexistent/model", &t) == WN_ERR_NOTFOUND && !t, "missing dir");
    CHECK(strstr(wn_last_error(), "/nonexistent/model"), "error names the dir: %s", wn_last_error());
    char *dir = make_dir("config.json", "{}", NULL);
    CHECK(wn_tokenizer_load(dir, &t) == WN_ERR_NOTFOUND, "no vocab must fail");
    CHECK(strstr(wn_last_error(), "vocab.txt"), "error names vocab.txt: %s", wn_last_error());
    remove_dir(dir);
    dir = make_dir("vocab.txt", "[CLS]\n[SEP]\nhello\n", NULL);
    CHECK(wn_tokenizer_load(dir, &t) == WN_ERR_FORMAT, "no [UNK] must fail");
    CHECK(strstr(wn_last_error(), "[UNK]"), "error names [UNK]: %s", wn_last_error());
    remove_dir(dir);
    dir = make_dir("vocab.txt", hf_vocab, "tokenizer_config.json", "{\"do_lower_case\": tru", NULL);
    CHECK(wn_tokenizer_load(dir, &t) == WN_ERR_FORMAT, "bad JSON must fail");
    CHECK(strstr(wn_last_error(), "tokenizer_config.json"), "error names the file: %s", wn_last_error());
    remove_dir(dir);
    /* renamed special tokens; max length from model_max_length, then max_position_embeddings */
    dir = make_dir("vocab.txt", "<unk>\n<s>\n</s>\nhi\n", "special_tokens_map.json",
                   "{\"unk_token\": \"<unk>\", \"cls_token\": {\"content\": \"<s>\"}, \"sep_token\": \"</s>\"}",
                   "tokenizer_config.json", "{\"model_max_length\": 1000000000000000019884624838656}", "config.json",
                   "{\"max_position_embeddings\": 64}", NULL);
    CHECK(wn_tokenizer_load(dir, &t) == WN_OK, "load: %s", wn_last_error());
    if (t) {
        CHECK(wn_tokenizer_max_length(t) == 64, "max length %d, want 64", wn_tokenizer_max_length(t));
        CHECK_ENC(t, "hi ho", NULL, 0, "1 3 0 2|0 0 0 0");
        CHECK_IDS(t, "hi</s>", " 3 2");
        wn_tokenizer_free(t);
    }
    remove_dir(dir);
    /* tokenizer.json's vocab wins over vocab.txt; without tokenizer_config.json its
     * normalizer is used as it is (lowercase false here) */
    dir = make_dir("vocab.txt", hf_vocab, "tokenizer.json",
                   "{\"added_tokens\": [{\"id\": 0, \"content\": \"[UNK]\"}, {\"id\": 7, \"content\": \"[SEP]\"}],"
                   "\"normalizer\": {\"type\": \"BertNormalizer\", \"lowercase\": false},"
                   "\"pre_tokenizer\": {\"type\": \"BertPreTokenizer\"},"
                   "\"model\": {\"type\": \"WordPiece\", \"unk_token\": \"[UNK]\", \"vocab\": "
                   "{\"[UNK]\": 0, \"[CLS]\": 6, \"[SEP]\": 7, \"Hi\": 3, \"hi\": 4, \"##x\": 5}}}",
                   "tokenizer_config.json", "{\"model_max_length\": 77}", NULL);
    CHECK(wn_tokenizer_load(dir, &t) == WN_OK, "load: %s", wn_last_error());
    if (t) {
        /* tokenizer_config.json exists, so do_lower_case's default (true) applies */
        CHECK_ENC(t, "Hix", NULL, 0, "6 4 5 7|0 0 0 0");
        CHECK(wn_tokenizer_max_length(t) == 77, "max length %d", wn_tokenizer_max_length(t));
        CHECK(wn_tokenizer_vocab_size(t) == 8, "vocab size %d", wn_tokenizer_vocab_size(t));
        wn_tokenizer_free(t);
    }
    char *p = wn_path_join(dir, "tokenizer_config.json");
    unlink(p);
    wn_free(p);
    CHECK(wn_tokenizer_load(dir, &t) == WN_OK, "load: %s", wn_last_error());
    if (t) {
        CHECK_ENC(t, "Hix", NULL, 0, "6 3 5 7|0 0 0 0"); /* normalizer lowercase false */
        wn_tokenizer_free(t);
    }
    remove_dir(dir);
    /* escapes in vocab keys; an id written 5.0 (cJSON reads the file then) */
    for (int k = 0; k < 2; k++) {
        dir = make_dir("tokenizer.json",
                       k ? "{\"model\": {\"vocab\": {\"[UNK]\": 0, \"[CLS]\": 1, \"[SEP]\": 2.0, \"caf\\u00e9\": 3, \"\\ud83e\\udd99\": 4}}}"
                         : "{\"model\": {\"vocab\": {\"[UNK]\": 0, \"[CLS]\": 1, \"[SEP]\": 2, \"caf\\u00e9\": 3, \"\\ud83e\\udd99\": 4}}}",
                       "tokenizer_config.json", "{\"strip_accents\": false}", NULL);
        CHECK(wn_tokenizer_load(dir, &t) == WN_OK, "load: %s", wn_last_error());
        if (t) {
            CHECK_IDS(t, "Caf\xc3\xa9 \xf0\x9f\xa6\x99", " 3 4");
            wn_tokenizer_free(t);
        }
        remove_dir(dir);
    }
    /* max_input_chars_per_word 300: a word of 280 chars is 280 pieces, of 301 [UNK] */
    dir = make_dir("tokenizer.json",
                   "{\"model\": {\"max_input_chars_per_word\": 300, \"vocab\": {\"[UNK]\": 0, \"[CLS]\": 1, \"[SEP]\": 2, "
                   "\"a\": 3, \"##a\": 4}}}",
                   NULL);
    CHECK(wn_tokenizer_load(dir, &t) == WN_OK, "load: %s", wn_last_error());
    if (t) {
        char word[302];
        memset(word, 'a', 301);
        word[301] = 0;
        int32_t *v;
        int n;
        CHECK(wn_tokenizer_tokenize(t, word, &v, &n) == WN_OK && n == 1 && v[0] == 0, "301 chars: %d pieces", n);
        wn_free_buffer(v);
        word[280] = 0;
        CHECK(wn_tokenizer_tokenize(t, word, &v, &n) == WN_OK && n == 280 && v[0] == 3 && v[279] == 4, "280 chars: %d pieces",
              n);
        wn_free_buffer(v);
        wn_tokenizer_free(t);
    }
    remove_dir(dir);
    dir = make_dir("tokenizer.json", "{\"model\": {\"type\": \"BPE\", \"vocab\": {}}}", NULL);
    CHECK(wn_tokenizer_load(dir, &t) == WN_ERR_UNSUPPORTED, "BPE must be unsupported");
    CHECK(strstr(wn_last_error(), "BPE"), "error names BPE: %s", wn_last_error());
    remove_dir(dir);
}

/* ---- allocation failures: every failing call returns NOMEM and leaks nothing */
static void test_nomem(void) {
    char *dir = make_dir("vocab.txt", hf_vocab, "tokenizer_config.json", "{\"do_lower_case\": true}", NULL);
    fault_alloc f = {0};
    wn_allocator al = fault_allocator(&f, 0);
    /* fail the 1st, 2nd, ... allocation until a run makes fewer calls than that */
    long fail_at;
    for (fail_at = 1;; fail_at++) {
        fault_plant_stale_message();
        wn_set_allocator(&al);
        fault_arm(&f, fail_at);
        wn_tokenizer *t = NULL;
        wn_status st = wn_tokenizer_load(dir, &t);
        int32_t ids[16], ty[16];
        int n = 0;
        if (st == WN_OK) st = wn_tokenizer_encode(t, "unwanted running", "low", 0, ids, ty, 16, &n);
        wn_tokenizer_free(t);
        wn_set_allocator(NULL);
        CHECK(st == WN_OK || (st == WN_ERR_NOMEM && fault_message_ok(st)), "failing allocation %ld: status %s (%s)",
              fail_at, wn_status_name(st), wn_last_error());
        CHECK(st != WN_OK || n == 9, "failing allocation %ld: %d ids", fail_at, n);
        if (!fault_reached(&f)) break;
    }
    CHECK(fail_at > 10, "only %ld allocations", fail_at);
    remove_dir(dir);
}

int main(void) {
    test_hf_unit();
    test_hf_basic();
    test_loading();
    test_nomem();
    wn_tokenizer *t = NULL;
    snprintf(MINILM, sizeof MINILM, "/tmp/wn_test_tok_minilm_%d", (int)getpid());
    if (fixture_unpack(MINILM_FIXTURE, MINILM) != 0) {
        CHECK(0, "cannot unpack %s into %s: the real-vocab cases cannot run", MINILM_FIXTURE, MINILM);
        remove_dir(strdup(MINILM));
        return check_done();
    }
    double t0 = wn_now();
    CHECK(wn_tokenizer_load(MINILM, &t) == WN_OK, "load %s: %s", MINILM, wn_last_error());
    fprintf(stderr, "loaded %s in %.1f ms\n", MINILM, (wn_now() - t0) * 1e3);
    if (!t) return check_done();
    test_reference_ids(t);
    test_hf_cases(t, "tests/fixtures/tokenizer/hf_cases.jsonl", 251);
    test_hf_cases(t, "tests/fixtures/tokenizer/trunc_pairs.jsonl", 240);
    CHECK(check_hf_offsets(t, "tests/fixtures/tokenizer/hf_offsets.jsonl", 140, 1000) == 0, "offsets as HF (above)");
    test_unicode_chars(t);
    test_minilm(t);
    test_long(t);
    test_trunc_grid(t);
    test_early_stop(t);
    test_threads(t);
    wn_tokenizer_free(t);
    remove_dir(strdup(MINILM));
    return check_done();
}
