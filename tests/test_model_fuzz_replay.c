/* test_model_fuzz_replay.c - replays the inputs kept from fuzzing src/model
 * (tests/fuzz/run.sh): crashers and interesting files in tests/fixtures/model/bad/
 * must be rejected or accepted cleanly, never crash (this runs under ASan in CI);
 * the seed files must parse. The same invariants as the harnesses are checked. */
#include <dirent.h>
#include <string.h>

#include "check.h"
#include "model/config.h"
#include "model/safetensors.h"
#include "util/json.h"

static int n_files;

static void replay_st(const char *path, int must_parse) {
    char *d;
    size_t n;
    if (wn_read_file(path, &d, &n) != WN_OK) return;
    n_files++;
    st_file f;
    wn_status st = st_parse(d, n, path, &f);
    CHECK(!must_parse || st == WN_OK, "%s: %s", path, wn_last_error());
    CHECK(st == WN_OK || *wn_last_error(), "%s: rejected without a message", path);
    if (st == WN_OK) {
        for (int i = 0; i < f.n; i++) {
            const st_tensor *t = &f.t[i];
            CHECK((const char *)t->data >= d && (const char *)t->data + (t->end - t->begin) <= d + n, "%s: '%s' outside", path, t->name);
            CHECK((uint64_t)st_numel(t) * st_dtype_size(t->dtype) == t->end - t->begin, "%s: '%s' size", path, t->name);
        }
        st_close(&f);
    }
    wn_free(d);
}

static void replay_cfg(const char *path, int must_parse) {
    char *d;
    size_t n;
    if (wn_read_file(path, &d, &n) != WN_OK) return;
    n_files++;
    bert_config c;
    pool_config p;
    wn_status a = config_parse_bert(d, n, path, &c), b = config_parse_pooling(d, n, path, &p);
    CHECK(!must_parse || a == WN_OK || b == WN_OK, "%s: %s", path, wn_last_error());
    if (a == WN_OK) CHECK(c.hidden_size % c.num_attention_heads == 0, "%s: heads", path);
    /* the JSON reader: a rejection says why; what it accepts writes out and reads
     * back to the same text */
    wn_json *j = NULL;
    wn_status js = wn_json_parse(d, n, 0, path, &j);
    CHECK(js == WN_OK || (js == WN_ERR_FORMAT && *wn_last_error()), "%s: JSON rejected with %d, no message", path, js);
    if (js == WN_OK) {
        char *w1 = NULL, *w2 = NULL;
        size_t l1 = 0, l2 = 0;
        wn_json *j2 = NULL;
        CHECK(wn_json_write(j, &w1, &l1) == WN_OK && wn_json_parse(w1, l1, 0, "rewritten", &j2) == WN_OK &&
                  wn_json_write(j2, &w2, &l2) == WN_OK && l1 == l2 && !memcmp(w1, w2, l1),
              "%s: JSON does not read back what it writes", path);
        wn_json_free(j2);
        wn_free(w1), wn_free(w2);
    }
    wn_json_free(j);
    wn_free(d);
}

static void replay_dir(const char *dir, int must_parse) {
    DIR *dp = opendir(dir);
    if (!dp) return;
    struct dirent *e;
    while ((e = readdir(dp))) {
        char path[1024];
        if (e->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (strstr(e->d_name, "safetensors")) replay_st(path, must_parse);
        else replay_cfg(path, must_parse && (strstr(e->d_name, "config") || strstr(e->d_name, "pooling")));
    }
    closedir(dp);
}

int main(void) {
    replay_dir("tests/fuzz/seeds/fuzz_safetensors", 1);
    replay_dir("tests/fuzz/seeds/fuzz_config", 1);
    int seeds = n_files;
    replay_dir("tests/fixtures/model/bad", 0);
    fprintf(stderr, "replayed %d seed files and %d kept fuzz inputs\n", seeds, n_files - seeds);
    CHECK(seeds >= 5, "only %d seed files found", seeds);
    return check_done();
}
