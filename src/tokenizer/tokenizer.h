/*
 * tokenizer.h - inside the tokenizer module (not installed). BERT's tokenizer as the
 * HuggingFace fast tokenizer (the `tokenizers` library behind AutoTokenizer, which
 * sentence-transformers uses) computes it:
 *   vocab.c      loading: vocab.txt / tokenizer.json / configs -> struct wn_tokenizer
 *   normalize.c  BertNormalizer + BertPreTokenizer: text -> words
 *   wordpiece.c  WordPiece: word -> ids
 *   encode.c     added-token split, [CLS] a [SEP] b [SEP], longest_first truncation
 *   bpe.c        byte-level BPE (RoBERTa, GPT-2)
 *   unigram.c    SentencePiece Unigram (XLM-R, T5), precompiled.c its charsmap normalizer
 * A loaded tokenizer is immutable: encode calls on one tokenizer may run concurrently.
 */
#ifndef WN_TOKENIZER_H
#define WN_TOKENIZER_H

#include <stdint.h>

#include "util/strmap.h"
#include "util/util.h"

#define TOK_MAX_PREFIX 16 /* bytes of the continuing-subword prefix ("##") */

typedef struct {
    char *text; /* the token as it appears in raw text (e.g. "[SEP]") */
    int len;
    int32_t id;
    /* tokenizer.json's flags: matched in the normalized text (not the raw text);
     * whitespace on its left / right is part of the match. (single_word is not
     * read: no model winnow loads sets it.) */
    int normalized, lstrip, rstrip;
} tok_added;

/* One item of the post-processor's template: a special token (id >= 0) or the
 * text A / B, with the type id its tokens get. */
typedef struct {
    int32_t id;
    int type;
} tok_tpl;
#define TOK_TPL_A (-1)
#define TOK_TPL_B (-2)
#define TOK_TPL_MAX 16

/* One normalizer step of a Unigram tokenizer: the Precompiled charsmap, or a
 * Replace of a literal string. */
typedef struct {
    int precompiled;
    char *from, *to;  /* Replace: a literal pattern (from), or rx when n_rx > 0 */
    struct tok_rx_atom *rx;
    int n_rx;
} tok_norm;
#define TOK_NORM_MAX 8
enum { TOK_PREPEND_NEVER, TOK_PREPEND_ALWAYS, TOK_PREPEND_FIRST };

struct wn_tokenizer {
    /* vocab: V entries; a string's id is map[strmap id] */
    wn_strmap strs;
    int32_t *map;       /* (strs.n) vocab id of each interned string */
    int n_vocab;        /* V: 1 + the largest id */
    int max_token_bytes; /* longest vocab entry, bytes: bounds WordPiece's search */

    /* normalizer (BertNormalizer) */
    int clean_text, handle_chinese, strip_accents, lowercase;

    /* WordPiece */
    char prefix[TOK_MAX_PREFIX + 1]; /* "##" */
    int prefix_len;
    int max_chars_per_word; /* 100: longer words are [UNK] */

    int32_t cls_id, sep_id, unk_id, pad_id; /* pad_id -1 when absent */
    int max_length;                          /* tokens, special tokens included */

    /* added (special) tokens, matched in the raw text before normalization */
    tok_added *added;
    int n_added;
    uint8_t added_first[32]; /* bitmap of the first bytes of added tokens */
    int n_norm_added;        /* how many are matched in the normalized text */

    /* the post-processor (tokenizer.json's BertProcessing, RobertaProcessing or
     * TemplateProcessing; without one, BERT's [CLS] A [SEP] (B [SEP])):
     * tpl[0] for a single text, tpl[1] for a pair */
    tok_tpl tpl[2][TOK_TPL_MAX];
    int n_tpl[2];

    /* BPE (tokenizer.json model.type "BPE", bpe.c): byte-level, as GPT-2 and RoBERTa */
    int bpe;                  /* 1: the model is BPE (no normalizer), 0: WordPiece */
    int add_prefix_space;     /* ByteLevel: a space before each piece that lacks one */
    int ignore_merges;        /* a word in the vocab is one token, before any merge */
    uint64_t *merge_key;      /* open addressing: (left id << 32 | right id), 0 empty */
    int32_t *merge_rank, *merge_id;
    size_t merge_cap;         /* a power of 2 */
    int32_t byte_id[256];     /* the vocab id of each byte's character (-1: none) */
    int trim_offsets;         /* the post-processor's trim_offsets (RobertaProcessing, ByteLevel) */
    int trim_prefix_space;    /* and its add_prefix_space, which that trimming reads */

    /* Unigram (tokenizer.json model.type "Unigram", unigram.c): SentencePiece's
     * model, with its normalizer and the Metaspace pre-tokenizer */
    int unigram;              /* 1: the model is Unigram */
    double *uni_score;        /* (V) each piece's log probability */
    double uni_unk_score;     /* an unknown character: the lowest score - 10 */
    int32_t uni_unk;          /* model.unk_id (-1: none) */
    int byte_fallback;        /* unknown text as <0xXX> byte pieces */
    int32_t uni_byte[256];    /* the id of "<0xXX>" (-1: none) */
    tok_norm norm[TOK_NORM_MAX]; /* the normalizer, in order */
    int n_norm;
    uint32_t *pc_trie;        /* the Precompiled charsmap's darts-clone units (precompiled.c) */
    size_t pc_n_trie;
    char *pc_norm;            /* its replacement strings, NUL-terminated */
    size_t pc_n_norm;
    int ws_split;             /* WhitespaceSplit before Metaspace */
    char ms_rep[8];           /* Metaspace's replacement ("\u2581"); "" when none */
    int ms_rep_len;
    int ms_prepend;           /* TOK_PREPEND_*: where it puts one in front */
    int ms_split;             /* split the text before each replacement character */
};

/* A growing list of token ids; with track set, each id's byte span in the text
 * too (off[2i], off[2i+1]: start, end; -1 -1 where a path does not know it). */
typedef struct {
    int32_t *ids;
    size_t n, cap;
    int stopped;    /* a limit was reached after a word: nothing more goes in */
    int started;    /* a piece of the text went through the model (Metaspace's "first") */
    int track;      /* keep the spans (off); 2: keep -1 -1 (a path that cannot know them) */
    int32_t *off;   /* (cap * 2) */
    int32_t base;   /* where the piece being tokenized starts in the text, bytes */
} tok_buf;

/* vocab.c: the vocab id of s[0..len) (with the continuing prefix first when cont),
 * or -1. */
int32_t vocab_find(const wn_tokenizer *t, int cont, const char *s, size_t len);

/* vocab.c: adds token s[0..len) with vocab id id (a repeated string takes the new
 * id); *map_cap is the capacity of t->map. */
wn_status vocab_add(wn_tokenizer *t, const char *s, size_t len, int32_t id, size_t *map_cap);

/* vocab_json.c: the byte span [*vs, *ve) of model.vocab in tokenizer.json's text s
 * (0), or -1 when not found in the expected form. */
int vocab_json_span(const char *s, size_t n, size_t *vs, size_t *ve);
/* Adds the "token": id pairs of the vocab object s[0..n); WN_ERR_FORMAT (no message
 * set) when it is not in the plain form, WN_ERR_NOMEM. */
wn_status vocab_json_read(wn_tokenizer *t, const char *s, size_t n, size_t *map_cap);

/* wordpiece.c: appends the pieces of one word (cp[0..n_chars), normalized; the
 * word has n_total chars, n_total > n_chars when it was too long to keep). span:
 * NULL, or each char's byte span in the piece of text (span[2i], span[2i+1]) and
 * span_end where the whole word ends, for out->off (+ out->base). */
wn_status wordpiece_word(const wn_tokenizer *t, const uint32_t *cp, int n_chars, int n_total, const int32_t *span,
                         int32_t span_end, tok_buf *out);

/* normalize.c: normalizes and pre-tokenizes text[0..len) (valid UTF-8) and appends
 * the word pieces to out, stopping once out holds at least limit ids (limit < 0:
 * no limit). word: scratch for max_chars_per_word + 1 code points. */
wn_status basic_tokenize(const wn_tokenizer *t, const char *text, size_t len, int64_t limit, uint32_t *word,
                         tok_buf *out);

/* normalize.c: the normalizer alone (BertNormalizer: clean text, CJK spacing,
 * accents, lowercase) on text[0..len) (valid UTF-8), into a new string *out of
 * *out_len bytes (wn_free it): where the HF tokenizer looks for the added tokens
 * marked normalized. spans: NULL, or *spans gets (wn_free it) for each byte of *out
 * the byte span [start, end) in text of the char it came from. */
wn_status bert_normalize(const wn_tokenizer *t, const char *text, size_t len, char **out, size_t *out_len,
                         int32_t **spans);

/* bpe.c: reads model.merges and the ByteLevel pre-tokenizer (pre, may be NULL)
 * of a BPE tokenizer.json whose vocab is loaded; dir names it in errors. model and
 * pre are wn_json objects (void * keeps wn_json out of this header). */
wn_status bpe_load(wn_tokenizer *t, const void *model, const void *pre, const char *dir);
/* bpe.c: appends the BPE ids of s[0..n) (valid UTF-8, between added tokens): the
 * GPT-2 split into words, each word's bytes merged by rank; stops once out holds
 * limit ids (limit < 0: all). word is unused (the piece_fn shape). */
wn_status bpe_tokenize(const wn_tokenizer *t, const char *s, size_t n, int64_t limit, uint32_t *word, tok_buf *out);
void bpe_free(wn_tokenizer *t);

/* unigram.c: reads a Unigram tokenizer.json's model (vocab of [piece, score],
 * unk_id, byte_fallback), normalizer (Precompiled, Replace, a Sequence of them)
 * and pre-tokenizer (Metaspace, WhitespaceSplit, a Sequence of them); j is the
 * whole file (a wn_json). */
wn_status unigram_load(wn_tokenizer *t, const void *j, const char *dir, size_t *map_cap);
/* unigram.c: appends the ids of s[0..n) (valid UTF-8, between raw-matched added
 * tokens): normalized, split on the normalized added tokens, pre-tokenized, each
 * piece segmented by Viterbi; stops once out holds limit ids (limit < 0: all). */
wn_status unigram_tokenize(const wn_tokenizer *t, const char *s, size_t n, int64_t limit, uint32_t *word, tok_buf *out);
void unigram_free(wn_tokenizer *t);

/* precompiled.c: decodes a precompiled_charsmap (base64) into t->pc_*. */
wn_status precompiled_load(wn_tokenizer *t, const char *b64, const char *dir);
/* precompiled.c: s[0..n) (valid UTF-8) through the charsmap, into a new string
 * *out of *out_len bytes (wn_free it). al: NULL, or where each byte of s comes from
 * in the original text (al[2i], al[2i+1]: start, end); then *out_al gets (wn_free it)
 * the same for each byte of *out, as HF's NormalizedString aligns it. */
wn_status precompiled_normalize(const wn_tokenizer *t, const char *s, size_t n, const int32_t *al, char **out,
                                size_t *out_len, int32_t **out_al);
void precompiled_free(wn_tokenizer *t);

/* encode.c: splits s[0..n) on the added tokens of one kind (normalized or not;
 * leftmost, then longest): the text between them through piece(), the tokens' ids
 * to out. */
typedef wn_status (*piece_fn)(const wn_tokenizer *t, const char *s, size_t n, int64_t limit, uint32_t *word, tok_buf *out);
wn_status split_added(const wn_tokenizer *t, const char *s, size_t n, int normalized, piece_fn piece, int64_t limit,
                      uint32_t *word, tok_buf *out);

/* wn_grow for a tok_buf, with an error naming the tokenizer; tok_push's span is
 * unknown (-1 -1), tok_push_span's [start, end) (bytes, already with out->base). */
wn_status tok_push(tok_buf *b, int32_t id);
wn_status tok_push_span(tok_buf *b, int32_t id, int32_t start, int32_t end);

#endif
