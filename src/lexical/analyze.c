/*
 * analyze.c - BM25's analyzer: UTF-8 text -> terms, as Lucene 8's EnglishAnalyzer
 * computes them (Anserini's DefaultEnglishAnalyzer is the same chain):
 *   StandardTokenizer -> EnglishPossessiveFilter -> LowerCaseFilter -> StopFilter
 *   (the 33 words of EnglishAnalyzer.ENGLISH_STOP_WORDS_SET) -> PorterStemFilter.
 *
 * The word split follows the rules of Unicode's UAX#29 word boundaries that matter
 * for search: letters and digits join (WB5, WB8-10); a letter/digit sequence
 * continues across one MidLetter/MidNumLet/quote between letters ("can't", "u.s.a",
 * "a:b", WB6-7) and one MidNum/MidNumLet/quote between digits ("3.14", "1,000",
 * WB11-12); connector punctuation '_' and U+202F join (WB13a-b); combining marks
 * and format characters stay inside a word (WB4). Han ideographs and Hiragana are
 * one token each, and so is each emoji sequence (pictograph + modifiers / ZWJ
 * joins, flag pairs), as StandardTokenizer emits them. What it does not do:
 * Hebrew-letter rules, South-East Asian dictionary segmentation. Words longer than
 * 255 code points are split at 255, as StandardTokenizer's maxTokenLength does.
 * Checked token for token against Lucene 8.7 on SciFact (838,128 tokens) and the
 * 61,774 Debian package descriptions of bench/bm25.sh (2.8 million tokens).
 */
#include <string.h>
#include <utf8proc.h>

#include "lexical.h"

/* Lucene's EnglishAnalyzer.ENGLISH_STOP_WORDS_SET, sorted. */
static const char *const stopwords[33] = {
    "a",    "an",    "and",   "are",  "as",  "at",   "be",    "but",  "by",  "for",  "if",
    "in",   "into",  "is",    "it",   "no",  "not",  "of",    "on",   "or",  "such", "that",
    "the",  "their", "then",  "there", "these", "they", "this", "to",   "was", "will", "with"};

int bm25_is_stopword(const char *w, int n) {
    if (n < 1 || n > 5 || w[0] < 'a' || w[0] > 'w') return 0;
    for (int i = 0; i < 33; i++)
        if (stopwords[i][0] == w[0] && strncmp(w, stopwords[i], (size_t)n) == 0 && stopwords[i][n] == 0) return 1;
    return 0;
}

/* word-break classes */
enum { C_OTHER, C_LETTER, C_DIGIT, C_IDEO, C_MIDLETTER, C_MIDNUM, C_MIDNUMLET, C_EXTEND, C_CONNECT, C_EMOJI };

/* Extended_Pictographic (emoji-data.txt), the ranges StandardTokenizer makes <EMOJI>
 * tokens of (e.g. the (C), (R), TM signs and arrows seen in SciFact), sorted. */
static const uint32_t pictographic[][2] = {
    {0xA9, 0xA9},       {0xAE, 0xAE},       {0x203C, 0x203C},   {0x2049, 0x2049},   {0x2122, 0x2122},
    {0x2139, 0x2139},   {0x2194, 0x2199},   {0x21A9, 0x21AA},   {0x231A, 0x231B},   {0x2328, 0x2328},
    {0x2388, 0x2388},   {0x23CF, 0x23CF},   {0x23E9, 0x23F3},   {0x23F8, 0x23FA},   {0x24C2, 0x24C2},
    {0x25AA, 0x25AB},   {0x25B6, 0x25B6},   {0x25C0, 0x25C0},   {0x25FB, 0x25FE},   {0x2600, 0x2605},
    {0x2607, 0x2612},   {0x2614, 0x2685},   {0x2690, 0x2705},   {0x2708, 0x2712},   {0x2714, 0x2714},
    {0x2716, 0x2716},   {0x271D, 0x271D},   {0x2721, 0x2721},   {0x2728, 0x2728},   {0x2733, 0x2734},
    {0x2744, 0x2744},   {0x2747, 0x2747},   {0x274C, 0x274C},   {0x274E, 0x274E},   {0x2753, 0x2755},
    {0x2757, 0x2757},   {0x2763, 0x2767},   {0x2795, 0x2797},   {0x27A1, 0x27A1},   {0x27B0, 0x27B0},
    {0x27BF, 0x27BF},   {0x2934, 0x2935},   {0x2B05, 0x2B07},   {0x2B1B, 0x2B1C},   {0x2B50, 0x2B50},
    {0x2B55, 0x2B55},   {0x3030, 0x3030},   {0x303D, 0x303D},   {0x3297, 0x3297},   {0x3299, 0x3299},
    {0x1F000, 0x1F0FF}, {0x1F10D, 0x1F10F}, {0x1F12F, 0x1F12F}, {0x1F16C, 0x1F171}, {0x1F17E, 0x1F17F},
    {0x1F18E, 0x1F18E}, {0x1F191, 0x1F19A}, {0x1F1AD, 0x1F1E5}, {0x1F201, 0x1F20F}, {0x1F21A, 0x1F21A},
    {0x1F22F, 0x1F22F}, {0x1F232, 0x1F23A}, {0x1F23C, 0x1F23F}, {0x1F249, 0x1F3FA}, {0x1F400, 0x1F53D},
    {0x1F546, 0x1F64F}, {0x1F680, 0x1F6FF}, {0x1F774, 0x1F77F}, {0x1F7D5, 0x1F7FF}, {0x1F80C, 0x1F80F},
    {0x1F848, 0x1F84F}, {0x1F85A, 0x1F85F}, {0x1F888, 0x1F88F}, {0x1F8AE, 0x1F8FF}, {0x1F90C, 0x1F93A},
    {0x1F93C, 0x1F945}, {0x1F947, 0x1FAFF}, {0x1FC00, 0x1FFFD}};

static int is_pictographic(int32_t c) {
    int lo = 0, hi = (int)(sizeof pictographic / sizeof pictographic[0]) - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if ((uint32_t)c < pictographic[mid][0]) hi = mid - 1;
        else if ((uint32_t)c > pictographic[mid][1]) lo = mid + 1;
        else return 1;
    }
    return 0;
}

/* what may follow an emoji inside one emoji token: variation selectors, skin tones,
 * the keycap mark, tags */
static int emoji_extend(int32_t c) {
    return c == 0xFE0F || c == 0xFE0E || (c >= 0x1F3FB && c <= 0x1F3FF) || c == 0x20E3 ||
           (c >= 0xE0020 && c <= 0xE007F);
}

static int classify(int32_t c) {
    if (c < 128) {
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return C_LETTER;
        if (c >= '0' && c <= '9') return C_DIGIT;
        switch (c) {
        case ':': return C_MIDLETTER;
        case '.': case '\'': return C_MIDNUMLET;
        case ',': case ';': return C_MIDNUM;
        case '_': return C_CONNECT;
        default: return C_OTHER;
        }
    }
    /* ideographs and Hiragana: one token per character */
    if ((c >= 0x3400 && c <= 0x4DBF) || (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0xF900 && c <= 0xFAFF) ||
        (c >= 0x20000 && c <= 0x3FFFF) || (c >= 0x3040 && c <= 0x309F) || c == 0x3005 || c == 0x3007)
        return C_IDEO;
    switch (c) {
    case 0xB7: case 0x387: case 0x5F4: case 0x2027: case 0xFE13: case 0xFE55: case 0xFF1A: return C_MIDLETTER;
    case 0x2018: case 0x2019: case 0x2024: case 0xFE52: case 0xFF07: case 0xFF0E: return C_MIDNUMLET;
    case 0x37E: case 0x589: case 0x60C: case 0x60D: case 0x66C: case 0x7F8: case 0x2044: case 0xFE10:
    case 0xFE14: case 0xFE50: case 0xFE54: case 0xFF0C: case 0xFF1B: return C_MIDNUM;
    case 0x200D: return C_EXTEND;
    case 0x202F: return C_CONNECT; /* narrow no-break space is ExtendNumLet in UAX#29 */
    default: break;
    }
    if (c >= 0xA9 && is_pictographic(c)) return C_EMOJI;
    if (c >= 0x1F1E6 && c <= 0x1F1FF) return C_EMOJI; /* regional indicators: flags */
    switch (utf8proc_category(c)) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_LO: case UTF8PROC_CATEGORY_NL: return C_LETTER;
    case UTF8PROC_CATEGORY_ND: return C_DIGIT;
    case UTF8PROC_CATEGORY_MN: case UTF8PROC_CATEGORY_MC: case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_CF: return C_EXTEND;
    case UTF8PROC_CATEGORY_PC: return C_CONNECT;
    default: return C_OTHER;
    }
}

/* Decodes one code point at s[i] (n bytes); invalid bytes give -1 and advance 1. */
static int32_t next_cp(const uint8_t *s, size_t n, size_t *i) {
    uint8_t b = s[*i];
    if (b < 0x80) {
        (*i)++;
        return b;
    }
    int32_t c;
    utf8proc_ssize_t k = utf8proc_iterate(s + *i, (utf8proc_ssize_t)(n - *i), &c);
    if (k <= 0) {
        (*i)++;
        return -1;
    }
    *i += (size_t)k;
    return c;
}

typedef struct {
    int stem, stopwords;
    bm25_term_fn fn;
    void *ud;
    int stop; /* the callback's non-zero value */
} emitter;

/* Runs the filters on one token (cps: n code points, original case) and emits it. */
static void emit(emitter *e, uint32_t *cps, int n) {
    if (e->stop || n <= 0) return;
    /* EnglishPossessiveFilter: a trailing 's after ' U+2019 or U+FF07, either case of s */
    if (n >= 2 && (cps[n - 1] == 's' || cps[n - 1] == 'S') &&
        (cps[n - 2] == '\'' || cps[n - 2] == 0x2019 || cps[n - 2] == 0xFF07))
        n -= 2;
    if (n <= 0) return;
    /* LowerCaseFilter (Character.toLowerCase per code point) */
    for (int i = 0; i < n; i++) {
        uint32_t c = cps[i];
        if (c < 128) {
            if (c >= 'A' && c <= 'Z') cps[i] = c + 32;
        } else {
            cps[i] = (uint32_t)utf8proc_tolower((int32_t)c);
        }
    }
    char buf[BM25_MAX_TOKEN * 4 + 4];
    int len = 0;
    for (int i = 0; i < n; i++) {
        uint32_t c = cps[i];
        if (c < 128) buf[len++] = (char)c;
        else len += (int)utf8proc_encode_char((int32_t)c, (uint8_t *)buf + len);
    }
    if (e->stopwords && bm25_is_stopword(buf, len)) return;
    if (e->stem) {
        n = bm25_porter_stem(cps, n);
        len = 0;
        for (int i = 0; i < n; i++) {
            uint32_t c = cps[i];
            if (c < 128) buf[len++] = (char)c;
            else len += (int)utf8proc_encode_char((int32_t)c, (uint8_t *)buf + len);
        }
    }
    if (len > 0) e->stop = e->fn(e->ud, buf, len);
}

wn_status bm25_analyze(const char *text, size_t n, int stem, int stopwords, bm25_term_fn fn, void *ud) {
    const uint8_t *s = (const uint8_t *)text;
    emitter e = {stem, stopwords, fn, ud, 0};
    uint32_t tok[BM25_MAX_TOKEN];
    int nt = 0;       /* code points in the current token */
    int last = C_OTHER; /* class of the token's last letter/digit (C_LETTER or C_DIGIT) */
    int alnum = 0;      /* the token has a letter or digit (a run of '_' alone is no word) */
    size_t i = 0;
    while (i < n && !e.stop) {
        int32_t c = next_cp(s, n, &i);
        int cls = c < 0 ? C_OTHER : classify(c);
        if (cls == C_LETTER || cls == C_DIGIT || cls == C_CONNECT) {
            if (nt == BM25_MAX_TOKEN) {
                emit(&e, tok, alnum ? nt : 0);
                nt = 0;
                alnum = 0;
            }
            tok[nt++] = (uint32_t)c;
            if (cls != C_CONNECT) last = cls, alnum = 1;
            continue;
        }
        if (cls == C_EXTEND) { /* WB4: marks stay with the word; alone they are nothing */
            if (nt > 0 && nt < BM25_MAX_TOKEN) tok[nt++] = (uint32_t)c;
            continue;
        }
        if (cls == C_EMOJI) { /* one token per emoji sequence (with ZWJ joins and modifiers) */
            emit(&e, tok, alnum ? nt : 0);
            nt = 0;
            alnum = 0;
            last = C_OTHER;
            tok[nt++] = (uint32_t)c;
            int ri = c >= 0x1F1E6 && c <= 0x1F1FF; /* a flag is a pair of indicators */
            for (;;) {
                size_t j = i;
                int32_t d = j < n ? next_cp(s, n, &j) : -1;
                if (d < 0 || nt + 2 >= BM25_MAX_TOKEN) break;
                if (ri && d >= 0x1F1E6 && d <= 0x1F1FF) {
                    ri = 0;
                } else if (d == 0x200D) { /* ZWJ + pictograph */
                    size_t j2 = j;
                    int32_t d2 = j2 < n ? next_cp(s, n, &j2) : -1;
                    if (d2 < 0 || classify(d2) != C_EMOJI) break;
                    tok[nt++] = (uint32_t)d;
                    d = d2;
                    j = j2;
                } else if (!emoji_extend(d)) {
                    break;
                }
                tok[nt++] = (uint32_t)d;
                i = j;
            }
            emit(&e, tok, nt);
            nt = 0;
            continue;
        }
        if (cls == C_IDEO) {
            emit(&e, tok, alnum ? nt : 0);
            nt = 0;
            alnum = 0;
            last = C_OTHER;
            tok[0] = (uint32_t)c;
            emit(&e, tok, 1);
            continue;
        }
        if (nt > 0 && (cls == C_MIDLETTER || cls == C_MIDNUM || cls == C_MIDNUMLET) && tok[nt - 1] != '_') {
            /* WB6/7 and WB11/12: one middle character between two letters or two digits */
            size_t j = i;
            int32_t d = j < n ? next_cp(s, n, &j) : -1;
            int dcls = d < 0 ? C_OTHER : classify(d);
            int ok = 0;
            if (last == C_LETTER && dcls == C_LETTER && (cls == C_MIDLETTER || cls == C_MIDNUMLET)) ok = 1;
            if (last == C_DIGIT && dcls == C_DIGIT && (cls == C_MIDNUM || cls == C_MIDNUMLET)) ok = 1;
            if (ok && nt + 1 < BM25_MAX_TOKEN) {
                tok[nt++] = (uint32_t)c;
                continue;
            }
        }
        emit(&e, tok, alnum ? nt : 0);
        nt = 0;
        alnum = 0;
        last = C_OTHER;
    }
    emit(&e, tok, alnum ? nt : 0);
    return e.stop ? WN_ERR_NOMEM : WN_OK;
}

/* ---- public: the analyzer as a string of space-separated terms */

typedef struct {
    char *buf;
    size_t len, cap;
} strbuf;

static int append_term(void *ud, const char *t, int len) {
    strbuf *b = ud;
    if (wn_grow((void **)&b->buf, &b->cap, b->len + (size_t)len + 2, 1) != WN_OK) return 1;
    if (b->len) b->buf[b->len++] = ' ';
    memcpy(b->buf + b->len, t, (size_t)len);
    b->len += (size_t)len;
    b->buf[b->len] = 0;
    return 0;
}

wn_status wn_bm25_analyze(const wn_bm25_params *p, const char *text, char **out) {
    WN_ENTRY();
    *out = NULL;
    if (!text) return wn_seterr(WN_ERR_ARG, "wn_bm25_analyze: text is NULL");
    wn_bm25_params d = wn_bm25_default_params();
    if (!p) p = &d;
    strbuf b = {0};
    if (wn_grow((void **)&b.buf, &b.cap, 1, 1) != WN_OK) return wn_seterr(WN_ERR_NOMEM, "wn_bm25_analyze: out of memory");
    b.buf[0] = 0;
    if (bm25_analyze(text, strlen(text), p->stem, p->stopwords, append_term, &b) != WN_OK) {
        wn_free(b.buf);
        return wn_seterr(WN_ERR_NOMEM, "wn_bm25_analyze: out of memory");
    }
    *out = b.buf;
    return WN_OK;
}
