/*
 * index_io.c - one file per index (docs/FORMAT.md, "Vector index files"): a
 * 128-byte header with typed parameters, a table of sections (id, element size,
 * offset, size, CRC32C), and the sections' data, each 64-byte aligned so the
 * loader maps the file and points into it (no copy, no rebuild; a change later
 * copies what it touches). Written atomically (temp file, fsync, rename).
 * The reader checks magic, version, every field's range and every section's
 * offset, size and checksum against the file before it uses anything, then the
 * graph's and lists' contents (links and slots in range), so a corrupt or
 * crafted file gives an error, never a crash.
 */
#include <string.h>

#include "index.h"

#define WNIX_MAGIC "WNIX"
enum { WNIX_VERSION = 1, HDR_BYTES = 128, SEC_BYTES = 32, MAX_SECTIONS = 32, ALIGN = 64 };

enum {
    S_VECTORS = 1, S_NORMS, S_SCALES, S_IDS, S_DELETED,
    S_HNSW_LEVEL = 10, S_HNSW_L0, S_HNSW_UPOFF, S_HNSW_UP,
    S_IVF_CENT = 20, S_IVF_CNORM, S_IVF_PQ, S_IVF_ASSIGN, S_IVF_LISTOFF, S_IVF_SLOTS, S_IVF_CODES
};

typedef struct {
    uint32_t id, elt;
    uint64_t off, size;
    uint32_t crc, reserved;
} section;

/* a section's bytes: one buffer, or the concatenation of the IVF lists */
typedef struct {
    section s;
    const void *p;     /* NULL: gathered from the lists (kind 1 slots, 2 codes, 3 offsets) */
    int kind;
} wsec;

static void put32(uint8_t *b, uint32_t v) { memcpy(b, &v, 4); }
static void put64(uint8_t *b, uint64_t v) { memcpy(b, &v, 8); }
static uint32_t get32(const uint8_t *b) { uint32_t v; memcpy(&v, b, 4); return v; }
static uint64_t get64(const uint8_t *b) { uint64_t v; memcpy(&v, b, 8); return v; }

static int64_t list_off(const ivf *v, int l) { /* entries before list l */
    int64_t o = 0;
    for (int i = 0; i < l; i++) o += v->lists[i].n;
    return o;
}

wn_status wn_index_save(const wn_index *ix, const char *path) {
    WN_ENTRY();
    const dist_kernels *kr = dist_get();
    wsec ws[MAX_SECTIONS];
    int ns = 0;
#define ADD(ID, ELT, PTR, SIZE) (ws[ns++] = (wsec){{(ID), (ELT), 0, (uint64_t)(SIZE), 0, 0}, (PTR), 0})
    if (ix->has_vectors) {
        ADD(S_VECTORS, ix->vs.st == WN_STORAGE_FP32 ? 4 : ix->vs.st == WN_STORAGE_FP16 ? 2 : 1, ix->vs.data.p,
            (size_t)ix->n * ix->vs.row);
        ADD(S_NORMS, 4, ix->vs.norm.p, (size_t)ix->n * 4);
        if (ix->vs.st == WN_STORAGE_INT8) ADD(S_SCALES, 4, ix->vs.scale.p, (size_t)ix->n * 4);
    }
    ADD(S_IDS, 8, ix->ids.p, (size_t)ix->n * 8);
    ADD(S_DELETED, 1, ix->del.p, (size_t)ix->n);
    int64_t *offs = NULL;
    if (ix->type == WN_INDEX_HNSW) {
        ADD(S_HNSW_LEVEL, 1, ix->h.level.p, (size_t)ix->n);
        ADD(S_HNSW_L0, 4, ix->h.l0.p, (size_t)ix->n * (1 + ix->h.M0) * 4);
        ADD(S_HNSW_UPOFF, 8, ix->h.up_off.p, (size_t)ix->n * 8);
        ADD(S_HNSW_UP, 4, ix->h.up.p, ix->h.up.len);
    }
    if (ix->type >= WN_INDEX_IVF && ix->v.trained) {
        const ivf *v = &ix->v;
        ADD(S_IVF_CENT, 4, v->cent.p, (size_t)v->nlist * ix->dim * 4);
        ADD(S_IVF_CNORM, 4, v->cnorm.p, (size_t)v->nlist * 4);
        if (ix->type == WN_INDEX_IVFPQ) ADD(S_IVF_PQ, 4, v->pq.p, (size_t)v->pq_m * 256 * v->dsub * 4);
        ADD(S_IVF_ASSIGN, 4, v->assign.p, (size_t)ix->n * 4);
        offs = wn_malloc(sizeof(int64_t) * (size_t)(v->nlist + 1));
        if (!offs) return wn_seterr(WN_ERR_NOMEM, "index save: out of memory");
        for (int l = 0; l <= v->nlist; l++) offs[l] = list_off(v, l);
        ADD(S_IVF_LISTOFF, 8, offs, (size_t)(v->nlist + 1) * 8);
        ADD(S_IVF_SLOTS, 4, NULL, (size_t)offs[v->nlist] * 4), ws[ns - 1].kind = 1;
        if (ix->type == WN_INDEX_IVFPQ) ADD(S_IVF_CODES, 1, NULL, (size_t)offs[v->nlist] * v->pq_m), ws[ns - 1].kind = 2;
    }
#undef ADD
    /* offsets and checksums */
    uint64_t off = ((uint64_t)HDR_BYTES + (uint64_t)ns * SEC_BYTES + ALIGN - 1) / ALIGN * ALIGN;
    for (int i = 0; i < ns; i++) {
        ws[i].s.off = off;
        off = (off + ws[i].s.size + ALIGN - 1) / ALIGN * ALIGN;
        if (ws[i].p) ws[i].s.crc = kr->crc32c(0, ws[i].p, ws[i].s.size);
        else {
            uint32_t c = 0;
            for (int l = 0; l < ix->v.nlist; l++) {
                const ivf_list *L = &ix->v.lists[l];
                c = ws[i].kind == 1 ? kr->crc32c(c, L->slots.p, (size_t)L->n * 4)
                                    : kr->crc32c(c, L->codes.p, (size_t)L->n * ix->v.pq_m);
            }
            ws[i].s.crc = c;
        }
    }
    uint8_t hdr[HDR_BYTES + MAX_SECTIONS * SEC_BYTES];
    memset(hdr, 0, sizeof hdr);
    memcpy(hdr, WNIX_MAGIC, 4);
    put32(hdr + 4, WNIX_VERSION);
    put32(hdr + 8, HDR_BYTES + (uint32_t)ns * SEC_BYTES);
    put32(hdr + 12, ix->type), put32(hdr + 16, ix->metric), put32(hdr + 20, (uint32_t)ix->dim);
    put32(hdr + 24, ix->vs.st), put32(hdr + 28, (uint32_t)ns);
    put64(hdr + 32, (uint64_t)ix->n), put64(hdr + 40, (uint64_t)ix->n_live), put64(hdr + 48, (uint64_t)ix->next_id);
    put32(hdr + 56, (uint32_t)ix->p.m), put32(hdr + 60, (uint32_t)ix->p.ef_construction);
    put64(hdr + 64, ix->p.seed);
    put32(hdr + 72, (uint32_t)(ix->type >= WN_INDEX_IVF ? ix->v.nlist : ix->p.nlist));
    put32(hdr + 76, (uint32_t)(ix->type == WN_INDEX_IVFPQ ? ix->v.pq_m : ix->p.pq_m));
    put32(hdr + 80, (uint32_t)ix->has_vectors);
    put32(hdr + 84, (uint32_t)ix->h.max_level);
    put64(hdr + 88, (uint64_t)ix->h.entry);
    memcpy(hdr + 96, &ix->h.phi2, 4);
    memcpy(hdr + 100, &ix->p.compact_ratio, 4);
    put32(hdr + 104, (uint32_t)(ix->type >= WN_INDEX_IVF && ix->v.trained));
    for (int i = 0; i < ns; i++) {
        uint8_t *e = hdr + HDR_BYTES + i * SEC_BYTES;
        put32(e, ws[i].s.id), put32(e + 4, ws[i].s.elt), put64(e + 8, ws[i].s.off), put64(e + 16, ws[i].s.size);
        put32(e + 24, ws[i].s.crc);
    }
    /* the header's own checksum covers header and table, with this field zero */
    put32(hdr + 112, kr->crc32c(0, hdr, HDR_BYTES + (size_t)ns * SEC_BYTES));

    wn_atomic_file af;
    wn_status st = wn_atomic_open(&af, path);
    if (st != WN_OK) goto done;
    st = wn_atomic_write(&af, hdr, HDR_BYTES + (size_t)ns * SEC_BYTES);
    for (int i = 0; st == WN_OK && i < ns; i++) {
        if ((st = wn_atomic_pad(&af, ALIGN)) != WN_OK) break;
        if (ws[i].p) st = wn_atomic_write(&af, ws[i].p, ws[i].s.size);
        else
            for (int l = 0; st == WN_OK && l < ix->v.nlist; l++) {
                const ivf_list *L = &ix->v.lists[l];
                st = ws[i].kind == 1 ? wn_atomic_write(&af, L->slots.p, (size_t)L->n * 4)
                                     : wn_atomic_write(&af, L->codes.p, (size_t)L->n * ix->v.pq_m);
            }
    }
    if (st == WN_OK) st = wn_atomic_pad(&af, ALIGN);
    if (st == WN_OK) st = wn_atomic_commit(&af);
    else wn_atomic_abort(&af);
done:
    wn_free(offs);
    return st;
}

/* ---------------------------------------------------------------- load */


static const section *find_sec(const section *secs, int ns, uint32_t id) {
    for (int i = 0; i < ns; i++)
        if (secs[i].id == id) return &secs[i];
    return NULL;
}

/* Borrows section id into b after checking its presence and exact size. */
static wn_status borrow(const char *path, const uint8_t *base, const section *secs, int ns, uint32_t id,
                        uint64_t want, ibuf *b) {
    const section *s = find_sec(secs, ns, id);
    if (!s) return wn_seterr(WN_ERR_FORMAT, "%s: section %u is missing", path, id);
    if (s->size != want)
        return wn_seterr(WN_ERR_FORMAT, "%s: section %u holds %llu bytes, the header implies %llu", path, id,
                         (unsigned long long)s->size, (unsigned long long)want);
    b->p = (void *)(base + s->off);
    b->len = (size_t)s->size;
    b->cap = 0;
    b->owned = 0;
    return WN_OK;
}

static wn_status check_graph(const char *path, const wn_index *ix) {
    const hnsw *h = &ix->h;
    int64_t n = ix->n;
    size_t up_n = h->up.len / 4;
    for (int64_t i = 0; i < n; i++) {
        int lv = ((const uint8_t *)h->level.p)[i];
        if (lv > 15 || lv > h->max_level)
            return wn_seterr(WN_ERR_FORMAT, "%s: node %lld has level %d (max %d)", path, (long long)i, lv, h->max_level);
        int64_t uo = ((const int64_t *)h->up_off.p)[i];
        if (lv > 0 && (uo < 0 || (uint64_t)uo + (uint64_t)lv * (1 + h->M) > up_n))
            return wn_seterr(WN_ERR_FORMAT, "%s: node %lld's upper links at %lld run past %zu", path, (long long)i,
                             (long long)uo, up_n);
        for (int l = 0; l <= lv; l++) {
            const int32_t *lk = l == 0 ? (const int32_t *)h->l0.p + (size_t)i * (1 + h->M0)
                                       : (const int32_t *)h->up.p + uo + (size_t)(l - 1) * (1 + h->M);
            int cnt = lk[0], mx = l == 0 ? h->M0 : h->M;
            if (cnt < 0 || cnt > mx)
                return wn_seterr(WN_ERR_FORMAT, "%s: node %lld has %d links on layer %d (max %d)", path, (long long)i,
                                 cnt, l, mx);
            for (int j = 1; j <= cnt; j++)
                if (lk[j] < 0 || lk[j] >= n)
                    return wn_seterr(WN_ERR_FORMAT, "%s: node %lld links to %d, outside 0..%lld", path, (long long)i,
                                     lk[j], (long long)n - 1);
        }
    }
    if (n > 0 && (h->entry < 0 || h->entry >= n || ((const uint8_t *)h->level.p)[h->entry] != h->max_level))
        return wn_seterr(WN_ERR_FORMAT, "%s: entry point %lld is not a node of the top level %d", path,
                         (long long)h->entry, h->max_level);
    return WN_OK;
}

wn_status wn_index_load(const char *path, wn_index **out) {
    WN_ENTRY();
    *out = NULL;
    void *map = NULL;
    size_t len = 0;
    wn_status st = wn_map_file(path, &map, &len);
    if (st != WN_OK) return st;
    const uint8_t *b = map;
    wn_index *ix = NULL;
    section secs[MAX_SECTIONS];
    int ns = 0;
    const dist_kernels *kr = dist_get();
    /* the GGUF reader's order: magic, version, sizes, then contents */
    if (len < HDR_BYTES) {
        st = wn_seterr(WN_ERR_FORMAT, "%s: %zu bytes, shorter than the %d-byte index header (truncated?)", path, len,
                       HDR_BYTES);
        goto fail;
    }
    if (memcmp(b, WNIX_MAGIC, 4)) {
        st = wn_seterr(WN_ERR_FORMAT, "%s: not a winnow vector index (magic is not \"WNIX\")", path);
        goto fail;
    }
    uint32_t ver = get32(b + 4), hbytes = get32(b + 8);
    ns = (int)get32(b + 28);
    if (ver != WNIX_VERSION) {
        st = wn_seterr(WN_ERR_FORMAT, "%s: index format version %u, this winnow reads version %d", path, ver,
                       WNIX_VERSION);
        goto fail;
    }
    if (ns < 1 || ns > MAX_SECTIONS || hbytes != HDR_BYTES + (uint32_t)ns * SEC_BYTES || hbytes > len) {
        st = wn_seterr(WN_ERR_FORMAT, "%s: header claims %d sections in %u bytes (file %zu bytes)", path, ns, hbytes,
                       len);
        goto fail;
    }
    {
        uint8_t tmp[HDR_BYTES + MAX_SECTIONS * SEC_BYTES];
        memcpy(tmp, b, hbytes);
        put32(tmp + 112, 0);
        uint32_t c = kr->crc32c(0, tmp, hbytes);
        if (c != get32(b + 112)) {
            st = wn_seterr(WN_ERR_FORMAT, "%s: header checksum %08x, computed %08x (corrupt header)", path,
                           get32(b + 112), c);
            goto fail;
        }
    }
    uint32_t type = get32(b + 12), metric = get32(b + 16), dim = get32(b + 20), storage = get32(b + 24);
    int64_t n = (int64_t)get64(b + 32), n_live = (int64_t)get64(b + 40), next_id = (int64_t)get64(b + 48);
    if (type > WN_INDEX_IVFPQ || metric > WN_METRIC_COS || dim < 1 || dim > 65536 || storage > WN_STORAGE_INT8 ||
        n < 0 || n > INT32_MAX || n_live < 0 || n_live > n || next_id < 0) {
        st = wn_seterr(WN_ERR_FORMAT, "%s: header out of range: type %u metric %u dim %u storage %u n %lld live %lld",
                       path, type, metric, dim, storage, (long long)n, (long long)n_live);
        goto fail;
    }
    for (int i = 0; i < ns; i++) {
        const uint8_t *e = b + HDR_BYTES + i * SEC_BYTES;
        secs[i] = (section){get32(e), get32(e + 4), get64(e + 8), get64(e + 16), get32(e + 24), 0};
        if (secs[i].off % ALIGN || secs[i].off < hbytes || secs[i].off > len || secs[i].size > len - secs[i].off) {
            st = wn_seterr(WN_ERR_FORMAT, "%s: section %u at offset %llu, %llu bytes, outside the %zu-byte file%s",
                           path, secs[i].id, (unsigned long long)secs[i].off, (unsigned long long)secs[i].size, len,
                           secs[i].off % ALIGN ? " (or misaligned)" : " (truncated?)");
            goto fail;
        }
        uint32_t c = kr->crc32c(0, b + secs[i].off, secs[i].size);
        if (c != secs[i].crc) {
            st = wn_seterr(WN_ERR_FORMAT, "%s: section %u checksum %08x, computed %08x (corrupt data)", path,
                           secs[i].id, secs[i].crc, c);
            goto fail;
        }
    }
    wn_index_params p = wn_index_default_params();
    p.storage = (wn_storage)storage;
    p.m = (int)get32(b + 56), p.ef_construction = (int)get32(b + 60), p.seed = get64(b + 64);
    p.nlist = (int)get32(b + 72), p.pq_m = (int)get32(b + 76), p.keep_vectors = (int)get32(b + 80);
    memcpy(&p.compact_ratio, b + 100, 4);
    if (p.keep_vectors != 0 && p.keep_vectors != 1) {
        st = wn_seterr(WN_ERR_FORMAT, "%s: keep_vectors %d is not 0 or 1", path, p.keep_vectors);
        goto fail;
    }
    if (type != WN_INDEX_IVFPQ) p.keep_vectors = 1;
    if (type >= WN_INDEX_IVF) { /* bound the lists by the file before allocating them */
        const section *sc = find_sec(secs, ns, S_IVF_CENT);
        if (sc && (uint64_t)(uint32_t)p.nlist * dim * 4 != sc->size) {
            st = wn_seterr(WN_ERR_FORMAT, "%s: nlist %u with dimension %u needs %llu bytes of centroids, the section has %llu",
                           path, (unsigned)p.nlist, (unsigned)dim, (unsigned long long)(uint32_t)p.nlist * dim * 4,
                           (unsigned long long)sc->size);
            goto fail;
        }
    }
    if ((st = wn_index_create((wn_index_type)type, (int)dim, (wn_metric)metric, &p, &ix)) != WN_OK) {
        wn_seterr_prefix(st, "%s: ", path);
        goto fail;
    }
    ix->map_base = map, ix->map_len = len;
    map = NULL; /* ix owns the mapping now */
    ix->n = n, ix->n_live = n_live, ix->next_id = next_id;
    if (ix->has_vectors) {
        if ((st = borrow(path, b, secs, ns, S_VECTORS, (uint64_t)n * ix->vs.row, &ix->vs.data)) != WN_OK) goto fail;
        if ((st = borrow(path, b, secs, ns, S_NORMS, (uint64_t)n * 4, &ix->vs.norm)) != WN_OK) goto fail;
        if (storage == WN_STORAGE_INT8 &&
            (st = borrow(path, b, secs, ns, S_SCALES, (uint64_t)n * 4, &ix->vs.scale)) != WN_OK)
            goto fail;
    }
    if ((st = borrow(path, b, secs, ns, S_IDS, (uint64_t)n * 8, &ix->ids)) != WN_OK) goto fail;
    if ((st = borrow(path, b, secs, ns, S_DELETED, (uint64_t)n, &ix->del)) != WN_OK) goto fail;
    int64_t live = 0;
    for (int64_t i = 0; i < n; i++) {
        int64_t id = ix_ids(ix)[i];
        uint8_t d = ((const uint8_t *)ix->del.p)[i];
        if (d > 1 || id < 0 || id >= next_id) {
            st = wn_seterr(WN_ERR_FORMAT, "%s: slot %lld has id %lld (next id %lld), deleted flag %u", path,
                           (long long)i, (long long)id, (long long)next_id, d);
            goto fail;
        }
        if (d) continue;
        live++;
        if (id == i) continue; /* found without the map */
        if (idmap_get(&ix->map, id) >= 0 || (id < n && ix_ids(ix)[id] == id && !((const uint8_t *)ix->del.p)[id])) {
            st = wn_seterr(WN_ERR_FORMAT, "%s: id %lld is stored twice", path, (long long)id);
            goto fail;
        }
        if ((st = idmap_put(&ix->map, id, i)) != WN_OK) goto fail;
    }
    if (live != n_live) {
        st = wn_seterr(WN_ERR_FORMAT, "%s: %lld live slots, the header says %lld", path, (long long)live,
                       (long long)n_live);
        goto fail;
    }
    if (type == WN_INDEX_HNSW) {
        hnsw *h = &ix->h;
        h->max_level = (int)get32(b + 84), h->entry = (int64_t)get64(b + 88);
        memcpy(&h->phi2, b + 96, 4);
        if ((st = borrow(path, b, secs, ns, S_HNSW_LEVEL, (uint64_t)n, &h->level)) != WN_OK) goto fail;
        if ((st = borrow(path, b, secs, ns, S_HNSW_L0, (uint64_t)n * (1 + h->M0) * 4, &h->l0)) != WN_OK) goto fail;
        if ((st = borrow(path, b, secs, ns, S_HNSW_UPOFF, (uint64_t)n * 8, &h->up_off)) != WN_OK) goto fail;
        const section *su = find_sec(secs, ns, S_HNSW_UP);
        if ((st = borrow(path, b, secs, ns, S_HNSW_UP, su ? su->size / 4 * 4 : 0, &h->up)) != WN_OK) goto fail;
        if (n == 0) h->entry = -1, h->max_level = -1;
        if ((st = check_graph(path, ix)) != WN_OK) goto fail;
    }
    if (type >= WN_INDEX_IVF && get32(b + 104)) {
        ivf *v = &ix->v;
        int nl = v->nlist, m = v->pq_m;
        if (nl < 1 || nl > (1 << 24)) {
            st = wn_seterr(WN_ERR_FORMAT, "%s: nlist %d", path, nl);
            goto fail;
        }
        v->trained = 1;
        if ((st = borrow(path, b, secs, ns, S_IVF_CENT, (uint64_t)nl * dim * 4, &v->cent)) != WN_OK) goto fail;
        if ((st = borrow(path, b, secs, ns, S_IVF_CNORM, (uint64_t)nl * 4, &v->cnorm)) != WN_OK) goto fail;
        if (type == WN_INDEX_IVFPQ &&
            (st = borrow(path, b, secs, ns, S_IVF_PQ, (uint64_t)m * 256 * v->dsub * 4, &v->pq)) != WN_OK)
            goto fail;
        if ((st = borrow(path, b, secs, ns, S_IVF_ASSIGN, (uint64_t)n * 4, &v->assign)) != WN_OK) goto fail;
        ibuf offs = {0}, slots = {0}, codes = {0};
        if ((st = borrow(path, b, secs, ns, S_IVF_LISTOFF, (uint64_t)(nl + 1) * 8, &offs)) != WN_OK) goto fail;
        const int64_t *o = offs.p;
        for (int l = 0; l < nl; l++)
            if (o[0] != 0 || o[l + 1] < o[l] || o[l + 1] > n) {
                st = wn_seterr(WN_ERR_FORMAT, "%s: inverted list %d spans %lld..%lld of %lld entries", path, l,
                               (long long)o[l], (long long)o[l + 1], (long long)n);
                goto fail;
            }
        if ((st = borrow(path, b, secs, ns, S_IVF_SLOTS, (uint64_t)o[nl] * 4, &slots)) != WN_OK) goto fail;
        if (type == WN_INDEX_IVFPQ &&
            (st = borrow(path, b, secs, ns, S_IVF_CODES, (uint64_t)o[nl] * m, &codes)) != WN_OK)
            goto fail;
        for (int64_t i = 0; i < o[nl]; i++)
            if (((const int32_t *)slots.p)[i] < 0 || ((const int32_t *)slots.p)[i] >= n) {
                st = wn_seterr(WN_ERR_FORMAT, "%s: inverted list entry %lld is slot %d, outside 0..%lld", path,
                               (long long)i, ((const int32_t *)slots.p)[i], (long long)n - 1);
                goto fail;
            }
        for (int64_t i = 0; i < n; i++)
            if ((uint32_t)((const int32_t *)v->assign.p)[i] >= (uint32_t)nl) {
                st = wn_seterr(WN_ERR_FORMAT, "%s: slot %lld assigned to list %d of %d", path, (long long)i,
                               ((const int32_t *)v->assign.p)[i], nl);
                goto fail;
            }
        for (int l = 0; l < nl; l++) {
            ivf_list *L = &v->lists[l];
            L->n = o[l + 1] - o[l];
            L->slots = (ibuf){(int32_t *)slots.p + o[l], (size_t)L->n * 4, 0, 0};
            if (type == WN_INDEX_IVFPQ) L->codes = (ibuf){(uint8_t *)codes.p + o[l] * m, (size_t)L->n * m, 0, 0};
        }
    }
    *out = ix;
    return WN_OK;
fail:
    wn_unmap_file(map, len);
    wn_index_free(ix);
    return st;
}
