/*
 * winnow.h - the public API of winnow, a C engine for two-stage neural retrieval.
 *
 * Everything a program needs is declared here; nothing under src/ is installed.
 * Conventions (see docs/ARCHITECTURE.md):
 *   - opaque handles (wn_model, wn_index, ...), each _load or _create has a NULL-safe _free;
 *   - every fallible call returns a wn_status; on error wn_last_error() describes it
 *     (thread-local, valid until the next winnow call on the same thread);
 *   - the library never prints, never exits, installs no signal handler and keeps no
 *     mutable global state except the allocator hook, set once before any other call;
 *   - arrays are caller-owned unless a comment says otherwise; sizes are in the comments.
 *
 * Usage:
 *   wn_model *m;
 *   wn_model_params p = wn_model_default_params();
 *   if (wn_model_load("sentence-transformers/all-MiniLM-L6-v2", &p, &m) != WN_OK)
 *       fprintf(stderr, "%s\n", wn_last_error());
 *   float emb[2 * 384];
 *   const char *texts[2] = {"hello", "world"};
 *   wn_model_embed(m, 2, texts, emb);
 *   wn_model_free(m);
 */
#ifndef WINNOW_H
#define WINNOW_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define WN_VERSION "0.1.0"

/* ---------------------------------------------------------------- core */

typedef enum {
    WN_OK = 0,
    WN_ERR_ARG,         /* invalid argument from the caller */
    WN_ERR_IO,          /* a file could not be read or written */
    WN_ERR_FORMAT,      /* a file or input is malformed */
    WN_ERR_NOMEM,       /* an allocation failed */
    WN_ERR_NOTFOUND,    /* a named file, tensor, id or model does not exist */
    WN_ERR_NETWORK,     /* a download failed */
    WN_ERR_UNSUPPORTED, /* valid, but not something winnow does */
    WN_ERR_INTERNAL     /* a bug in winnow */
} wn_status;

/* The message of the last error on this thread ("" if none). */
const char *wn_last_error(void);
/* A short name for a status: "ok", "io", "format", ... */
const char *wn_status_name(wn_status s);
const char *wn_version(void);

/* One pluggable allocation hook for everything the library allocates (cJSON included).
 * Set it once, before any other winnow call; NULL restores malloc/realloc/free.
 * realloc_fn may be NULL, in which case malloc+copy+free is used. */
typedef struct {
    void *(*malloc_fn)(size_t size, void *ud);
    void *(*realloc_fn)(void *ptr, size_t size, void *ud);
    void (*free_fn)(void *ptr, void *ud);
    void *ud;
} wn_allocator;
void wn_set_allocator(const wn_allocator *a);

/* Progress of long work (indexing, downloading, training). Called from the calling
 * thread; total is 0 when unknown. The library never draws anything itself. */
typedef void (*wn_progress_fn)(void *ud, const char *what, uint64_t done, uint64_t total);

/* CPU features winnow dispatches on, detected once. WN_FORCE_SCALAR=1 in the
 * environment forces the scalar reference kernels. */
typedef enum { WN_ISA_SCALAR = 0, WN_ISA_AVX2 = 1, WN_ISA_AVX512 = 2 } wn_isa;
wn_isa wn_cpu_isa(void);
const char *wn_isa_name(wn_isa isa);

/* ---------------------------------------------------------------- tokenizer */
/* (section owned by src/tokenizer) */

/* ---------------------------------------------------------------- hub */
/* (section owned by src/model/hub.c) */

/* ---------------------------------------------------------------- model */
/* (section owned by src/model) */

/* ---------------------------------------------------------------- vector index */
/* (section owned by src/index) */

/* ---------------------------------------------------------------- lexical (BM25) */
/* (section owned by src/lexical) */

/* ---------------------------------------------------------------- evaluation */
/* (section owned by src/eval) */

/* ---------------------------------------------------------------- store + pipeline */
/* (section owned by src/store, src/pipeline) */

#ifdef __cplusplus
}
#endif
#endif /* WINNOW_H */
