/* utf8.c - UTF-8 validation with U+FFFD replacement (never fatal). */
#include <string.h>

#include "util.h"

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0 if invalid. */
static size_t valid_seq(const unsigned char *s, size_t n) {
    unsigned char c = s[0];
    if (c < 0x80) return 1;
    size_t len;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) len = 2, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF) len = 3, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4) len = 4, cp = c & 0x07;
    else return 0;
    if (n < len) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF))) return 0;
    if (cp >= 0xD800 && cp <= 0xDFFF) return 0;
    return len;
}

char *wn_utf8_sanitize(const char *str, size_t n, size_t *out_len) {
    const unsigned char *s = (const unsigned char *)str;
    /* worst case: every byte becomes 3 bytes of U+FFFD */
    if (n > (SIZE_MAX - 1) / 3) return NULL;
    char *out = wn_malloc(n * 3 + 1);
    if (!out) return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        size_t k = valid_seq(s + i, n - i);
        if (k && !(k == 1 && s[i] == 0)) {
            memcpy(out + o, s + i, k);
            o += k;
            i += k;
        } else if (k == 1) { /* NUL byte inside a line: drop it like other control chars */
            i++;
        } else {
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        }
    }
    out[o] = 0;
    if (out_len) *out_len = o;
    return out;
}
