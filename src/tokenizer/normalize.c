/*
 * normalize.c - BERT's "basic tokenizer": the BertNormalizer and BertPreTokenizer of
 * HuggingFace's `tokenizers` (the fast tokenizer AutoTokenizer loads), one code point
 * at a time, handing each finished word to WordPiece.
 *
 * The normalizer runs, on the whole text, in this order (tokenizers'
 * normalizers/bert.rs):
 *   1. clean_text: drop U+0000, U+FFFD and "control" chars (categories Cc, Cf, Co,
 *      except \t \n \r); map whitespace (\t \n \r and Rust's char::is_whitespace,
 *      the White_Space property) to ' ';
 *   2. handle_chinese_chars: put spaces around CJK ideographs (the ranges below);
 *   3. strip_accents (defaults to lowercase): NFD, then drop Mn (non-spacing marks);
 *   4. lowercase: per character, full mapping (Rust's char::to_lowercase: like
 *      utf8proc's simple mapping except U+0130 -> "i" U+0307; no final-sigma rule,
 *      unlike Python's str.lower() of the slow tokenizer).
 * The pre-tokenizer then splits on whitespace (removed) and isolates each punctuation
 * char (ASCII 33-47, 58-64, 91-96, 123-126, or a Unicode P* category).
 * Every step but NFD's canonical reordering is local to one char, so the text is
 * streamed; the reordering of combining marks is done inside the current word.
 * Unicode data comes from libutf8proc (Unicode 15); `tokenizers` uses older tables
 * for categories, which only matters for chars assigned in recent Unicode versions.
 */
#include <utf8proc.h>

#include "tokenizer.h"

/* Rust's char::is_whitespace (the White_Space property). */
static int is_ws(uint32_t c) {
    if (c < 0x80) return c == ' ' || (c >= 9 && c <= 13);
    return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 ||
           c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

/* Where the HF tokenizer's Unicode tables (the Rust unicode_categories crate) are
 * older than utf8proc's: punctuation (P*), format (Cf) and combining marks (Mn)
 * assigned since are letters to it (part of the word around them: not split off,
 * not dropped, not stripped as accents), and two characters kept an old category
 * (U+166D and U+111C9 were Po, U+1734 was Mn). Measured with npm tokenizers 0.23.2 on every
 * assigned character below U+32000 (tests/fixtures/tokenizer/unicode_cases.jsonl
 * holds every P*, Cc, Cf and Mn one). Sorted, for a binary search. */
static const struct {
    uint32_t lo, hi;
    int category;
} hf_category[] = {
    {0x061D, 0x061D, UTF8PROC_CATEGORY_LO}, {0x07FD, 0x07FD, UTF8PROC_CATEGORY_LO},
    {0x0890, 0x0891, UTF8PROC_CATEGORY_LO}, {0x0898, 0x089F, UTF8PROC_CATEGORY_LO},
    {0x08CA, 0x08E2, UTF8PROC_CATEGORY_LO}, {0x09FD, 0x09FE, UTF8PROC_CATEGORY_LO},
    {0x0A76, 0x0A76, UTF8PROC_CATEGORY_LO}, {0x0AFA, 0x0AFF, UTF8PROC_CATEGORY_LO},
    {0x0B55, 0x0B55, UTF8PROC_CATEGORY_LO}, {0x0C04, 0x0C04, UTF8PROC_CATEGORY_LO},
    {0x0C3C, 0x0C3C, UTF8PROC_CATEGORY_LO}, {0x0C77, 0x0C77, UTF8PROC_CATEGORY_LO},
    {0x0C84, 0x0C84, UTF8PROC_CATEGORY_LO}, {0x0D00, 0x0D00, UTF8PROC_CATEGORY_LO},
    {0x0D3B, 0x0D3C, UTF8PROC_CATEGORY_LO}, {0x0D81, 0x0D81, UTF8PROC_CATEGORY_LO},
    {0x0EBA, 0x0EBA, UTF8PROC_CATEGORY_LO}, {0x0ECE, 0x0ECE, UTF8PROC_CATEGORY_LO},
    {0x166D, 0x166D, UTF8PROC_CATEGORY_PO}, {0x1734, 0x1734, UTF8PROC_CATEGORY_MN},
    {0x180F, 0x180F, UTF8PROC_CATEGORY_LO}, {0x1885, 0x1886, UTF8PROC_CATEGORY_LO},
    {0x1ABF, 0x1ACE, UTF8PROC_CATEGORY_LO}, {0x1B7D, 0x1B7E, UTF8PROC_CATEGORY_LO},
    {0x1DF6, 0x1DFB, UTF8PROC_CATEGORY_LO}, {0x2E43, 0x2E4F, UTF8PROC_CATEGORY_LO},
    {0x2E52, 0x2E5D, UTF8PROC_CATEGORY_LO}, {0xA82C, 0xA82C, UTF8PROC_CATEGORY_LO},
    {0xA8C5, 0xA8C5, UTF8PROC_CATEGORY_LO}, {0xA8FF, 0xA8FF, UTF8PROC_CATEGORY_LO},
    {0xA9BD, 0xA9BD, UTF8PROC_CATEGORY_LO}, {0x10D24, 0x10D27, UTF8PROC_CATEGORY_LO},
    {0x10EAB, 0x10EAD, UTF8PROC_CATEGORY_LO}, {0x10EFD, 0x10EFF, UTF8PROC_CATEGORY_LO},
    {0x10F46, 0x10F50, UTF8PROC_CATEGORY_LO}, {0x10F55, 0x10F59, UTF8PROC_CATEGORY_LO},
    {0x10F82, 0x10F89, UTF8PROC_CATEGORY_LO}, {0x11070, 0x11070, UTF8PROC_CATEGORY_LO},
    {0x11073, 0x11074, UTF8PROC_CATEGORY_LO}, {0x110C2, 0x110C2, UTF8PROC_CATEGORY_LO},
    {0x110CD, 0x110CD, UTF8PROC_CATEGORY_LO}, {0x111C9, 0x111C9, UTF8PROC_CATEGORY_PO},
    {0x111CF, 0x111CF, UTF8PROC_CATEGORY_LO}, {0x1123E, 0x1123E, UTF8PROC_CATEGORY_LO},
    {0x11241, 0x11241, UTF8PROC_CATEGORY_LO}, {0x1133B, 0x1133B, UTF8PROC_CATEGORY_LO},
    {0x11438, 0x1143F, UTF8PROC_CATEGORY_LO}, {0x11442, 0x11444, UTF8PROC_CATEGORY_LO},
    {0x11446, 0x11446, UTF8PROC_CATEGORY_LO}, {0x1144B, 0x1144F, UTF8PROC_CATEGORY_LO},
    {0x1145A, 0x1145B, UTF8PROC_CATEGORY_LO}, {0x1145D, 0x1145E, UTF8PROC_CATEGORY_LO},
    {0x11660, 0x1166C, UTF8PROC_CATEGORY_LO}, {0x116B9, 0x116B9, UTF8PROC_CATEGORY_LO},
    {0x1182F, 0x11837, UTF8PROC_CATEGORY_LO}, {0x11839, 0x1183B, UTF8PROC_CATEGORY_LO},
    {0x1193B, 0x1193C, UTF8PROC_CATEGORY_LO}, {0x1193E, 0x1193E, UTF8PROC_CATEGORY_LO},
    {0x11943, 0x11946, UTF8PROC_CATEGORY_LO}, {0x119D4, 0x119D7, UTF8PROC_CATEGORY_LO},
    {0x119DA, 0x119DB, UTF8PROC_CATEGORY_LO}, {0x119E0, 0x119E0, UTF8PROC_CATEGORY_LO},
    {0x119E2, 0x119E2, UTF8PROC_CATEGORY_LO}, {0x11A01, 0x11A0A, UTF8PROC_CATEGORY_LO},
    {0x11A33, 0x11A38, UTF8PROC_CATEGORY_LO}, {0x11A3B, 0x11A47, UTF8PROC_CATEGORY_LO},
    {0x11A51, 0x11A56, UTF8PROC_CATEGORY_LO}, {0x11A59, 0x11A5B, UTF8PROC_CATEGORY_LO},
    {0x11A8A, 0x11A96, UTF8PROC_CATEGORY_LO}, {0x11A98, 0x11A9C, UTF8PROC_CATEGORY_LO},
    {0x11A9E, 0x11AA2, UTF8PROC_CATEGORY_LO}, {0x11B00, 0x11B09, UTF8PROC_CATEGORY_LO},
    {0x11C30, 0x11C36, UTF8PROC_CATEGORY_LO}, {0x11C38, 0x11C3D, UTF8PROC_CATEGORY_LO},
    {0x11C3F, 0x11C3F, UTF8PROC_CATEGORY_LO}, {0x11C41, 0x11C45, UTF8PROC_CATEGORY_LO},
    {0x11C70, 0x11C71, UTF8PROC_CATEGORY_LO}, {0x11C92, 0x11CA7, UTF8PROC_CATEGORY_LO},
    {0x11CAA, 0x11CB0, UTF8PROC_CATEGORY_LO}, {0x11CB2, 0x11CB3, UTF8PROC_CATEGORY_LO},
    {0x11CB5, 0x11CB6, UTF8PROC_CATEGORY_LO}, {0x11D31, 0x11D36, UTF8PROC_CATEGORY_LO},
    {0x11D3A, 0x11D3A, UTF8PROC_CATEGORY_LO}, {0x11D3C, 0x11D3D, UTF8PROC_CATEGORY_LO},
    {0x11D3F, 0x11D45, UTF8PROC_CATEGORY_LO}, {0x11D47, 0x11D47, UTF8PROC_CATEGORY_LO},
    {0x11D90, 0x11D91, UTF8PROC_CATEGORY_LO}, {0x11D95, 0x11D95, UTF8PROC_CATEGORY_LO},
    {0x11D97, 0x11D97, UTF8PROC_CATEGORY_LO}, {0x11EF3, 0x11EF4, UTF8PROC_CATEGORY_LO},
    {0x11EF7, 0x11EF8, UTF8PROC_CATEGORY_LO}, {0x11F00, 0x11F01, UTF8PROC_CATEGORY_LO},
    {0x11F36, 0x11F3A, UTF8PROC_CATEGORY_LO}, {0x11F40, 0x11F40, UTF8PROC_CATEGORY_LO},
    {0x11F42, 0x11F4F, UTF8PROC_CATEGORY_LO}, {0x11FFF, 0x11FFF, UTF8PROC_CATEGORY_LO},
    {0x12FF1, 0x12FF2, UTF8PROC_CATEGORY_LO}, {0x13430, 0x13440, UTF8PROC_CATEGORY_LO},
    {0x13447, 0x13455, UTF8PROC_CATEGORY_LO}, {0x16E97, 0x16E9A, UTF8PROC_CATEGORY_LO},
    {0x16F4F, 0x16F4F, UTF8PROC_CATEGORY_LO}, {0x16FE2, 0x16FE2, UTF8PROC_CATEGORY_LO},
    {0x16FE4, 0x16FE4, UTF8PROC_CATEGORY_LO}, {0x1CF00, 0x1CF2D, UTF8PROC_CATEGORY_LO},
    {0x1CF30, 0x1CF46, UTF8PROC_CATEGORY_LO}, {0x1E000, 0x1E006, UTF8PROC_CATEGORY_LO},
    {0x1E008, 0x1E018, UTF8PROC_CATEGORY_LO}, {0x1E01B, 0x1E021, UTF8PROC_CATEGORY_LO},
    {0x1E023, 0x1E024, UTF8PROC_CATEGORY_LO}, {0x1E026, 0x1E02A, UTF8PROC_CATEGORY_LO},
    {0x1E08F, 0x1E08F, UTF8PROC_CATEGORY_LO}, {0x1E130, 0x1E136, UTF8PROC_CATEGORY_LO},
    {0x1E2AE, 0x1E2AE, UTF8PROC_CATEGORY_LO}, {0x1E2EC, 0x1E2EF, UTF8PROC_CATEGORY_LO},
    {0x1E4EC, 0x1E4EF, UTF8PROC_CATEGORY_LO}, {0x1E944, 0x1E94A, UTF8PROC_CATEGORY_LO},
    {0x1E95E, 0x1E95F, UTF8PROC_CATEGORY_LO}
};

static int category(uint32_t c) {
    if (c >= 0x61D && c <= 0x1E95F) {
        size_t lo = 0, hi = sizeof hf_category / sizeof hf_category[0];
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (c < hf_category[mid].lo) hi = mid;
            else if (c > hf_category[mid].hi) lo = mid + 1;
            else return hf_category[mid].category;
        }
    }
    return utf8proc_category((utf8proc_int32_t)c);
}

/* tokenizers' is_control: \t \n \r are whitespace; otherwise Cc, Cf or Co. */
static int is_control(uint32_t c) {
    if (c == '\t' || c == '\n' || c == '\r') return 0;
    if (c < 0x80) return c < 0x20 || c == 0x7F;
    int k = category(c);
    return k == UTF8PROC_CATEGORY_CC || k == UTF8PROC_CATEGORY_CF || k == UTF8PROC_CATEGORY_CO;
}

static int is_punct(uint32_t c) {
    if (c < 0x80) return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126);
    int k = category(c);
    return k >= UTF8PROC_CATEGORY_PC && k <= UTF8PROC_CATEGORY_PO;
}

/* tokenizers' is_chinese_char. Its fifth range starts at 0x2B920 (the Python
 * BertTokenizer's says 0x2B820); we follow the fast tokenizer. */
static int is_chinese(uint32_t c) {
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
           (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

/* The word being built: its first max_chars + 1 code points (a longer word is [UNK]
 * whatever its content) and its length in chars. */
typedef struct {
    const wn_tokenizer *t;
    uint32_t *cp;
    int n, cap;     /* kept chars, capacity */
    int total;      /* chars in the word */
    int run_start;  /* reordering of combining marks does not go left of this */
    tok_buf *out;
    int64_t limit;  /* once out holds this many pieces, later words are dropped (< 0: none) */
    int raw;        /* bert_normalize: every normalized char goes to cp, no words, no pieces */
    int32_t *span;  /* NULL, or (cap * 2): each kept char's byte span in the text (out->track) */
    int32_t cur_s, cur_e; /* the span of the text's char being normalized */
    int32_t word_end;     /* where the word's last char (kept or not) ends */
} word_state;

/* Ends the word: its pieces go out whole, unless earlier words already reached the
 * limit (so a run stops after the word that reaches it, as the HF tokenizer does). */
static wn_status flush(word_state *w) {
    if (!w->total || w->raw) return WN_OK;
    wn_status st = w->out->stopped ? WN_OK : wordpiece_word(w->t, w->cp, w->n, w->total, w->span, w->word_end, w->out);
    if (w->limit >= 0 && (int64_t)w->out->n >= w->limit) w->out->stopped = 1;
    w->n = w->total = w->run_start = 0;
    return st;
}

/* Appends a char of a word. Under NFD, a mark with combining class ccc moves left
 * past the marks of higher class of the same run (canonical ordering). */
static void append(word_state *w, uint32_t c, int reorder) {
    w->total++;
    w->word_end = w->cur_e;
    if (w->n == w->cap) return;
    int pos = w->n++;
    int ccc = reorder && c >= 0x300 ? utf8proc_get_property((utf8proc_int32_t)c)->combining_class : 0;
    if (ccc == 0) {
        w->run_start = w->n;
    } else {
        while (pos > w->run_start && utf8proc_get_property((utf8proc_int32_t)w->cp[pos - 1])->combining_class > ccc) {
            w->cp[pos] = w->cp[pos - 1];
            if (w->span) w->span[2 * pos] = w->span[2 * pos - 2], w->span[2 * pos + 1] = w->span[2 * pos - 1];
            pos--;
        }
    }
    w->cp[pos] = c;
    if (w->span) w->span[2 * pos] = w->cur_s, w->span[2 * pos + 1] = w->cur_e;
}

/* Pre-tokenizes one normalized char. */
static wn_status pretok(word_state *w, uint32_t c) {
    if (w->raw) {
        append(w, c, w->t->strip_accents);
        return WN_OK;
    }
    if (is_ws(c)) return flush(w);
    if (is_punct(c)) {
        wn_status st = flush(w);
        if (st != WN_OK) return st;
        append(w, c, 0);
        return flush(w);
    }
    append(w, c, w->t->strip_accents);
    return WN_OK;
}

/* Steps 3 and 4 for one char, then the pre-tokenizer. */
static wn_status accents_lower(word_state *w, uint32_t c) {
    const wn_tokenizer *t = w->t;
    utf8proc_int32_t dec[8];
    int n = 1;
    dec[0] = (utf8proc_int32_t)c;
    if (t->strip_accents && c >= 0xC0) {
        int last = 0;
        utf8proc_ssize_t k = utf8proc_decompose_char((utf8proc_int32_t)c, dec, 8, UTF8PROC_DECOMPOSE, &last);
        if (k < 1 || k > 8) { /* cannot happen for valid scalars; keep the char */
            dec[0] = (utf8proc_int32_t)c;
            k = 1;
        }
        n = (int)k;
    }
    for (int i = 0; i < n; i++) {
        uint32_t d = (uint32_t)dec[i];
        if (t->strip_accents && d >= 0x300 && category(d) == UTF8PROC_CATEGORY_MN) {
            /* a dropped mark of class 0 still ends a run of canonical ordering */
            if (utf8proc_get_property(dec[i])->combining_class == 0) w->run_start = w->n;
            continue;
        }
        wn_status st;
        if (t->lowercase) {
            if (d < 0x80) {
                if (d >= 'A' && d <= 'Z') d += 32;
            } else if (d == 0x130) { /* the one unconditional multi-char lowercase */
                if ((st = pretok(w, 'i')) != WN_OK) return st;
                d = 0x307;
            } else {
                d = (uint32_t)utf8proc_tolower((utf8proc_int32_t)d);
            }
        }
        if ((st = pretok(w, d)) != WN_OK) return st;
    }
    return WN_OK;
}

/* Decodes one code point of valid UTF-8 at s (n bytes left); *k its length. */
static uint32_t decode(const unsigned char *s, size_t n, int *k) {
    uint32_t c = s[0];
    if (c < 0x80 || n < 2) return *k = 1, c;
    if (c < 0xE0) return *k = 2, ((c & 0x1F) << 6) | (s[1] & 0x3F);
    if (c < 0xF0 || n < 4) return *k = 3, ((c & 0x0F) << 12) | ((s[1] & 0x3F) << 6) | (s[2] & 0x3F);
    return *k = 4, ((c & 0x07) << 18) | ((s[1] & 0x3F) << 12) | ((s[2] & 0x3F) << 6) | (s[3] & 0x3F);
}

/* The normalizer, char by char, into w (words and pieces, or raw chars). */
static wn_status run(word_state *w, const char *text, size_t len) {
    const wn_tokenizer *t = w->t;
    const unsigned char *s = (const unsigned char *)text;
    wn_status st = WN_OK;
    for (size_t i = 0; i < len;) {
        /* a word's pieces are final once the word ends: stop when enough are out */
        if (!w->raw && w->out->stopped) return WN_OK;
        int k;
        uint32_t c = decode(s + i, len - i, &k);
        w->cur_s = (int32_t)i;
        i += (size_t)k;
        w->cur_e = (int32_t)i;
        if (t->clean_text) {
            if (c == 0 || c == 0xFFFD || is_control(c)) continue;
            if (is_ws(c)) c = ' ';
        }
        if (t->handle_chinese && c >= 0x3400 && is_chinese(c)) {
            if (w->raw) append(w, ' ', 0); /* the normalizer writes " c " */
            if ((st = flush(w)) != WN_OK) return st;
            if ((st = accents_lower(w, c)) != WN_OK) return st;
            if ((st = flush(w)) != WN_OK) return st;
            if (w->raw) append(w, ' ', 0);
            continue;
        }
        if ((st = accents_lower(w, c)) != WN_OK) return st;
    }
    return flush(w);
}

wn_status basic_tokenize(const wn_tokenizer *t, const char *text, size_t len, int64_t limit, uint32_t *word,
                         tok_buf *out) {
    word_state w = {t, word, 0, t->max_chars_per_word + 1, 0, 0, out, limit, 0, NULL, 0, 0, 0};
    if (out->track == 1 && len > (size_t)INT32_MAX - 8)
        return wn_seterr(WN_ERR_ARG, "tokenizer: a text of %zu bytes is too long", len);
    if (out->track == 1 && !(w.span = wn_malloc(2 * (size_t)w.cap * sizeof *w.span)))
        return wn_seterr(WN_ERR_NOMEM, "tokenizer: out of memory");
    wn_status st = run(&w, text, len);
    wn_free(w.span);
    return st;
}

wn_status bert_normalize(const wn_tokenizer *t, const char *text, size_t len, char **out, size_t *out_len,
                         int32_t **spans) {
    *out = NULL;
    *out_len = 0;
    if (spans) *spans = NULL;
    /* a char of k >= 1 bytes becomes at most 8 code points (decomposition, or " c ") */
    size_t cap = 8 * len + 8;
    if (cap > (size_t)INT32_MAX / 8) return wn_seterr(WN_ERR_ARG, "tokenizer: a text of %zu bytes is too long", len);
    uint32_t *cp = wn_malloc(cap * sizeof *cp);
    char *o = cp ? wn_malloc(4 * cap + 1) : NULL;
    int32_t *span = o && spans ? wn_malloc(2 * cap * sizeof *span) : NULL;
    if (!cp || !o || (spans && !span)) {
        wn_free(cp);
        wn_free(o);
        return wn_seterr(WN_ERR_NOMEM, "tokenizer: out of memory normalizing %zu bytes", len);
    }
    word_state w = {t, cp, 0, (int)cap, 0, 0, NULL, -1, 1, span, 0, 0, 0};
    wn_status st = run(&w, text, len);
    size_t n = 0;
    for (int i = 0; st == WN_OK && i < w.n; i++) n += (size_t)utf8proc_encode_char((utf8proc_int32_t)cp[i], (utf8proc_uint8_t *)o + n);
    o[n] = 0;
    int32_t *bytes = NULL; /* each output byte: the span of the char it belongs to */
    if (st == WN_OK && span && !(bytes = wn_malloc(2 * (n + 1) * sizeof *bytes)))
        st = wn_seterr(WN_ERR_NOMEM, "tokenizer: out of memory normalizing %zu bytes", len);
    for (size_t i = 0, b = 0; st == WN_OK && bytes && i < (size_t)w.n; i++)
        for (size_t e = b + (cp[i] < 0x80 ? 1 : cp[i] < 0x800 ? 2 : cp[i] < 0x10000 ? 3 : 4); b < e; b++)
            bytes[2 * b] = span[2 * i], bytes[2 * b + 1] = span[2 * i + 1];
    wn_free(cp);
    wn_free(span);
    if (st != WN_OK) {
        wn_free(o);
        wn_free(bytes);
        return st;
    }
    *out = o;
    *out_len = n;
    if (spans) *spans = bytes;
    return WN_OK;
}
