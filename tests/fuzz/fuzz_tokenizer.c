/* fuzz_tokenizer.c - libFuzzer harness for src/tokenizer. The first byte picks:
 *   even: the rest is text for the all-MiniLM-L6-v2 tokenizer (../shared), or the
 *         fixture vocab without it: tokenize must succeed; encode to a max length
 *         taken from the input must equal [CLS] + the first pieces + [SEP]; a pair
 *         split at the first TAB must fit max_len with type ids 0... then 1...;
 *   1 mod 4: the rest is a tokenizer.json (the hand-written vocab scanner, then the JSON reader):
 *         loading may fail with a message, and a loaded tokenizer must encode;
 *   3 mod 4: the rest is a vocab.txt (no tokenizer.json beside it): the same.
 * Build and run: tests/fuzz/run.sh [SECONDS]; replayed by tests/t_fuzz_replay.sh. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static wn_tokenizer *tok;
static int32_t cls_sep[2]; /* the ids of encode("") */
static char dir[64];

static void check_text(const char *text, int max_len) {
    int32_t *full, ids[512], ty[512];
    int n_full, n;
    if (wn_tokenizer_tokenize(tok, text, &full, &n_full) != WN_OK) abort();
    if (wn_tokenizer_encode(tok, text, NULL, max_len, ids, ty, 512, &n) != WN_OK) abort();
    int m = n_full < max_len - 2 ? n_full : max_len - 2;
    if (n != m + 2 || ids[0] != cls_sep[0] || ids[n - 1] != cls_sep[1]) abort();
    for (int i = 0; i < m; i++)
        if (ids[i + 1] != full[i]) abort();
    wn_free_buffer(full);
    const char *tab = strchr(text, '\t');
    if (!tab || max_len < 3) return;
    char *a = strndup(text, (size_t)(tab - text));
    if (wn_tokenizer_encode(tok, a, tab + 1, max_len, ids, ty, 512, &n) != WN_OK || n > max_len || n < 3) abort();
    for (int i = 1; i < n; i++)
        if (ty[i] < ty[i - 1]) abort();
    if (ty[n - 1] != 1 || ty[0] != 0) abort();
    free(a);
}

static void check_json(const char *json, size_t len, const char *name) {
    char path[96];
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fwrite(json, 1, len, f);
    fclose(f);
    wn_tokenizer *t;
    if (wn_tokenizer_load(dir, &t) != WN_OK) {
        if (!*wn_last_error()) abort();
        return;
    }
    int32_t ids[8], ty[8];
    int n;
    if (wn_tokenizer_vocab_size(t) <= 0 || wn_tokenizer_encode(t, "ab c", NULL, 8, ids, ty, 8, &n) != WN_OK) abort();
    wn_tokenizer_free(t);
}

static void cleanup(void) { /* the scratch directory goes when the process ends */
    char path[96];
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/vocab.txt", dir);
    unlink(path);
    rmdir(dir);
    wn_tokenizer_free(tok);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!tok) {
        if (wn_tokenizer_load("../shared/models/all-MiniLM-L6-v2", &tok) != WN_OK &&
            wn_tokenizer_load("tests/fixtures/tokenizer/tiny", &tok) != WN_OK)
            abort();
        int32_t ty[2];
        int n;
        if (wn_tokenizer_encode(tok, "", NULL, 0, cls_sep, ty, 2, &n) != WN_OK || n != 2) abort();
        snprintf(dir, sizeof dir, "/tmp/wn_fuzz_tok_%d", (int)getpid());
        wn_mkdirs(dir, 0755);
        atexit(cleanup);
    }
    if (size < 1) return 0;
    char *buf = malloc(size);
    memcpy(buf, data + 1, size - 1);
    buf[size - 1] = 0;
    if (data[0] % 2 == 0) check_text(buf, 2 + data[0] % 64);
    else check_json(buf, size - 1, data[0] % 4 == 1 ? "tokenizer.json" : "vocab.txt");
    free(buf);
    return 0;
}
