/*
 * encode.c - text to model input: invalid UTF-8 replaced by U+FFFD, added tokens
 * ([CLS], [SEP], ... written in the text) matched first, leftmost-longest, on the
 * raw text; the rest normalized, split on the added tokens marked normalized,
 * and through the basic tokenizer and WordPiece; then the post-processor's
 * template (BERT's [CLS] a [SEP] (b [SEP]), RoBERTa's and MPNet's
 * <s> a </s> (</s> b </s>), ...) with longest_first truncation.
 *
 * Truncation follows the fast tokenizer (tokenizers' utils/truncation.rs), not the
 * slow tokenizer's one-token-at-a-time loop: with M = max_len - specials, n1 <= n2
 * the two lengths, the longer keeps max(n1, M - n1); when both are longer than M/2,
 * the shorter input keeps M/2 and the longer M/2 + M%2 (on a tie, b is the longer).
 * The lengths compared are not the full ones: the HF tokenizer (npm tokenizers
 * 0.23.2) tokenizes each input word by word only until it holds max_len pieces (the
 * word that reaches max_len is kept whole), and compares those counts
 * (tokenizers' PreTokenizedString::tokenize_with_limit: added tokens count toward
 * max_len but only a word the model tokenizes can end the run; nothing after it is
 * kept, added tokens neither; split_added below). So two inputs
 * of max_len pieces or more can tie, and for an odd M the extra token then goes to b
 * even when a is longer. Measured on every length 0..20 and max_len 3..22
 * (tests/fixtures/tokenizer/trunc_grid.txt) and on random multi-piece text
 * (tests/fixtures/tokenizer/trunc_pairs.jsonl).
 */
#include <string.h>

#include "tokenizer.h"

/* The added token of the given kind (normalized or not) starting at s (n bytes
 * left), longest first; NULL if none. */
static const tok_added *added_at(const wn_tokenizer *t, const char *s, size_t n, int normalized) {
    unsigned char c = (unsigned char)s[0];
    if (!(t->added_first[c >> 3] & (1u << (c & 7)))) return NULL;
    const tok_added *best = NULL;
    for (int i = 0; i < t->n_added; i++) {
        const tok_added *a = &t->added[i];
        if (a->normalized == normalized && (size_t)a->len <= n && (!best || a->len > best->len) &&
            !memcmp(s, a->text, (size_t)a->len))
            best = a;
    }
    return best;
}

/* the whitespace an lstrip / rstrip added token takes in (ASCII and U+00A0,
 * U+3000, the ones seen in text; tokenizers uses char::is_whitespace) */
static size_t ws_len(const char *s, size_t n) {
    unsigned char c = (unsigned char)s[0];
    if (c == ' ' || (c >= 9 && c <= 13)) return 1;
    if (n >= 2 && c == 0xC2 && (unsigned char)s[1] == 0xA0) return 2;
    if (n >= 3 && c == 0xE3 && (unsigned char)s[1] == 0x80 && (unsigned char)s[2] == 0x80) return 3;
    return 0;
}

/* Splits s[0..n) on the added tokens of one kind (leftmost, then longest): the
 * text between them through piece(), the tokens' ids to out. */
wn_status split_added(const wn_tokenizer *t, const char *s, size_t n, int normalized, piece_fn piece, int64_t limit,
                      uint32_t *word, tok_buf *out) {
    wn_status st = WN_OK;
    size_t seg = 0;
    const int32_t base = out->base; /* where s starts in the text (spans) */
    /* the limit, as tokenizers' PreTokenizedString::tokenize_with_limit (right
     * truncation): added tokens count but are never checked; after each word the
     * model tokenizes, once out holds limit ids, everything after is dropped
     * (out->stopped) */
    for (size_t i = 0; i < n && st == WN_OK && !out->stopped;) {
        const tok_added *a = added_at(t, s + i, n - i, normalized);
        if (!a) {
            i++;
            continue;
        }
        size_t end = i;
        if (a->lstrip) /* whitespace before the token is part of it */
            while (end > seg) {
                size_t k = end - seg >= 3 && ws_len(s + end - 3, 3) == 3 ? 3
                         : end - seg >= 2 && ws_len(s + end - 2, 2) == 2 ? 2
                         : ws_len(s + end - 1, 1);
                if (!k) break;
                end -= k;
            }
        out->base = base + (int32_t)seg;
        st = piece(t, s + seg, end - seg, limit, word, out);
        const size_t at = i;
        i += (size_t)a->len;
        if (a->rstrip)
            for (size_t k; i < n && (k = ws_len(s + i, n - i)) > 0;) i += k;
        /* HF's span of an added token takes in the whitespace it strips; the
         * post-processor's trim_offsets (RoBERTa's, MPNet's) trims it off again */
        if (st == WN_OK && !out->stopped)
            st = !out->track       ? tok_push(out, a->id)
               : t->trim_offsets ? tok_push_span(out, a->id, base + (int32_t)at, base + (int32_t)(at + (size_t)a->len))
                                 : tok_push_span(out, a->id, base + (int32_t)end, base + (int32_t)i);
        seg = i;
    }
    out->base = base + (int32_t)seg;
    if (st == WN_OK && !out->stopped) st = piece(t, s + seg, n - seg, limit, word, out);
    out->base = base;
    return st;
}

/* Text between the raw-matched added tokens: normalized, then split on the added
 * tokens marked normalized (tokenizers' AddedVocabulary::extract_and_normalize);
 * the pieces go through the basic tokenizer, which normalizes them again (the
 * normalizer is idempotent: the same words come out). Spans found in the normalized
 * text go back to s through the normalizer's alignment, as HF's NormalizedString's. */
static wn_status normalized_piece(const wn_tokenizer *t, const char *s, size_t n, int64_t limit, uint32_t *word,
                                  tok_buf *out) {
    if (!t->n_norm_added || !n) return basic_tokenize(t, s, n, limit, word, out);
    char *ns;
    size_t nn;
    int32_t *map = NULL; /* with spans: each normalized byte's span in s */
    wn_status st = bert_normalize(t, s, n, &ns, &nn, out->track == 1 ? &map : NULL);
    if (st != WN_OK) return st;
    const int32_t base = out->base;
    const size_t n0 = out->n;
    out->base = 0; /* spans in ns, then taken back to s through map */
    st = split_added(t, ns, nn, 1, basic_tokenize, limit, word, out);
    out->base = base;
    for (size_t i = n0; st == WN_OK && map && i < out->n; i++) {
        int32_t *sp = out->off + 2 * i;
        if (sp[0] < 0 || sp[1] <= sp[0] || (size_t)sp[1] > nn) continue;
        sp[1] = base + map[2 * (sp[1] - 1) + 1]; /* the end of the char of its last byte */
        sp[0] = base + map[2 * sp[0]];
    }
    wn_free(ns);
    wn_free(map);
    return st;
}

/* Appends the ids of text (no special tokens around it) to out, stopping once out
 * holds limit ids (limit < 0: all). */
static wn_status tokenize_text(const wn_tokenizer *t, const char *text, int64_t limit, uint32_t *word, tok_buf *out) {
    size_t len = strlen(text), clean_len;
    char *s = wn_utf8_sanitize(text, len, &clean_len);
    if (!s) return wn_seterr(WN_ERR_NOMEM, "tokenizer: out of memory for a text of %zu bytes", len);
    wn_status st = split_added(t, s, clean_len, 0, t->bpe ? bpe_tokenize : t->unigram ? unigram_tokenize : normalized_piece, limit, word, out);
    wn_free(s);
    return st;
}

wn_status wn_tokenizer_tokenize(const wn_tokenizer *t, const char *text, int32_t **ids, int *n) {
    WN_ENTRY();
    if (!t || !text || !ids || !n) return wn_seterr(WN_ERR_ARG, "wn_tokenizer_tokenize: NULL argument");
    *ids = NULL;
    *n = 0;
    tok_buf b = {0};
    uint32_t *word = wn_malloc(((size_t)t->max_chars_per_word + 1) * sizeof *word);
    if (!word) return wn_seterr(WN_ERR_NOMEM, "tokenizer: out of memory");
    wn_status st = tokenize_text(t, text, INT32_MAX, word, &b);
    wn_free(word);
    if (st != WN_OK) {
        wn_free(b.ids);
        return st;
    }
    if (!b.ids && !(b.ids = wn_malloc(sizeof *b.ids))) return wn_seterr(WN_ERR_NOMEM, "tokenizer: out of memory");
    *ids = b.ids;
    *n = (int)b.n;
    return WN_OK;
}

static wn_status encode(const wn_tokenizer *t, const char *a, const char *b, int max_len, int32_t *ids,
                        int32_t *type_ids, int32_t *offsets, int cap, int *n_out) {
    if (!t || !a || !ids || !type_ids || !n_out) return wn_seterr(WN_ERR_ARG, "wn_tokenizer_encode: NULL argument");
    *n_out = 0;
    if (max_len <= 0) max_len = t->max_length;
    const tok_tpl *tpl = t->tpl[b != NULL];
    const int n_tpl = t->n_tpl[b != NULL];
    int n_special = 0;
    for (int i = 0; i < n_tpl; i++) n_special += tpl[i].id >= 0;
    if (max_len < n_special)
        return wn_seterr(WN_ERR_ARG, "wn_tokenizer_encode: max_len %d is less than the %d special tokens of a %s", max_len,
                         n_special, b ? "pair" : "single text");
    int64_t m = max_len - n_special; /* room for the two texts */
    tok_buf ta = {0}, tb = {0};
    ta.track = tb.track = offsets != NULL;
    uint32_t *word = wn_malloc(((size_t)t->max_chars_per_word + 1) * sizeof *word);
    if (!word) return wn_seterr(WN_ERR_NOMEM, "tokenizer: out of memory");
    /* a single text needs only its first m pieces; each text of a pair is read up to
     * the word that reaches max_len pieces, and those counts are compared (see above) */
    wn_status st = tokenize_text(t, a, b ? max_len : m, word, &ta);
    if (st == WN_OK && b) st = tokenize_text(t, b, max_len, word, &tb);
    wn_free(word);
    if (st != WN_OK) goto done;

    int64_t n1 = (int64_t)ta.n, n2 = (int64_t)tb.n;
    if (n1 + n2 > m) {
        if (!b) {
            n1 = m;
        } else { /* tokenizers' truncate_encodings, LongestFirst */
            int swap = n1 > n2;
            int64_t s = swap ? n2 : n1, l = swap ? n1 : n2;
            l = s > m ? s : WN_MAX(s, m - s);
            if (s + l > m) {
                s = m / 2;
                l = s + m % 2;
            }
            n1 = WN_MIN((int64_t)ta.n, swap ? l : s);
            n2 = WN_MIN((int64_t)tb.n, swap ? s : l);
        }
    }
    int64_t total = n1 + n2 + n_special;
    if (total > cap) {
        st = wn_seterr(WN_ERR_ARG, "wn_tokenizer_encode: %lld tokens do not fit the caller's %d entries", (long long)total,
                       cap);
        goto done;
    }
    int k = 0;
    for (int i = 0; i < n_tpl; i++) { /* the post-processor's template */
        const tok_tpl *it = &tpl[i];
        if (it->id >= 0) {
            if (offsets) offsets[2 * k] = offsets[2 * k + 1] = -1;
            ids[k] = it->id, type_ids[k++] = it->type;
            continue;
        }
        const tok_buf *src = it->id == TOK_TPL_A ? &ta : &tb;
        int64_t n = it->id == TOK_TPL_A ? n1 : n2;
        for (int64_t j = 0; j < n; j++) {
            if (offsets) offsets[2 * k] = src->off[2 * j], offsets[2 * k + 1] = src->off[2 * j + 1];
            ids[k] = src->ids[j], type_ids[k++] = it->type;
        }
    }
    *n_out = k;
done:
    wn_free(ta.ids);
    wn_free(tb.ids);
    wn_free(ta.off);
    wn_free(tb.off);
    return st;
}

wn_status wn_tokenizer_encode(const wn_tokenizer *t, const char *a, const char *b, int max_len, int32_t *ids,
                              int32_t *type_ids, int cap, int *n_out) {
    WN_ENTRY();
    return encode(t, a, b, max_len, ids, type_ids, NULL, cap, n_out);
}

wn_status wn_tokenizer_encode_offsets(const wn_tokenizer *t, const char *a, const char *b, int max_len, int32_t *ids,
                                      int32_t *type_ids, int32_t *offsets, int cap, int *n_out) {
    WN_ENTRY();
    if (!offsets) return wn_seterr(WN_ERR_ARG, "wn_tokenizer_encode_offsets: NULL offsets");
    return encode(t, a, b, max_len, ids, type_ids, offsets, cap, n_out);
}
