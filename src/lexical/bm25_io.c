/*
 * bm25_io.c - the BM25 index file ("WNBM", docs/FORMAT.md): one file, written
 * atomically (temp + fsync + rename), little-endian, sections aligned to 64 bytes
 * so that a loaded index points into the mapped file instead of copying it.
 *
 * The reader checks, before it trusts anything: the magic, the version, the
 * header's own checksum, every count and offset against the file's size, each
 * section's checksum, and then every posting list (document ids increasing and
 * below N, block boundaries, counts and bounds), so that search, which decodes
 * without bounds checks, never reads outside the file whatever the bytes are.
 */
#include <string.h>

#include "lexical.h"

#define WNBM_VERSION 1
#define WNBM_HEADER 256

/* on-disk header, 256 bytes */
typedef struct {
    char magic[4];         /* "WNBM" */
    uint32_t version;      /* 1 */
    uint32_t header_bytes; /* 256 */
    uint32_t flags;        /* bit 0: stem, bit 1: stopwords */
    float k1, b;
    uint32_t n_terms;
    uint32_t block;        /* postings per block: 128 */
    uint64_t n_docs, n_nonempty, sum_len;
    uint64_t names_bytes, post_bytes, n_blocks;
    uint64_t file_bytes;
    /* section offsets from the start of the file, each a multiple of 64 */
    uint64_t off_ids, off_lens, off_norms, off_terms, off_names, off_post, off_blocks;
    /* checksums (bm25_hash) of the sections, in the order above */
    uint64_t sum_ids, sum_lens, sum_norms, sum_terms, sum_names, sum_post, sum_blocks;
    uint64_t reserved[6];
    uint64_t sum_header; /* bm25_hash of the 248 bytes before it */
} wnbm_header;

/* on-disk term record, 64 bytes */
typedef struct {
    uint64_t post_off;  /* into the postings section */
    uint64_t block_off; /* into the blocks section, in blocks */
    uint32_t n_post, df, name_off, name_len;
    uint32_t last_doc, max_tf, min_norm, tail_max_tf;
    uint32_t tail_min_norm, n_blocks;
    uint32_t reserved[2];
} wnbm_term;

_Static_assert(sizeof(wnbm_header) == WNBM_HEADER, "WNBM header is 256 bytes");
_Static_assert(sizeof(wnbm_term) == 64, "WNBM term record is 64 bytes");
_Static_assert(sizeof(bm25_block) == 16, "WNBM block record is 16 bytes");

static uint64_t align64(uint64_t x) { return (x + 63) & ~(uint64_t)63; }

/* Lays out the sections after the header; returns the file size. */
static uint64_t layout(wnbm_header *h) {
    uint64_t o = WNBM_HEADER;
    h->off_ids = o;
    o = align64(o + h->n_docs * 8);
    h->off_lens = o;
    o = align64(o + h->n_docs * 4);
    h->off_norms = o;
    o = align64(o + h->n_docs);
    h->off_terms = o;
    o = align64(o + (uint64_t)h->n_terms * sizeof(wnbm_term));
    h->off_names = o;
    o = align64(o + h->names_bytes);
    h->off_post = o;
    o = align64(o + h->post_bytes);
    h->off_blocks = o;
    o = align64(o + h->n_blocks * sizeof(bm25_block));
    return o;
}

/* ---- save */

typedef struct {
    wn_atomic_file af;
    uint64_t pos;
    wn_status st;
} writer;

static void put(writer *w, const void *p, size_t n) {
    if (w->st || !n) return;
    w->st = wn_atomic_write(&w->af, p, n);
    w->pos += n;
}

static void pad_to(writer *w, uint64_t off) {
    static const uint8_t zeros[64];
    while (!w->st && w->pos < off) put(w, zeros, (size_t)WN_MIN(off - w->pos, (uint64_t)64));
}

/* The terms, post and blocks sections are written piece by piece (each term's
 * lists live in their own buffers): their checksums hash each term's piece and
 * fold the hashes in term order, starting from 0 (docs/FORMAT.md). */
static uint64_t fold(uint64_t acc, uint64_t h) { return (acc ^ h) * 0x100000001b3ull + 0x9e3779b97f4a7c15ull; }

/* A term's record in the file (padding zeroed: it is checksummed); post and blocks
 * are where its postings and blocks start in their sections. */
static wnbm_term term_record(const bm25_term *t, uint64_t post, uint64_t blocks) {
    wnbm_term r;
    memset(&r, 0, sizeof r);
    r.post_off = post;
    r.block_off = blocks;
    r.n_post = t->n_post;
    r.df = t->df;
    r.name_off = t->name_off;
    r.name_len = t->name_len;
    r.last_doc = t->last_doc;
    r.max_tf = t->max_tf;
    r.min_norm = t->min_norm;
    r.tail_max_tf = t->tail_max_tf;
    r.tail_min_norm = t->tail_min_norm;
    r.n_blocks = t->n_blocks;
    return r;
}

wn_status wn_bm25_save(const wn_bm25 *ix, const char *path) {
    WN_ENTRY();
    if (!ix || !path) return wn_seterr(WN_ERR_ARG, "wn_bm25_save: %s is NULL", ix ? "path" : "the index");
    if (((const union { uint16_t u; uint8_t b[2]; }){.u = 1}).b[0] != 1)
        return wn_seterr(WN_ERR_UNSUPPORTED, "wn_bm25_save: big-endian hosts are not supported");
    wnbm_header h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, "WNBM", 4);
    h.version = WNBM_VERSION;
    h.header_bytes = WNBM_HEADER;
    h.flags = (ix->p.stem ? 1u : 0u) | (ix->p.stopwords ? 2u : 0u);
    h.k1 = ix->p.k1;
    h.b = ix->p.b;
    h.n_terms = ix->n_terms;
    h.block = BM25_BLOCK;
    h.n_docs = (uint64_t)ix->n_docs;
    h.n_nonempty = (uint64_t)ix->n_nonempty;
    h.sum_len = ix->sum_len;
    h.names_bytes = ix->n_names;
    uint64_t post = 0, blocks = 0;
    for (uint32_t t = 0; t < ix->n_terms; t++) {
        post += ix->terms[t].n_post;
        blocks += ix->terms[t].n_blocks;
    }
    h.post_bytes = post;
    h.n_blocks = blocks;
    h.file_bytes = layout(&h);

    /* checksums first (the header goes first in the file) */
    size_t N = (size_t)ix->n_docs;
    h.sum_ids = bm25_hash((const char *)ix->ext_ids, N * 8);
    h.sum_lens = bm25_hash((const char *)ix->lens, N * 4);
    h.sum_norms = bm25_hash((const char *)ix->norms, N);
    h.sum_names = bm25_hash(ix->names, ix->n_names);
    uint64_t st_terms = 0, st_post = 0, st_blocks = 0;
    post = blocks = 0;
    for (uint32_t i = 0; i < ix->n_terms; i++) {
        const bm25_term *t = &ix->terms[i];
        wnbm_term r = term_record(t, post, blocks);
        st_terms = fold(st_terms, bm25_hash((const char *)&r, sizeof r));
        st_post = fold(st_post, bm25_hash((const char *)t->post, t->n_post));
        st_blocks = fold(st_blocks, bm25_hash((const char *)t->blocks, t->n_blocks * sizeof(bm25_block)));
        post += t->n_post;
        blocks += t->n_blocks;
    }
    h.sum_terms = st_terms;
    h.sum_post = st_post;
    h.sum_blocks = st_blocks;
    h.sum_header = bm25_hash((const char *)&h, offsetof(wnbm_header, sum_header));

    writer w = {.pos = 0, .st = WN_OK};
    wn_status st = wn_atomic_open(&w.af, path);
    if (st) return st;
    put(&w, &h, sizeof h);
    pad_to(&w, h.off_ids);
    put(&w, ix->ext_ids, N * 8);
    pad_to(&w, h.off_lens);
    put(&w, ix->lens, N * 4);
    pad_to(&w, h.off_norms);
    put(&w, ix->norms, N);
    pad_to(&w, h.off_terms);
    post = blocks = 0;
    for (uint32_t i = 0; i < ix->n_terms && !w.st; i++) {
        const bm25_term *t = &ix->terms[i];
        wnbm_term r = term_record(t, post, blocks);
        put(&w, &r, sizeof r);
        post += t->n_post;
        blocks += t->n_blocks;
    }
    pad_to(&w, h.off_names);
    put(&w, ix->names, ix->n_names);
    pad_to(&w, h.off_post);
    for (uint32_t i = 0; i < ix->n_terms; i++) put(&w, ix->terms[i].post, ix->terms[i].n_post);
    pad_to(&w, h.off_blocks);
    for (uint32_t i = 0; i < ix->n_terms; i++)
        put(&w, ix->terms[i].blocks, ix->terms[i].n_blocks * sizeof(bm25_block));
    pad_to(&w, h.file_bytes);
    if (w.st) {
        wn_atomic_abort(&w.af);
        return w.st;
    }
    WN_ASSERT(w.pos == h.file_bytes);
    return wn_atomic_commit(&w.af);
}

/* ---- load */

/* Decodes and checks one posting list against its record; 0 when sound. */
static int check_postings(const wn_bm25 *ix, const bm25_term *t, char *why, size_t cap) {
    const uint8_t *p = t->post, *e = t->post + t->n_post;
    uint32_t prev = UINT32_MAX, max_tf = 0, min_norm = 255, bmax = 0, bmin = 255, bi = 0;
    uint64_t n = 0;
    if (t->n_blocks != t->df / BM25_BLOCK) {
        snprintf(why, cap, "%u blocks for %u documents", t->n_blocks, t->df);
        return 1;
    }
    while (p < e) {
        uint64_t v[2] = {0, 0};
        for (int f = 0; f < 2; f++) {
            int sh = 0;
            uint8_t c;
            do {
                if (p >= e || sh > 63) {
                    snprintf(why, cap, "a varint runs past the end of the list");
                    return 1;
                }
                c = *p++;
                v[f] |= (uint64_t)(c & 0x7f) << sh;
                sh += 7;
            } while (c & 0x80);
            if (f == 0 && (v[0] & 1)) {
                v[1] = 1;
                break;
            }
        }
        uint64_t doc = (uint64_t)(uint32_t)(prev + 1) + (v[0] >> 1);
        if (doc >= (uint64_t)ix->n_docs || v[1] == 0 || v[1] > UINT32_MAX || (!(v[0] & 1) && v[1] == 1)) {
            snprintf(why, cap, "posting %llu: document %llu of %lld, tf %llu", (unsigned long long)n,
                     (unsigned long long)doc, (long long)ix->n_docs, (unsigned long long)v[1]);
            return 1;
        }
        prev = (uint32_t)doc;
        uint32_t tf = (uint32_t)v[1], nm = ix->norms[doc];
        if (tf > max_tf) max_tf = tf;
        if (nm < min_norm) min_norm = nm;
        if (tf > bmax) bmax = tf;
        if (nm < bmin) bmin = nm;
        n++;
        if (n % BM25_BLOCK == 0) {
            const bm25_block *b = &t->blocks[bi++];
            if (b->last_doc != prev || b->end != (uint32_t)(p - t->post) || b->max_tf != bmax || b->min_norm != bmin) {
                snprintf(why, cap, "block %u does not describe its postings", bi - 1);
                return 1;
            }
            bmax = 0;
            bmin = 255;
        }
    }
    if (n != t->df || (n && (prev != t->last_doc || max_tf != t->max_tf || min_norm != t->min_norm)) ||
        t->tail_max_tf != bmax || t->tail_min_norm != bmin) {
        snprintf(why, cap, "the list holds %llu documents, its record says %u (or its bounds differ)",
                 (unsigned long long)n, t->df);
        return 1;
    }
    return 0;
}

#define FAIL(...)                                                       \
    do {                                                                \
        st = wn_seterr(WN_ERR_FORMAT, "wn_bm25_load: %s: " __VA_ARGS__); \
        goto fail;                                                      \
    } while (0)

wn_status wn_bm25_load(const char *path, wn_bm25 **out) {
    WN_ENTRY();
    if (!path || !out) return wn_seterr(WN_ERR_ARG, "wn_bm25_load: %s is NULL", path ? "out" : "path");
    *out = NULL;
    void *map = NULL;
    size_t len = 0;
    wn_bm25 *ix = NULL;
    wn_status st = wn_map_file(path, &map, &len);
    if (st) return st;
    const uint8_t *m = map;
    wnbm_header h;
    if (len < 8 || memcmp(m, "WNBM", 4) != 0) {
        st = wn_seterr(WN_ERR_FORMAT, "wn_bm25_load: %s is not a winnow BM25 index (no \"WNBM\" magic, %zu bytes)",
                       path, len);
        goto fail;
    }
    memcpy(&h, m, 8);
    if (h.version != WNBM_VERSION)
        FAIL("version %u, this winnow reads version %u: rebuild the index", path, h.version, WNBM_VERSION);
    if (len < WNBM_HEADER) FAIL("truncated: %zu bytes, the header alone is %d", path, len, WNBM_HEADER);
    memcpy(&h, m, sizeof h);
    if (h.header_bytes != WNBM_HEADER) FAIL("header_bytes = %u, expected %d", path, h.header_bytes, WNBM_HEADER);
    if (bm25_hash((const char *)&h, offsetof(wnbm_header, sum_header)) != h.sum_header)
        FAIL("the header's checksum does not match: the file is corrupt", path);
    if (h.block != BM25_BLOCK) FAIL("block size %u, expected %d", path, h.block, BM25_BLOCK);
    if (h.file_bytes != len)
        FAIL("truncated or padded: the header says %llu bytes, the file has %zu", path,
             (unsigned long long)h.file_bytes, len);
    /* counts small enough that layout() cannot overflow, then the layout itself */
    if (h.n_docs >= INT32_MAX || h.n_nonempty > h.n_docs || h.n_terms >= UINT32_MAX - 1 ||
        h.names_bytes > len || h.post_bytes > len || h.n_blocks > len / sizeof(bm25_block))
        FAIL("counts out of range (documents %llu, terms %u, %llu name bytes, %llu posting bytes, %llu blocks)", path,
             (unsigned long long)h.n_docs, h.n_terms, (unsigned long long)h.names_bytes,
             (unsigned long long)h.post_bytes, (unsigned long long)h.n_blocks);
    wnbm_header l = h;
    if (layout(&l) != len || l.off_ids != h.off_ids || l.off_lens != h.off_lens || l.off_norms != h.off_norms ||
        l.off_terms != h.off_terms || l.off_names != h.off_names || l.off_post != h.off_post ||
        l.off_blocks != h.off_blocks)
        FAIL("section offsets do not match the counts", path);
    if (!(h.k1 >= 0.0f && h.k1 < 1e6f) || !(h.b >= 0.0f && h.b <= 1.0f) || (h.flags & ~3u))
        FAIL("parameters out of range (k1 %g, b %g, flags %#x)", path, (double)h.k1, (double)h.b, h.flags);
    size_t N = (size_t)h.n_docs;
    if (bm25_hash((const char *)m + h.off_ids, N * 8) != h.sum_ids ||
        bm25_hash((const char *)m + h.off_lens, N * 4) != h.sum_lens ||
        bm25_hash((const char *)m + h.off_norms, N) != h.sum_norms ||
        bm25_hash((const char *)m + h.off_names, h.names_bytes) != h.sum_names)
        FAIL("a document or term section fails its checksum: the file is corrupt", path);

    wn_bm25_params p = wn_bm25_default_params();
    p.k1 = h.k1;
    p.b = h.b;
    p.stem = (h.flags & 1) != 0;
    p.stopwords = (h.flags & 2) != 0;
    if ((st = bm25_alloc(&p, &ix)) != WN_OK) goto fail;
    ix->map = map;
    ix->map_len = len;
    map = NULL;
    ix->n_docs = (int64_t)N;
    ix->ext_ids = (int64_t *)(m + h.off_ids);
    ix->lens = (uint32_t *)(m + h.off_lens);
    ix->norms = (uint8_t *)(m + h.off_norms);
    ix->names = (char *)(m + h.off_names);
    ix->n_names = h.names_bytes;
    ix->n_nonempty = (int64_t)h.n_nonempty;
    ix->sum_len = h.sum_len;
    uint64_t sum = 0, nonempty = 0;
    for (size_t d = 0; d < N; d++) {
        if (ix->norms[d] != bm25_len_to_norm(ix->lens[d])) FAIL("document #%zu: norm and length disagree", path, d);
        sum += ix->lens[d];
        nonempty += ix->lens[d] > 0;
    }
    if (sum != h.sum_len || nonempty != h.n_nonempty) FAIL("document lengths do not add up", path);
    if (h.n_terms) {
        ix->terms = wn_calloc(h.n_terms, sizeof *ix->terms);
        if (!ix->terms) {
            st = wn_seterr(WN_ERR_NOMEM, "wn_bm25_load: %s: out of memory for %u terms", path, h.n_terms);
            goto fail;
        }
        ix->cap_terms = h.n_terms;
    }
    ix->n_terms = h.n_terms;
    const wnbm_term *rec = (const wnbm_term *)(m + h.off_terms);
    const uint8_t *post = m + h.off_post;
    const bm25_block *blocks = (const bm25_block *)(m + h.off_blocks);
    uint64_t st_terms = 0, st_post = 0, st_blocks = 0;
    for (uint32_t i = 0; i < h.n_terms; i++) {
        const wnbm_term *r = &rec[i];
        if (r->post_off > h.post_bytes || r->n_post > h.post_bytes - r->post_off || r->block_off > h.n_blocks ||
            r->n_blocks > h.n_blocks - r->block_off || r->name_off > h.names_bytes ||
            r->name_len > h.names_bytes - r->name_off || r->min_norm > 255 || r->tail_min_norm > 255)
            FAIL("term #%u: offsets or sizes outside their sections", path, i);
        bm25_term *t = &ix->terms[i];
        t->post = (uint8_t *)(post + r->post_off);
        t->n_post = r->n_post;
        t->blocks = (bm25_block *)(blocks + r->block_off);
        t->n_blocks = r->n_blocks;
        t->df = r->df;
        t->last_doc = r->last_doc;
        t->max_tf = r->max_tf;
        t->min_norm = r->min_norm;
        t->tail_max_tf = r->tail_max_tf;
        t->tail_min_norm = r->tail_min_norm;
        t->name_off = r->name_off;
        t->name_len = r->name_len;
        if (!t->df) t->last_doc = UINT32_MAX;
        st_terms = fold(st_terms, bm25_hash((const char *)r, sizeof *r));
        st_post = fold(st_post, bm25_hash((const char *)t->post, t->n_post));
        st_blocks = fold(st_blocks, bm25_hash((const char *)t->blocks, t->n_blocks * sizeof(bm25_block)));
    }
    if (st_terms != h.sum_terms || st_post != h.sum_post || st_blocks != h.sum_blocks)
        FAIL("the term, posting or block section fails its checksum: the file is corrupt", path);
    for (uint32_t i = 0; i < h.n_terms; i++) {
        char why[160];
        if (check_postings(ix, &ix->terms[i], why, sizeof why))
            FAIL("term '%.*s': %s", path, (int)WN_MIN(ix->terms[i].name_len, 64u), ix->names + ix->terms[i].name_off,
                 why);
    }
    if ((st = bm25_rehash(ix)) != WN_OK) goto fail;
    *out = ix;
    return WN_OK;
fail:
    wn_unmap_file(map, len);
    wn_bm25_free(ix);
    return st;
}
