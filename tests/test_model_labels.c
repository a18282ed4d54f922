/* test_model_labels.c - a classifier's label names (config.json's id2label) through
 * wn_model_label: read as config.json gives them, NULL where it has none, out of
 * range or for a bi-encoder, a long name cut at a character boundary; the server's
 * /predict and /info name them (tests/t_serve_prompts.sh). */
#include <string.h>

#include "check.h"
#include "scratch.h"
#include "winnow.h"

#define FIX "tests/fixtures/model/tiny-ce"

/* tiny-ce with id2label replaced by labels (a JSON object's text), loaded */
static wn_model *with_labels(const char *name, const char *labels) {
    char dir[512], from[600], to[700];
    scratch_path(dir, sizeof dir, name);
    wn_mkdirs(dir, 0755);
    const char *files[] = {"model.safetensors", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json"};
    for (int i = 0; i < 4; i++) {
        snprintf(from, sizeof from, FIX "/%s", files[i]);
        if (!wn_file_exists(from)) continue;
        snprintf(to, sizeof to, "%s/%s", dir, files[i]);
        CHECK(scratch_copy(from, to) == 0, "copy %s to %s", from, to);
    }
    char *cfg = NULL;
    size_t len = 0;
    CHECK(wn_read_file(FIX "/config.json", &cfg, &len) == WN_OK, "config.json");
    char *at = cfg ? strstr(cfg, "\"id2label\"") : NULL;
    char *end = at ? strchr(at, '}') : NULL;
    CHECK(at && end, "tiny-ce's config.json has an id2label");
    if (!at || !end) return wn_free(cfg), NULL;
    snprintf(to, sizeof to, "%s/config.json", dir);
    FILE *f = fopen(to, "wb");
    fprintf(f, "%.*s\"id2label\": %s%s", (int)(at - cfg), cfg, labels, end + 1);
    fclose(f);
    wn_free(cfg);
    wn_model *m = NULL;
    CHECK(wn_model_load(dir, NULL, &m) == WN_OK, "load %s: %s", name, wn_last_error());
    return m;
}

int main(void) {
    wn_model *m = with_labels("labels_one", "{\"0\": \"relevant\"}");
    if (m) {
        CHECK(wn_model_num_labels(m) == 1, "labels %d", wn_model_num_labels(m));
        const char *l0 = wn_model_label(m, 0);
        CHECK(l0 && !strcmp(l0, "relevant"), "label 0: %s", l0 ? l0 : "NULL");
        CHECK(!wn_model_label(m, 1) && !wn_model_label(m, -1), "out of range");
        wn_model_free(m);
    }
    /* a long name of 2-byte characters: cut below 64 bytes, never inside a character */
    char labels[400] = "{\"0\": \"";
    for (int i = 0; i < 40; i++) strcat(labels, "\xc3\xa9"); /* e-acute */
    strcat(labels, "\"}");
    if ((m = with_labels("labels_long", labels))) {
        const char *l = wn_model_label(m, 0);
        CHECK(l && strlen(l) == 62 && ((unsigned char)l[61] & 0xC0) == 0x80 && ((unsigned char)l[60] & 0xC0) == 0xC0,
              "long name: %zu bytes", l ? strlen(l) : 0);
        wn_model_free(m);
    }
    /* a name that is not a string is no name (id2label's size still sets num_labels) */
    if ((m = with_labels("labels_odd", "{\"0\": 7}"))) {
        CHECK(!wn_model_label(m, 0), "a non-string name: %s", wn_model_label(m, 0));
        wn_model_free(m);
    }
    if (wn_model_load("tests/fixtures/model/tiny-bi", NULL, &m) == WN_OK) {
        CHECK(!wn_model_label(m, 0), "a bi-encoder has no labels");
        wn_model_free(m);
    }
    return check_done();
}
