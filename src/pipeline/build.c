/*
 * build.c - winnow index: a corpus streamed into an index directory
 *   docs.sqlite  the documents (src/store), rows 0..n-1 in corpus order
 *   bm25.idx     BM25 over title + " " + text, ids = rows            (--bm25)
 *   dense.idx    bi-encoder vectors, ids = rows (or chunk numbers)   (--dense)
 *   dense.map    with chunking: the row of each chunk (magic "WNCM")
 * Built in DIR.tmp.<pid>, renamed over DIR when complete: a failure leaves an
 * existing DIR as it was. Memory: one embedding batch plus what BM25 and the vector
 * index hold; the corpus itself is streamed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>

#include "pipeline.h"

wn_pipeline_build_params wn_pipeline_build_default_params(void) {
    wn_pipeline_build_params p;
    memset(&p, 0, sizeof p);
    p.corpus = wn_corpus_default_params();
    p.bm25_params = wn_bm25_default_params();
    p.model_params = wn_model_default_params();
    p.ann = WN_INDEX_FLAT;
    p.index_params = wn_index_default_params();
    p.batch = 64;
    return p;
}

/* A model directory an adaptation wrote into the index (dense_adapt): its files and
 * sub-directories, at most depth levels down. */
static void remove_tree(const char *dir, int depth) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char *p = wn_path_join(dir, e->d_name);
        if (!p) continue;
        if (wn_dir_exists(p)) {
            if (depth > 0) remove_tree(p, depth - 1);
        } else unlink(p);
        wn_free(p);
    }
    closedir(d);
    rmdir(dir);
}

/* rm -rf of an index directory we made: only the files winnow writes there, and the
 * sub-directory of an adapted model (named in the metadata, read before the store goes). */
void pipeline_remove_dir(const char *dir) {
    static const char *files[] = {"docs.sqlite", "docs.sqlite-journal", "bm25.idx", "dense.idx", "dense.map"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char *p = wn_path_join(dir, files[i]);
        if (p) unlink(p);
        wn_free(p);
    }
    DIR *d = opendir(dir); /* what is left can only be an adapted model's directory */
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            char *p = wn_path_join(dir, e->d_name);
            char *mj = p ? wn_path_join(p, "modules.json") : NULL;
            if (mj && wn_file_exists(mj)) remove_tree(p, 3);
            wn_free(mj);
            wn_free(p);
        }
        closedir(d);
    }
    rmdir(dir);
}

typedef struct {
    const wn_pipeline_build_params *p;
    wn_store *store;
    wn_bm25 *bm25;
    wn_model *model;
    wn_index *index;
    int dim;         /* the index's: dimensions, or the model's */
    int full;        /* the model's embedding size */
    const char *prompt, *prompt_name; /* put before every document (the model's or p's) */
    /* the embedding batch */
    char **texts;    /* (batch) owned */
    int64_t *ids;    /* (batch) vector ids */
    float *vecs;     /* (batch, full) */
    int n_batch;
    int64_t n_vectors;
    /* chunk -> row */
    int64_t *chunk_row;
    size_t chunk_cap;
    char *buf;
    size_t buf_cap;
    char adapted[1024]; /* the adapted model's sub-directory, or "" */
} builder;

static wn_status flush_batch(builder *b) {
    if (!b->n_batch) return WN_OK;
    wn_status st = wn_model_embed(b->model, b->n_batch, (const char *const *)b->texts, b->vecs);
    if (st == WN_OK && b->dim < b->full) st = wn_embed_truncate(b->vecs, b->n_batch, b->full, b->dim);
    if (st == WN_OK) st = wn_index_add(b->index, b->n_batch, b->vecs, b->ids);
    for (int i = 0; i < b->n_batch; i++) wn_free(b->texts[i]);
    b->n_batch = 0;
    return st;
}

static wn_status add_vector_text(builder *b, const char *text, size_t len, int64_t row) {
    size_t pl = strlen(b->prompt);
    char *t = wn_malloc(pl + len + 1);
    if (t) {
        memcpy(t, b->prompt, pl);
        memcpy(t + pl, text, len);
        t[pl + len] = 0;
    }
    if (!t) return wn_seterr(WN_ERR_NOMEM, "index: out of memory");
    int64_t vid = row;
    if (b->p->chunk_tokens > 0) {
        vid = b->n_vectors;
        if (wn_grow((void **)&b->chunk_row, &b->chunk_cap, (size_t)vid + 1, sizeof *b->chunk_row) != WN_OK) {
            wn_free(t);
            return wn_seterr(WN_ERR_NOMEM, "index: out of memory");
        }
        b->chunk_row[vid] = row;
    }
    b->texts[b->n_batch] = t;
    b->ids[b->n_batch] = vid;
    b->n_batch++;
    b->n_vectors++;
    if (b->n_batch == b->p->batch) return flush_batch(b);
    return WN_OK;
}

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

/* Windows of chunk_tokens words, chunk_tokens - overlap apart; each prefixed by the title. */
static wn_status add_chunks(builder *b, const char *title, const char *text, int64_t row) {
    int W = b->p->chunk_tokens, stride = W - b->p->chunk_overlap;
    /* word starts */
    size_t n_words = 0, cap = 0;
    const char **starts = NULL, **ends = NULL;
    size_t cap2 = 0;
    wn_status st = WN_OK;
    for (const char *s = text; *s;) {
        while (*s && is_space(*s)) s++;
        if (!*s) break;
        const char *e = s;
        while (*e && !is_space(*e)) e++;
        if (wn_grow((void **)&starts, &cap, n_words + 1, sizeof *starts) != WN_OK ||
            wn_grow((void **)&ends, &cap2, n_words + 1, sizeof *ends) != WN_OK) {
            st = wn_seterr(WN_ERR_NOMEM, "index: out of memory");
            goto done;
        }
        starts[n_words] = s;
        ends[n_words] = e;
        n_words++;
        s = e;
    }
    size_t tl = strlen(title);
    for (size_t w0 = 0;; w0 += (size_t)stride) {
        size_t w1 = WN_MIN(n_words, w0 + (size_t)W);
        size_t body = n_words ? (size_t)(ends[w1 - 1] - starts[w0]) : 0;
        if (wn_grow((void **)&b->buf, &b->buf_cap, tl + body + 2, 1) != WN_OK) {
            st = wn_seterr(WN_ERR_NOMEM, "index: out of memory");
            goto done;
        }
        size_t len = 0;
        if (tl) {
            memcpy(b->buf, title, tl);
            len = tl;
            if (body) b->buf[len++] = ' ';
        }
        if (body) memcpy(b->buf + len, starts[w0], body);
        len += body;
        if ((st = add_vector_text(b, b->buf, len, row)) != WN_OK) goto done;
        if (w1 >= n_words) break;
    }
done:
    wn_free(starts);
    wn_free(ends);
    return st;
}

wn_status pipeline_join(char **buf, size_t *cap, const char *title, const char *text, size_t *len) {
    size_t tl = strlen(title), xl = strlen(text), n = 0;
    if (wn_grow((void **)buf, cap, tl + xl + 2, 1) != WN_OK) return wn_seterr(WN_ERR_NOMEM, "out of memory joining a document");
    if (tl) {
        memcpy(*buf, title, tl);
        n = tl;
        if (xl) (*buf)[n++] = ' ';
    }
    memcpy(*buf + n, text, xl + 1);
    *len = n + xl;
    return WN_OK;
}

static wn_status add_doc(builder *b, const wn_doc *d, int64_t row) {
    wn_status st = WN_OK;
    if (b->bm25 || (b->model && b->p->chunk_tokens <= 0)) {
        size_t len;
        if ((st = pipeline_join(&b->buf, &b->buf_cap, d->title, d->text, &len)) != WN_OK) return st;
        if (b->bm25 && (st = wn_bm25_add(b->bm25, row, b->buf)) != WN_OK) return st;
        if (b->model && b->p->chunk_tokens <= 0) return add_vector_text(b, b->buf, len, row);
    }
    if (b->model && b->p->chunk_tokens > 0) return add_chunks(b, d->title, d->text, row);
    return WN_OK;
}

/* The bi-encoder name (or directory), its vector index and the embedding batch. */
static wn_status open_dense(builder *b, const char *name) {
    const wn_pipeline_build_params *p = b->p;
    wn_status st;
    if ((st = wn_model_load(name, &p->model_params, &b->model)) != WN_OK) return st;
    if (wn_model_kind_of(b->model) != WN_MODEL_BIENCODER)
        return wn_seterr(WN_ERR_ARG, "index: %s is a cross-encoder; --dense needs a bi-encoder", name);
    b->full = b->dim = wn_model_dim(b->model);
    if (p->dimensions) {
        if (p->dimensions < 1 || p->dimensions > b->full)
            return wn_seterr(WN_ERR_ARG, "index: --dimensions %d, the model's embeddings have %d", p->dimensions, b->full);
        b->dim = p->dimensions;
    }
    if ((st = pipeline_prompt(b->model, 0, p->doc_prompt, p->doc_prompt_name, &b->prompt, &b->prompt_name)) != WN_OK)
        return st;
    if ((st = wn_index_create(p->ann, b->dim, WN_METRIC_COS, &p->index_params, &b->index)) != WN_OK) return st;
    b->texts = wn_calloc((size_t)p->batch, sizeof *b->texts);
    b->ids = wn_calloc((size_t)p->batch, sizeof *b->ids);
    b->vecs = wn_calloc((size_t)p->batch * (size_t)b->full, sizeof *b->vecs);
    if (!b->texts || !b->ids || !b->vecs) return wn_seterr(WN_ERR_NOMEM, "index: out of memory for a batch of %d", p->batch);
    return WN_OK;
}

/* Adaptation: the hook writes a model into tmp, then every stored document is
 * embedded with it (BM25 already has them). */
static wn_status adapt_and_embed(builder *b, const char *tmp) {
    const wn_pipeline_build_params *p = b->p;
    wn_status st = p->dense_adapt(p->dense_adapt_ud, b->store, tmp, b->adapted, sizeof b->adapted);
    if (st != WN_OK) return st;
    if (!b->adapted[0] || b->adapted[0] == '/' || strstr(b->adapted, ".."))
        return wn_seterr(WN_ERR_INTERNAL, "index: the adaptation gave the model directory '%s' (a path inside the index is needed)",
                         b->adapted);
    char *dir = wn_path_join(tmp, b->adapted);
    if (!dir) return wn_seterr(WN_ERR_NOMEM, "index: out of memory");
    st = open_dense(b, dir);
    wn_free(dir);
    wn_bm25 *keep = b->bm25;
    b->bm25 = NULL; /* add_doc: the vectors only */
    int64_t n = wn_store_count(b->store);
    for (int64_t row = 0; row < n && st == WN_OK; row++) {
        wn_doc d;
        if ((st = wn_store_get(b->store, row, &d)) == WN_OK) st = add_doc(b, &d, row);
        if (st == WN_OK && p->progress && ((row + 1) % 256 == 0 || row + 1 == n))
            p->progress(p->progress_ud, "embedding", (uint64_t)(row + 1), (uint64_t)n);
    }
    b->bm25 = keep;
    return st;
}

static wn_status save_chunk_map(const builder *b, const char *dir) {
    char *path = wn_path_join(dir, "dense.map");
    if (!path) return wn_seterr(WN_ERR_NOMEM, "index: out of memory");
    wn_atomic_file af;
    wn_status st = wn_atomic_open(&af, path);
    wn_free(path);
    if (st != WN_OK) return st;
    /* magic, version, header bytes, reserved, count; then int64 rows, little-endian */
    uint32_t hdr[4] = {0x4D434E57u /* "WNCM" */, 1, 32, 0};
    int64_t n = b->n_vectors, reserved = 0;
    if ((st = wn_atomic_write(&af, hdr, sizeof hdr)) == WN_OK && (st = wn_atomic_write(&af, &n, 8)) == WN_OK &&
        (st = wn_atomic_write(&af, &reserved, 8)) == WN_OK)
        st = wn_atomic_write(&af, b->chunk_row, (size_t)n * sizeof *b->chunk_row);
    if (st != WN_OK) {
        wn_atomic_abort(&af);
        return st;
    }
    return wn_atomic_commit(&af);
}

static void warn(const wn_pipeline_build_params *p, const char *msg) {
    if (p->warn) p->warn(p->warn_ud, msg);
}

static wn_status record_meta(builder *b, const char *corpus, const wn_corpus *c) {
    const wn_pipeline_build_params *p = b->p;
    char v[64];
    wn_status st = WN_OK;
#define META(k, val) \
    if (st == WN_OK) st = wn_store_set_meta(b->store, k, val)
    META("winnow.version", wn_version());
    META("corpus.path", corpus);
    META("corpus.format", wn_corpus_format_name(wn_corpus_format_of(c)));
    snprintf(v, sizeof v, "%lld", (long long)wn_store_count(b->store));
    META("docs", v);
    META("bm25", b->bm25 ? "1" : "0");
    if (b->bm25) {
        wn_bm25_params bp = wn_bm25_params_of(b->bm25);
        snprintf(v, sizeof v, "k1=%g b=%g stem=%d stopwords=%d", (double)bp.k1, (double)bp.b, bp.stem, bp.stopwords);
        META("bm25.params", v);
    }
    META("dense", b->model ? "1" : "0");
    if (b->model) {
        META("dense.model", p->dense_model);
        if (b->adapted[0]) META("dense.model_dir", b->adapted);
        META("dense.ann", wn_index_type_name(p->ann));
        snprintf(v, sizeof v, "%d", b->dim);
        META("dense.dim", v);
        META("dense.dimensions", v); /* the query vectors are cut to this */
        snprintf(v, sizeof v, "%d", b->full);
        META("dense.model_dim", v);
        META("dense.doc_prompt", b->prompt);
        META("dense.doc_prompt_name", b->prompt_name);
        snprintf(v, sizeof v, "%d", p->chunk_tokens);
        META("dense.chunk_tokens", v);
        snprintf(v, sizeof v, "%d", p->chunk_overlap);
        META("dense.chunk_overlap", v);
        snprintf(v, sizeof v, "%lld", (long long)b->n_vectors);
        META("dense.vectors", v);
    }
#undef META
    return st;
}

wn_status wn_pipeline_build(const char *corpus, const char *dir, const wn_pipeline_build_params *p_in, wn_pipeline_build_stats *stats) {
    WN_ENTRY();
    wn_pipeline_build_params dp = wn_pipeline_build_default_params();
    const wn_pipeline_build_params *p = p_in ? p_in : &dp;
    if (stats) memset(stats, 0, sizeof *stats);
    if (!corpus || !dir) return wn_seterr(WN_ERR_ARG, "wn_pipeline_build: NULL corpus or directory");
    if (!p->bm25 && !p->dense_model) return wn_seterr(WN_ERR_ARG, "index: nothing to build (ask for BM25 and/or a dense model)");
    if (p->dense_adapt && !p->dense_model) return wn_seterr(WN_ERR_ARG, "index: adaptation needs a dense model to adapt");
    if (p->dense_model && (p->batch < 1 || p->batch > 4096))
        return wn_seterr(WN_ERR_ARG, "index: batch %d outside 1..4096", p->batch);
    if (p->chunk_tokens < 0 || (p->chunk_tokens > 0 && (p->chunk_overlap < 0 || p->chunk_overlap >= p->chunk_tokens)))
        return wn_seterr(WN_ERR_ARG, "index: chunk overlap %d must be from 0 to chunk size %d - 1", p->chunk_overlap,
                         p->chunk_tokens);
    if (wn_dir_exists(dir) && !p->overwrite)
        return wn_seterr(WN_ERR_ARG, "%s: already exists (winnow never overwrites an index unless asked: --force)", dir);
    if (wn_file_exists(dir)) return wn_seterr(WN_ERR_ARG, "%s: is a file, not an index directory", dir);
    double t0 = wn_now();
    size_t tl = strlen(dir) + 64;
    char *tmp = wn_malloc(tl), *old = wn_malloc(tl);
    builder b;
    memset(&b, 0, sizeof b);
    b.p = p;
    wn_corpus *c = NULL;
    wn_status st = WN_OK;
    if (!tmp || !old) {
        st = wn_seterr(WN_ERR_NOMEM, "index: out of memory");
        goto fail;
    }
    snprintf(tmp, tl, "%s.tmp.%ld", dir, (long)getpid());
    snprintf(old, tl, "%s.old.%ld", dir, (long)getpid());
    pipeline_remove_dir(tmp); /* a leftover of a crashed run with our pid */
    if ((st = wn_corpus_open(corpus, &p->corpus, &c)) != WN_OK) goto fail;
    if ((st = wn_store_open(tmp, 1, &b.store)) != WN_OK) goto fail;
    if (p->bm25 && (st = wn_bm25_create(&p->bm25_params, &b.bm25)) != WN_OK) goto fail;
    if (p->dense_model && !p->dense_adapt && (st = open_dense(&b, p->dense_model)) != WN_OK) goto fail;
    int64_t skipped = 0;
    for (;;) {
        wn_doc d;
        int got;
        st = wn_corpus_next(c, &d, &got);
        if (st == WN_OK && got) {
            int64_t row;
            st = wn_store_add(b.store, d.id, d.title, d.text, d.meta, &row);
            if (st == WN_ERR_ARG) /* duplicate id: name the line */
                st = wn_seterr_prefix(WN_ERR_FORMAT, "%s:%llu: ", corpus, (unsigned long long)d.line);
            else if (st == WN_OK) {
                st = add_doc(&b, &d, row);
                if (st != WN_OK) goto fail;
            }
        }
        if (st == WN_ERR_FORMAT && p->skip_bad) {
            skipped++;
            warn(p, wn_last_error());
            wn_clearerr(); /* skipped, not failed: a successful build reads "" */
            continue;
        }
        if (st != WN_OK) goto fail;
        if (!got) break;
        if (p->progress && (wn_store_count(b.store) & 255) == 0) {
            uint64_t done, total;
            wn_corpus_progress(c, &done, &total);
            p->progress(p->progress_ud, "indexing", done, total);
        }
    }
    if ((st = flush_batch(&b)) != WN_OK) goto fail;
    if (wn_store_count(b.store) == 0) {
        st = wn_seterr(WN_ERR_FORMAT, "%s: no documents%s", corpus, skipped ? " (all lines were skipped)" : "");
        goto fail;
    }
    if (p->progress) {
        uint64_t done, total;
        wn_corpus_progress(c, &done, &total);
        p->progress(p->progress_ud, "indexing", total, total);
    }
    if (p->dense_model && p->dense_adapt) {
        if ((st = adapt_and_embed(&b, tmp)) != WN_OK || (st = flush_batch(&b)) != WN_OK) goto fail;
    }
    char *path = NULL;
    if (b.bm25) {
        if (!(path = wn_path_join(tmp, "bm25.idx"))) goto nomem;
        st = wn_bm25_save(b.bm25, path);
        wn_free(path);
        if (st != WN_OK) goto fail;
    }
    if (b.index) {
        if (!(path = wn_path_join(tmp, "dense.idx"))) goto nomem;
        st = wn_index_save(b.index, path);
        wn_free(path);
        if (st != WN_OK) goto fail;
        if (p->chunk_tokens > 0 && (st = save_chunk_map(&b, tmp)) != WN_OK) goto fail;
    }
    if ((st = record_meta(&b, corpus, c)) != WN_OK) goto fail;
    if ((st = wn_store_flush(b.store)) != WN_OK) goto fail;
    if (stats) {
        stats->docs = wn_store_count(b.store);
        stats->skipped = skipped;
        stats->vectors = b.n_vectors;
    }
    wn_store_free(b.store);
    b.store = NULL;
    /* swap in: DIR -> DIR.old, tmp -> DIR, remove DIR.old */
    int had = wn_dir_exists(dir);
    if (had && rename(dir, old) != 0) {
        st = wn_seterr(WN_ERR_IO, "%s: cannot move the old index aside to %s", dir, old);
        goto fail;
    }
    if (rename(tmp, dir) != 0) {
        if (had) rename(old, dir);
        st = wn_seterr(WN_ERR_IO, "cannot rename %s to %s", tmp, dir);
        goto fail;
    }
    if (had) pipeline_remove_dir(old);
    if (stats) stats->seconds = wn_now() - t0;
    goto out;
nomem:
    st = wn_seterr(WN_ERR_NOMEM, "index: out of memory");
fail:
    if (tmp) {
        wn_store_free(b.store);
        b.store = NULL;
        pipeline_remove_dir(tmp);
    }
out:
    for (int i = 0; i < b.n_batch; i++) wn_free(b.texts[i]);
    wn_free(b.texts);
    wn_free(b.ids);
    wn_free(b.vecs);
    wn_free(b.chunk_row);
    wn_free(b.buf);
    wn_store_free(b.store);
    wn_bm25_free(b.bm25);
    wn_index_free(b.index);
    wn_model_free(b.model);
    wn_corpus_free(c);
    wn_free(tmp);
    wn_free(old);
    return st;
}
