/*
 * bm25_build.c - the BM25 index in memory: documents are added one at a time
 * (a stream), analyzed, and their postings appended to each term's compressed
 * list, so the index is searchable after every wn_bm25_add with no finalize
 * step. Also Lucene's one-byte document length (SmallFloat), which BM25 scores
 * with, and the hash tables for terms and external ids.
 *
 * An index loaded from a file points into the mapped file; the first wn_bm25_add
 * copies the document arrays, and each term touched, into memory (copy on write).
 * wn_bm25_add is all or nothing: capacity is reserved before anything is written,
 * so a failed add leaves the index as it was (at most with unused terms, df = 0).
 */
#include <string.h>

#include "lexical.h"

/* ---- Lucene's SmallFloat.intToByte4 / byte4ToInt: lengths below 24 are exact,
 * larger ones keep 4 significant bits (a float with 3 mantissa bits). Lucene 8's
 * BM25Similarity stores this byte per document and scores with the decoded
 * length, so Anserini's published figures include the rounding: we do the same.
 * Checked on SciFact's train split (tests/test_bm25_scifact.c): with the one-byte
 * lengths nDCG@10 is 0.6974, as Lucene 8.7's own run; with exact lengths 0.6971.
 * The exact lengths stay in the index (lens[]) for wn_bm25_doc_length. */

#define NORM_FREE 24 /* 255 - longToInt4(INT32_MAX) */

static uint32_t long_to_int4(uint32_t i) {
    int bits = i ? 32 - __builtin_clz(i) : 0;
    if (bits < 4) return i; /* subnormal */
    int shift = bits - 4;
    uint32_t enc = (i >> shift) & 0x07;
    return enc | ((uint32_t)(shift + 1) << 3);
}

static uint32_t int4_to_long(uint32_t e) {
    uint32_t bits = e & 0x07;
    int shift = (int)(e >> 3) - 1;
    return shift < 0 ? bits : (bits | 0x08) << shift;
}

uint8_t bm25_len_to_norm(uint32_t len) {
    if (len > INT32_MAX) len = INT32_MAX;
    if (len < NORM_FREE) return (uint8_t)len;
    return (uint8_t)(NORM_FREE + long_to_int4(len - NORM_FREE));
}

uint32_t bm25_norm_to_len(uint8_t norm) {
    if (norm < NORM_FREE) return norm;
    return NORM_FREE + int4_to_long((uint32_t)norm - NORM_FREE);
}

/* ---- hashing */

uint64_t bm25_hash(const char *s, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull ^ n;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        h = (h ^ w) * 0x100000001b3ull;
        h ^= h >> 29;
    }
    for (; i < n; i++) h = (h ^ (uint8_t)s[i]) * 0x100000001b3ull;
    h ^= h >> 32;
    h *= 0xd6e8feb86659fd93ull;
    h ^= h >> 32;
    return h;
}

static uint64_t hash_id(int64_t id) {
    uint64_t h = (uint64_t)id * 0x9e3779b97f4a7c15ull;
    return h ^ (h >> 31);
}

int64_t bm25_find_term(const wn_bm25 *ix, const char *s, size_t n) {
    if (!ix->term_cap) return -1;
    size_t mask = ix->term_cap - 1;
    uint64_t h = bm25_hash(s, n), tag = h >> 32;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        uint64_t v = ix->term_slots[i];
        if (!v) return -1;
        if ((v >> 32) != tag) continue; /* the tag spares most visits to terms[] */
        uint32_t id = (uint32_t)v - 1;
        const bm25_term *t = &ix->terms[id];
        if (t->name_len == n && memcmp(ix->names + t->name_off, s, n) == 0) return id;
    }
}

int64_t bm25_find_doc(const wn_bm25 *ix, int64_t id) {
    if (!ix->id_cap) return -1;
    size_t mask = ix->id_cap - 1;
    for (size_t i = hash_id(id) & mask;; i = (i + 1) & mask) {
        uint32_t v = ix->id_slots[i];
        if (!v) return -1;
        if (ix->ext_ids[v - 1] == id) return v - 1;
    }
}

static void put_id_slot(uint32_t *slots, size_t cap, uint64_t h, uint32_t v) {
    size_t mask = cap - 1, i = h & mask;
    while (slots[i]) i = (i + 1) & mask;
    slots[i] = v;
}

static void put_tagged_slot(uint64_t *slots, size_t cap, uint64_t h, uint32_t v) {
    size_t mask = cap - 1, i = h & mask;
    while (slots[i]) i = (i + 1) & mask;
    slots[i] = (h >> 32) << 32 | v;
}

static wn_status resize_terms_table(wn_bm25 *ix, size_t cap) {
    uint64_t *s = wn_calloc(cap, sizeof *s);
    if (!s) return wn_seterr(WN_ERR_NOMEM, "bm25: out of memory for a term table of %zu slots", cap);
    for (uint32_t t = 0; t < ix->n_terms; t++) {
        const bm25_term *tm = &ix->terms[t];
        put_tagged_slot(s, cap, bm25_hash(ix->names + tm->name_off, tm->name_len), t + 1);
    }
    wn_free(ix->term_slots);
    ix->term_slots = s;
    ix->term_cap = cap;
    return WN_OK;
}

static wn_status resize_id_table(wn_bm25 *ix, size_t cap) {
    uint32_t *s = wn_calloc(cap, sizeof *s);
    if (!s) return wn_seterr(WN_ERR_NOMEM, "bm25: out of memory for an id table of %zu slots", cap);
    for (int64_t d = 0; d < ix->n_docs; d++) put_id_slot(s, cap, hash_id(ix->ext_ids[d]), (uint32_t)d + 1);
    wn_free(ix->id_slots);
    ix->id_slots = s;
    ix->id_cap = cap;
    return WN_OK;
}

static size_t table_size(size_t n) {
    size_t cap = 1024;
    while (cap < 2 * n + 2) cap *= 2;
    return cap;
}

wn_status bm25_rehash(wn_bm25 *ix) {
    wn_status st = resize_terms_table(ix, table_size(ix->n_terms));
    if (!st) st = resize_id_table(ix, table_size((size_t)ix->n_docs));
    if (!st) {
        /* duplicates in a file would make find_id ambiguous: refuse them */
        for (int64_t d = 0; d < ix->n_docs; d++)
            if (bm25_find_doc(ix, ix->ext_ids[d]) != d)
                return wn_seterr(WN_ERR_FORMAT, "bm25: document id %lld appears twice in the index",
                                 (long long)ix->ext_ids[d]);
    }
    return st;
}

/* ---- create / free / size */

wn_bm25_params wn_bm25_default_params(void) {
    wn_bm25_params p;
    memset(&p, 0, sizeof p);
    p.k1 = 0.9f;
    p.b = 0.4f;
    p.stem = 1;
    p.stopwords = 1;
    return p;
}

static wn_status check_params(const wn_bm25_params *p) {
    if (!(p->k1 >= 0.0f && p->k1 < 1e6f))
        return wn_seterr(WN_ERR_ARG, "bm25: k1 = %g, expected a finite value >= 0 (Anserini: 0.9)", (double)p->k1);
    if (!(p->b >= 0.0f && p->b <= 1.0f))
        return wn_seterr(WN_ERR_ARG, "bm25: b = %g, expected 0 <= b <= 1 (Anserini: 0.4)", (double)p->b);
    return WN_OK;
}

wn_status bm25_alloc(const wn_bm25_params *p, wn_bm25 **out) {
    *out = NULL;
    wn_bm25_params d = wn_bm25_default_params();
    if (!p) p = &d;
    wn_status st = check_params(p);
    if (st) return st;
    wn_bm25 *ix = wn_calloc(1, sizeof *ix);
    if (!ix) return wn_seterr(WN_ERR_NOMEM, "bm25: out of memory");
    ix->p = *p;
    *out = ix;
    return WN_OK;
}

wn_status wn_bm25_create(const wn_bm25_params *p, wn_bm25 **out) {
    WN_ENTRY();
    if (!out) return wn_seterr(WN_ERR_ARG, "wn_bm25_create: out is NULL");
    wn_bm25 *ix;
    wn_status st = bm25_alloc(p, &ix);
    if (st) return st;
    if (resize_terms_table(ix, 1024) || resize_id_table(ix, 1024)) {
        wn_bm25_free(ix);
        return wn_seterr(WN_ERR_NOMEM, "wn_bm25_create: out of memory");
    }
    *out = ix;
    return WN_OK;
}

void wn_bm25_free(wn_bm25 *ix) {
    if (!ix) return;
    for (uint32_t t = 0; t < ix->n_terms; t++) {
        if (ix->terms[t].cap_post) wn_free(ix->terms[t].post);
        if (ix->terms[t].cap_blocks) wn_free(ix->terms[t].blocks);
    }
    if (ix->cap_terms) wn_free(ix->terms);
    if (ix->cap_names) wn_free(ix->names);
    if (ix->cap_docs) {
        wn_free(ix->ext_ids);
        wn_free(ix->lens);
        wn_free(ix->norms);
    }
    wn_free(ix->term_slots);
    wn_free(ix->id_slots);
    wn_free(ix->doc_terms);
    wn_free(ix->doc_tfs);
    wn_unmap_file(ix->map, ix->map_len);
    wn_free(ix);
}

int64_t wn_bm25_count(const wn_bm25 *ix) { return ix ? ix->n_docs : 0; }

wn_bm25_params wn_bm25_params_of(const wn_bm25 *ix) { return ix->p; }

/* ---- postings */

int bm25_decode_block(const bm25_term *t, uint32_t bi, uint32_t *docs, uint32_t *tfs) {
    uint32_t start = bi ? t->blocks[bi - 1].end : 0;
    uint32_t end = bi < t->n_blocks ? t->blocks[bi].end : t->n_post;
    uint32_t prev = bi ? t->blocks[bi - 1].last_doc : UINT32_MAX;
    const uint8_t *p = t->post + start, *e = t->post + end;
    int n = 0;
    while (p < e) {
        uint64_t v = 0;
        int sh = 0;
        uint8_t c;
        do {
            c = *p++;
            v |= (uint64_t)(c & 0x7f) << sh;
            sh += 7;
        } while (c & 0x80);
        prev = prev + 1 + (uint32_t)(v >> 1);
        uint32_t tf = 1;
        if (!(v & 1)) {
            tf = 0;
            sh = 0;
            do {
                c = *p++;
                tf |= (uint32_t)(c & 0x7f) << sh;
                sh += 7;
            } while (c & 0x80);
        }
        docs[n] = prev;
        tfs[n] = tf;
        n++;
    }
    return n;
}

/* Makes a mapped term's arrays owned with room for one more posting. */
static wn_status reserve_term(bm25_term *t) {
    size_t need = (size_t)t->n_post + 10;
    if (need > UINT32_MAX) return wn_seterr(WN_ERR_UNSUPPORTED, "bm25: a posting list passed 4 GiB");
    if (t->cap_post < need) {
        size_t cap = t->cap_post ? t->cap_post : 0;
        uint8_t *np;
        if (t->cap_post) {
            cap = WN_MAX(need, (size_t)t->cap_post * 2);
            np = wn_realloc(t->post, cap);
        } else { /* empty or mapped */
            cap = WN_MAX(need, (size_t)16);
            np = wn_malloc(cap);
            if (np && t->n_post) memcpy(np, t->post, t->n_post);
        }
        if (!np) return wn_seterr(WN_ERR_NOMEM, "bm25: out of memory growing a posting list");
        t->post = np;
        t->cap_post = (uint32_t)WN_MIN(cap, (size_t)UINT32_MAX);
    }
    if (t->df % BM25_BLOCK == BM25_BLOCK - 1 && t->cap_blocks < t->n_blocks + 1) {
        size_t cap = WN_MAX((size_t)t->n_blocks * 2, (size_t)4);
        bm25_block *nb;
        if (t->cap_blocks) {
            nb = wn_realloc(t->blocks, cap * sizeof *nb);
        } else {
            nb = wn_malloc(cap * sizeof *nb);
            if (nb && t->n_blocks) memcpy(nb, t->blocks, t->n_blocks * sizeof *nb);
        }
        if (!nb) return wn_seterr(WN_ERR_NOMEM, "bm25: out of memory growing a block list");
        t->blocks = nb;
        t->cap_blocks = (uint32_t)cap;
    }
    return WN_OK;
}

static uint8_t *put_varint(uint8_t *p, uint64_t v) {
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

/* Appends (doc, tf) to t; capacity was reserved. */
static void append_posting(bm25_term *t, uint32_t doc, uint32_t tf, uint8_t norm) {
    uint32_t gap = doc - t->last_doc - 1; /* last_doc is UINT32_MAX before the first */
    uint8_t *p = t->post + t->n_post;
    p = put_varint(p, ((uint64_t)gap << 1) | (tf == 1));
    if (tf != 1) p = put_varint(p, tf);
    t->n_post = (uint32_t)(p - t->post);
    t->last_doc = doc;
    t->df++;
    if (tf > t->max_tf) t->max_tf = tf;
    if (norm < t->min_norm) t->min_norm = norm;
    if (tf > t->tail_max_tf) t->tail_max_tf = tf;
    if (norm < t->tail_min_norm) t->tail_min_norm = norm;
    if (t->df % BM25_BLOCK == 0) {
        bm25_block *b = &t->blocks[t->n_blocks++];
        b->last_doc = doc;
        b->end = t->n_post;
        b->max_tf = t->tail_max_tf;
        b->min_norm = t->tail_min_norm;
        t->tail_max_tf = 0;
        t->tail_min_norm = 255;
    }
}

/* ---- terms */

static int64_t add_term(wn_bm25 *ix, const char *s, size_t n) {
    int64_t found = bm25_find_term(ix, s, n);
    if (found >= 0) return found;
    if (ix->n_terms >= UINT32_MAX - 1) {
        wn_seterr(WN_ERR_UNSUPPORTED, "bm25: more than 4 billion distinct terms");
        return -1;
    }
    if ((size_t)(ix->n_terms + 1) * 2 > ix->term_cap && resize_terms_table(ix, ix->term_cap * 2)) return -1;
    if (!ix->cap_names && ix->names) { /* mapped names (maybe none): copy */
        size_t cap = ix->n_names * 2 + 1024;
        char *nn = wn_malloc(cap);
        if (!nn) goto nomem;
        memcpy(nn, ix->names, ix->n_names);
        ix->names = nn;
        ix->cap_names = cap;
    }
    if (ix->n_names + n > UINT32_MAX) {
        wn_seterr(WN_ERR_UNSUPPORTED, "bm25: the term dictionary passed 4 GiB");
        return -1;
    }
    if (wn_grow((void **)&ix->names, &ix->cap_names, ix->n_names + n, 1)) goto nomem;
    if (!ix->cap_terms && ix->terms) {
        size_t cap = (size_t)ix->n_terms * 2 + 64;
        bm25_term *nt = wn_malloc(cap * sizeof *nt);
        if (!nt) goto nomem;
        memcpy(nt, ix->terms, ix->n_terms * sizeof *nt);
        ix->terms = nt;
        ix->cap_terms = (uint32_t)cap;
    }
    if (ix->n_terms + 1 > ix->cap_terms) {
        size_t cap = ix->cap_terms;
        if (wn_grow((void **)&ix->terms, &cap, (size_t)ix->n_terms + 1, sizeof *ix->terms)) goto nomem;
        ix->cap_terms = (uint32_t)WN_MIN(cap, (size_t)UINT32_MAX);
    }
    bm25_term *t = &ix->terms[ix->n_terms];
    memset(t, 0, sizeof *t);
    t->last_doc = UINT32_MAX;
    t->min_norm = t->tail_min_norm = 255;
    t->name_off = (uint32_t)ix->n_names;
    t->name_len = (uint32_t)n;
    memcpy(ix->names + ix->n_names, s, n);
    ix->n_names += n;
    put_tagged_slot(ix->term_slots, ix->term_cap, bm25_hash(s, n), ix->n_terms + 1);
    return ix->n_terms++;
nomem:
    wn_seterr(WN_ERR_NOMEM, "bm25: out of memory adding a term");
    return -1;
}

/* ---- adding a document */

typedef struct {
    wn_bm25 *ix;
    uint32_t n_tokens;
    uint32_t n_unique;
    wn_status st;
} add_ctx;

static int on_term(void *ud, const char *s, int len) {
    add_ctx *c = ud;
    wn_bm25 *ix = c->ix;
    int64_t t = add_term(ix, s, (size_t)len);
    if (t < 0) {
        c->st = WN_ERR_NOMEM;
        return 1;
    }
    c->n_tokens++;
    if (ix->terms[t].mark) {
        ix->doc_tfs[ix->terms[t].mark - 1]++;
        return 0;
    }
    if (c->n_unique + 1 > ix->cap_doc_terms) {
        size_t cap = ix->cap_doc_terms, cap2 = ix->cap_doc_terms;
        if (wn_grow((void **)&ix->doc_terms, &cap, c->n_unique + 1, sizeof *ix->doc_terms) ||
            wn_grow((void **)&ix->doc_tfs, &cap2, c->n_unique + 1, sizeof *ix->doc_tfs)) {
            wn_seterr(WN_ERR_NOMEM, "bm25: out of memory analyzing a document");
            c->st = WN_ERR_NOMEM;
            return 1;
        }
        ix->cap_doc_terms = WN_MIN(cap, cap2);
    }
    ix->doc_terms[c->n_unique] = (uint32_t)t;
    ix->doc_tfs[c->n_unique] = 1;
    ix->terms[t].mark = ++c->n_unique;
    return 0;
}

static wn_status reserve_docs(wn_bm25 *ix) {
    size_t need = (size_t)ix->n_docs + 1;
    if (ix->cap_docs >= need) return WN_OK;
    size_t cap = WN_MAX(need, ix->cap_docs * 2);
    if (cap < 1024) cap = 1024;
    int64_t *ids = wn_malloc(cap * sizeof *ids);
    uint32_t *lens = wn_malloc(cap * sizeof *lens);
    uint8_t *norms = wn_malloc(cap);
    if (!ids || !lens || !norms) {
        wn_free(ids);
        wn_free(lens);
        wn_free(norms);
        return wn_seterr(WN_ERR_NOMEM, "bm25: out of memory for %zu documents", cap);
    }
    if (ix->n_docs) {
        memcpy(ids, ix->ext_ids, (size_t)ix->n_docs * sizeof *ids);
        memcpy(lens, ix->lens, (size_t)ix->n_docs * sizeof *lens);
        memcpy(norms, ix->norms, (size_t)ix->n_docs);
    }
    if (ix->cap_docs) {
        wn_free(ix->ext_ids);
        wn_free(ix->lens);
        wn_free(ix->norms);
    }
    ix->ext_ids = ids;
    ix->lens = lens;
    ix->norms = norms;
    ix->cap_docs = cap;
    return WN_OK;
}

wn_status wn_bm25_add(wn_bm25 *ix, int64_t id, const char *text) {
    WN_ENTRY();
    if (!ix || !text) return wn_seterr(WN_ERR_ARG, "wn_bm25_add: %s is NULL", ix ? "text" : "the index");
    int64_t prev = bm25_find_doc(ix, id);
    if (prev >= 0)
        return wn_seterr(WN_ERR_ARG, "wn_bm25_add: document id %lld is already in the index (document #%lld of %lld)",
                         (long long)id, (long long)prev + 1, (long long)ix->n_docs);
    if (ix->n_docs >= INT32_MAX - 1)
        return wn_seterr(WN_ERR_UNSUPPORTED, "wn_bm25_add: the index holds %lld documents, the most it can",
                         (long long)ix->n_docs);
    wn_status st = reserve_docs(ix);
    if (st) return st;
    if ((size_t)(ix->n_docs + 1) * 2 > ix->id_cap && (st = resize_id_table(ix, ix->id_cap * 2))) return st;

    add_ctx c = {ix, 0, 0, WN_OK};
    bm25_analyze(text, strlen(text), ix->p.stem, ix->p.stopwords, on_term, &c);
    st = c.st;
    /* reserve room in every posting list before writing any: all or nothing */
    for (uint32_t i = 0; !st && i < c.n_unique; i++) st = reserve_term(&ix->terms[ix->doc_terms[i]]);
    if (!st && c.n_tokens == UINT32_MAX) st = wn_seterr(WN_ERR_UNSUPPORTED, "wn_bm25_add: document %lld has 4 billion terms", (long long)id);
    uint32_t doc = (uint32_t)ix->n_docs;
    uint8_t norm = bm25_len_to_norm(c.n_tokens);
    for (uint32_t i = 0; i < c.n_unique; i++) {
        bm25_term *t = &ix->terms[ix->doc_terms[i]];
        t->mark = 0;
        if (!st) append_posting(t, doc, ix->doc_tfs[i], norm);
    }
    if (st) return st;
    ix->ext_ids[doc] = id;
    ix->lens[doc] = c.n_tokens;
    ix->norms[doc] = norm;
    ix->sum_len += c.n_tokens;
    if (c.n_tokens) ix->n_nonempty++;
    ix->n_docs++;
    put_id_slot(ix->id_slots, ix->id_cap, hash_id(id), doc + 1);
    return WN_OK;
}

wn_status wn_bm25_doc_length(const wn_bm25 *ix, int64_t id, int *len) {
    WN_ENTRY();
    *len = 0;
    int64_t d = ix ? bm25_find_doc(ix, id) : -1;
    if (d < 0) return wn_seterr(WN_ERR_NOTFOUND, "wn_bm25_doc_length: no document with id %lld", (long long)id);
    *len = (int)ix->lens[d];
    return WN_OK;
}
