/*
 * store.c - the containers of an index: copy-on-write byte buffers (owned or
 * borrowed from the mapped file), the vector store (fp32 / fp16 / int8 rows with
 * squared norms), the external-id hash map and the top-k heap.
 * int8 is symmetric per-row scalar quantisation: x ~ scale * c, c in [-127, 127],
 * scale = max|x| / 127, which needs no training and so suits incremental adds.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "index.h"

/* Large buffers (vectors, graph links) ask for transparent huge pages where the
 * system leaves them to madvise: graph search reads rows at random, and with 4 KiB
 * pages nearly every row costs a TLB miss. Advisory: failures are ignored. */
static void advise_huge(void *p, size_t n) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    enum { HUGE_MIN = 8u << 20, PAGE = 4096 };
    if (n < HUGE_MIN) return;
    uintptr_t a = ((uintptr_t)p + PAGE - 1) & ~(uintptr_t)(PAGE - 1), e = ((uintptr_t)p + n) & ~(uintptr_t)(PAGE - 1);
    if (e > a) (void)madvise((void *)a, e - a, MADV_HUGEPAGE);
#else
    (void)p, (void)n;
#endif
}

wn_status ibuf_reserve(ibuf *b, size_t cap) {
    if (b->owned && b->cap >= cap) return WN_OK;
    if (cap < b->len) cap = b->len;
    void *p = wn_malloc_aligned(cap ? cap : 64);
    if (!p) return wn_seterr(WN_ERR_NOMEM, "index: out of memory allocating %zu bytes", cap);
    advise_huge(p, cap);
    if (b->len) memcpy(p, b->p, b->len);
    if (b->owned) wn_free_aligned(b->p);
    b->p = p;
    b->cap = cap;
    b->owned = 1;
    return WN_OK;
}

wn_status ibuf_append(ibuf *b, const void *data, size_t n) {
    if (!b->owned || b->len + n > b->cap) {
        size_t cap = b->owned ? b->cap : b->len;
        if (cap < 256) cap = 256;
        while (cap < b->len + n) cap += cap / 2;
        wn_status st = ibuf_reserve(b, cap);
        if (st != WN_OK) return st;
    }
    if (n) memcpy((char *)b->p + b->len, data, n);
    b->len += n;
    return WN_OK;
}

void ibuf_free(ibuf *b) {
    if (b->owned) wn_free_aligned(b->p);
    memset(b, 0, sizeof *b);
}

/* ---------------------------------------------------------------- vector store */

void vstore_init(vstore *v, int dim, wn_storage st) {
    memset(v, 0, sizeof *v);
    v->dim = dim;
    v->st = st;
    v->row = (size_t)dim * (st == WN_STORAGE_FP32 ? 4 : st == WN_STORAGE_FP16 ? 2 : 1);
}

wn_status vstore_reserve(vstore *v, int64_t n) {
    wn_status st = ibuf_reserve(&v->data, (size_t)n * v->row);
    if (st == WN_OK) st = ibuf_reserve(&v->norm, (size_t)n * 4);
    if (st == WN_OK && v->st == WN_STORAGE_INT8) st = ibuf_reserve(&v->scale, (size_t)n * 4);
    return st;
}

wn_status vstore_append(vstore *v, int64_t n, const float *x) {
    int64_t have = (int64_t)(v->norm.len / 4);
    if (v->data.cap < (size_t)(have + n) * v->row || !v->data.owned || !v->norm.owned ||
        (v->st == WN_STORAGE_INT8 && !v->scale.owned)) {
        int64_t cap = have + n;
        if (v->data.owned && cap < have + have / 2) cap = have + have / 2;
        wn_status st = vstore_reserve(v, cap);
        if (st != WN_OK) return st;
    }
    int d = v->dim;
    for (int64_t r = 0; r < n; r++) {
        const float *xr = x + (size_t)r * d;
        char *dst = (char *)v->data.p + (size_t)(have + r) * v->row;
        float nrm = 0;
        if (v->st == WN_STORAGE_FP32) {
            memcpy(dst, xr, v->row);
            for (int i = 0; i < d; i++) nrm += xr[i] * xr[i];
        } else if (v->st == WN_STORAGE_FP16) {
            uint16_t *h = (uint16_t *)dst;
            for (int i = 0; i < d; i++) {
                h[i] = f32_to_f16(xr[i]);
                float y = f16_to_f32(h[i]);
                nrm += y * y;
            }
        } else {
            float mx = 0;
            for (int i = 0; i < d; i++) mx = fmaxf(mx, fabsf(xr[i]));
            float scale = mx / 127.0f, inv = mx > 0 ? 127.0f / mx : 0;
            int8_t *c = (int8_t *)dst;
            float cn = 0;
            for (int i = 0; i < d; i++) {
                float q = nearbyintf(xr[i] * inv);
                c[i] = (int8_t)(q > 127 ? 127 : q < -127 ? -127 : q);
                cn += (float)c[i] * (float)c[i];
            }
            nrm = scale * scale * cn;
            ((float *)v->scale.p)[have + r] = scale;
        }
        ((float *)v->norm.p)[have + r] = nrm;
    }
    v->data.len = (size_t)(have + n) * v->row;
    v->norm.len = (size_t)(have + n) * 4;
    if (v->st == WN_STORAGE_INT8) v->scale.len = (size_t)(have + n) * 4;
    return WN_OK;
}

void vstore_get(const vstore *v, int64_t i, float *out) {
    const void *r = vstore_row(v, i);
    if (v->st == WN_STORAGE_FP32) memcpy(out, r, v->row);
    else if (v->st == WN_STORAGE_FP16)
        for (int k = 0; k < v->dim; k++) out[k] = f16_to_f32(((const uint16_t *)r)[k]);
    else {
        float s = ((const float *)v->scale.p)[i];
        for (int k = 0; k < v->dim; k++) out[k] = s * (float)((const int8_t *)r)[k];
    }
}

void vstore_free(vstore *v) {
    ibuf_free(&v->data);
    ibuf_free(&v->norm);
    ibuf_free(&v->scale);
}

float ix_dist(const wn_index *ix, const dist_kernels *kr, const iquery *q, int64_t i) {
    const vstore *v = &ix->vs;
    const void *r = vstore_row(v, i);
    float dot;
    if (v->st == WN_STORAGE_FP32) dot = kr->dot_f32(q->x, r, v->dim);
    else if (v->st == WN_STORAGE_FP16) dot = kr->dot_f16(q->x, r, v->dim);
    else dot = ((const float *)v->scale.p)[i] * kr->dot_i8(q->x, r, v->dim);
    if (ix->metric != WN_METRIC_L2) {
        /* HNSW under IP builds its graph in the augmented space of Bachrach et al.
         * (2014): x' = [x, sqrt(phi^2 - |x|^2)] turns inner products into L2
         * distances (-x.y - a_x a_y ranks like |x' - y'|^2); queries have aug 0. */
        if (q->aug != 0) {
            float t = ix->h.phi2 - vstore_norms(v)[i];
            return -dot - q->aug * (t > 0 ? sqrtf(t) : 0);
        }
        return -dot;
    }
    float d = q->qn - 2 * dot + vstore_norms(v)[i];
    return d > 0 ? d : 0;
}

/* ---------------------------------------------------------------- id map */

static size_t hash64(int64_t k) {
    uint64_t x = (uint64_t)k;
    x ^= x >> 33, x *= 0xff51afd7ed558ccdULL, x ^= x >> 33, x *= 0xc4ceb9fe1a85ec53ULL, x ^= x >> 33;
    return (size_t)x;
}

static wn_status idmap_resize(idmap *m, size_t cap) {
    int64_t *keys = wn_malloc(cap * sizeof *keys), *vals = wn_malloc(cap * sizeof *vals);
    if (!keys || !vals) {
        wn_free(keys);
        wn_free(vals);
        return wn_seterr(WN_ERR_NOMEM, "index: out of memory growing the id map to %zu", cap);
    }
    memset(keys, 0xff, cap * sizeof *keys);
    for (size_t i = 0; i < m->cap; i++) {
        if (m->keys[i] < 0) continue;
        size_t h = hash64(m->keys[i]) & (cap - 1);
        while (keys[h] >= 0) h = (h + 1) & (cap - 1);
        keys[h] = m->keys[i], vals[h] = m->vals[i];
    }
    wn_free(m->keys);
    wn_free(m->vals);
    m->keys = keys, m->vals = vals, m->cap = cap;
    return WN_OK;
}

wn_status idmap_put(idmap *m, int64_t key, int64_t val) {
    if ((m->n + 1) * 2 > m->cap) {
        wn_status st = idmap_resize(m, m->cap ? m->cap * 2 : 64);
        if (st != WN_OK) return st;
    }
    size_t h = hash64(key) & (m->cap - 1);
    while (m->keys[h] >= 0 && m->keys[h] != key) h = (h + 1) & (m->cap - 1);
    if (m->keys[h] < 0) m->n++;
    m->keys[h] = key, m->vals[h] = val;
    return WN_OK;
}

int64_t idmap_get(const idmap *m, int64_t key) {
    if (!m->cap) return -1;
    size_t h = hash64(key) & (m->cap - 1);
    while (m->keys[h] >= 0) {
        if (m->keys[h] == key) return m->vals[h];
        h = (h + 1) & (m->cap - 1);
    }
    return -1;
}

/* Linear-probing delete with backward shift (no tombstones). */
void idmap_del(idmap *m, int64_t key) {
    if (!m->cap) return;
    size_t mask = m->cap - 1, h = hash64(key) & mask;
    while (m->keys[h] >= 0 && m->keys[h] != key) h = (h + 1) & mask;
    if (m->keys[h] < 0) return;
    m->n--;
    size_t hole = h;
    for (size_t j = (h + 1) & mask; m->keys[j] >= 0; j = (j + 1) & mask) {
        size_t home = hash64(m->keys[j]) & mask;
        /* move j into the hole unless its home lies cyclically in (hole, j] */
        if ((j > hole && (home <= hole || home > j)) || (j < hole && home <= hole && home > j)) {
            m->keys[hole] = m->keys[j], m->vals[hole] = m->vals[j];
            hole = j;
        }
    }
    m->keys[hole] = -1;
}

void idmap_free(idmap *m) {
    wn_free(m->keys);
    wn_free(m->vals);
    memset(m, 0, sizeof *m);
}

/* ---------------------------------------------------------------- top-k heap */

void topk_push(topk *h, float d, int64_t i) {
    if (h->n < h->k) {
        int c = h->n++;
        while (c > 0) {
            int p = (c - 1) / 2;
            if (h->d[p] >= d) break;
            h->d[c] = h->d[p], h->i[c] = h->i[p];
            c = p;
        }
        h->d[c] = d, h->i[c] = i;
        return;
    }
    if (d >= h->d[0]) return;
    int c = 0;
    for (;;) {
        int l = 2 * c + 1, r = l + 1, m = c;
        float md = d;
        if (l < h->n && h->d[l] > md) m = l, md = h->d[l];
        if (r < h->n && h->d[r] > md) m = r;
        if (m == c) break;
        h->d[c] = h->d[m], h->i[c] = h->i[m];
        c = m;
    }
    h->d[c] = d, h->i[c] = i;
}

int topk_sort(topk *h) {
    int n = h->n;
    /* pop the max to the end repeatedly: ascending order, ties by slot for determinism */
    for (int e = n - 1; e > 0; e--) {
        float d = h->d[e];
        int64_t i = h->i[e];
        h->d[e] = h->d[0], h->i[e] = h->i[0];
        int c = 0;
        for (;;) {
            int l = 2 * c + 1, r = l + 1, m = c;
            float md = d;
            if (l < e && h->d[l] > md) m = l, md = h->d[l];
            if (r < e && h->d[r] > md) m = r;
            if (m == c) break;
            h->d[c] = h->d[m], h->i[c] = h->i[m];
            c = m;
        }
        h->d[c] = d, h->i[c] = i;
    }
    h->n = 0;
    return n;
}
