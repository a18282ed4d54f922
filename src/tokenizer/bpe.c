/*
 * bpe.c - byte-level BPE (Sennrich et al. 2016 on bytes, as GPT-2 and RoBERTa),
 * the way HF tokenizers computes it from a tokenizer.json:
 *   1. the ByteLevel pre-tokenizer splits the text with GPT-2's pattern
 *        's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 *      (alternatives tried in order at each position, each greedy);
 *   2. each word's UTF-8 bytes become GPT-2's printable characters (bytes_to_unicode:
 *      '!'..'~', U+00A1..U+00AC, U+00AE..U+00FF map to themselves, the 68 others to
 *      U+0100 upwards in byte order), one symbol per byte;
 *   3. the adjacent pair of lowest merge rank is merged (the leftmost on a tie),
 *      again and again until no pair has a merge: HF's priority queue gives the
 *      same result (it too always takes the lowest rank, then the lowest position).
 * Merges are kept as a hash from (left id, right id) to (rank, merged id).
 */
#include <string.h>

#include <utf8proc.h>

#include "tokenizer.h"
#include "util/json.h"

/* Unicode White_Space (what \s matches in the HF tokenizer's regex) */
static int is_space(uint32_t c) {
    if (c < 0x80) return c == ' ' || (c >= 9 && c <= 13);
    return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
           c == 0x202F || c == 0x205F || c == 0x3000;
}

enum { C_OTHER = 0, C_LETTER, C_NUMBER, C_SPACE };

static int char_class(uint32_t c) {
    if (c < 0x80) {
        if ((c | 32) >= 'a' && (c | 32) <= 'z') return C_LETTER;
        if (c >= '0' && c <= '9') return C_NUMBER;
        return is_space(c) ? C_SPACE : C_OTHER;
    }
    if (is_space(c)) return C_SPACE;
    switch (utf8proc_category((utf8proc_int32_t)c)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO: return C_LETTER;
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO: return C_NUMBER;
    default: return C_OTHER;
    }
}

/* GPT-2's bytes_to_unicode: the code point standing for byte b */
static uint32_t byte_char(int b) {
    if ((b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)) return (uint32_t)b;
    int n = 0; /* the rank of b among the bytes that are remapped */
    for (int x = 0; x < b; x++)
        if (!((x >= '!' && x <= '~') || (x >= 0xA1 && x <= 0xAC) || (x >= 0xAE && x <= 0xFF))) n++;
    return 256u + (uint32_t)n;
}

static size_t hash_pair(uint64_t k, size_t cap) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return (size_t)k & (cap - 1);
}

static uint64_t pair_key(int32_t a, int32_t b) { return ((uint64_t)(uint32_t)a << 32 | (uint32_t)b) + 1; }

/* The merge of (a, b): its rank (and *id), or -1. */
static int32_t merge_find(const wn_tokenizer *t, int32_t a, int32_t b, int32_t *id) {
    if (!t->merge_cap) return -1;
    uint64_t k = pair_key(a, b);
    for (size_t i = hash_pair(k, t->merge_cap);; i = (i + 1) & (t->merge_cap - 1)) {
        if (!t->merge_key[i]) return -1;
        if (t->merge_key[i] == k) {
            *id = t->merge_id[i];
            return t->merge_rank[i];
        }
    }
}

/* One merge "left right" -> rank: the ids of both sides and of their concatenation. */
static wn_status add_merge(wn_tokenizer *t, const char *l, size_t ll, const char *r, size_t rl, int32_t rank, const char *dir) {
    char buf[2048];
    int32_t a = vocab_find(t, 0, l, ll), b = vocab_find(t, 0, r, rl), m;
    if (ll + rl > sizeof buf) return wn_seterr(WN_ERR_FORMAT, "tokenizer: %s/tokenizer.json: merge %d is too long", dir, rank);
    memcpy(buf, l, ll);
    memcpy(buf + ll, r, rl);
    m = vocab_find(t, 0, buf, ll + rl);
    if (a < 0 || b < 0 || m < 0)
        return wn_seterr(WN_ERR_FORMAT, "tokenizer: %s/tokenizer.json: merge %d (\"%.*s %.*s\") has a token not in the vocab", dir,
                         rank, (int)WN_MIN(ll, 40), l, (int)WN_MIN(rl, 40), r);
    uint64_t k = pair_key(a, b);
    size_t i = hash_pair(k, t->merge_cap);
    while (t->merge_key[i] && t->merge_key[i] != k) i = (i + 1) & (t->merge_cap - 1);
    if (t->merge_key[i]) return WN_OK; /* a repeated pair keeps its first rank */
    t->merge_key[i] = k;
    t->merge_rank[i] = rank;
    t->merge_id[i] = m;
    return WN_OK;
}

static int json_true(const wn_json *o, const char *key, int def) {
    const wn_json *v = wn_json_get(o, key);
    return wn_json_is_bool(v) ? wn_json_is_true(v) : def;
}

wn_status bpe_load(wn_tokenizer *t, const void *model_, const void *pre_, const char *dir) {
    const wn_json *model = model_, *pre = pre_;
    t->bpe = 1;
    /* the pre-tokenizer: ByteLevel with GPT-2's pattern (alone, or the one
     * pre-tokenizer of a Sequence) */
    const wn_json *type = wn_json_get(pre, "type");
    if (wn_json_is_string(type) && !strcmp(type->str, "Sequence")) {
        const wn_json *list = wn_json_get(pre, "pretokenizers");
        if (wn_json_size(list) == 1) {
            pre = wn_json_at(list, 0);
            type = wn_json_get(pre, "type");
        }
    }
    if (!wn_json_is_string(type) || strcmp(type->str, "ByteLevel") || !json_true(pre, "use_regex", 1))
        return wn_seterr(WN_ERR_UNSUPPORTED,
                         "tokenizer: %s/tokenizer.json: a BPE model with pre_tokenizer %s (winnow has byte-level BPE: ByteLevel "
                         "with use_regex)",
                         dir, wn_json_is_string(type) ? type->str : "null");
    t->add_prefix_space = json_true(pre, "add_prefix_space", 1);
    t->ignore_merges = json_true(model, "ignore_merges", 0);
    const wn_json *v;
    if ((v = wn_json_get(model, "dropout")) && !wn_json_is_null(v))
        return wn_seterr(WN_ERR_UNSUPPORTED, "tokenizer: %s/tokenizer.json: BPE dropout is not supported", dir);
    const char *keys[2] = {"continuing_subword_prefix", "end_of_word_suffix"};
    for (int k = 0; k < 2; k++)
        if ((v = wn_json_get(model, keys[k])) && wn_json_is_string(v) && v->str[0])
            return wn_seterr(WN_ERR_UNSUPPORTED, "tokenizer: %s/tokenizer.json: BPE %s \"%.20s\" is not supported", dir, keys[k],
                             v->str);
    if (json_true(model, "byte_fallback", 0))
        return wn_seterr(WN_ERR_UNSUPPORTED, "tokenizer: %s/tokenizer.json: BPE byte_fallback is not supported", dir);
    for (int b = 0; b < 256; b++) {
        char c[4];
        int n = (int)utf8proc_encode_char((utf8proc_int32_t)byte_char(b), (utf8proc_uint8_t *)c);
        t->byte_id[b] = vocab_find(t, 0, c, (size_t)n);
    }
    const wn_json *merges = wn_json_get(model, "merges");
    if (!wn_json_is_array(merges)) return wn_seterr(WN_ERR_FORMAT, "tokenizer: %s/tokenizer.json: BPE without a merges array", dir);
    size_t n = (size_t)wn_json_size(merges), cap = 16;
    while (cap < 2 * n + 16) cap *= 2;
    t->merge_key = wn_calloc(cap, sizeof *t->merge_key);
    t->merge_rank = wn_malloc(cap * sizeof *t->merge_rank);
    t->merge_id = wn_malloc(cap * sizeof *t->merge_id);
    if (!t->merge_key || !t->merge_rank || !t->merge_id) return wn_seterr(WN_ERR_NOMEM, "tokenizer: out of memory for %zu merges", n);
    t->merge_cap = cap;
    int32_t rank = 0;
    for (const wn_json *m = merges->child; m; m = m->next, rank++) {
        wn_status st;
        if (wn_json_is_string(m)) { /* "left right" */
            const char *s = m->str, *sp = strchr(s, ' ');
            if (!sp || sp == s || !sp[1] || strchr(sp + 1, ' '))
                return wn_seterr(WN_ERR_FORMAT, "tokenizer: %s/tokenizer.json: merge %d \"%.40s\" is not two tokens", dir, rank, s);
            st = add_merge(t, s, (size_t)(sp - s), sp + 1, strlen(sp + 1), rank, dir);
        } else if (wn_json_is_array(m) && wn_json_size(m) == 2 && wn_json_is_string(m->child) && wn_json_is_string(m->child->next)) {
            const char *l = m->child->str, *r = m->child->next->str; /* ["left", "right"] */
            st = add_merge(t, l, strlen(l), r, strlen(r), rank, dir);
        } else {
            return wn_seterr(WN_ERR_FORMAT, "tokenizer: %s/tokenizer.json: merge %d is neither \"a b\" nor [\"a\", \"b\"]", dir, rank);
        }
        if (st != WN_OK) return st;
    }
    return WN_OK;
}

void bpe_free(wn_tokenizer *t) {
    wn_free(t->merge_key);
    wn_free(t->merge_rank);
    wn_free(t->merge_id);
}

/* The end of the GPT-2 pattern's match at cp[i] (n code points). */
static int gpt2_match(const uint32_t *cp, const int *cls, int i, int n) {
    if (cp[i] == '\'' && i + 1 < n) { /* 's 't 're 've 'm 'll 'd */
        uint32_t a = cp[i + 1], b = i + 2 < n ? cp[i + 2] : 0;
        if (a == 's' || a == 't' || a == 'm' || a == 'd') return i + 2;
        if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return i + 3;
    }
    int j = i;
    if (cp[j] == ' ' && j + 1 < n && cls[j + 1] != C_SPACE) j++; /* " ?" before letters, numbers, others */
    if (cls[j] != C_SPACE) {
        int c = cls[j];
        while (j < n && cls[j] == c) j++;
        return j;
    }
    int e = i; /* \s+(?!\S): a run of spaces less the last one when a word follows; else \s+ */
    while (e < n && cls[e] == C_SPACE) e++;
    return e < n && e - i >= 2 ? e - 1 : e;
}

/* BPE of one word: sym[0..ns) ids, merged in place (and their byte spans sb, se,
 * when not NULL); returns the new count. */
static int merge_word(const wn_tokenizer *t, int32_t *sym, int *sb, int *se, int ns) {
    for (;;) {
        int best = -1;
        int32_t best_rank = INT32_MAX, best_id = -1;
        for (int k = 0; k + 1 < ns; k++) {
            int32_t id, r = merge_find(t, sym[k], sym[k + 1], &id);
            if (r >= 0 && r < best_rank) best = k, best_rank = r, best_id = id;
        }
        if (best < 0) return ns;
        sym[best] = best_id;
        memmove(sym + best + 1, sym + best + 2, sizeof *sym * (size_t)(ns - best - 2));
        if (sb) {
            se[best] = se[best + 1];
            memmove(sb + best + 1, sb + best + 2, sizeof *sb * (size_t)(ns - best - 2));
            memmove(se + best + 1, se + best + 2, sizeof *se * (size_t)(ns - best - 2));
        }
        ns--;
    }
}

/* A token of bytes[a, b) (pre: bytes[0] is the space the pre-tokenizer put in front):
 * its span in the text, trimmed of its spaces as tokenizers' byte_level
 * process_offsets does when the post-processor says trim_offsets. */
static wn_status push_bytes(const wn_tokenizer *t, tok_buf *out, int32_t id, const unsigned char *bytes, const int *off,
                            const int *bchar, int a, int b, int pre) {
    /* the whole chars its bytes are part of, as HF aligns byte-level tokens */
    int ca = b > a ? off[bchar[a]] : a, cb = b > a ? off[bchar[b - 1] + 1] : b;
    int32_t s = ca - pre > 0 ? ca - pre : 0, e = cb - pre > 0 ? cb - pre : 0;
    if (t->trim_offsets) {
        int lead = 0, trail = 0;
        while (a + lead < b && bytes[a + lead] == ' ') lead++;
        while (b - trail > a && bytes[b - trail - 1] == ' ') trail++;
        if (lead > 0) {
            if ((out->n == 0 || s == 0) && t->trim_prefix_space && lead == 1) lead = 0;
            s = s + lead < e ? s + lead : e;
        }
        if (trail > 0 && e >= trail) e = e - trail > s ? e - trail : s;
    }
    return tok_push_span(out, id, out->base + s, out->base + e);
}

wn_status bpe_tokenize(const wn_tokenizer *t, const char *s, size_t n, int64_t limit, uint32_t *word, tok_buf *out) {
    (void)word;
    if (!n) return WN_OK;
    const int pre = t->add_prefix_space && s[0] != ' ';
    /* code points, their classes and byte offsets (a leading space when added) */
    uint32_t *cp = wn_malloc((n + 2) * sizeof *cp);
    int *cls = wn_malloc((n + 2) * sizeof *cls), *off = wn_malloc((n + 2) * sizeof *off);
    unsigned char *bytes = wn_malloc(n + 2);
    int32_t *sym = wn_malloc((n + 2) * sizeof *sym);
    char *wbuf = wn_malloc(2 * n + 4);
    int *sb = NULL, *se = NULL, *bchar = NULL; /* with out->track: each symbol's bytes [sb, se), each byte's char */
    if (out->track == 1) {
        sb = wn_malloc((n + 2) * sizeof *sb), se = wn_malloc((n + 2) * sizeof *se);
        bchar = wn_malloc((n + 2) * sizeof *bchar);
    }
    wn_status st = WN_OK;
    if (!cp || !cls || !off || !bytes || !sym || !wbuf || (out->track == 1 && (!sb || !se || !bchar))) {
        st = wn_seterr(WN_ERR_NOMEM, "tokenizer: out of memory for a text of %zu bytes", n);
        goto done;
    }
    size_t nb = 0;
    if (pre) bytes[nb++] = ' ';
    memcpy(bytes + nb, s, n);
    nb += n;
    int nc = 0;
    for (size_t i = 0; i < nb;) {
        utf8proc_int32_t c;
        utf8proc_ssize_t k = utf8proc_iterate(bytes + i, (utf8proc_ssize_t)(nb - i), &c);
        if (k < 1) k = 1, c = 0xFFFD; /* cannot happen: the text was sanitised */
        cp[nc] = (uint32_t)c;
        cls[nc] = char_class((uint32_t)c);
        for (size_t b = i; bchar && b < i + (size_t)k; b++) bchar[b] = nc;
        off[nc++] = (int)i;
        i += (size_t)k;
    }
    off[nc] = (int)nb;
    for (int i = 0; i < nc && !out->stopped;) {
        int e = gpt2_match(cp, cls, i, nc);
        const unsigned char *w = bytes + off[i];
        int wl = off[e] - off[i], ns = 0;
        int32_t whole = -1;
        if (t->ignore_merges) { /* the word as byte characters, looked up whole */
            size_t o = 0;
            for (int k = 0; k < wl; k++) o += (size_t)utf8proc_encode_char((utf8proc_int32_t)byte_char(w[k]), (utf8proc_uint8_t *)wbuf + o);
            whole = vocab_find(t, 0, wbuf, o);
        }
        if (whole >= 0) {
            if (sb) sb[ns] = off[i], se[ns] = off[e];
            sym[ns++] = whole;
        } else {
            for (int k = 0; k < wl; k++)
                if (t->byte_id[w[k]] >= 0) { /* no unk: a byte without a token is dropped */
                    if (sb) sb[ns] = off[i] + k, se[ns] = off[i] + k + 1;
                    sym[ns++] = t->byte_id[w[k]];
                }
            ns = merge_word(t, sym, sb, se, ns);
        }
        for (int k = 0; k < ns && st == WN_OK; k++)
            st = sb ? push_bytes(t, out, sym[k], bytes, off, bchar, sb[k], se[k], pre) : tok_push(out, sym[k]);
        if (st != WN_OK) break;
        if (limit >= 0 && (int64_t)out->n >= limit) out->stopped = 1; /* after a word, as tokenize_with_limit */
        i = e;
    }
done:
    wn_free(cp);
    wn_free(cls);
    wn_free(off);
    wn_free(bytes);
    wn_free(sym);
    wn_free(wbuf);
    wn_free(sb);
    wn_free(se);
    wn_free(bchar);
    return st;
}
