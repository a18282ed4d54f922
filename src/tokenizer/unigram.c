/*
 * unigram.c - SentencePiece's Unigram model (Kudo 2018) from a tokenizer.json, as
 * the HF tokenizers library computes it (T5, XLM-RoBERTa, mT5, multilingual E5,
 * BGE-M3, ...):
 *   1. the normalizer: the Precompiled charsmap (precompiled.c) and Replace rules
 *      (a literal pattern, or a Regex of the small subset rx_compile reads, such as
 *      XLM-R's " {2,}" -> " "), in the file's order;
 *   2. the text is split on the added tokens marked normalized (encode.c);
 *   3. the pre-tokenizer: WhitespaceSplit (optional: words at Unicode White_Space,
 *      which is dropped), then Metaspace: every ' ' becomes the replacement "\u2581",
 *      one is put in front (prepend_scheme "always": unless the piece starts with
 *      one; "first": only for the piece at the start of the text; "never"), and
 *      with split the piece is cut before each replacement character;
 *   4. each piece is segmented by Viterbi over byte positions: from each character
 *      boundary (left to right), every vocab piece that starts there extends the
 *      best path to its end (score = sum of piece scores; a later path replaces an
 *      earlier one only when strictly better); a character no piece covers alone
 *      adds an unknown piece of score min_score - 10. The best path is read back;
 *      adjacent unknowns fuse into one. A piece not in the vocab becomes its
 *      <0xXX> byte pieces with byte_fallback (if all exist), else unk_id.
 * The limit (truncation) is checked after each piece of step 3, as
 * tokenize_with_limit does.
 * Offsets (out->track): each token's span is found in the normalized text and taken
 * back to the original through the alignment HF's NormalizedString keeps: each
 * normalized byte's original span, through the Precompiled transform (precompiled.c),
 * Replace (inserted chars on the match's last byte) and Metaspace (a replacement on its
 * space, the one put in front on the word's first character); a token [a, b) spans
 * [align[a].start, align[b - 1].end), its <0xXX> byte pieces the whole piece's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "tokenizer.h"
#include "util/json.h"

#define UNK_PENALTY 10.0 /* HF's K_UNK_PENALTY */

/* Unicode White_Space (Rust's char::is_whitespace, what WhitespaceSplit splits on) */
static int is_ws(uint32_t c) {
    if (c < 0x80) return c == ' ' || (c >= 9 && c <= 13);
    return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
           c == 0x202F || c == 0x205F || c == 0x3000;
}

static const char *type_of(const wn_json *o) {
    const char *s = wn_json_str(wn_json_get(o, "type"));
    return s ? s : "?";
}


/* A Replace normalizer's Regex, the subset tokenizer.json files use (XLM-R's " {2,}"):
 * a sequence of atoms, each a literal character (metacharacters escaped with '\\'),
 * or \s (Unicode White_Space), \t, \n, \r, each with an optional quantifier
 * *, +, ?, {m}, {m,}, {m,n}. Matches are leftmost and greedy (with backtracking), as
 * the regex engines HF uses give for such patterns. Anything else (classes, groups,
 * alternation, anchors, lazy quantifiers) is refused with a message naming it, as
 * is a pattern that can match the empty string. */
struct tok_rx_atom {
    int ws;      /* 1: \s */
    uint32_t ch; /* else this code point */
    int min, max; /* max -1: unbounded */
};
#define RX_MAX_ATOMS 32

static int rx_quant(const char **pp, int *min, int *max) {
    const char *p = *pp;
    *min = *max = 1;
    if (*p == '*') *min = 0, *max = -1, p++;
    else if (*p == '+') *max = -1, p++;
    else if (*p == '?') *min = 0, p++;
    else if (*p == '{') {
        char *end;
        long a = strtol(p + 1, &end, 10), b = a;
        if (end == p + 1 || a < 0 || a > 100000) return 0;
        if (*end == ',') {
            const char *q = end + 1;
            b = *q == '}' ? -1 : strtol(q, &end, 10);
            if (b != -1 && (end == q || b < a || b > 100000)) return 0;
            if (b == -1) end = (char *)q;
        }
        if (*end != '}') return 0;
        *min = (int)a, *max = (int)b, p = end + 1;
    }
    if (*p == '?' || *p == '+' || *p == '*' || *p == '{') return 0; /* lazy, possessive, doubled */
    *pp = p;
    return 1;
}

static wn_status rx_compile(tok_norm *r, const char *pat, const char *dir) {
    struct tok_rx_atom a[RX_MAX_ATOMS];
    int n = 0, can_be_empty = 1;
    for (const char *p = pat; *p;) {
        if (n == RX_MAX_ATOMS) goto unsupported;
        struct tok_rx_atom *t = &a[n];
        memset(t, 0, sizeof *t);
        if (*p == '\\') {
            char e = p[1];
            if (e == 's') t->ws = 1;
            else if (e == 't') t->ch = '\t';
            else if (e == 'n') t->ch = '\n';
            else if (e == 'r') t->ch = '\r';
            else if (e && strchr(".^$|?*+()[]{}\\/-", e)) t->ch = (uint8_t)e;
            else goto unsupported;
            p += 2;
        } else if (strchr(".^$|?*+()[]{}", *p)) {
            goto unsupported;
        } else {
            utf8proc_int32_t c;
            utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)p, -1, &c);
            if (k <= 0) goto unsupported;
            t->ch = (uint32_t)c;
            p += k;
        }
        if (!rx_quant(&p, &t->min, &t->max)) goto unsupported;
        if (t->min > 0) can_be_empty = 0;
        n++;
    }
    if (!n || can_be_empty) goto unsupported;
    if (!(r->rx = wn_malloc((size_t)n * sizeof *r->rx))) return wn_seterr(WN_ERR_NOMEM, "tokenizer: out of memory");
    memcpy(r->rx, a, (size_t)n * sizeof *a);
    r->n_rx = n;
    return WN_OK;
unsupported:
    return wn_seterr(WN_ERR_UNSUPPORTED,
                     "tokenizer: %s/tokenizer.json: Replace normalizer: Regex \"%.60s\" is outside what winnow reads "
                     "(literal characters, \\s \\t \\n \\r, quantifiers * + ? {m} {m,} {m,n}; not empty-matching)",
                     dir, pat);
}

/* The end of a match of atoms a[k..n) at s[i..len), or -1. */
static int64_t rx_here(const struct tok_rx_atom *a, int k, int n, const char *s, size_t len, size_t i) {
    if (k == n) return (int64_t)i;
    const struct tok_rx_atom *t = &a[k];
    size_t j = i;
    int c = 0;
    while ((t->max < 0 || c < t->max) && j < len) {
        utf8proc_int32_t ch;
        utf8proc_ssize_t m = utf8proc_iterate((const utf8proc_uint8_t *)s + j, (utf8proc_ssize_t)(len - j), &ch);
        if (m <= 0 || !(t->ws ? is_ws((uint32_t)ch) : (uint32_t)ch == t->ch)) break;
        j += (size_t)m;
        c++;
    }
    for (;;) { /* greedy: the longest run first, then one character less */
        if (c >= t->min) {
            int64_t e = rx_here(a, k + 1, n, s, len, j);
            if (e >= 0) return e;
        }
        if (c <= t->min) return -1;
        do j--;
        while (j > i && ((uint8_t)s[j] & 0xC0) == 0x80);
        c--;
    }
}

/* The end of the match of r at s[i..len) (> i), or -1. */
static int64_t rx_match(const tok_norm *r, const char *s, size_t len, size_t i) {
    int64_t e = rx_here(r->rx, 0, r->n_rx, s, len, i);
    return e > (int64_t)i ? e : -1;
}

static wn_status load_normalizer(wn_tokenizer *t, const wn_json *n, const char *dir) {
    if (!n || wn_json_is_null(n)) return WN_OK;
    const char *ty = type_of(n);
    if (!strcmp(ty, "Sequence")) {
        const wn_json *list = wn_json_get(n, "normalizers");
        for (const wn_json *e = wn_json_is_array(list) ? list->child : NULL; e; e = e->next) {
            wn_status st = load_normalizer(t, e, dir);
            if (st != WN_OK) return st;
        }
        return WN_OK;
    }
    if (t->n_norm == TOK_NORM_MAX)
        return wn_seterr(WN_ERR_UNSUPPORTED, "tokenizer: %s/tokenizer.json: more than %d normalizers", dir, TOK_NORM_MAX);
    tok_norm *s = &t->norm[t->n_norm];
    if (!strcmp(ty, "Precompiled")) {
        const char *b64 = wn_json_str(wn_json_get(n, "precompiled_charsmap"));
        if (!b64) return WN_OK; /* null: the identity, as HF reads it */
        if (t->pc_trie)
            return wn_seterr(WN_ERR_UNSUPPORTED, "tokenizer: %s/tokenizer.json: two Precompiled normalizers", dir);
        wn_status st = precompiled_load(t, b64, dir);
        if (st != WN_OK) return st;
        s->precompiled = 1;
        t->n_norm++;
        return WN_OK;
    }
    if (!strcmp(ty, "Replace")) {
        const wn_json *pat = wn_json_get(n, "pattern");
        const char *from = wn_json_str(wn_json_get(pat, "String")), *rx = wn_json_str(wn_json_get(pat, "Regex"));
        const char *to = wn_json_str(wn_json_get(n, "content"));
        if ((!from && !rx) || !to)
            return wn_seterr(WN_ERR_FORMAT, "tokenizer: %s/tokenizer.json: a Replace normalizer needs \"pattern\": "
                                            "{\"String\"} or {\"Regex\"} and \"content\"", dir);
        if (from && !*from) return WN_OK;
        wn_status st;
        if (!from && (st = rx_compile(s, rx, dir)) != WN_OK) return st;
        if ((from && !(s->from = wn_strdup(from))) || !(s->to = wn_strdup(to)))
            return wn_seterr(WN_ERR_NOMEM, "tokenizer: out of memory");
        t->n_norm++;
        return WN_OK;
    }
    return wn_seterr(WN_ERR_UNSUPPORTED,
                     "tokenizer: %s/tokenizer.json: normalizer %s with a Unigram model (winnow has Precompiled, Replace, Sequence)",
                     dir, ty);
}

static wn_status load_pre_tokenizer(wn_tokenizer *t, const wn_json *p, const char *dir) {
    if (!p || wn_json_is_null(p)) return WN_OK;
    const char *ty = type_of(p);
    if (!strcmp(ty, "Sequence")) {
        const wn_json *list = wn_json_get(p, "pretokenizers");
        for (const wn_json *e = wn_json_is_array(list) ? list->child : NULL; e; e = e->next) {
            if (t->ms_rep_len)
                return wn_seterr(WN_ERR_UNSUPPORTED, "tokenizer: %s/tokenizer.json: a pre-tokenizer after Metaspace", dir);
            wn_status st = load_pre_tokenizer(t, e, dir);
            if (st != WN_OK) return st;
        }
        return WN_OK;
    }
    if (!strcmp(ty, "WhitespaceSplit")) {
        if (t->ms_rep_len)
            return wn_seterr(WN_ERR_UNSUPPORTED, "tokenizer: %s/tokenizer.json: WhitespaceSplit after Metaspace", dir);
        t->ws_split = 1;
        return WN_OK;
    }
    if (!strcmp(ty, "Metaspace")) {
        const char *rep = wn_json_str(wn_json_get(p, "replacement"));
        const char *scheme = wn_json_str(wn_json_get(p, "prepend_scheme"));
        const wn_json *aps = wn_json_get(p, "add_prefix_space"), *split = wn_json_get(p, "split");
        utf8proc_int32_t c;
        size_t len = rep ? strlen(rep) : 0;
        if (!len || len >= sizeof t->ms_rep || utf8proc_iterate((const utf8proc_uint8_t *)rep, (utf8proc_ssize_t)len, &c) != (utf8proc_ssize_t)len)
            return wn_seterr(WN_ERR_FORMAT, "tokenizer: %s/tokenizer.json: Metaspace replacement is not one character", dir);
        memcpy(t->ms_rep, rep, len + 1);
        t->ms_rep_len = (int)len;
        /* older files: add_prefix_space true/false; newer: prepend_scheme */
        t->ms_prepend = wn_json_is_bool(aps) && !wn_json_is_true(aps) ? TOK_PREPEND_NEVER : TOK_PREPEND_ALWAYS;
        if (scheme) {
            if (!strcmp(scheme, "always")) t->ms_prepend = TOK_PREPEND_ALWAYS;
            else if (!strcmp(scheme, "first")) t->ms_prepend = TOK_PREPEND_FIRST;
            else if (!strcmp(scheme, "never")) t->ms_prepend = TOK_PREPEND_NEVER;
            else return wn_seterr(WN_ERR_FORMAT, "tokenizer: %s/tokenizer.json: Metaspace prepend_scheme \"%s\"", dir, scheme);
        }
        t->ms_split = !wn_json_is_bool(split) || wn_json_is_true(split);
        return WN_OK;
    }
    return wn_seterr(WN_ERR_UNSUPPORTED,
                     "tokenizer: %s/tokenizer.json: pre_tokenizer %s with a Unigram model (winnow has Metaspace, WhitespaceSplit)",
                     dir, ty);
}

wn_status unigram_load(wn_tokenizer *t, const void *jv, const char *dir, size_t *map_cap) {
    const wn_json *j = jv, *model = wn_json_get(j, "model");
    const wn_json *vocab = wn_json_get(model, "vocab"), *unk = wn_json_get(model, "unk_id");
    size_t n = wn_json_size(vocab);
    if (!wn_json_is_array(vocab) || !n || n >= INT32_MAX)
        return wn_seterr(WN_ERR_FORMAT, "tokenizer: %s/tokenizer.json: a Unigram model.vocab must be a list of [piece, score]", dir);
    if (!(t->uni_score = wn_malloc(n * sizeof *t->uni_score))) return wn_seterr(WN_ERR_NOMEM, "tokenizer: out of memory");
    double min_score = 1e300;
    int32_t id = 0;
    for (const wn_json *e = vocab->child; e; e = e->next, id++) {
        const wn_json *piece = wn_json_at(e, 0), *score = wn_json_at(e, 1);
        if (!wn_json_is_string(piece) || !wn_json_is_number(score))
            return wn_seterr(WN_ERR_FORMAT, "tokenizer: %s/tokenizer.json: model.vocab[%d] is not [piece, score]", dir, (int)id);
        wn_status st = vocab_add(t, piece->str, piece->len, id, map_cap);
        if (st != WN_OK) return st;
        t->uni_score[id] = score->num;
        if (score->num < min_score) min_score = score->num;
    }
    t->n_vocab = (int)n;
    t->uni_unk_score = min_score - UNK_PENALTY;
    t->uni_unk = -1;
    if (wn_json_is_number(unk)) {
        if (unk->num < 0 || unk->num >= (double)n)
            return wn_seterr(WN_ERR_FORMAT, "tokenizer: %s/tokenizer.json: unk_id %g is outside the vocab of %zu", dir, unk->num, n);
        t->uni_unk = (int32_t)unk->num;
    }
    t->byte_fallback = wn_json_is_true(wn_json_get(model, "byte_fallback"));
    for (int b = 0; b < 256; b++) {
        char name[8];
        snprintf(name, sizeof name, "<0x%02X>", b);
        t->uni_byte[b] = vocab_find(t, 0, name, 6);
    }
    t->unigram = 1;
    wn_status st = load_normalizer(t, wn_json_get(j, "normalizer"), dir);
    if (st == WN_OK) st = load_pre_tokenizer(t, wn_json_get(j, "pre_tokenizer"), dir);
    return st;
}

void unigram_free(wn_tokenizer *t) {
    wn_free(t->uni_score);
    t->uni_score = NULL;
    for (int i = 0; i < t->n_norm; i++) {
        wn_free(t->norm[i].from);
        wn_free(t->norm[i].to);
        wn_free(t->norm[i].rx);
    }
    t->n_norm = 0;
    precompiled_free(t);
}

/* The id of s[0..n) in the vocab, as HF's Unigram::tokenize resolves a piece of the
 * best path: the piece, or its bytes (byte_fallback, each with the whole piece's span
 * [b, e)), or unk. */
static wn_status push_piece(const wn_tokenizer *t, const char *s, size_t n, int32_t b, int32_t e, tok_buf *out) {
    int32_t id = vocab_find(t, 0, s, n);
    if (id >= 0) return tok_push_span(out, id, b, e);
    if (t->byte_fallback) {
        size_t i = 0;
        while (i < n && t->uni_byte[(unsigned char)s[i]] >= 0) i++;
        if (i == n) {
            wn_status st = WN_OK;
            for (i = 0; i < n && st == WN_OK; i++) st = tok_push_span(out, t->uni_byte[(unsigned char)s[i]], b, e);
            return st;
        }
    }
    if (t->uni_unk < 0)
        return wn_seterr(WN_ERR_FORMAT, "tokenizer: \"%.*s\" is not in the Unigram vocab and the model has no unk_id",
                         (int)WN_MIN(n, 64), s);
    return tok_push_span(out, t->uni_unk, b, e);
}

/* Viterbi over s[0..n) (one pre-tokenized piece), ids appended to out. sp: NULL, or
 * each byte's span in the normalized text (sp[2i], sp[2i+1]), for the tokens' spans. */
static wn_status viterbi(const wn_tokenizer *t, const char *s, size_t n, const int32_t *sp, tok_buf *out) {
    if (!n) return WN_OK;
    double *best = wn_malloc((n + 1) * sizeof *best);
    int64_t *from = wn_malloc((n + 1) * sizeof *from); /* where the best path to here starts its last piece; -1 none */
    int32_t *id = wn_malloc((n + 1) * sizeof *id);
    int64_t *path = wn_malloc((n + 1) * sizeof *path);
    wn_status st = WN_OK;
    if (!best || !from || !id || !path) {
        st = wn_seterr(WN_ERR_NOMEM, "tokenizer: out of memory for a piece of %zu bytes", n);
        goto done;
    }
    for (size_t i = 0; i <= n; i++) best[i] = 0, from[i] = -1, id[i] = -1;
    for (size_t i = 0; i < n;) {
        utf8proc_int32_t c;
        utf8proc_ssize_t mb = utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(n - i), &c);
        size_t mblen = mb > 0 ? (size_t)mb : 1;
        int single = 0;
        size_t maxl = WN_MIN((size_t)t->max_token_bytes, n - i);
        for (size_t l = 1; l <= maxl; l++) {
            if (i + l < n && ((unsigned char)s[i + l] & 0xC0) == 0x80) continue; /* not a character boundary */
            int32_t v = vocab_find(t, 0, s + i, l);
            if (v < 0) continue;
            double sc = best[i] + t->uni_score[v];
            if (from[i + l] < 0 || sc > best[i + l]) best[i + l] = sc, from[i + l] = (int64_t)i, id[i + l] = v;
            if (l == mblen) single = 1;
        }
        if (!single) {
            double sc = best[i] + t->uni_unk_score;
            if (from[i + mblen] < 0 || sc > best[i + mblen])
                best[i + mblen] = sc, from[i + mblen] = (int64_t)i, id[i + mblen] = -1; /* -1: unknown */
        }
        i += mblen;
    }
    /* read the path back: path[] gets the piece boundaries, adjacent unknowns fused */
    size_t np = 0;
    for (int64_t e = (int64_t)n; e > 0;) {
        int64_t b = from[e];
        if (b < 0) { /* cannot happen: every character boundary is reached */
            st = wn_seterr(WN_ERR_FORMAT, "tokenizer: Unigram found no path through a piece of %zu bytes", n);
            goto done;
        }
        if (id[e] == -1 && t->uni_unk >= 0) /* fuse with the unknowns before it */
            while (b > 0 && id[b] == -1) b = from[b];
        path[np++] = e;
        e = b;
    }
    for (size_t k = np, b = 0; k-- > 0 && st == WN_OK;) {
        size_t e = (size_t)path[k];
        int32_t sb = sp ? sp[2 * b] : -1, se = sp ? sp[2 * (e - 1) + 1] : -1;
        st = id[e] >= 0 ? tok_push_span(out, id[e], sb, se) : push_piece(t, s + b, e - b, sb, se, out);
        b = e;
    }
done:
    wn_free(best);
    wn_free(from);
    wn_free(id);
    wn_free(path);
    return st;
}

/* Metaspace on one word s[0..n) (no WhitespaceSplit inside it any more), then
 * Viterbi on each of its pieces; first: the word starts the text. pos: where s starts
 * in the normalized text; with out->track, the tokens' spans are in the normalized
 * text: a replacement for a space has the space's, the one put in front the first
 * character's (HF's replace() and prepend() align them so). */
static wn_status metaspace_word(const wn_tokenizer *t, const char *s, size_t n, int first, int32_t pos, int64_t limit,
                                tok_buf *out) {
    const size_t rl = (size_t)t->ms_rep_len;
    size_t spaces = 0;
    for (size_t i = 0; rl && i < n; i++) spaces += s[i] == ' ';
    size_t wcap = n + spaces * rl + rl + 1;
    char *w = wn_malloc(wcap);
    int32_t *sp = out->track == 1 ? wn_malloc(2 * wcap * sizeof *sp) : NULL;
    if (!w || (out->track == 1 && !sp)) {
        wn_free(w);
        return wn_seterr(WN_ERR_NOMEM, "tokenizer: out of memory");
    }
    size_t m = 0;
    if (!rl) { /* no Metaspace: the word as it is */
        for (size_t i = 0; sp && i < n; i++) sp[2 * i] = pos + (int32_t)i, sp[2 * i + 1] = pos + (int32_t)i + 1;
        wn_status st = viterbi(t, s, n, sp, out);
        if (st == WN_OK && limit >= 0 && (int64_t)out->n >= limit) out->stopped = 1;
        wn_free(w);
        wn_free(sp);
        return st;
    }
    int starts = n && (s[0] == ' ' || (n >= rl && !memcmp(s, t->ms_rep, rl)));
    if (n && (t->ms_prepend == TOK_PREPEND_ALWAYS ? !starts : t->ms_prepend == TOK_PREPEND_FIRST && first && !starts)) {
        memcpy(w, t->ms_rep, rl);
        m = rl;
        size_t k = 1; /* the first character's bytes */
        while (k < n && ((unsigned char)s[k] & 0xC0) == 0x80) k++;
        for (size_t j = 0; sp && j < rl; j++) sp[2 * j] = pos, sp[2 * j + 1] = pos + (int32_t)k;
    }
    for (size_t i = 0; i < n; i++) {
        size_t m0 = m;
        if (s[i] == ' ') memcpy(w + m, t->ms_rep, rl), m += rl;
        else w[m++] = s[i];
        for (size_t j = m0; sp && j < m; j++) sp[2 * j] = pos + (int32_t)i, sp[2 * j + 1] = pos + (int32_t)i + 1;
    }
    wn_status st = WN_OK;
    for (size_t b = 0; b < m && st == WN_OK && !out->stopped;) { /* split before each replacement (MergedWithNext) */
        size_t e = m;
        if (t->ms_split)
            for (size_t k = b + 1; k + rl <= m; k++)
                if (!memcmp(w + k, t->ms_rep, rl)) {
                    e = k;
                    break;
                }
        st = viterbi(t, w + b, e - b, sp ? sp + 2 * b : NULL, out);
        if (limit >= 0 && (int64_t)out->n >= limit) out->stopped = 1; /* after a word, as tokenize_with_limit */
        b = e;
    }
    wn_free(w);
    wn_free(sp);
    return st;
}

/* One piece between the added tokens, normalized: WhitespaceSplit, then Metaspace.
 * It starts at out->base in the normalized text (spans are in that text). */
static wn_status pre_tokenize(const wn_tokenizer *t, const char *s, size_t n, int64_t limit, uint32_t *word, tok_buf *out) {
    (void)word;
    int first = !out->started;
    out->started = 1;
    if (!n) return WN_OK;
    if (!t->ws_split) return metaspace_word(t, s, n, first, out->base, limit, out);
    wn_status st = WN_OK;
    for (size_t i = 0; i < n && st == WN_OK && !out->stopped;) {
        utf8proc_int32_t c;
        utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(n - i), &c);
        if (k <= 0) k = 1, c = 0;
        if (is_ws((uint32_t)c)) {
            i += (size_t)k;
            continue;
        }
        size_t b = i;
        while (i < n) {
            k = utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(n - i), &c);
            if (k <= 0) k = 1, c = 0;
            if (is_ws((uint32_t)c)) break;
            i += (size_t)k;
        }
        st = metaspace_word(t, s + b, i - b, first && b == 0, out->base + (int32_t)b, limit, out);
    }
    return st;
}

/* s[0..n) through the Replace rule r into a new string. al: NULL, or each byte's
 * alignment (2 per byte), and *out_al gets the new string's: a replacement's bytes
 * take the alignment of the last byte of the match (HF's NormalizedString::replace
 * marks them inserted after it). */
static char *replace_all(const tok_norm *r, const char *s, size_t n, const int32_t *al, size_t *out_len, int32_t **out_al) {
    size_t fl = r->from ? strlen(r->from) : 0, tl = strlen(r->to), cap = n + 1, m = 0, acap = al ? 2 * (n + 1) : 0;
    char *o = wn_malloc(cap);
    int32_t *oa = al ? wn_malloc(acap * sizeof *oa) : NULL;
    if (al && !oa) {
        wn_free(o);
        return NULL;
    }
    for (size_t i = 0; o && i < n;) {
        int64_t e = r->n_rx ? rx_match(r, s, n, i) : -1;
        if (e > 0) fl = (size_t)e - i;
        int hit = r->n_rx ? e > 0 : i + fl <= n && !memcmp(s + i, r->from, fl);
        const char *src = hit ? r->to : s + i;
        size_t len = hit ? tl : 1;
        if (wn_grow((void **)&o, &cap, m + len + 1, 1) != WN_OK ||
            (oa && wn_grow((void **)&oa, &acap, 2 * (m + len + 1), sizeof *oa) != WN_OK)) {
            wn_free(o);
            wn_free(oa);
            return NULL;
        }
        memcpy(o + m, src, len);
        const int32_t *a = al ? al + 2 * (hit ? i + fl - 1 : i) : NULL;
        for (size_t k = 0; a && k < len; k++) oa[2 * (m + k)] = a[0], oa[2 * (m + k) + 1] = a[1];
        m += len;
        i += hit ? fl : 1;
    }
    if (o) o[m] = 0, *out_len = m;
    else wn_free(oa);
    if (out_al) *out_al = o ? oa : NULL;
    return o;
}

/* Where each byte of s[0..n) (valid UTF-8) is in s: its character's span, as HF's
 * NormalizedString starts. */
static int32_t *char_spans(const char *s, size_t n) {
    int32_t *al = wn_malloc(2 * (n + 1) * sizeof *al);
    for (size_t i = 0; al && i < n;) {
        size_t k = 1;
        while (i + k < n && ((unsigned char)s[i + k] & 0xC0) == 0x80) k++;
        for (size_t j = i; j < i + k; j++) al[2 * j] = (int32_t)i, al[2 * j + 1] = (int32_t)(i + k);
        i += k;
    }
    return al;
}

/* With out->track, the tokens' spans are found in the normalized text and taken back
 * to s through the normalizers' alignment (al), as HF's convert_offsets: a span
 * [a, b) becomes [al[a].start, al[b - 1].end). */
wn_status unigram_tokenize(const wn_tokenizer *t, const char *s, size_t n, int64_t limit, uint32_t *word, tok_buf *out) {
    char *cur = NULL;
    size_t cn = n;
    wn_status st = WN_OK;
    const int track = out->track == 1;
    if (track && n > (size_t)INT32_MAX / 8) return wn_seterr(WN_ERR_ARG, "tokenizer: a text of %zu bytes is too long", n);
    int32_t *al = track ? char_spans(s, n) : NULL;
    if (track && !al) return wn_seterr(WN_ERR_NOMEM, "tokenizer: out of memory");
    for (int i = 0; i < t->n_norm && st == WN_OK; i++) {
        const tok_norm *r = &t->norm[i];
        const char *in = cur ? cur : s;
        char *next = NULL;
        int32_t *nal = NULL;
        size_t nn = 0;
        if (r->precompiled) {
            st = precompiled_normalize(t, in, cn, al, &next, &nn, track ? &nal : NULL);
        } else {
            /* HF marks a replacement's characters as inserted: a text that starts with
             * a match no longer starts at original offset 0, and Metaspace's "first"
             * does not prepend (measured: "``x" with Replace "``" -> '"') */
            if (r->n_rx ? rx_match(r, in, cn, 0) > 0 : cn >= strlen(r->from) && !memcmp(in, r->from, strlen(r->from)))
                out->started = 1;
            if (!(next = replace_all(r, in, cn, al, &nn, track ? &nal : NULL)))
                st = wn_seterr(WN_ERR_NOMEM, "tokenizer: out of memory");
        }
        wn_free(cur);
        cur = next;
        cn = nn;
        if (st == WN_OK && track) {
            wn_free(al);
            al = nal;
        }
    }
    if (st == WN_OK) {
        const char *in = cur ? cur : s;
        const int32_t base = out->base;
        const size_t n0 = out->n;
        if (track) out->base = 0; /* spans in the normalized text, then back to s */
        st = t->n_norm_added ? split_added(t, in, cn, 1, pre_tokenize, limit, word, out)
                             : pre_tokenize(t, in, cn, limit, word, out);
        out->base = base;
        for (size_t i = n0; st == WN_OK && track && i < out->n; i++) {
            int32_t *sp = out->off + 2 * i;
            if (sp[0] < 0 || sp[1] <= sp[0] || (size_t)sp[1] > cn) continue;
            sp[1] = base + al[2 * (sp[1] - 1) + 1];
            sp[0] = base + al[2 * sp[0]];
        }
    }
    wn_free(cur);
    wn_free(al);
    return st;
}
