/*
 * vocab_json.c - a fast path for tokenizer.json's model.vocab. Parsing the whole
 * 700 KB file into a JSON tree costs a node and a string per vocab entry; this scans
 * the bytes to find the vocab object, reads its "token": id pairs directly, and
 * lets the JSON reader (src/util/json.c) parse the rest of the file (a few KB) with
 * the vocab cut out. It understands only what it needs; on anything unexpected it
 * answers "not here" (-1) and the loader parses the whole file instead, so it never decides what
 * a valid file means on its own.
 */
#include <string.h>
#include <utf8proc.h>

#include "tokenizer.h"

static const char *ws(const char *p, const char *e) {
    while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    return p;
}

/* p at '"': the end of the string (after the closing quote), or NULL. */
static const char *skip_string(const char *p, const char *e) {
    for (p++; p < e; p++) {
        if (*p == '\\') p++;
        else if (*p == '"') return p + 1;
    }
    return NULL;
}

/* The end of the value at p, or NULL (depth-limited). */
static const char *skip_value(const char *p, const char *e, int depth) {
    if (p >= e || depth > 64) return NULL;
    if (*p == '"') return skip_string(p, e);
    if (*p == '{' || *p == '[') {
        char close = *p == '{' ? '}' : ']';
        p = ws(p + 1, e);
        if (p < e && *p == close) return p + 1;
        for (;;) {
            if (close == '}') {
                if (p >= e || *p != '"' || !(p = skip_string(p, e))) return NULL;
                p = ws(p, e);
                if (p >= e || *p != ':') return NULL;
                p = ws(p + 1, e);
            }
            if (!(p = skip_value(p, e, depth + 1))) return NULL;
            p = ws(p, e);
            if (p < e && *p == ',') p = ws(p + 1, e);
            else if (p < e && *p == close) return p + 1;
            else return NULL;
        }
    }
    while (p < e && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\n' && *p != '\r' && *p != '\t') p++;
    return p;
}

/* Within the object at p ('{'), the start of the value of key (a plain ASCII key). */
static const char *find_key(const char *p, const char *e, const char *key) {
    size_t kl = strlen(key);
    if (p >= e || *p != '{') return NULL;
    p = ws(p + 1, e);
    while (p < e && *p == '"') {
        const char *k = p + 1, *ke = skip_string(p, e);
        if (!ke) return NULL;
        p = ws(ke, e);
        if (p >= e || *p != ':') return NULL;
        p = ws(p + 1, e);
        if ((size_t)(ke - 1 - k) == kl && !memcmp(k, key, kl)) return p;
        if (!(p = skip_value(p, e, 1))) return NULL;
        p = ws(p, e);
        if (p < e && *p == ',') p = ws(p + 1, e);
        else return NULL;
    }
    return NULL;
}

int vocab_json_span(const char *s, size_t n, size_t *vs, size_t *ve) {
    const char *e = s + n, *p = ws(s, e);
    const char *model = find_key(p, e, "model");
    const char *vocab = model ? find_key(model, e, "vocab") : NULL;
    const char *end = vocab && *vocab == '{' ? skip_value(vocab, e, 1) : NULL;
    if (!end) return -1;
    *vs = (size_t)(vocab - s);
    *ve = (size_t)(end - s);
    return 0;
}

static int hexval(const char *p, const char *e, uint32_t *v) {
    if (e - p < 4) return -1;
    *v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0) return -1;
        *v = *v << 4 | (uint32_t)d;
    }
    return 0;
}

/* Decodes the JSON string at p ('"') into out (cap bytes); returns the end or NULL. */
static const char *read_string(const char *p, const char *e, char *out, size_t cap, size_t *len) {
    size_t o = 0;
    for (p++; p < e && *p != '"'; p++) {
        if (o + 4 > cap) return NULL;
        if (*p != '\\') {
            if ((unsigned char)*p < 0x20) return NULL;
            out[o++] = *p;
            continue;
        }
        if (++p >= e) return NULL;
        const char *esc = strchr("\"\\/bfnrt", *p);
        if (esc && *p) {
            out[o++] = "\"\\/\b\f\n\r\t"[esc - "\"\\/bfnrt"];
            continue;
        }
        uint32_t c, lo;
        if (*p != 'u' || hexval(p + 1, e, &c)) return NULL;
        p += 4;
        if (c >= 0xD800 && c <= 0xDBFF) { /* a surrogate pair */
            if (e - p < 7 || p[1] != '\\' || p[2] != 'u' || hexval(p + 3, e, &lo) || lo < 0xDC00 || lo > 0xDFFF)
                return NULL;
            c = 0x10000 + ((c - 0xD800) << 10) + (lo - 0xDC00);
            p += 6;
        } else if (c >= 0xDC00 && c <= 0xDFFF) {
            return NULL;
        }
        o += (size_t)utf8proc_encode_char((utf8proc_int32_t)c, (utf8proc_uint8_t *)out + o);
    }
    if (p >= e) return NULL;
    *len = o;
    return p + 1;
}

wn_status vocab_json_read(wn_tokenizer *t, const char *s, size_t n, size_t *map_cap) {
    const char *e = s + n, *p = ws(s + 1, e);
    char tok[1024];
    if (!n || *s != '{') return WN_ERR_FORMAT;
    if (p < e && *p == '}') return WN_OK;
    while (p < e && *p == '"') {
        size_t len;
        if (!(p = read_string(p, e, tok, sizeof tok, &len))) return WN_ERR_FORMAT;
        p = ws(p, e);
        if (p >= e || *p != ':') return WN_ERR_FORMAT;
        p = ws(p + 1, e);
        int64_t id = 0;
        const char *d = p;
        while (p < e && *p >= '0' && *p <= '9' && id < INT32_MAX) id = id * 10 + (*p++ - '0');
        if (p == d || id >= INT32_MAX || (p < e && (*p == '.' || *p == 'e' || *p == 'E'))) return WN_ERR_FORMAT;
        wn_status st = vocab_add(t, tok, len, (int32_t)id, map_cap);
        if (st != WN_OK) return st;
        p = ws(p, e);
        if (p < e && *p == ',') p = ws(p + 1, e);
        else if (p < e && *p == '}') return WN_OK;
        else return WN_ERR_FORMAT;
    }
    return WN_ERR_FORMAT;
}
