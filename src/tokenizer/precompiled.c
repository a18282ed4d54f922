/*
 * precompiled.c - SentencePiece's precompiled normalizer (tokenizer.json's
 * normalizer "Precompiled", the nmt_nfkc rules of T5, XLM-R, mT5, ...), as the HF
 * tokenizers library applies it.
 *
 * The format (SentencePiece's normalizer.cc, "precompiled_charsmap", base64 in the
 * JSON): a little-endian uint32 S, then S bytes of a double-array trie (darts-clone:
 * S/4 little-endian uint32 units) whose keys are UTF-8 byte strings and whose
 * values are byte offsets into the rest of the blob, a run of NUL-terminated UTF-8
 * replacement strings. A darts-clone unit u holds
 *   has_leaf = bit 8,  value = the low 31 bits,  label = u & (bit 31 | 0xFF),
 *   offset   = (u >> 10) << ((u & bit 9) >> 6)      (bit 9 scales it by 256);
 * a search starts at unit 0, moves to pos ^= offset(unit), and for each key byte c
 * to pos ^= c, where the unit's label must equal c; a unit with has_leaf marks the
 * end of a key, whose value is in the unit at pos ^ offset.
 *
 * How HF applies it (not how SentencePiece itself does, which takes the longest
 * match and collapses whitespace): the text is cut into extended grapheme clusters;
 * a cluster shorter than 6 bytes is looked up whole, and if ANY key is a prefix of
 * it, the shortest such key's replacement stands for the whole cluster (so a
 * cluster whose first character has a rule loses its other characters); otherwise
 * each character of the cluster is looked up on its own (again the shortest key
 * that is a prefix of that character's bytes) and replaced, or kept.
 * Grapheme clusters come from utf8proc (Unicode 15).
 *
 * Alignment (where each output byte came from in the original text, for offsets)
 * follows HF's NormalizedString::transform on the list of (char, change) its
 * precompiled.rs builds: a replacement's chars are "replacing" (0), the ones past the
 * replaced count "inserted" (1), and a shorter replacement puts the difference on the
 * last entry of the list, even one from an earlier cluster, or nowhere when the list is
 * still empty (so a removal at the very start shifts every later char's alignment by
 * one char: HF's behaviour, kept). transform() then walks the old text: a replacing
 * char takes the alignment of the next old char and consumes it (and -change more), an
 * inserted one the alignment of the old byte before.
 */
#include <string.h>

#include <utf8proc.h>

#include "tokenizer.h"

static int b64_val(unsigned char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* Standard base64 (padding optional) into a new buffer *out of *n bytes; -1 if malformed. */
static int b64_decode(const char *s, size_t len, uint8_t **out, size_t *n) {
    while (len && s[len - 1] == '=') len--;
    if (len % 4 == 1) return -1;
    uint8_t *o = wn_malloc(len / 4 * 3 + 3);
    if (!o) return -2;
    size_t k = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        int v = b64_val((unsigned char)s[i]);
        if (v < 0) {
            wn_free(o);
            return -1;
        }
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            o[k++] = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    *out = o;
    *n = k;
    return 0;
}

wn_status precompiled_load(wn_tokenizer *t, const char *b64, const char *dir) {
    uint8_t *blob = NULL;
    size_t n = 0;
    int rc = b64_decode(b64, strlen(b64), &blob, &n);
    if (rc == -2) return wn_seterr(WN_ERR_NOMEM, "tokenizer: out of memory for the precompiled charsmap");
    if (rc) return wn_seterr(WN_ERR_FORMAT, "tokenizer: %s/tokenizer.json: precompiled_charsmap is not base64", dir);
    uint32_t s = n >= 4 ? (uint32_t)blob[0] | (uint32_t)blob[1] << 8 | (uint32_t)blob[2] << 16 | (uint32_t)blob[3] << 24 : 0;
    if (n < 4 || s % 4 || s < 4 || (size_t)s > n - 4) {
        wn_free(blob);
        return wn_seterr(WN_ERR_FORMAT, "tokenizer: %s/tokenizer.json: precompiled_charsmap of %zu bytes has a trie of %u bytes",
                         dir, n, (unsigned)s);
    }
    t->pc_n_trie = s / 4;
    t->pc_n_norm = n - 4 - s;
    t->pc_trie = wn_malloc(t->pc_n_trie * sizeof *t->pc_trie);
    t->pc_norm = wn_malloc(t->pc_n_norm + 1);
    if (!t->pc_trie || !t->pc_norm) {
        wn_free(blob);
        return wn_seterr(WN_ERR_NOMEM, "tokenizer: out of memory for the precompiled charsmap");
    }
    for (size_t i = 0; i < t->pc_n_trie; i++) {
        const uint8_t *p = blob + 4 + 4 * i;
        t->pc_trie[i] = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    }
    memcpy(t->pc_norm, blob + 4 + s, t->pc_n_norm);
    t->pc_norm[t->pc_n_norm] = 0;
    wn_free(blob);
    return WN_OK;
}

void precompiled_free(wn_tokenizer *t) {
    wn_free(t->pc_trie);
    wn_free(t->pc_norm);
    t->pc_trie = NULL;
    t->pc_norm = NULL;
}

static uint32_t u_offset(uint32_t u) { return (u >> 10) << ((u & (1u << 9)) >> 6); }

/* The replacement of the shortest key that is a prefix of s[0..n) (its bytes in
 * *len), or NULL. */
static const char *lookup(const wn_tokenizer *t, const char *s, size_t n, size_t *len) {
    const uint32_t *a = t->pc_trie;
    size_t pos = u_offset(a[0]);
    for (size_t i = 0; i < n && s[i]; i++) {
        uint32_t c = (unsigned char)s[i];
        pos ^= c;
        if (pos >= t->pc_n_trie) return NULL;
        uint32_t u = a[pos];
        if ((u & (0x80000000u | 0xFFu)) != c) return NULL;
        pos ^= u_offset(u);
        if (pos >= t->pc_n_trie) return NULL;
        if (u >> 8 & 1) {
            size_t v = a[pos] & 0x7FFFFFFFu;
            if (v >= t->pc_n_norm) return NULL;
            *len = strlen(t->pc_norm + v);
            return t->pc_norm + v;
        }
    }
    return NULL;
}

static wn_status put(char **o, size_t *n, size_t *cap, const char *s, size_t len) {
    if (wn_grow((void **)o, cap, *n + len + 1, 1) != WN_OK)
        return wn_seterr(WN_ERR_NOMEM, "tokenizer: out of memory normalizing a text");
    memcpy(*o + *n, s, len);
    *n += len;
    (*o)[*n] = 0;
    return WN_OK;
}

/* One entry of HF's transformation list: an output char of len bytes and its change
 * (1 inserted, 0 replacing one old char, -k replacing one and removing k more). */
typedef struct {
    int32_t len, change;
} pc_change;

typedef struct {
    pc_change *v;
    size_t n, cap;
} pc_changes;

static size_t n_chars(const char *s, size_t n) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++) k += ((unsigned char)s[i] & 0xC0) != 0x80;
    return k;
}

/* precompiled.rs's replace(): the entries of new[0..nn) standing for old[0..on). */
static wn_status note_replace(pc_changes *c, const char *old, size_t on, const char *new, size_t nn) {
    for (size_t i = 0; i < nn;) {
        size_t k = 1;
        while (i + k < nn && ((unsigned char)new[i + k] & 0xC0) == 0x80) k++;
        if (wn_grow((void **)&c->v, &c->cap, c->n + 1, sizeof *c->v) != WN_OK)
            return wn_seterr(WN_ERR_NOMEM, "tokenizer: out of memory normalizing a text");
        c->v[c->n++] = (pc_change){(int32_t)k, 0};
        i += k;
    }
    int64_t diff = (int64_t)n_chars(new, nn) - (int64_t)n_chars(old, on);
    for (size_t j = c->n; diff > 0 && j-- > 0; diff--) c->v[j].change = 1;
    if (diff < 0 && c->n) c->v[c->n - 1].change += (int32_t)diff;
    return WN_OK;
}

/* HF's transform(): al (2 per byte of s[0..n)) to the alignment of each output byte. */
static void transform(const pc_changes *c, const char *s, size_t n, const int32_t *al, int32_t *out) {
    size_t off = 0, ob = 0;
    for (size_t i = 0; i < c->n; i++) {
        int32_t a0 = 0, a1 = 0;
        if (c->v[i].change > 0) {
            if (off >= 1) a0 = al[2 * (off - 1)], a1 = al[2 * (off - 1) + 1];
        } else {
            size_t at = off < n ? off : n - 1; /* HF would index out of range: cannot happen */
            a0 = al[2 * at], a1 = al[2 * at + 1];
            for (int32_t k = 0; k < 1 - c->v[i].change && off < n; k++) /* the replaced char, and the removed */
                do off++;
                while (off < n && ((unsigned char)s[off] & 0xC0) == 0x80);
        }
        for (int32_t b = 0; b < c->v[i].len; b++, ob++) out[2 * ob] = a0, out[2 * ob + 1] = a1;
    }
}

wn_status precompiled_normalize(const wn_tokenizer *t, const char *s, size_t n, const int32_t *al, char **out,
                                size_t *out_len, int32_t **out_al) {
    char *o = NULL;
    size_t on = 0, cap = 0;
    pc_changes ch = {0};
    wn_status st = put(&o, &on, &cap, "", 0);
    for (size_t g = 0; g < n && st == WN_OK;) { /* g: the start of a grapheme cluster */
        utf8proc_int32_t c, prev;
        utf8proc_int32_t state = 0;
        size_t e = g + (size_t)utf8proc_iterate((const utf8proc_uint8_t *)s + g, (utf8proc_ssize_t)(n - g), &prev);
        while (e < n) { /* the cluster's end */
            utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)s + e, (utf8proc_ssize_t)(n - e), &c);
            if (k <= 0 || utf8proc_grapheme_break_stateful(prev, c, &state)) break;
            prev = c;
            e += (size_t)k;
        }
        size_t rl;
        const char *r = e - g < 6 ? lookup(t, s + g, e - g, &rl) : NULL;
        if (r) {
            st = put(&o, &on, &cap, r, rl);
            if (st == WN_OK && al) st = note_replace(&ch, s + g, e - g, r, rl);
        } else {
            for (size_t i = g; i < e && st == WN_OK;) {
                size_t k = (size_t)utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(e - i), &c);
                if (k < 1) k = 1;
                r = lookup(t, s + i, k, &rl);
                st = r ? put(&o, &on, &cap, r, rl) : put(&o, &on, &cap, s + i, k);
                if (st == WN_OK && al) st = r ? note_replace(&ch, s + i, k, r, rl) : note_replace(&ch, s + i, k, s + i, k);
                i += k;
            }
        }
        g = e;
    }
    int32_t *oal = NULL;
    if (st == WN_OK && al && !(oal = wn_malloc(2 * (on + 1) * sizeof *oal)))
        st = wn_seterr(WN_ERR_NOMEM, "tokenizer: out of memory normalizing a text");
    if (oal) transform(&ch, s, n, al, oal);
    wn_free(ch.v);
    if (st != WN_OK) {
        wn_free(o);
        wn_free(oal);
        return st;
    }
    *out = o;
    *out_len = on;
    if (out_al) *out_al = oal;
    return WN_OK;
}
