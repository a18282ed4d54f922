/*
 * safetensors.c - reads and writes safetensors files. The reader follows the
 * GGUF reader's order of checks: header length against the file size, then the
 * JSON, then each tensor's dtype, shape and offsets against the data section,
 * then overlaps and duplicate names, all before the caller touches a byte of
 * tensor data. It does not interpret names; config.c and model.c do.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "safetensors.h"
#include "util/json.h"

static const struct {
    const char *name;
    size_t size;
} dtypes[ST_N_DTYPES] = {
    [ST_F32] = {"F32", 4}, [ST_F16] = {"F16", 2}, [ST_BF16] = {"BF16", 2}, [ST_F64] = {"F64", 8},
    [ST_I64] = {"I64", 8}, [ST_I32] = {"I32", 4}, [ST_I16] = {"I16", 2},  [ST_I8] = {"I8", 1},
    [ST_U8] = {"U8", 1},   [ST_BOOL] = {"BOOL", 1},
};

/* No real header comes near this; it bounds what a hostile file makes us parse. */
#define ST_MAX_HEADER (100u << 20)
/* 2^40 elements per dimension keeps every product of <= 8 checked dims in range. */
#define ST_MAX_DIM ((int64_t)1 << 40)

const char *st_dtype_name(st_dtype dt) { return dt < ST_N_DTYPES ? dtypes[dt].name : "?"; }
size_t st_dtype_size(st_dtype dt) { return dt < ST_N_DTYPES ? dtypes[dt].size : 0; }

int64_t st_numel(const st_tensor *t) {
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->shape[i];
    return n;
}

/* A JSON number that is a whole number in [0, max]; returns 0 if not. */
static int json_u64(const wn_json *j, double max, uint64_t *out) {
    if (!wn_json_is(j, WN_JSON_NUMBER)) return 0;
    double v = j->num;
    if (!(v >= 0 && v <= max) || v != floor(v)) return 0;
    *out = (uint64_t)v;
    return 1;
}

static int cmp_begin(const void *a, const void *b) {
    const st_tensor *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

static int cmp_name_ptr(const void *a, const void *b) {
    return strcmp((*(const st_tensor *const *)a)->name, (*(const st_tensor *const *)b)->name);
}

void st_close(st_file *f) {
    if (!f) return;
    for (int i = 0; i < f->n; i++) wn_free(f->t[i].name);
    wn_free(f->t);
    wn_free(f->path);
    if (f->map) wn_unmap_file(f->map, f->map_len);
    memset(f, 0, sizeof *f);
}

static wn_status parse_tensor(const wn_json *e, const char *what, uint64_t data_len, st_tensor *t) {
    const char *nm = e->key;
    if (!wn_json_is(e, WN_JSON_OBJECT)) return wn_seterr(WN_ERR_FORMAT, "%s: tensor '%s': header entry is not a JSON object", what, nm);
    const wn_json *dt = wn_json_get(e, "dtype");
    const wn_json *sh = wn_json_get(e, "shape");
    const wn_json *off = wn_json_get(e, "data_offsets");
    if (!wn_json_is(dt, WN_JSON_STRING)) return wn_seterr(WN_ERR_FORMAT, "%s: tensor '%s': missing or non-string \"dtype\"", what, nm);
    t->dtype = ST_N_DTYPES;
    for (int i = 0; i < ST_N_DTYPES; i++)
        if (!strcmp(dt->str, dtypes[i].name)) t->dtype = (st_dtype)i;
    if (t->dtype == ST_N_DTYPES)
        return wn_seterr(WN_ERR_UNSUPPORTED, "%s: tensor '%s': dtype \"%.32s\" is not supported (F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL)",
                         what, nm, dt->str);
    if (!wn_json_is(sh, WN_JSON_ARRAY)) return wn_seterr(WN_ERR_FORMAT, "%s: tensor '%s': missing \"shape\" array", what, nm);
    int nd = sh->len > INT32_MAX ? INT32_MAX : (int)sh->len;
    if (nd > ST_MAX_DIMS)
        return wn_seterr(WN_ERR_FORMAT, "%s: tensor '%s': %d dimensions, at most %d supported", what, nm, nd, ST_MAX_DIMS);
    t->ndim = nd;
    uint64_t numel = 1;
    int i = 0;
    for (const wn_json *d = sh->child; d; d = d->next, i++) {
        uint64_t v;
        if (!json_u64(d, (double)ST_MAX_DIM, &v))
            return wn_seterr(WN_ERR_FORMAT, "%s: tensor '%s': shape[%d] is not a whole number in [0, 2^40]", what, nm, i);
        t->shape[i] = (int64_t)v;
        /* numel <= data_len (checked below) keeps this product from overflowing */
        if (numel > 0 && v > UINT64_MAX / 2 / numel) numel = UINT64_MAX / 2;
        else numel *= v;
    }
    if (!wn_json_is(off, WN_JSON_ARRAY) || off->len != 2 || !json_u64(off->child, 9007199254740992.0, &t->begin) ||
        !json_u64(off->child->next, 9007199254740992.0, &t->end))
        return wn_seterr(WN_ERR_FORMAT, "%s: tensor '%s': \"data_offsets\" must be [begin, end] whole numbers", what, nm);
    if (t->begin > t->end)
        return wn_seterr(WN_ERR_FORMAT, "%s: tensor '%s': data_offsets [%llu, %llu] has begin > end", what, nm,
                         (unsigned long long)t->begin, (unsigned long long)t->end);
    if (t->end > data_len)
        return wn_seterr(WN_ERR_FORMAT, "%s: tensor '%s' ends at byte %llu of the data section, which has %llu bytes (truncated file?)",
                         what, nm, (unsigned long long)t->end, (unsigned long long)data_len);
    if (numel > data_len)
        return wn_seterr(WN_ERR_FORMAT, "%s: tensor '%s': its shape holds more elements than the data section has bytes (%llu)",
                         what, nm, (unsigned long long)data_len);
    uint64_t want = numel * dtypes[t->dtype].size;
    if (want != t->end - t->begin)
        return wn_seterr(WN_ERR_FORMAT, "%s: tensor '%s': %s shape holds %llu elements of %zu bytes, but data_offsets span %llu bytes",
                         what, nm, dtypes[t->dtype].name, (unsigned long long)numel, dtypes[t->dtype].size,
                         (unsigned long long)(t->end - t->begin));
    return WN_OK;
}

wn_status st_parse(const void *buf, size_t len, const char *what, st_file *out) {
    memset(out, 0, sizeof *out);
    const unsigned char *b = buf;
    wn_json *root = NULL;
    wn_status st = WN_OK;
    if (len < 8) return wn_seterr(WN_ERR_FORMAT, "%s: %zu bytes, too short for a safetensors file (8-byte header length)", what, len);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = (n << 8) | b[i];
    if (n > len - 8)
        return wn_seterr(WN_ERR_FORMAT, "%s: header length %llu is longer than the file (%zu bytes): not a safetensors file or truncated",
                         what, (unsigned long long)n, len);
    if (n > ST_MAX_HEADER)
        return wn_seterr(WN_ERR_FORMAT, "%s: header length %llu exceeds the limit of %u bytes", what, (unsigned long long)n, ST_MAX_HEADER);
    if (n < 2 || b[8] != '{') return wn_seterr(WN_ERR_FORMAT, "%s: header is not a JSON object", what);
    /* writers pad the header to an alignment with spaces (some with NUL bytes) */
    size_t jn = (size_t)n;
    while (jn > 0 && (b[8 + jn - 1] == ' ' || b[8 + jn - 1] == '\t' || b[8 + jn - 1] == '\n' ||
                      b[8 + jn - 1] == '\r' || b[8 + jn - 1] == 0))
        jn--;
    char hw[512];
    snprintf(hw, sizeof hw, "%s: header", what);
    if ((st = wn_json_parse((const char *)b + 8, jn, 0, hw, &root)) != WN_OK) return st;
    if (!wn_json_is(root, WN_JSON_OBJECT)) {
        st = wn_seterr(WN_ERR_FORMAT, "%s: header is not a JSON object", what);
        goto fail;
    }
    int count = 0;
    for (const wn_json *e = root->child; e; e = e->next)
        if (strcmp(e->key, "__metadata__")) count++;
    out->t = wn_calloc((size_t)count + 1, sizeof *out->t);
    out->path = wn_strdup(what);
    if (!out->t || !out->path) {
        st = wn_seterr(WN_ERR_NOMEM, "%s: out of memory reading the header", what);
        goto fail;
    }
    uint64_t data_len = (uint64_t)(len - 8 - n);
    const unsigned char *data = b + 8 + n;
    for (const wn_json *e = root->child; e; e = e->next) {
        if (strlen(e->key) != e->key_len) {
            st = wn_seterr(WN_ERR_FORMAT, "%s: a tensor name holds a NUL character", what);
            goto fail;
        }
        if (!strcmp(e->key, "__metadata__")) continue;
        st_tensor *t = &out->t[out->n];
        if ((st = parse_tensor(e, what, data_len, t)) != WN_OK) goto fail;
        if (!(t->name = wn_strdup(e->key))) {
            st = wn_seterr(WN_ERR_NOMEM, "%s: out of memory reading the header", what);
            goto fail;
        }
        t->data = data + t->begin;
        out->n++;
    }
    wn_json_free(root);
    root = NULL;
    /* overlaps: sorted by begin, each non-empty tensor must start at or after the previous end */
    qsort(out->t, (size_t)out->n, sizeof *out->t, cmp_begin);
    uint64_t prev_end = 0;
    const char *prev = NULL;
    for (int i = 0; i < out->n; i++) {
        const st_tensor *t = &out->t[i];
        if (t->begin == t->end) continue;
        if (prev && t->begin < prev_end) {
            st = wn_seterr(WN_ERR_FORMAT, "%s: tensors '%s' and '%s' overlap (the first ends at byte %llu, the second spans %llu..%llu)",
                           what, prev, t->name, (unsigned long long)prev_end, (unsigned long long)t->begin,
                           (unsigned long long)t->end);
            goto fail;
        }
        prev_end = t->end;
        prev = t->name;
    }
    /* duplicate names (JSON allows them, safetensors does not) */
    if (out->n > 1) {
        const st_tensor **by = wn_malloc((size_t)out->n * sizeof *by);
        if (!by) {
            st = wn_seterr(WN_ERR_NOMEM, "%s: out of memory", what);
            goto fail;
        }
        for (int i = 0; i < out->n; i++) by[i] = &out->t[i];
        qsort(by, (size_t)out->n, sizeof *by, cmp_name_ptr);
        for (int i = 1; i < out->n; i++)
            if (!strcmp(by[i - 1]->name, by[i]->name)) {
                st = wn_seterr(WN_ERR_FORMAT, "%s: tensor '%s' appears twice in the header", what, by[i]->name);
                break;
            }
        wn_free(by);
        if (st != WN_OK) goto fail;
    }
    return WN_OK;
fail:
    wn_json_free(root);
    st_close(out);
    return st;
}

wn_status st_open(const char *path, st_file *out) {
    memset(out, 0, sizeof *out);
    void *map;
    size_t len;
    wn_status st = wn_map_file(path, &map, &len);
    if (st != WN_OK) return st;
    if ((st = st_parse(map, len, path, out)) != WN_OK) {
        if (map) wn_unmap_file(map, len);
        return st;
    }
    out->map = map;
    out->map_len = len;
    return WN_OK;
}

const st_tensor *st_find(const st_file *f, const char *name) {
    for (int i = 0; i < f->n; i++)
        if (!strcmp(f->t[i].name, name)) return &f->t[i];
    return NULL;
}

/* ---- writer */

static int appendf(char **buf, size_t *cap, size_t *len, const char *fmt, ...) {
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(*buf ? *buf + *len : NULL, *buf ? *cap - *len : 0, fmt, ap);
        va_end(ap);
        if (k < 0) return 0;
        if (*buf && *len + (size_t)k < *cap) {
            *len += (size_t)k;
            return 1;
        }
        if (wn_grow((void **)buf, cap, *len + (size_t)k + 256, 1) != WN_OK) return 0;
    }
}

char *st_header_json(const st_out_tensor *t, int n, size_t *padded_len) {
    char *s = NULL;
    size_t cap = 0, len = 0;
    uint64_t off = 0;
    int ok = appendf(&s, &cap, &len, "{\"__metadata__\":{\"format\":\"pt\"}");
    for (int i = 0; ok && i < n; i++) {
        uint64_t numel = 1;
        for (int d = 0; d < t[i].ndim; d++) numel *= (uint64_t)t[i].shape[d];
        uint64_t nb = numel * st_dtype_size(t[i].dtype);
        ok = appendf(&s, &cap, &len, ",\"%s\":{\"dtype\":\"%s\",\"shape\":[", t[i].name, st_dtype_name(t[i].dtype));
        for (int d = 0; ok && d < t[i].ndim; d++) ok = appendf(&s, &cap, &len, d ? ",%lld" : "%lld", (long long)t[i].shape[d]);
        if (ok)
            ok = appendf(&s, &cap, &len, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off,
                         (unsigned long long)(off + nb));
        off += nb;
    }
    if (ok) ok = appendf(&s, &cap, &len, "}");
    while (ok && len % 8) ok = appendf(&s, &cap, &len, " ");
    if (!ok) {
        wn_free(s);
        return NULL;
    }
    *padded_len = len;
    return s;
}

wn_status st_write(const char *path, const st_out_tensor *t, int n) {
    size_t hlen;
    char *h = st_header_json(t, n, &hlen);
    if (!h) return wn_seterr(WN_ERR_NOMEM, "%s: out of memory writing the header", path);
    wn_atomic_file af;
    wn_status st = wn_atomic_open(&af, path);
    if (st != WN_OK) {
        wn_free(h);
        return st;
    }
    unsigned char lenb[8];
    for (int i = 0; i < 8; i++) lenb[i] = (unsigned char)((uint64_t)hlen >> (8 * i));
    st = wn_atomic_write(&af, lenb, 8);
    if (st == WN_OK) st = wn_atomic_write(&af, h, hlen);
    for (int i = 0; st == WN_OK && i < n; i++) {
        size_t nb = st_dtype_size(t[i].dtype);
        for (int d = 0; d < t[i].ndim; d++) nb *= (size_t)t[i].shape[d];
        st = wn_atomic_write(&af, t[i].data, nb);
    }
    wn_free(h);
    if (st == WN_OK) st = wn_atomic_commit(&af);
    else wn_atomic_abort(&af);
    return st;
}
