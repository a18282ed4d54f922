/*
 * lexical.h - BM25 internals shared by the files of src/lexical/ (not installed).
 *
 * analyze.c     the analyzer: text -> terms, as Lucene's EnglishAnalyzer (and so
 *               Anserini's DefaultEnglishAnalyzer) computes them
 * porter.c      Porter's stemmer, as Lucene's PorterStemFilter computes it
 * bm25_build.c  the index in memory: documents, term dictionary, postings
 * bm25_search.c top k by MaxScore over block-max postings, batch search on a pool
 * bm25_io.c     save / load of the "WNBM" file (docs/FORMAT.md)
 *
 * Names: N documents, V terms, BM25_BLOCK (128) postings per block. Documents have an
 * internal id (uint32, order of addition) and an external int64 id.
 */
#ifndef WN_LEXICAL_H
#define WN_LEXICAL_H

#include <stdint.h>

#include "util/util.h"

/* ---- analyzer (analyze.c) */

#define BM25_MAX_TOKEN 255 /* StandardTokenizer's maxTokenLength: longer words are split */

/* Receives each term (UTF-8, not NUL-terminated, len >= 1). Returns 0 to go on. */
typedef int (*bm25_term_fn)(void *ud, const char *term, int len);

/* Word split (UAX#29-like), possessive "'s" removal, lower case, stopwords,
 * Porter stemming; stem/stopwords switch the last two off. Invalid UTF-8 bytes
 * separate words. Returns WN_OK or the callback's non-zero value as WN_ERR_NOMEM. */
wn_status bm25_analyze(const char *text, size_t len, int stem, int stopwords, bm25_term_fn fn, void *ud);

/* 1 if the lower-cased word w (n bytes) is one of Lucene's 33 English stopwords. */
int bm25_is_stopword(const char *w, int n);

/* ---- Porter stemmer (porter.c). w: n code points, stemmed in place; returns the
 * new length. Words of 1 or 2 characters are left alone, as in Lucene. */
int bm25_porter_stem(uint32_t *w, int n);

/* ---- Lucene's 1-byte document length (SmallFloat.intToByte4 / byte4ToInt) */
uint8_t bm25_len_to_norm(uint32_t len);
uint32_t bm25_norm_to_len(uint8_t norm);

/* ---- the index (bm25_build.c) */

#define BM25_BLOCK 128

/* One block of postings of a term: postings [BM25_BLOCK*i, BM25_BLOCK*(i+1)). */
typedef struct {
    uint32_t last_doc; /* internal id of the block's last posting */
    uint32_t end;      /* byte offset just past the block in the term's postings */
    uint32_t max_tf;   /* largest term frequency in the block */
    uint32_t min_norm; /* smallest norm byte in the block (0..255) */
} bm25_block;

/* A term. Its postings are varints: per document v = (gap << 1) | (tf == 1),
 * gap = doc - previous doc - 1 (previous = -1 at the start), then tf as a varint
 * when tf > 1. Full blocks are described in blocks[]; the tail (df % 128
 * postings) by the running fields tail_*. */
typedef struct {
    uint8_t *post;        /* n_post bytes; owned when cap_post > 0, else mapped */
    bm25_block *blocks;   /* n_blocks; owned when cap_blocks > 0, else mapped */
    uint32_t n_post, cap_post;
    uint32_t n_blocks, cap_blocks;
    uint32_t df;          /* documents containing the term */
    uint32_t last_doc;    /* last posting's document */
    uint32_t max_tf;      /* over all postings */
    uint32_t min_norm;
    uint32_t tail_max_tf; /* over the postings after the last full block */
    uint32_t tail_min_norm;
    uint32_t name_off;    /* the term's bytes: names + name_off, name_len bytes */
    uint32_t name_len;
    uint32_t mark;        /* scratch of wn_bm25_add: slot + 1 in doc_terms, 0 = none */
} bm25_term;

struct wn_bm25 {
    wn_bm25_params p;
    /* documents */
    int64_t n_docs;
    int64_t *ext_ids;     /* (N) external ids */
    uint32_t *lens;       /* (N) number of terms after analysis */
    uint8_t *norms;       /* (N) bm25_len_to_norm(lens[i]) */
    size_t cap_docs;      /* 0: the three arrays above are mapped */
    uint64_t sum_len;     /* sum of lens */
    int64_t n_nonempty;   /* documents with at least one term: Lucene's docCount */
    /* external id -> internal id, open addressing, for duplicates (cap is a power of 2) */
    uint32_t *id_slots;   /* (id_cap) internal id + 1, 0 = empty */
    size_t id_cap;
    /* terms */
    bm25_term *terms;     /* (V) */
    uint32_t n_terms, cap_terms;
    char *names;          /* all term bytes; owned when cap_names > 0 */
    size_t n_names, cap_names;
    uint64_t *term_slots; /* (hash >> 32) << 32 | (term id + 1), 0 = empty, open addressing */
    size_t term_cap;
    /* scratch of wn_bm25_add: the unique terms of the document being added */
    uint32_t *doc_terms, *doc_tfs;
    size_t cap_doc_terms;
    /* the file this index was loaded from, mapped (NULL when built in memory) */
    void *map;
    size_t map_len;
};

/* A zeroed index with params p (NULL: defaults) checked, no tables yet. */
wn_status bm25_alloc(const wn_bm25_params *p, wn_bm25 **out);
uint64_t bm25_hash(const char *s, size_t n);
/* Term id of the UTF-8 string s (n bytes), or -1. */
int64_t bm25_find_term(const wn_bm25 *ix, const char *s, size_t n);
/* Internal id of the document with external id, or -1. */
int64_t bm25_find_doc(const wn_bm25 *ix, int64_t id);
/* Rebuilds the term and id hash tables from terms[] and ext_ids[] (after load). */
wn_status bm25_rehash(wn_bm25 *ix);

/* Decodes block bi of term t: fills docs[] and tfs[] (<= BM25_BLOCK entries) and
 * returns their number. */
int bm25_decode_block(const bm25_term *t, uint32_t bi, uint32_t *docs, uint32_t *tfs);
/* Number of blocks, the tail included. */
static inline uint32_t bm25_n_blocks(const bm25_term *t) { return (t->df + BM25_BLOCK - 1) / BM25_BLOCK; }

#endif
