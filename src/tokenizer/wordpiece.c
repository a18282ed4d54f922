/*
 * wordpiece.c - WordPiece (Wu et al. 2016, as in BERT): greedy longest-match-first
 * over the chars of one normalized word; pieces after the first carry the "##"
 * prefix. A word longer than max_input_chars_per_word (100), or one with a position
 * where no piece matches, becomes a single [UNK] (tokenizers' models/wordpiece).
 * The search only tries pieces no longer than the longest vocab entry.
 */
#include <string.h>
#include <utf8proc.h>

#include "tokenizer.h"

wn_status tok_push_span(tok_buf *b, int32_t id, int32_t start, int32_t end) {
    if (b->n == b->cap) {
        size_t off_cap = 2 * b->cap; /* off holds two entries per id */
        if (wn_grow((void **)&b->ids, &b->cap, b->n + 1, sizeof *b->ids) != WN_OK ||
            (b->track && wn_grow((void **)&b->off, &off_cap, 2 * b->cap, sizeof *b->off) != WN_OK))
            return wn_seterr(WN_ERR_NOMEM, "tokenizer: out of memory for %zu token ids", b->n + 1);
    }
    if (b->track) { /* 2: spans unknown on this path */
        b->off[2 * b->n] = b->track == 1 ? start : -1;
        b->off[2 * b->n + 1] = b->track == 1 ? end : -1;
    }
    b->ids[b->n++] = id;
    return WN_OK;
}

wn_status tok_push(tok_buf *b, int32_t id) { return tok_push_span(b, id, -1, -1); }

/* the span of chars [a, b) of the word, or unknown */
static wn_status push_chars(tok_buf *out, int32_t id, const int32_t *span, int a, int b) {
    if (!span) return tok_push(out, id);
    return tok_push_span(out, id, out->base + span[2 * a], out->base + span[2 * (b - 1) + 1]);
}

wn_status wordpiece_word(const wn_tokenizer *t, const uint32_t *cp, int n_chars, int n_total, const int32_t *span,
                         int32_t span_end, tok_buf *out) {
    if (n_total > t->max_chars_per_word) /* [UNK] for the whole word, as HF aligns it */
        return span ? tok_push_span(out, t->unk_id, out->base + span[0], out->base + span_end) : tok_push(out, t->unk_id);
    /* the word as UTF-8, off[i] = byte offset of char i */
    char bytes[4 * 256];
    int off_stack[257];
    char *buf = bytes;
    int *off = off_stack;
    if (n_chars > 256) { /* only with a configured max_input_chars_per_word > 255 */
        buf = wn_malloc((size_t)n_chars * 4);
        off = wn_malloc(((size_t)n_chars + 1) * sizeof *off);
        if (!buf || !off) {
            wn_free(buf);
            wn_free(off);
            return wn_seterr(WN_ERR_NOMEM, "tokenizer: out of memory for a word of %d chars", n_chars);
        }
    }
    off[0] = 0;
    for (int i = 0; i < n_chars; i++) off[i + 1] = off[i] + (int)utf8proc_encode_char((utf8proc_int32_t)cp[i], (utf8proc_uint8_t *)buf + off[i]);

    size_t n0 = out->n;
    wn_status st = WN_OK;
    int start = 0;
    while (start < n_chars) {
        int cont = start > 0;
        int max_bytes = t->max_token_bytes - (cont ? t->prefix_len : 0);
        int32_t id = -1;
        int end = n_chars;
        while (end > start && off[end] - off[start] > max_bytes) end--;
        for (; end > start; end--) {
            id = vocab_find(t, cont, buf + off[start], (size_t)(off[end] - off[start]));
            if (id >= 0) break;
        }
        if (id < 0) { /* no piece at this position: the whole word is [UNK] */
            out->n = n0;
            st = push_chars(out, t->unk_id, span, 0, n_chars);
            break;
        }
        if ((st = push_chars(out, id, span, start, end)) != WN_OK) break;
        start = end;
    }
    if (buf != bytes) {
        wn_free(buf);
        wn_free(off);
    }
    return st;
}
