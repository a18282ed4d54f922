/*
 * pipeline.h - internals of src/pipeline (floor 3): where the store, BM25, the
 * vector index and the models meet. build.c builds an index directory, search.c
 * runs the stages, fuse.c combines first-stage lists.
 */
#ifndef WN_PIPELINE_INTERNAL_H
#define WN_PIPELINE_INTERNAL_H

#include "util/strmap.h"
#include "util/util.h"

/* The searcher (search.c: first stage, rerank.c: re-ranking and its pair cache).
 * Handles are borrowed unless owns (opened from a directory). */
struct wn_searcher {
    wn_pipeline_params p;
    int owns;
    wn_store *store;
    const char *const *texts; /* (n_texts) without a store */
    const char *const *doc_ids; /* (n_texts) or NULL */
    int64_t n_texts;
    wn_bm25 *bm25;
    wn_index *index;
    wn_model *bi, *ce;
    int64_t *chunk_row; /* (n_chunks) or NULL */
    int64_t n_chunks;
    /* first-stage scratch */
    float *qvec, *dist, *bscore; /* qvec: (the model's dim) */
    char *qprompt;      /* put before every query ("" none), owned */
    char *qbuf;         /* qprompt + query */
    size_t qbuf_cap;
    int qdim;           /* the index's dimension: qvec truncated to it when smaller */
    int64_t *ids;
    wn_hit *ha, *hb;
    size_t cap; /* entries of dist/ids/bscore/ha/hb */
    /* re-ranking scratch */
    const char **qs, **ds;
    char **texts_buf;   /* (ce_cap) joined title + text per pair */
    size_t *texts_cap;  /* (ce_cap) */
    int64_t *todo;      /* (ce_cap) cache entries to fill */
    float *logits;      /* (ce_cap * labels) */
    size_t ce_cap;
    /* the pair cache: (query, row) -> logit and seconds */
    wn_strmap cq;       /* queries seen */
    int64_t *slots;     /* (slot_cap) entry or -1 */
    size_t slot_cap;
    int64_t *key_q, *key_row;
    float *logit;
    double *secs;
    size_t n_pairs, pair_cap;
    int64_t scored, reused;
};

/* The prompt put before a model's queries (query 1) or documents (0), as the
 * parameters' comments in include/winnow.h say: text when not NULL, else the
 * prompt named name, else the model's own for the role, else its default, else "".
 * *out belongs to text or the model; *name_out (may be NULL) gets the name chosen
 * or "". WN_ERR_ARG, naming the model's prompts, when it has none called name. */
wn_status pipeline_prompt(const wn_model *m, int query, const char *text, const char *name, const char **out,
                          const char **name_out);
/* prompt + text into *buf (grown; *buf may be NULL with *cap 0). */
wn_status pipeline_prefix(char **buf, size_t *cap, const char *prompt, const char *text);

/* The external id of row: from the store or doc_ids, else its decimal number (in
 * buf, cap bytes). Valid until the next call on s. */
wn_status pipeline_doc_id(wn_searcher *s, int64_t row, char *buf, size_t cap, const char **id);

/* Frees the re-ranking scratch and the pair cache (rerank.c). */
void pipeline_rerank_free(wn_searcher *s);

/* Removes an index directory's known files and the directory (best effort). */
void pipeline_remove_dir(const char *dir);

/* The text a document is indexed and re-ranked as: title + " " + text (either alone
 * when the other is empty), into *buf (grown as needed; *buf may be NULL with *cap 0). */
wn_status pipeline_join(char **buf, size_t *cap, const char *title, const char *text, size_t *len);

#endif
