/*
 * json.h - winnow's own JSON reader and writer (RFC 8259), so the library touches no
 * JSON library's process-wide hooks: every node comes from wn_malloc (one arena per
 * document, freed at once), and a host program may use any JSON library of its own.
 *
 * The reader is strict: the grammar of RFC 8259 section 2-7 and nothing more (no
 * comments, trailing commas, NaN or single quotes), UTF-8 input (a byte-order mark is
 * an error), \u escapes with surrogate pairs (a lone surrogate is an error), numbers
 * converted with strtod in the C locale (correctly rounded, whatever the host's
 * LC_NUMERIC). Depth and size are bounded. It tells a malformed document
 * (WN_ERR_FORMAT, with line and column) from running out of memory (WN_ERR_NOMEM).
 * Object members keep their file order; duplicate names are kept, wn_json_get
 * returns the first.
 */
#ifndef WN_JSON_H
#define WN_JSON_H

#include <stddef.h>

#include "util.h"

typedef enum {
    WN_JSON_NULL = 0,
    WN_JSON_FALSE,
    WN_JSON_TRUE,
    WN_JSON_NUMBER,
    WN_JSON_STRING,
    WN_JSON_ARRAY,
    WN_JSON_OBJECT
} wn_json_type;

typedef struct wn_json wn_json;
struct wn_json {
    wn_json_type type;
    wn_json *next;   /* the next element of the enclosing array or object */
    wn_json *child;  /* array, object: the first element or member */
    const char *key; /* member of an object: its name (NUL-terminated), else NULL */
    size_t key_len;  /* bytes of key (it may hold "\u0000") */
    const char *str; /* string: its UTF-8 bytes, NUL-terminated (may hold NUL bytes) */
    size_t len;      /* string: bytes; array, object: number of children */
    double num;      /* number */
};

#define WN_JSON_MAX_DEPTH 256               /* nested arrays and objects */
#define WN_JSON_MAX_BYTES ((size_t)1 << 30) /* input size */

/* Flags of wn_json_parse. */
#define WN_JSON_RAW_BYTES 1u /* accept bytes that are not UTF-8 inside strings (kept as they are) */

/* Parses text[0..len) (NUL bytes are not allowed outside strings, a NUL at text[len]
 * is not needed). what names the source in messages ("path/config.json"). On
 * success *out is the root, freed with wn_json_free. */
wn_status wn_json_parse(const char *text, size_t len, unsigned flags, const char *what, wn_json **out);
void wn_json_free(wn_json *root); /* NULL-safe; the whole document */

/* Lookups, all NULL-safe (a NULL or non-object o gives NULL). */
const wn_json *wn_json_get(const wn_json *o, const char *key); /* the first member named key */
static inline int wn_json_is(const wn_json *v, wn_json_type t) { return v && v->type == t; }
static inline int wn_json_is_bool(const wn_json *v) {
    return v && (v->type == WN_JSON_TRUE || v->type == WN_JSON_FALSE);
}
static inline int wn_json_is_string(const wn_json *v) { return wn_json_is(v, WN_JSON_STRING); }
static inline int wn_json_is_number(const wn_json *v) { return wn_json_is(v, WN_JSON_NUMBER); }
static inline int wn_json_is_array(const wn_json *v) { return wn_json_is(v, WN_JSON_ARRAY); }
static inline int wn_json_is_object(const wn_json *v) { return wn_json_is(v, WN_JSON_OBJECT); }
static inline int wn_json_is_null(const wn_json *v) { return wn_json_is(v, WN_JSON_NULL); }
static inline int wn_json_is_true(const wn_json *v) { return wn_json_is(v, WN_JSON_TRUE); }
/* Elements of an array or members of an object (0 for anything else or NULL). */
static inline size_t wn_json_size(const wn_json *v) { return wn_json_is_array(v) || wn_json_is_object(v) ? v->len : 0; }
/* The i-th element of an array or object, or NULL. */
static inline const wn_json *wn_json_at(const wn_json *v, size_t i) {
    if (!wn_json_is_array(v) && !wn_json_is_object(v)) return NULL;
    const wn_json *e = v->child;
    while (e && i--) e = e->next;
    return e;
}
/* v's string, or NULL when v is not a string. */
static inline const char *wn_json_str(const wn_json *v) { return wn_json_is(v, WN_JSON_STRING) ? v->str : NULL; }

/* Writes v compactly (no white space), as JSON.stringify does: strings escape '"',
 * '\\' and the control characters (\b \f \n \r \t, else \u00xx), other bytes are
 * copied; numbers print as integers when integral and within int range, else with
 * the fewest of 15 or 17 significant digits that read back to the same double
 * (-0 as "-0"); non-finite numbers print as null. *out is NUL-terminated (wn_free), *len its
 * length (len may be NULL). */
wn_status wn_json_write(const wn_json *v, char **out, size_t *len);

#endif
