/* test_json.c - winnow's JSON reader and writer (src/util/json.c) against Python's
 * json module (tests/fixtures/json/cases.txt, made by scripts/make_json_cases.py):
 * the same verdict on every document, the same values bit for bit (numbers as
 * strtod reads them, strings as UTF-8 bytes, members in order), what the writer
 * writes reads back to the same tree, strings escaped as json.dumps escapes them.
 * Then what the fixture cannot say: the depth and size bounds, the position in a
 * message, out of memory at every allocation, numbers under a host's locale with a
 * decimal comma, and the fuzz seeds (tests/fuzz/seeds/fuzz_json) replayed. */
#include <dirent.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "faults.h"
#include "util/json.h"
#include "util/util.h"

#define CASES "tests/fixtures/json/cases.txt"
#define SEEDS "tests/fuzz/seeds/fuzz_json"

typedef struct {
    char *p;
    size_t len, cap;
} sbuf;

static void put(sbuf *b, const char *s, size_t n) {
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

static void put_hex(sbuf *b, const char *s, size_t n) {
    char h[3];
    for (size_t i = 0; i < n; i++) {
        snprintf(h, sizeof h, "%02x", (unsigned char)s[i]);
        put(b, h, 2);
    }
}

/* The fixture's dump format (see scripts/make_json_cases.py). */
static void dump(sbuf *b, const wn_json *v) {
    char d[24];
    uint64_t bits;
    switch (v->type) {
    case WN_JSON_NULL: put(b, "n", 1); break;
    case WN_JSON_TRUE: put(b, "t", 1); break;
    case WN_JSON_FALSE: put(b, "f", 1); break;
    case WN_JSON_NUMBER:
        memcpy(&bits, &v->num, 8);
        snprintf(d, sizeof d, "d%016llx", (unsigned long long)bits);
        put(b, d, strlen(d));
        break;
    case WN_JSON_STRING:
        put(b, "s", 1), put_hex(b, v->str, v->len), put(b, ";", 1);
        break;
    case WN_JSON_ARRAY:
    case WN_JSON_OBJECT: {
        int obj = v->type == WN_JSON_OBJECT;
        size_t n = 0;
        put(b, obj ? "{" : "[", 1);
        for (const wn_json *c = v->child; c; c = c->next, n++) {
            if (obj) put(b, "s", 1), put_hex(b, c->key, c->key_len), put(b, ";", 1);
            dump(b, c);
        }
        CHECK(n == v->len, "a container counts %zu children, has %zu", v->len, n);
        put(b, obj ? "}" : "]", 1);
        break;
    }
    }
}

static size_t unhex(const char *h, size_t n, char *out) {
    size_t k = 0;
    for (size_t i = 0; i + 1 < n; i += 2) {
        unsigned v;
        sscanf(h + i, "%2x", &v);
        out[k++] = (char)v;
    }
    return k;
}

static int has_nonfinite(const wn_json *v) {
    if (v->type == WN_JSON_NUMBER) return !isfinite(v->num);
    for (const wn_json *c = v->child; c; c = c->next)
        if (has_nonfinite(c)) return 1;
    return 0;
}

/* Parses doc, writes it, parses that: the dumps agree (but where a number overflowed
 * to infinity, which is written as null); returns the first dump. */
static int round_trip(const char *doc, size_t n, sbuf *first, const char *what) {
    wn_json *j = NULL, *j2 = NULL;
    if (wn_json_parse(doc, n, 0, what, &j) != WN_OK) return 0;
    first->len = 0;
    dump(first, j);
    char *w = NULL;
    size_t wl = 0;
    CHECK(wn_json_write(j, &w, &wl) == WN_OK && strlen(w) == wl, "%s: write: %s", what, wn_last_error());
    sbuf again = {0};
    if (w && wn_json_parse(w, wl, 0, "rewritten", &j2) == WN_OK) {
        dump(&again, j2);
        CHECK(has_nonfinite(j) || (again.len == first->len && !memcmp(again.p, first->p, first->len)), "%s: written as %s, reads back as\n  %s, not\n  %s",
              what, w, again.p, first->p);
    } else CHECK(0, "%s: its written form '%s' does not parse: %s", what, w ? w : "", wn_last_error());
    free(again.p);
    wn_free(w);
    wn_json_free(j2);
    wn_json_free(j);
    return 1;
}

static void test_fixture(void) {
    FILE *f = fopen(CASES, "r");
    CHECK(f != NULL, "%s is missing (scripts/make_json_cases.py writes it)", CASES);
    if (!f) return;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int n_ok = 0, n_bad = 0, n_esc = 0, lineno = 0;
    sbuf d = {0};
    while ((len = getline(&line, &cap, f)) > 0) {
        lineno++;
        if (line[0] == '#') continue;
        if (line[len - 1] == '\n') line[--len] = 0;
        char *f1 = strchr(line, '\t');
        if (!f1) continue;
        *f1++ = 0;
        char *f2 = strchr(f1, '\t');
        if (f2) *f2++ = 0;
        size_t hl = strlen(f1);
        char *doc = malloc(hl / 2 + 1);
        size_t n = unhex(f1, hl, doc);
        char what[32];
        snprintf(what, sizeof what, "case %d", lineno);
        if (!strcmp(line, "esc")) { /* the writer escapes as json.dumps(ensure_ascii=False) */
            wn_json v = {0};
            v.type = WN_JSON_STRING;
            v.str = doc, v.len = n;
            char *w = NULL, *want = malloc(strlen(f2) / 2 + 1);
            size_t wl = 0, nw = unhex(f2, strlen(f2), want);
            CHECK(wn_json_write(&v, &w, &wl) == WN_OK && wl == nw && !memcmp(w, want, nw), "%s: wrote %s, Python %.*s",
                  what, w ? w : "", (int)nw, want);
            wn_free(w);
            free(want);
            n_esc++;
        } else if (!strcmp(line, "ok")) {
            int parsed = round_trip(doc, n, &d, what);
            CHECK(parsed, "%s: Python reads '%.*s', winnow does not: %s", what, (int)n, doc, wn_last_error());
            if (parsed) CHECK(!strcmp(d.p, f2), "%s: '%.*s' reads as\n  %s, Python:\n  %s", what, (int)n, doc, d.p, f2);
            n_ok++;
        } else {
            wn_json *j = NULL;
            wn_status st = wn_json_parse(doc, n, 0, what, &j);
            CHECK(st == WN_ERR_FORMAT && j == NULL && strstr(wn_last_error(), "invalid JSON"),
                  "%s: Python rejects '%.*s', winnow gives %s", what, (int)n, doc, wn_status_name(st));
            wn_json_free(j);
            n_bad++;
        }
        free(doc);
    }
    free(line);
    free(d.p);
    fclose(f);
    fprintf(stderr, "fixture: %d valid and %d invalid documents, %d escaped strings\n", n_ok, n_bad, n_esc);
    CHECK(n_ok > 500 && n_bad > 200 && n_esc > 100, "a short fixture: %d %d %d", n_ok, n_bad, n_esc);
}

static void test_bounds(void) {
    enum { D = WN_JSON_MAX_DEPTH };
    char *deep = malloc(2 * D + 3);
    for (int extra = 0; extra <= 1; extra++) { /* D levels read, D + 1 do not */
        int n = D + extra;
        memset(deep, '[', (size_t)n);
        memset(deep + n, ']', (size_t)n);
        wn_json *j = NULL;
        wn_status st = wn_json_parse(deep, 2 * (size_t)n, 0, "deep", &j);
        if (extra) CHECK(st == WN_ERR_FORMAT && strstr(wn_last_error(), "nested deeper"), "%d levels: %s", n, wn_last_error());
        else CHECK(st == WN_OK, "%d levels: %s", n, wn_last_error());
        wn_json_free(j);
    }
    free(deep);
    wn_json *j = NULL;
    CHECK(wn_json_parse("[]", WN_JSON_MAX_BYTES + 1, 0, "huge", &j) == WN_ERR_FORMAT && !j, "the size bound");
    const char *bad = "{\n  \"a\": [1,\n  2,,3]\n}";
    CHECK(wn_json_parse(bad, strlen(bad), 0, "x.json", &j) == WN_ERR_FORMAT &&
              !strncmp(wn_last_error(), "x.json: invalid JSON near line 3, column 5", 41),
          "position: %s", wn_last_error());
    const char *raw = "[\"a\xff\"]";
    CHECK(wn_json_parse(raw, strlen(raw), 0, "raw", &j) == WN_ERR_FORMAT, "invalid UTF-8 read");
    CHECK(wn_json_parse(raw, strlen(raw), WN_JSON_RAW_BYTES, "raw", &j) == WN_OK && j && j->child->len == 2,
          "WN_JSON_RAW_BYTES: %s", wn_last_error());
    wn_json_free(j);
    const char *o = "{\"a\":1,\"b\":{\"c\":\"x\"},\"a\":2}";
    CHECK(wn_json_parse(o, strlen(o), 0, "o", &j) == WN_OK, "%s", wn_last_error());
    CHECK(wn_json_get(j, "a") && wn_json_get(j, "a")->num == 1, "the first of duplicate names");
    CHECK(!strcmp(wn_json_str(wn_json_get(wn_json_get(j, "b"), "c")), "x") && !wn_json_get(j, "z") &&
              !wn_json_get(NULL, "a") && !wn_json_str(wn_json_get(j, "a")),
          "lookups");
    wn_json_free(j);
}

/* Out of memory at every allocation: WN_ERR_NOMEM with a message, nothing leaked. */
static void test_nomem(void) {
    static char doc[40000];
    size_t n = 0;
    n += (size_t)snprintf(doc + n, sizeof doc - n, "{\"list\": [");
    for (int i = 0; i < 300; i++)
        n += (size_t)snprintf(doc + n, sizeof doc - n, "%s{\"k%d\": \"value \\u00e9 %d\", \"n\": %d.5}", i ? "," : "", i, i, i);
    n += (size_t)snprintf(doc + n, sizeof doc - n, "], \"end\": true}");
    fault_alloc f = {0};
    wn_allocator al = fault_allocator(&f, 0);
    int fails = 0, done = 0;
    for (long k = 1; k < 1000 && !done; k++) {
        fault_plant_stale_message();
        wn_set_allocator(&al);
        fault_arm(&f, k);
        wn_json *j = NULL;
        char *w = NULL;
        wn_status st = wn_json_parse(doc, n, 0, "big.json", &j);
        if (st == WN_OK) st = wn_json_write(j, &w, NULL);
        wn_free(w);
        wn_json_free(j);
        wn_set_allocator(NULL);
        CHECK(fault_live(&f) == 0, "allocation %ld failing: %ld blocks leaked", k, fault_live(&f));
        if (!fault_reached(&f)) {
            CHECK(st == WN_OK, "clean run: %s", wn_last_error());
            done = 1;
        } else {
            CHECK(st == WN_ERR_NOMEM && fault_message_ok(st), "allocation %ld failing: %s '%s'", k, wn_status_name(st),
                  wn_last_error());
            fails++;
        }
    }
    CHECK(done && fails >= 2, "fault loop: done %d after %d failures", done, fails);
    fprintf(stderr, "out of memory: %d failure points\n", fails);
}

/* A host that set a locale with a decimal comma: numbers still read with '.'. */
static void test_locale(void) {
    const char *names[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "fr_FR.utf8", "ru_RU.UTF-8"};
    const char *set = NULL;
    for (size_t i = 0; i < sizeof names / sizeof *names && !set; i++) set = setlocale(LC_NUMERIC, names[i]);
    if (!set || localeconv()->decimal_point[0] != ',') {
        fprintf(stderr, "locale: no locale with a decimal comma installed; checked under \"C\" only\n");
        setlocale(LC_NUMERIC, "C");
    }
    wn_json *j = NULL;
    CHECK(wn_json_parse("[1.5, 2e-1]", 11, 0, "l", &j) == WN_OK && j->child->num == 1.5 && j->child->next->num == 0.2,
          "numbers under LC_NUMERIC=%s", set ? set : "C");
    char *w = NULL;
    CHECK(j && wn_json_write(j, &w, NULL) == WN_OK && !strcmp(w, "[1.5,0.2]"), "written under %s: %s", set ? set : "C",
          w ? w : "");
    wn_free(w);
    wn_json_free(j);
    setlocale(LC_NUMERIC, "C");
}

/* The fuzz seeds: no crash, a rejection says why, what reads writes back. */
static void test_seeds(void) {
    DIR *dp = opendir(SEEDS);
    CHECK(dp != NULL, "%s is missing", SEEDS);
    if (!dp) return;
    struct dirent *e;
    int n = 0;
    sbuf d = {0};
    while ((e = readdir(dp))) {
        if (e->d_name[0] == '.') continue;
        char path[512], *doc;
        size_t len;
        snprintf(path, sizeof path, "%s/%s", SEEDS, e->d_name);
        if (wn_read_file(path, &doc, &len) != WN_OK) continue;
        if (!round_trip(doc, len, &d, path))
            CHECK(*wn_last_error() && strstr(wn_last_error(), path), "%s: rejected without a message", path);
        wn_free(doc);
        n++;
    }
    closedir(dp);
    free(d.p);
    CHECK(n >= 10, "only %d seeds in %s", n, SEEDS);
    fprintf(stderr, "fuzz seeds: %d replayed\n", n);
}

int main(void) {
    test_fixture();
    test_bounds();
    test_nomem();
    test_locale();
    test_seeds();
    return check_done();
}
