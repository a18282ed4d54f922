/*
 * winnow.h - the public API of winnow, a C engine for two-stage neural retrieval.
 *
 * Everything a program needs is declared here; nothing under src/ is installed.
 * Conventions (see docs/ARCHITECTURE.md):
 *   - opaque handles (wn_model, wn_index, ...): made by _create (new, in memory), _load
 *     (read from disk) or _open (live on-disk state), each released by a NULL-safe _free;
 *     names and verbs: docs/ARCHITECTURE.md;
 *   - every fallible call returns a wn_status; on error wn_last_error() describes it
 *     (thread-local, valid until the next winnow call on the same thread);
 *   - the library never prints, never exits, installs no signal handler and keeps no
 *     mutable global state except the allocator hook, set once before any other call;
 *     it touches no other library's global state (its JSON reader is its own), and
 *     libwinnow.so exports only the wn_ symbols declared here (WN_API);
 *   - arrays are caller-owned unless a comment says otherwise; sizes are in the comments.
 *
 * Errors (as SQLite's): wn_last_error() describes the most recent call on this thread
 * that returns a wn_status.
 *   - Every function that returns a wn_status clears the message when it starts, so
 *     after WN_OK wn_last_error() is "" (whatever failed before, even inside the call).
 *   - A failure sets the message once: what failed, naming the file, field and values;
 *     context added on the way out is a prefix ("docs.wnix: ..."), added once.
 *   - Work done on the library's worker threads reports its own status and message
 *     to the calling thread, as if it had failed there.
 *   - Functions that cannot fail (accessors, name lookups, _default_params, _free,
 *     wn_free_buffer, wn_status_name) leave the message as it is, so a caller
 *     may free handles or name the status before printing wn_last_error().
 *
 * Usage (a complete program: docs/example.c):
 *   wn_model *m = NULL;
 *   wn_model_params p = wn_model_default_params();
 *   if (wn_model_load("sentence-transformers/all-MiniLM-L6-v2", &p, &m) != WN_OK) {
 *       fprintf(stderr, "%s\n", wn_last_error());  // m is NULL: nothing to free
 *       return 1;
 *   }
 *   const char *texts[2] = {"hello", "world"};
 *   float *emb = malloc(2 * (size_t)wn_model_dim(m) * sizeof *emb);
 *   wn_status st = emb ? wn_model_embed(m, 2, texts, emb) : WN_ERR_NOMEM;
 *   if (st != WN_OK) fprintf(stderr, "%s\n", emb ? wn_last_error() : "out of memory");
 *   free(emb);           // caller-owned arrays: the caller's allocator
 *   wn_model_free(m);    // every handle has its own destructor (NULL-safe)
 */
#ifndef WINNOW_H
#define WINNOW_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define WN_VERSION "0.1.0"
#define WN_IVF_MAX_NLIST (1 << 20) /* inverted lists of an IVF index, at most */

/* Marks the library's public functions: libwinnow is built with -fvisibility=hidden,
 * so these are the only symbols it exports. */
#if defined(__GNUC__) || defined(__clang__)
#define WN_API __attribute__((visibility("default")))
#else
#define WN_API
#endif

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
WN_API const char *wn_last_error(void);
/* A short name for a status: "ok", "io", "format", ... */
WN_API const char *wn_status_name(wn_status s);
WN_API const char *wn_version(void);

/* One pluggable allocation hook for everything the library allocates (its JSON included;
 * no other library's hooks are touched).
 * Set it once, before any other winnow call; NULL restores malloc/realloc/free.
 * realloc_fn may be NULL, in which case malloc+copy+free is used. */
typedef struct {
    void *(*malloc_fn)(size_t size, void *ud);
    void *(*realloc_fn)(void *ptr, size_t size, void *ud);
    void (*free_fn)(void *ptr, void *ud);
    void *ud;
} wn_allocator;
WN_API void wn_set_allocator(const wn_allocator *a);

/* A thread pool the caller may create once and share: pass it in wn_model_params,
 * wn_index_params and wn_index_search_params (field threads) or to
 * wn_bm25_search_batch_threads, and the library runs its parallel work there instead
 * of starting threads of its own (NULL everywhere keeps each call's own threads).
 * n_threads <= 0: one per online CPU; 1 starts no thread (work runs on the caller).
 * The pool must outlive every handle it was given to. One run at a time: calls from
 * several threads that share a pool take turns. */
typedef struct wn_threads wn_threads;
WN_API wn_status wn_threads_create(int n_threads, wn_threads **out);
WN_API int wn_threads_count(const wn_threads *t);
WN_API void wn_threads_free(wn_threads *t); /* NULL-safe; after every user of it */

/* Progress of long work (indexing, downloading, training). Called from the calling
 * thread; total is 0 when unknown. The library never draws anything itself. */
typedef void (*wn_progress_fn)(void *ud, const char *what, uint64_t done, uint64_t total);

/* CPU features winnow dispatches on, detected once. WN_FORCE_SCALAR=1 in the
 * environment forces the scalar reference kernels. */
typedef enum { WN_ISA_SCALAR = 0, WN_ISA_AVX2 = 1, WN_ISA_AVX512 = 2, WN_ISA_NEON = 3 /* aarch64 */ } wn_isa;
WN_API wn_isa wn_cpu_isa(void);
WN_API const char *wn_isa_name(wn_isa isa);
/* What the encoder kernels chosen for this CPU are, in words ("avx512: fp32 14x32 zmm
 * FMA; int8 vpdpbusd ..."), for --version and benchmark reports. */
WN_API const char *wn_kernels_name(void);

/* ---------------------------------------------------------------- tokenizer */
/* (section owned by src/tokenizer) */
/* BERT's tokenizer (BasicTokenizer + WordPiece), as HuggingFace computes it: the fast
 * tokenizer (Rust `tokenizers`) that AutoTokenizer and sentence-transformers use.
 * Immutable once loaded: concurrent encode/tokenize calls on one tokenizer are safe. */
typedef struct wn_tokenizer wn_tokenizer;
/* Loads vocab.txt and, when present, tokenizer.json (wins on disagreement),
 * tokenizer_config.json, special_tokens_map.json, sentence_bert_config.json from dir. */
WN_API wn_status wn_tokenizer_load(const char *dir, wn_tokenizer **out);
WN_API void wn_tokenizer_free(wn_tokenizer *t);
/* The model's limit in tokens, special tokens included (e.g. 256 for all-MiniLM-L6-v2). */
WN_API int wn_tokenizer_max_length(const wn_tokenizer *t);
WN_API int wn_tokenizer_vocab_size(const wn_tokenizer *t);
/* [CLS] a [SEP] (b [SEP]), token types 0 then 1, truncated longest_first to max_len
 * (<= 0: the model's limit). ids and type_ids: caller arrays of cap entries
 * (cap >= max_len suffices); *n_out is the number written. b may be NULL.
 * Invalid UTF-8 is replaced by U+FFFD, never fatal. Special tokens written in the
 * text ("[SEP]") are kept as such, as HF does. longest_first is the fast tokenizer's
 * (with both texts cut, an odd budget's extra token goes to the longer, b on a tie).
 * WN_ERR_ARG when max_len is below the 2 (3 for a pair) special tokens or cap is short. */
WN_API wn_status wn_tokenizer_encode(const wn_tokenizer *t, const char *a, const char *b, int max_len, int32_t *ids,
                              int32_t *type_ids, int cap, int *n_out);
/* wn_tokenizer_encode, and where each token comes from: offsets (2 * cap entries)
 * gets token i's byte span [offsets[2i], offsets[2i+1]) in its own text (a or b, as
 * valid UTF-8: an invalid byte counts as U+FFFD's 3), as the HF tokenizer aligns it
 * (a word-piece covers the original characters its normalized characters came from;
 * an [UNK] word, the whole word); -1 -1 for the template's special tokens. Byte-level
 * BPE spans are whole characters, trimmed of spaces when the post-processor says
 * trim_offsets. Unigram models (SentencePiece: XLM-R, T5) go through the normalizer's
 * alignment as HF's: a "\u2581" put in front of a word spans the word's first
 * character, one that stands for a space that space. */
WN_API wn_status wn_tokenizer_encode_offsets(const wn_tokenizer *t, const char *a, const char *b, int max_len,
                                             int32_t *ids, int32_t *type_ids, int32_t *offsets, int cap, int *n_out);
/* The word-piece ids of text without special tokens or truncation. *ids is
 * allocated by winnow (free with wn_free_buffer); *n its length. */
WN_API wn_status wn_tokenizer_tokenize(const wn_tokenizer *t, const char *text, int32_t **ids, int *n);
/* Frees a buffer that winnow allocated for the caller (NULL-safe). */
WN_API void wn_free_buffer(void *p);

/* ---------------------------------------------------------------- hub */
/* (section owned by src/model/hub.c) */
/* Where models come from: a local directory, or a hub id fetched once into a cache. */
typedef struct {
    const char *endpoint;  /* NULL: $HF_ENDPOINT, else https://huggingface.co */
    const char *cache_dir; /* NULL: $WINNOW_CACHE, else ~/.cache/winnow */
    const char *revision;  /* NULL: "main" */
    int offline;           /* 1: never touch the network ($HF_HUB_OFFLINE=1 too) */
    wn_progress_fn progress;
    void *progress_ud;
    /* winnow's own models, by a name without '/' ("winnow-small-embed"): NULL: only the
     * install directory compiled in ($(PREFIX)/share/winnow/models); else a ':'-separated
     * list of directories searched before it. $WINNOW_MODELS_DIR (same form), when set,
     * replaces both. Never the network (docs/MODELS.md). */
    const char *models_dir;
} wn_hub_params;
WN_API wn_hub_params wn_hub_default_params(void);
/* name: a directory holding the model's files, a bundled model's name (no '/', see
 * models_dir), or a hub id "owner/name", tried in that order. Writes the
 * local directory of the model to dir (cap bytes), downloading what is missing.
 * The cache: <cache>/<owner>--<name>/<revision>/ ('/' in a revision becomes "--"),
 * complete once its manifest .winnow-complete is written (then no network is used);
 * files land by rename, never partial. $HF_TOKEN, if set, is sent as a bearer token.
 * A model already in huggingface_hub's cache ($HF_HUB_CACHE, $HF_HOME/hub or
 * ~/.cache/huggingface/hub) is used from there, without a download.
 * Errors: WN_ERR_ARG neither a directory nor a bundled model nor a hub id, or a bad
 * revision / endpoint; WN_ERR_NOTFOUND one of winnow's own names not bundled in this
 * build, the hub has no such repo or required file, or offline and not cached;
 * WN_ERR_NETWORK unreachable and not cached, an HTTP error, a dropped connection;
 * WN_ERR_UNSUPPORTED pytorch_model.bin only; WN_ERR_IO the cache is not writable.
 * Threads may resolve at once with libcurl >= 7.84 (thread-safe global init); with
 * an older libcurl, call curl_global_init() before starting them. */
WN_API wn_status wn_hub_resolve(const char *name, const wn_hub_params *p, char *dir, size_t cap);

/* ---------------------------------------------------------------- model */
/* (section owned by src/model) */
/* BERT-family encoders from HuggingFace files: bi-encoders (sentence-transformers
 * layout: pooling + optional Normalize) and cross-encoders
 * (BertForSequenceClassification). A wn_model is used by one thread at a time;
 * it runs its own bounded thread pool inside each call. */
typedef struct wn_model wn_model;
typedef enum { WN_PREC_FP32 = 0, WN_PREC_BF16 = 1, WN_PREC_INT8 = 2 } wn_precision;
/* WN_MODEL_CROSSENCODER: a model that scores (query, document) pairs: a cross-encoder,
 * or a static pair scorer (a StaticEmbedding model whose config_sentence_transformers.json
 * says "winnow": {"pair_scorer": true}, such as the bundled winnow-small-rerank: the
 * score is the cosine of the two texts' embeddings, docs/MODELS.md). */
typedef enum { WN_MODEL_BIENCODER = 0, WN_MODEL_CROSSENCODER = 1 } wn_model_kind;
typedef struct {
    int n_threads;          /* 0: all online CPUs */
    int max_batch;          /* sequences per forward pass (default 32) */
    wn_precision precision; /* default fp32 */
    wn_hub_params hub;      /* where a hub id comes from */
    wn_threads *threads;    /* NULL: the model starts n_threads of its own; else this pool
                               (at most 64 threads; n_threads is then ignored) */
    int reserve_tokens;     /* > 0: the working memory (activations, batch buffers) is sized
                               once, at load, for forward passes of at most this many padded
                               tokens (raised to one sequence of the longest length, lowered to
                               max_batch of them), touched, and never grows: flat memory for a
                               long-running process (the server). A batch past it is cut
                               smaller; results do not change. 0 (default): memory grows to the
                               largest batch seen */
} wn_model_params;
WN_API wn_model_params wn_model_default_params(void);
/* name_or_dir: a directory (config.json, model.safetensors, vocab.txt, ...) or a
 * hub id resolved through wn_hub_resolve. Every tensor is checked against
 * config.json; errors name the file and the tensor (docs/MODELS.md). */
WN_API wn_status wn_model_load(const char *name_or_dir, const wn_model_params *p, wn_model **out);
WN_API void wn_model_free(wn_model *m);
WN_API wn_model_kind wn_model_kind_of(const wn_model *m);
WN_API int wn_model_dim(const wn_model *m);        /* embedding size (bi-encoder) or hidden size */
WN_API int wn_model_num_labels(const wn_model *m); /* cross-encoder outputs per pair (0 for a bi-encoder) */
/* The name of a classifier's output i (config.json's id2label, e.g. "entailment"), or
 * NULL when it has none (callers say "LABEL_i", as transformers does). */
WN_API const char *wn_model_label(const wn_model *m, int i);
WN_API int wn_model_max_length(const wn_model *m); /* tokens per input, special tokens included */
/* A re-ranker's own interpolation with the first stage (config.json, or a pair
 * scorer's config_sentence_transformers.json, "winnow": {"rerank_interpolate": A}, which
 * a re-ranker that is weak alone such as the bundled winnow-small-rerank carries), else 0. Used when wn_pipeline_params.interpolate < 0. */
WN_API float wn_model_rerank_interpolate(const wn_model *m);
WN_API const wn_tokenizer *wn_model_tokenizer(const wn_model *m);
/* texts: n UTF-8 strings; out: n * wn_model_dim floats, the sentence embeddings
 * (L2-normalised when the model has a Normalize module), in input order. Texts
 * past wn_model_max_length tokens are truncated; invalid UTF-8 is replaced by
 * U+FFFD; "" is valid ([CLS] [SEP]). WN_ERR_ARG on a cross-encoder. */
WN_API wn_status wn_model_embed(wn_model *m, int64_t n, const char *const *texts, float *out);
/* queries, docs: n strings each; out: n * wn_model_num_labels raw logits (no
 * activation), in input order; pairs truncated longest-first (a pair scorer: one
 * cosine per pair, in [-1, 1], 0 when a text has no known token). WN_ERR_ARG on a
 * bi-encoder. */
WN_API wn_status wn_model_score(wn_model *m, int64_t n, const char *const *queries, const char *const *docs, float *out);

/* Prompts and Matryoshka dimensions (sentence-transformers' config_sentence_transformers.json).
 * wn_model_prompt: the text of the prompt named name ("query", "passage", ...),
 * or NULL when the model has none by that name; name NULL: the default prompt
 * (default_prompt_name), or NULL. The string belongs to the model. */
WN_API const char *wn_model_prompt(const wn_model *m, const char *name);
/* The names of the model's prompts: *n of them, owned by the model. */
WN_API const char *const *wn_model_prompt_names(const wn_model *m, int *n);
/* Matryoshka: keeps the first dim of each of n vectors of size full (in place,
 * the result packed as n * dim floats) and L2-normalises them again.
 * WN_ERR_ARG unless 1 <= dim <= full. */
WN_API wn_status wn_embed_truncate(float *v, int64_t n, int full, int dim);

/* ---------------------------------------------------------------- vector index */
/* (section owned by src/index) */
typedef enum { WN_METRIC_IP = 0, WN_METRIC_L2 = 1, WN_METRIC_COS = 2 } wn_metric;
typedef enum { WN_INDEX_FLAT = 0, WN_INDEX_HNSW = 1, WN_INDEX_IVF = 2, WN_INDEX_IVFPQ = 3 } wn_index_type;
typedef struct wn_index wn_index;
/* Vector indexes behind one API (FAISS C API style): exact (flat), HNSW, IVF-Flat
 * and IVF-PQ, with external int64 ids, deletes, replaces, filtered search and one
 * mmap-able file per index.
 *   wn_index *ix;
 *   wn_index_params p = wn_index_default_params();
 *   wn_index_create(WN_INDEX_HNSW, 384, WN_METRIC_COS, &p, &ix);
 *   wn_index_add(ix, n, x, NULL);                 // ids 0..n-1 (or caller ids)
 *   wn_index_search_params sp = wn_index_search_default_params();
 *   wn_index_search(ix, nq, q, 10, &sp, dist, ids); // dist[nq*10], ids[nq*10]
 *   wn_index_save(ix, "docs.wnix"); wn_index_free(ix);
 * Scores in dist: IP = inner product, COS = cosine similarity (both best = largest),
 * L2 = squared Euclidean distance (best = smallest); each list is sorted best first
 * and short lists are padded with id -1 and score -inf (IP, COS) or +inf (L2).
 * COS normalises vectors on add and queries on search (a zero vector stays zero).
 * Threads: searches on one index may run concurrently from many threads; add,
 * remove, replace, train and free need the index to themselves. */
typedef enum { WN_STORAGE_FP32 = 0, WN_STORAGE_FP16 = 1, WN_STORAGE_INT8 = 2 } wn_storage;
typedef struct {
    wn_storage storage;   /* vector storage of flat/HNSW/IVF-Flat/re-ranking: fp32 (default), fp16, int8 */
    int n_threads;        /* threads for add/train (build); 0: all online CPUs, 1: the caller only */
    uint64_t seed;        /* HNSW levels, k-means init and samples (default 42) */
    int m;                /* HNSW: links per node on layers > 0 (2*m on layer 0); default 16 */
    int ef_construction;  /* HNSW: default 200 */
    int nlist;            /* IVF: inverted lists, at most WN_IVF_MAX_NLIST (0: about sqrt(n) at training) */
    int pq_m;             /* IVF-PQ: sub-quantisers, 8-bit codes; must divide dim (0: dim/4) */
    int keep_vectors;     /* IVF-PQ: 1 (default) keeps full vectors for exact re-ranking */
    int64_t max_train;    /* IVF: k-means sample size (0: 64 * nlist, at most n) */
    float compact_ratio;  /* HNSW: rebuild the graph when deleted/total passes this (0.3) */
    int exact_build;      /* HNSW: 1 builds the graph over the fp32 rows; 0 (default) over a
                             temporary fp16 copy when a batch is >= 1/4 of the index (half the
                             memory traffic, same recall; the index keeps and searches fp32) */
    wn_progress_fn progress; /* build progress (NULL: none) */
    void *progress_ud;
    wn_threads *threads;  /* add/train run on this pool (n_threads ignored); NULL: own threads */
} wn_index_params;
WN_API wn_index_params wn_index_default_params(void);

/* Filtered search: an id is a candidate iff it passes both the bitmap (when set:
 * bit (id % 8) of allow[id / 8] for 0 <= id < allow_bits; ids outside are excluded)
 * and the callback (when set: non-zero). Both are honoured inside the search. */
typedef int (*wn_filter_fn)(void *ud, int64_t id);
typedef struct {
    int ef;              /* HNSW: candidate list size (default 64; raised to k when smaller) */
    int nprobe;          /* IVF: lists visited (default 8) */
    int rerank;          /* IVF-PQ with kept vectors: re-rank this many ADC candidates
                            exactly (0: 4*k when vectors are kept; -1: never) */
    int n_threads;       /* threads over the queries of one call; <= 1: the caller only */
    const uint8_t *allow; /* allow-list bitmap over external ids, or NULL */
    int64_t allow_bits;  /* number of bits in allow */
    wn_filter_fn filter; /* or NULL; called from the search threads */
    void *filter_ud;
    wn_threads *threads; /* the queries run on this pool (n_threads ignored); NULL: a
                            pool of n_threads is started and joined per call */
} wn_index_search_params;
WN_API wn_index_search_params wn_index_search_default_params(void);

/* On success *out is yours: wn_index_free(). dim in 1..65536. */
WN_API wn_status wn_index_create(wn_index_type type, int dim, wn_metric metric, const wn_index_params *p,
                          wn_index **out);
/* IVF types: trains the coarse quantiser (and PQ) on x[n*dim]. Optional: the first add
 * trains on its own vectors when the index is untrained. Other types: no-op. */
WN_API wn_status wn_index_train(wn_index *ix, int64_t n, const float *x);
/* x: n*dim floats; ids: n external ids >= 0, unique and not yet present, or NULL for
 * count(), count()+1, ... . Non-finite values are rejected (nothing is added). */
WN_API wn_status wn_index_add(wn_index *ix, int64_t n, const float *x, const int64_t *ids);
/* Deletes one id (WN_ERR_NOTFOUND if absent): never returned again. */
WN_API wn_status wn_index_remove(wn_index *ix, int64_t id);
/* Replaces the vector of an existing id (x: dim floats). */
WN_API wn_status wn_index_replace(wn_index *ix, int64_t id, const float *x);
/* q: nq*dim floats; k >= 1; sp may be NULL (defaults). Caller allocates
 * dist[nq*k] and ids[nq*k]. */
WN_API wn_status wn_index_search(const wn_index *ix, int64_t nq, const float *q, int k, const wn_index_search_params *sp,
                          float *dist, int64_t *ids);
/* One file, written atomically (docs/FORMAT.md). */
WN_API wn_status wn_index_save(const wn_index *ix, const char *path);
/* Maps the file; vectors and graph stay in the mapping until a change copies them. */
WN_API wn_status wn_index_load(const char *path, wn_index **out);
WN_API int64_t wn_index_count(const wn_index *ix); /* live vectors (deleted ones excluded) */
WN_API int wn_index_dim(const wn_index *ix);
WN_API wn_metric wn_index_metric_of(const wn_index *ix);
WN_API wn_index_type wn_index_type_of(const wn_index *ix);
/* Bytes of heap the index holds (mapped file pages excluded) and bytes mapped. */
WN_API size_t wn_index_memory(const wn_index *ix, size_t *mapped);
WN_API void wn_index_free(wn_index *ix); /* NULL-safe */
/* Names for parsing and printing: "flat" "hnsw" "ivf" "ivfpq", "ip" "l2" "cos",
 * "fp32" "fp16" "int8". Every _parse function sets *out and returns WN_OK, or returns
 * WN_ERR_ARG with a message that lists the names it knows. */
WN_API const char *wn_index_type_name(wn_index_type t);
WN_API const char *wn_metric_name(wn_metric m);
WN_API wn_status wn_index_type_parse(const char *s, wn_index_type *out);
WN_API wn_status wn_metric_parse(const char *s, wn_metric *out);
WN_API wn_status wn_storage_parse(const char *s, wn_storage *out);

/* ---------------------------------------------------------------- lexical (BM25) */
/* (section owned by src/lexical) */
typedef struct wn_bm25 wn_bm25;
typedef struct {
    float k1;      /* 0.9 (Anserini's default) */
    float b;       /* 0.4 */
    int stem;      /* 1: Porter/Snowball English stemming */
    int stopwords; /* 1: drop English stopwords */
} wn_bm25_params;
WN_API wn_bm25_params wn_bm25_default_params(void);
WN_API wn_status wn_bm25_create(const wn_bm25_params *p, wn_bm25 **out);
/* Adds a document with an external id (unique); text is title and body together. */
WN_API wn_status wn_bm25_add(wn_bm25 *ix, int64_t id, const char *text);
/* Top k by BM25 for query: scores[k], ids[k] caller-allocated; *n_out <= k found. */
WN_API wn_status wn_bm25_search(const wn_bm25 *ix, const char *query, int k, float *scores, int64_t *ids, int *n_out);
WN_API wn_status wn_bm25_save(const wn_bm25 *ix, const char *path);
WN_API wn_status wn_bm25_load(const char *path, wn_bm25 **out);
WN_API int64_t wn_bm25_count(const wn_bm25 *ix);
WN_API void wn_bm25_free(wn_bm25 *ix);
/* Notes (src/lexical/): scores are Lucene 8 BM25Similarity's times (k1 + 1), with its
 * one-byte document lengths; the analyzer is Lucene's EnglishAnalyzer (see
 * wn_bm25_analyze); ties go to the document added first. The index is searchable
 * after every add (no finalize step); search and search_batch may run on many
 * threads at once, but not concurrently with wn_bm25_add. */
/* nq queries at once on n_threads threads (<= 0: all CPUs). scores[nq*k], ids[nq*k]
 * caller-allocated, short lists padded with score 0 and id -1; n_out[nq] (may be
 * NULL) gets the number found per query. Results do not depend on n_threads. */
WN_API wn_status wn_bm25_search_batch(const wn_bm25 *ix, int64_t nq, const char *const *queries, int k, int n_threads,
                               float *scores, int64_t *ids, int *n_out);
/* wn_bm25_search_batch on the caller's pool t (NULL: the caller's thread only). */
WN_API wn_status wn_bm25_search_batch_threads(const wn_bm25 *ix, wn_threads *t, int64_t nq,
                                              const char *const *queries, int k, float *scores, int64_t *ids,
                                              int *n_out);
/* The terms BM25 indexes for text under params p (NULL: defaults), separated by one
 * space, in text order; *out allocated by winnow (wn_free_buffer). */
WN_API wn_status wn_bm25_analyze(const wn_bm25_params *p, const char *text, char **out);
/* The number of terms document id was indexed with (WN_ERR_NOTFOUND if absent). */
WN_API wn_status wn_bm25_doc_length(const wn_bm25 *ix, int64_t id, int *len);
/* The parameters the index was built with (those stored in the file after a load). */
WN_API wn_bm25_params wn_bm25_params_of(const wn_bm25 *ix);
/* Why document id scores what it does for query: its length, then one line per
 * known query term (count, df, idf, tf, score), then "total S" (S equals the
 * search score). *out allocated by winnow (wn_free_buffer); WN_ERR_NOTFOUND if id
 * is absent. */
WN_API wn_status wn_bm25_explain(const wn_bm25 *ix, const char *query, int64_t id, char **out);

/* ---------------------------------------------------------------- evaluation */
/* (section owned by src/eval) */
/* Relevance judgments (qrels), runs and the measures trec_eval computes.
 *   wn_qrels *q; wn_run *r; wn_eval *e;
 *   wn_qrels_load("qrels/test.tsv", &q);          // BEIR tsv or TREC qrels
 *   wn_run_load("bm25.run", &r);                   // qid Q0 docid rank score tag
 *   wn_measure ms[2]; wn_measure_parse("ndcg@10", &ms[0]); wn_measure_parse("map", &ms[1]);
 *   wn_eval_create(q, r, 2, ms, &e);  wn_eval_mean(e, 0);  // mean nDCG@10
 * Conventions (trec_eval 9.x): a run's list is ordered by score descending, ties by
 * document id descending (strcmp), whatever ranks the file says; a document is
 * relevant when its grade >= 1; nDCG gains are the grades (negative: 0), discount
 * log2(rank + 1), the ideal from all judged documents; P@k divides by k; Recall@k
 * and MAP by the number of relevant documents (0 when there is none). Queries are
 * those of the qrels (as trec_eval -c): a query of the qrels absent from the run
 * scores 0, a query of the run absent from the qrels is ignored. */
typedef struct wn_qrels wn_qrels;
typedef struct wn_run wn_run;
typedef struct wn_eval wn_eval;
typedef enum { WN_MEASURE_P = 0, WN_MEASURE_RECALL, WN_MEASURE_MRR, WN_MEASURE_NDCG, WN_MEASURE_MAP } wn_measure_kind;
typedef struct {
    wn_measure_kind kind;
    int k; /* cut-off (>= 1); MAP: 0 = the whole list, else MAP@k */
} wn_measure;
/* Parses "p@3", "recall@100", "mrr@10", "ndcg@10", "map", "map@100" (case-insensitive);
 * 0 on success, -1 on an unknown name. _name writes the canonical name (cap bytes). */
WN_API wn_status wn_measure_parse(const char *s, wn_measure *out);
WN_API void wn_measure_name(wn_measure m, char *buf, size_t cap);

WN_API wn_status wn_qrels_create(wn_qrels **out);
/* Adds a judgment; a second grade for the same (qid, docid) is an error. */
WN_API wn_status wn_qrels_add(wn_qrels *q, const char *qid, const char *docid, int grade);
/* Reads BEIR tsv (header "query-id corpus-id score") or TREC qrels ("qid 0 docid rel"),
 * told apart by the column count; errors name the file and line. */
WN_API wn_status wn_qrels_load(const char *path, wn_qrels **out);
WN_API int64_t wn_qrels_count(const wn_qrels *q);
WN_API const char *wn_qrels_query(const wn_qrels *q, int64_t i); /* 0 <= i < num_queries, file order */
/* Number of judgments of query i, and judgment j of it (docid, grade). */
WN_API int64_t wn_qrels_num_judged(const wn_qrels *q, int64_t i);
WN_API const char *wn_qrels_judged(const wn_qrels *q, int64_t i, int64_t j, int *grade);
WN_API void wn_qrels_free(wn_qrels *q);

WN_API wn_status wn_run_create(wn_run **out);
/* Appends a retrieved document to qid's list (any order; duplicates are errors at
 * evaluation and saving). Scores must be finite. */
WN_API wn_status wn_run_add(wn_run *r, const char *qid, const char *docid, double score);
/* Reads "qid Q0 docid rank score tag" lines (whitespace separated). */
WN_API wn_status wn_run_load(const char *path, wn_run **out);
/* Writes the run in TREC format, queries in insertion order, each sorted as above
 * and cut to max_per_query (<= 0: all); atomically. Scores print with %.9g. */
WN_API wn_status wn_run_save(const wn_run *r, const char *path, const char *tag, int max_per_query);
WN_API int64_t wn_run_count(const wn_run *r);
WN_API void wn_run_free(wn_run *r);

/* Evaluates n measures; *out is yours (wn_eval_free). */
WN_API wn_status wn_eval_create(const wn_qrels *q, const wn_run *r, int n, const wn_measure *ms, wn_eval **out);
WN_API int64_t wn_eval_count(const wn_eval *e);
WN_API const char *wn_eval_query(const wn_eval *e, int64_t i);
WN_API double wn_eval_value(const wn_eval *e, int64_t query, int measure); /* per query */
WN_API double wn_eval_mean(const wn_eval *e, int measure);                 /* over queries */
WN_API void wn_eval_free(wn_eval *e);
/* The grade qrels give docid for qid, or -1 when unjudged. */
WN_API int wn_qrels_grade(const wn_qrels *q, const char *qid, const char *docid);

/* A self-contained HTML report (inline CSS and SVG, no network asset): the metrics
 * table per stage, quality against re-ranking time per k_candidates, latency
 * distributions (CDF per stage) and rank shifts of chosen queries. */
#define WN_REPORT_SHIFT_K 10
typedef struct {
    const char *name;         /* "bm25", "rerank@10", ... */
    int k_candidates;         /* 0 for a first stage */
    const double *values;     /* (n_measures) means */
    const double *latency_s;  /* (n_queries) this stage's seconds per query */
    const double *total_s;    /* (n_queries) first stage + this stage (may be NULL) */
    int64_t n_queries;
} wn_report_stage;
typedef struct {
    const char *qid, *query;
    int n; /* <= WN_REPORT_SHIFT_K */
    const char *before[WN_REPORT_SHIFT_K], *after[WN_REPORT_SHIFT_K]; /* document ids */
    int after_from[WN_REPORT_SHIFT_K];                                /* first-stage rank of after[i] */
    int before_grade[WN_REPORT_SHIFT_K], after_grade[WN_REPORT_SHIFT_K]; /* -1: unjudged */
    int has_values;                   /* 1: value_before/after hold the first measure */
    double value_before, value_after; /* of this query, first stage and re-ranked */
} wn_report_shift;
/* An extra table of text cells (the demo's seed, stage and ANN tables): shown after
 * the introduction, before the stages. A bar_col >= 0 draws each row's value of that
 * column (a number in 0..1) as an inline bar beside it. */
typedef struct {
    const char *title;          /* its heading */
    const char *note;           /* a paragraph under it, or NULL */
    int n_cols, n_rows;
    const char *const *cols;    /* (n_cols) headers */
    const char *const *cells;   /* (n_rows * n_cols) row by row */
    int bar_col;                /* -1: no bars */
} wn_report_table;
typedef struct {
    const char *title;
    int n_measures;
    const char *const *measure_names; /* (n_measures) */
    int n_stages;
    const wn_report_stage *stages;    /* (n_stages), the first stage first (0: no stage sections) */
    int n_shifts;
    const wn_report_shift *shifts;    /* (n_shifts) */
    const char *intro;                /* a paragraph under the title, or NULL */
    int n_tables;
    const wn_report_table *tables;    /* (n_tables) */
} wn_report;
/* Writes the report to path atomically. */
WN_API wn_status wn_report_write(const wn_report *r, const char *path);

/* ---------------------------------------------------------------- store + pipeline */
/* (section owned by src/store, src/pipeline) */
/* An index directory holds docs.sqlite (the documents and the index's metadata),
 * bm25.idx (wn_bm25) and/or dense.idx (wn_index, vector ids = document rows).
 * Documents get dense rows 0, 1, 2, ... in corpus order; BM25 and vector ids are rows. */
typedef struct wn_store wn_store;
typedef struct {
    int64_t row;
    const char *id, *title, *text; /* UTF-8, never NULL */
    const char *meta;              /* JSON text or "" */
    uint64_t line;                 /* corpus line (1-based; 0 for a folder's files) */
} wn_doc;
/* Opens DIR/docs.sqlite read-only (create = 0) or creates a new empty store (create = 1,
 * the file must not exist). Checks the application id and schema version. */
WN_API wn_status wn_store_open(const char *dir, int create, wn_store **out);
WN_API void wn_store_free(wn_store *s); /* NULL-safe; commits a pending batch */
/* Appends a document (row = count before the call); WN_ERR_ARG naming the id and the
 * row that holds it when the id is already present. Inserts are batched in
 * transactions of 1,000 documents; wn_store_flush commits the current batch. */
WN_API wn_status wn_store_add(wn_store *s, const char *id, const char *title, const char *text, const char *meta,
                       int64_t *row);
WN_API wn_status wn_store_flush(wn_store *s);
WN_API int64_t wn_store_count(const wn_store *s);
/* The document of row: fields valid until the next wn_store_get on s. */
WN_API wn_status wn_store_get(wn_store *s, int64_t row, wn_doc *out);
/* The row of an external id (WN_ERR_NOTFOUND if absent). */
WN_API wn_status wn_store_find(wn_store *s, const char *id, int64_t *row);
/* Index metadata (key/value strings): models, parameters, versions. *value: wn_free_buffer. */
WN_API wn_status wn_store_set_meta(wn_store *s, const char *key, const char *value);
WN_API wn_status wn_store_get_meta(wn_store *s, const char *key, char **value);

/* Streaming corpus readers (constant memory in the corpus size). */
typedef enum { WN_CORPUS_AUTO = 0, WN_CORPUS_BEIR, WN_CORPUS_JSONL, WN_CORPUS_TSV, WN_CORPUS_DIR } wn_corpus_format;
typedef struct {
    wn_corpus_format format; /* AUTO: a folder -> DIR, *.tsv -> TSV, else BEIR if the first
                                object has "_id", else JSONL */
    const char *id_field, *title_field, *text_field; /* JSONL (defaults "id", "title", "text") */
} wn_corpus_params;
WN_API wn_corpus_params wn_corpus_default_params(void);
typedef struct wn_corpus wn_corpus;
WN_API wn_status wn_corpus_open(const char *path, const wn_corpus_params *p, wn_corpus **out);
/* The next document into *doc (fields valid until the next call; row = -1), *got = 1,
 * or *got = 0 at the end. A malformed line returns WN_ERR_FORMAT naming file:line;
 * the reader stays usable and the next call continues after that line. */
WN_API wn_status wn_corpus_next(wn_corpus *c, wn_doc *doc, int *got);
/* Bytes read so far and the corpus size in bytes (for progress). */
WN_API void wn_corpus_progress(const wn_corpus *c, uint64_t *done, uint64_t *total);
WN_API wn_corpus_format wn_corpus_format_of(const wn_corpus *c);
WN_API const char *wn_corpus_format_name(wn_corpus_format f);
WN_API wn_status wn_corpus_format_parse(const char *s, wn_corpus_format *out); /* "auto" "beir" "jsonl" "tsv" "dir" */
WN_API void wn_corpus_free(wn_corpus *c);

/* Building an index directory from a corpus (winnow index): documents into the
 * store, title + " " + text into BM25 and/or the bi-encoder's vectors into a vector
 * index. Atomic: built in DIR.tmp.<pid> and renamed over DIR only when complete, so
 * a failure leaves an existing DIR as it was. */
typedef void (*wn_warn_fn)(void *ud, const char *msg);
typedef struct {
    wn_corpus_params corpus;
    int bm25;                     /* build bm25.idx */
    wn_bm25_params bm25_params;
    const char *dense_model;      /* bi-encoder name or directory; NULL: no dense index */
    wn_model_params model_params;
    wn_index_type ann;            /* default flat */
    wn_index_params index_params; /* metric: cosine */
    int batch;                    /* documents per embedding call (default 64) */
    int chunk_tokens;             /* 0 (default): one vector per document, the model
                                     truncates; N: windows of N words (white-space
                                     separated), max-pooled back to the document */
    int chunk_overlap;            /* words shared by consecutive windows (< chunk_tokens) */
    int skip_bad;                 /* 1: skip malformed lines and duplicate ids with a
                                     warning; 0 (default): fail, leaving DIR untouched */
    int overwrite;                /* 1: replace an existing DIR; 0: refuse */
    wn_progress_fn progress;
    void *progress_ud;
    wn_warn_fn warn; /* skipped lines (NULL: silent) */
    void *warn_ud;
    /* Index-time adaptation of the dense model (set by wn_static_adapt_build; NULL:
     * none). Called once every document is in store, before any is embedded: it
     * writes a bi-encoder into index_dir/<sub> and puts sub (a relative path) into
     * sub[cap]. The documents are then embedded with that model, which moves with the
     * index and is what searchers of it load (metadata dense.model_dir). */
    wn_status (*dense_adapt)(void *ud, wn_store *store, const char *index_dir, char *sub, size_t cap);
    void *dense_adapt_ud;
    /* prompts and Matryoshka (config_sentence_transformers.json), recorded in the
     * index's metadata (dense.doc_prompt, dense.doc_prompt_name, dense.dimensions):
     * doc_prompt (a text, "" for none) wins over doc_prompt_name; with neither, the
     * model's prompt named "document", "passage" or "corpus" (the first it has),
     * else its default prompt, else none. dimensions: 0 (default) the model's
     * size; N: the first N numbers of each vector, normalised again. */
    const char *doc_prompt;
    const char *doc_prompt_name;
    int dimensions;
} wn_pipeline_build_params;
WN_API wn_pipeline_build_params wn_pipeline_build_default_params(void);
typedef struct {
    int64_t docs, skipped, vectors;
    double seconds;
} wn_pipeline_build_stats;
WN_API wn_status wn_pipeline_build(const char *corpus, const char *dir, const wn_pipeline_build_params *p, wn_pipeline_build_stats *stats);

/* Two-stage search over an index directory: a first stage (BM25, dense or a fusion
 * of both), then optionally a cross-encoder over the top candidates. */
typedef enum { WN_FIRST_BM25 = 0, WN_FIRST_DENSE = 1, WN_FIRST_HYBRID = 2 } wn_first_stage;
typedef enum { WN_FUSE_RRF = 0, WN_FUSE_MINMAX = 1, WN_FUSE_ZSCORE = 2 } wn_fusion;
typedef struct {
    wn_first_stage first_stage;
    wn_fusion fusion;      /* hybrid: RRF (default), or a convex combination of min-max
                              or z-score normalised scores */
    int rrf_k;             /* 60 */
    float dense_weight;    /* hybrid weight of dense (BM25 gets 1 - it); default 0.25 */
    int depth;             /* hybrid: hits taken from each retriever (0: max(k, 100)) */
    const char *dense_model;  /* NULL: the bi-encoder the index was built with */
    const char *rerank_model; /* cross-encoder; NULL: no re-ranking */
    float interpolate;     /* re-rank score = (1 - a) * minmax(ce) + a * minmax(first);
                              0: the cross-encoder's logit alone; < 0 (default): the
                              cross-encoder's own (wn_model_rerank_interpolate), 0 for
                              most models */
    wn_model_params model_params;
    wn_index_search_params ann;
    /* the query prompt: query_prompt (a text, "" for none) wins over
     * query_prompt_name; with neither, the model's prompt named "query", else its
     * default prompt, else none. dimensions: 0 (default) the index's (its
     * dense.dimensions metadata; with wn_searcher_create, the model's size); N: the
     * query vector's first N numbers, normalised again (N must be the index's). */
    const char *query_prompt;
    const char *query_prompt_name;
    int dimensions;
} wn_pipeline_params;
WN_API wn_pipeline_params wn_pipeline_default_params(void);
typedef struct wn_searcher wn_searcher;
typedef struct {
    int64_t row;       /* document row in the store */
    float score;       /* this stage's score, best = largest */
    int first_rank;    /* 1-based rank in the first stage */
    float first_score; /* the first stage's score */
} wn_hit;
/* Opens the store, BM25 and/or vector index and the models the stage needs. */
WN_API wn_status wn_searcher_open(const char *dir, const wn_pipeline_params *p, wn_searcher **out);
WN_API void wn_searcher_free(wn_searcher *s);
WN_API wn_store *wn_searcher_store(wn_searcher *s);
/* First stage: up to k hits best first into hits[k]; *n found; *seconds its time. */
WN_API wn_status wn_searcher_first(wn_searcher *s, const char *query, int k, wn_hit *hits, int *n, double *seconds);
/* Re-ranks the first m of cand[n] (m <= n) with the cross-encoder in batches: out[n]
 * gets them best first, then cand[m..n) in their order with scores below them. */
WN_API wn_status wn_searcher_rerank(wn_searcher *s, const char *query, const wn_hit *cand, int n, int m, wn_hit *out,
                             double *seconds);
/* Fuses two best-first lists (rows) into out (capacity na + nb); *n written. */
WN_API wn_status wn_pipeline_fuse(wn_fusion f, int rrf_k, float weight_b, const wn_hit *a, int na, const wn_hit *b, int nb,
                  wn_hit *out, int *n);
WN_API const char *wn_first_stage_name(wn_first_stage f);
WN_API wn_status wn_first_stage_parse(const char *s, wn_first_stage *out); /* "bm25" "dense" "hybrid" */

/* ---------------------------------------------------------------- pipeline: handles, re-ranking, experiments */
/* (section owned by src/pipeline, src/eval) */
/* A searcher over handles the caller holds, as an alternative to wn_searcher_open.
 * The handles are borrowed: they must outlive the searcher, which never frees them.
 * Documents come from store (by row) or, without a store, from texts[row] (the text
 * re-ranked; wn_searcher_store is then NULL). The first stage needs bm25 (bm25,
 * hybrid) and/or index + bi (dense, hybrid; vector ids are rows, or chunk numbers
 * mapped to rows by chunk_row); re-ranking needs ce. The models' names in p
 * (dense_model, rerank_model) are ignored. */
typedef struct {
    wn_store *store;           /* documents by row, or NULL (then texts) */
    const char *const *texts;  /* (n_texts) the text of each row, used without a store */
    const char *const *ids;    /* (n_texts) document ids without a store (runs, reports), or
                                  NULL: a row's id is its decimal number */
    int64_t n_texts;
    const wn_bm25 *bm25;       /* or NULL */
    const wn_index *index;     /* or NULL */
    const int64_t *chunk_row;  /* (n_chunks) row of each vector id, or NULL: ids are rows */
    int64_t n_chunks;
    wn_model *bi;              /* the query encoder (a bi-encoder of the index's dimension) */
    wn_model *ce;              /* cross-encoder, or NULL: no re-ranking */
} wn_searcher_parts;
WN_API wn_status wn_searcher_create(const wn_searcher_parts *parts, const wn_pipeline_params *p, wn_searcher **out);
/* Changes the stage parameters of an open searcher (first stage, fusion, rrf_k,
 * dense_weight, depth, interpolate, ann); the models stay (their names in p are
 * ignored). WN_ERR_ARG when the searcher lacks what the new first stage needs. The
 * pair-score cache is kept: logits do not depend on these parameters. */
WN_API wn_status wn_searcher_set_params(wn_searcher *s, const wn_pipeline_params *p);

/* Re-ranking (wn_searcher_rerank and the sweep) scores a pair by the cross-encoder's
 * LAST label: the only one of a one-label model (ms-marco cross-encoders), label 1
 * ("relevant") of a two-label classifier. Every caller (search, eval, demo) uses this
 * rule. The searcher keeps each (query, row) pair's logit: a pair is scored once,
 * whichever call asks first (a pair's logit does not depend on the other pairs of a
 * batch: docs/EXACTNESS.md). A re-ranking's time is then the sum over its pairs of
 * each pair's share of the batched call that scored it (call time / pairs in the
 * call), plus its own sort; the first call on fresh pairs measures what it did. The
 * cache holds at most 2^22 pairs (then it starts again empty). */
WN_API void wn_searcher_cache_clear(wn_searcher *s);
/* Pairs scored by the cross-encoder and pairs served from the cache, since creation. */
WN_API void wn_searcher_cache_stats(const wn_searcher *s, int64_t *scored, int64_t *reused);
/* The k-candidates sweep: for each of n_depths depths d, out[j*n .. j*n + n) gets what
 * wn_searcher_rerank(s, query, cand, n, min(d, n), ...) gives, and seconds[j] (may be
 * NULL) its time as above. The pairs of the deepest depth are scored in one batched
 * call (minus those cached): each pair once across the depths. */
WN_API wn_status wn_searcher_rerank_sweep(wn_searcher *s, const char *query, const wn_hit *cand, int n, int n_depths,
                                   const int *depths, wn_hit *out, double *seconds);

/* Latency of a stage over queries: from per-query seconds, milliseconds (percentiles
 * by nearest rank). */
typedef struct {
    double mean, p50, p95, p99, max;
} wn_latency;
WN_API wn_latency wn_latency_of(const double *seconds, int64_t n);

/* An experiment: queries through the first stage and every re-ranking depth (the
 * sweep above), each stage's ranking kept as a wn_run with per-query timings.
 * Stage 0 is the first stage (named wn_first_stage_name), stage j >= 1 the
 * re-ranking of the top depths[j-1] ("rerank@N"). */
typedef struct {
    int first_k;          /* first-stage hits per query (default 1000) */
    int n_depths;         /* re-ranking depths (needs a cross-encoder); 0: the first stage only */
    const int *depths;    /* (n_depths) each >= 1 */
    int rank_scores;      /* 1: run scores first_k - rank + 1 (a file's order is the stage's
                             whatever the ties); 0 (default): the stage's scores */
    int keep_hits;        /* 1: keep every stage's hits per query (wn_experiment_hits) */
    int shift_k;          /* document ids kept per query for rank shifts, first stage and
                             deepest re-ranking (default WN_REPORT_SHIFT_K; 0: none) */
    int64_t shift_queries; /* for the first this many queries (default 2000) */
    wn_progress_fn progress; /* after each query (NULL: none) */
    void *progress_ud;
} wn_experiment_params;
WN_API wn_experiment_params wn_experiment_default_params(void);
typedef struct wn_experiment wn_experiment;
/* qids[nq], queries[nq]: the query ids (run keys) and texts (both must outlive e).
 * Document ids come from the searcher's store or its parts' ids. */
WN_API wn_status wn_experiment_run(wn_searcher *s, int64_t nq, const char *const *qids, const char *const *queries,
                            const wn_experiment_params *p, wn_experiment **out);
WN_API int wn_experiment_num_stages(const wn_experiment *e);
WN_API int64_t wn_experiment_count(const wn_experiment *e);
WN_API const char *wn_experiment_stage_name(const wn_experiment *e, int stage);
WN_API int wn_experiment_stage_depth(const wn_experiment *e, int stage); /* 0: the first stage */
WN_API const wn_run *wn_experiment_stage_run(const wn_experiment *e, int stage);
/* (nq) seconds per query: the stage alone (total = 0) or first stage + it (total = 1). */
WN_API const double *wn_experiment_seconds(const wn_experiment *e, int stage, int total);
/* With keep_hits: the stage's hits of query q (best first) and their number. */
WN_API const wn_hit *wn_experiment_hits(const wn_experiment *e, int stage, int64_t q, int *n);
/* Evaluates every stage against q on ms[n] (wn_eval_create); then _eval gives them. */
WN_API wn_status wn_experiment_evaluate(wn_experiment *e, const wn_qrels *q, int n, const wn_measure *ms);
WN_API const wn_eval *wn_experiment_eval(const wn_experiment *e, int stage);
/* Writes stage 0's run to path and stage j's to path.rerank@N, tagged "winnow-<name>"
 * ('@' as '_'), each cut to first_k per query (wn_run_save). */
WN_API wn_status wn_experiment_save_runs(const wn_experiment *e, const char *path);
/* After _evaluate: {"stage": {"measure": value, ..., "queries": n, "latency_ms": {mean,
 * p50, p95, p99}[, "k_candidates": N, "total_latency_ms": {...}]}, ...} (atomically). */
WN_API wn_status wn_experiment_write_json(const wn_experiment *e, const char *path);
/* After _evaluate: the HTML report (wn_report_write) of every stage, with the rank
 * shifts of the queries the deepest re-ranking helped most (2) and hurt most (2) on
 * the first measure, then the first ones. */
WN_API wn_status wn_experiment_report(const wn_experiment *e, const char *title, const char *path);
WN_API void wn_experiment_free(wn_experiment *e);

/* ---------------------------------------------------------------- static model training */
/* (section owned by src/train/static_train.c) */
/* Trains a static embedding model (a token table, a learned per-token weight,
 * embedding = normalised weighted mean of the rows) on (query, positive) pairs with
 * MultipleNegativesRankingLoss (in-batch negatives, batches of distinct documents)
 * and sparse Adam, and writes it in sentence-transformers' StaticEmbedding layout
 * (wn_model_load reads it; so does SentenceTransformer(out_dir)). Deterministic:
 * a seed gives the same file bit for bit whatever the number of threads. */
typedef struct {
    int dim;          /* embedding size (default 256) */
    int64_t steps;    /* optimiser steps; 0 (default): one pass over the pairs */
    int batch;        /* pairs per step (default 256) */
    float lr;         /* Adam learning rate (default 5e-3) */
    float scale;      /* similarity scale of the loss (default 20) */
    uint64_t seed;    /* default 42 */
    int n_threads;    /* 0: all online CPUs */
    int max_tokens;   /* word-pieces kept per text while training (default 256) */
    int fp16;         /* 1 (default): the table is stored as F16, else F32 */
    /* Called after each step from the calling thread (NULL: none). */
    void (*on_step)(void *ud, int64_t step, int64_t steps, float loss, double pairs_per_s);
    void *ud;
    wn_progress_fn progress; /* reading and tokenising the data (NULL: none) */
    void *progress_ud;
} wn_static_train_params;
WN_API wn_static_train_params wn_static_train_default_params(void);
/* data: n_files JSONL files, one {"query": ..., "positive": ...} object a line;
 * tokenizer_dir: tokenizer.json (and vocab.txt) of a WordPiece tokenizer, copied
 * into the model; out_dir: created or overwritten (modules.json,
 * 0_StaticEmbedding/{model.safetensors, tokenizer.json, vocab.txt}). *final_loss
 * (may be NULL): the mean loss of the last 100 steps. */
WN_API wn_status wn_static_train(const char *const *data, int n_files, const char *tokenizer_dir, const char *out_dir,
                          const wn_static_train_params *p, float *final_loss);

/* ---------------------------------------------------------------- index-time adaptation */
/* (section owned by src/train/static_adapt.c) */
/* Adapts a static embedding model to a corpus without labels: pairs made from the
 * documents themselves (one sentence -> the rest of its text around it, title ->
 * text, two disjoint spans; text without punctuation in 16-token pseudo-sentences),
 * trained as wn_static_train does (MNRL, batches of distinct documents, sparse
 * Adam) starting from the model's own rows, and stopped by the loss of pairs from a
 * tenth of the documents held out (at most 512): the model kept is the one with the
 * lowest held-out loss, the starting one included. Deterministic for a seed,
 * whatever the number of threads. */
typedef struct {
    int pairs_per_doc; /* budget: at most this many pairs per training document (default 64) */
    int batch;         /* pairs per step (default 256) */
    float lr;          /* Adam learning rate (default 5e-3) */
    float scale;       /* similarity scale of the loss (default 20) */
    int patience;      /* passes over the documents without a better held-out loss before
                          stopping (default 3) */
    int random_init;   /* 1: start from N(0, 0.1) rows instead of the model's (its tokenizer
                          is kept) */
    uint64_t seed;     /* default 42 */
    int n_threads;     /* 0: all online CPUs (at most 8 are used) */
    wn_progress_fn progress; /* after each step (NULL: none) */
    void *progress_ud;
} wn_static_adapt_params;
WN_API wn_static_adapt_params wn_static_adapt_default_params(void);
typedef struct {
    int64_t docs, train_docs, heldout_docs; /* documents given, trained on, held out */
    int64_t steps, best_step, pairs;        /* steps run, the step kept (0: the start), pairs seen */
    float loss_start, loss_best;            /* held-out loss of the start and of the model kept */
    double seconds;
} wn_static_adapt_stats;
/* model: a static model (name or directory, resolved as wn_model_load does with mp,
 * which may be NULL); titles, texts: (n_docs) each, either array or entry may be
 * NULL. Writes the adapted model to out_dir (the StaticEmbedding layout, plus
 * adapt.json recording the parameters and stats). stats may be NULL.
 * WN_ERR_UNSUPPORTED when model is not a static model; WN_ERR_ARG when fewer than 2
 * documents give pairs. */
WN_API wn_status wn_static_adapt(const char *model, const wn_model_params *mp, int64_t n_docs, const char *const *titles,
                          const char *const *texts, const char *out_dir, const wn_static_adapt_params *p,
                          wn_static_adapt_stats *stats);
/* wn_pipeline_build with the dense model (bp->dense_model, a static model) adapted
 * to the corpus first: the adapted model is saved in the index as DIR/adapted-model
 * and used for the documents and by searchers of DIR. stats, astats may be NULL. */
WN_API wn_status wn_static_adapt_build(const char *corpus, const char *dir, const wn_pipeline_build_params *bp,
                                const wn_static_adapt_params *p, wn_pipeline_build_stats *stats,
                                wn_static_adapt_stats *astats);

/* ---------------------------------------------------------------- training */
/* (section owned by src/train) */
/* Fine-tunes a bi-encoder (MultipleNegativesRankingLoss) or a cross-encoder
 * (BCE with logits, or listwise softmax) from a model directory and a JSONL file,
 * computing what sentence-transformers' fit computes with PyTorch (AdamW, HF's
 * linear schedule with warm-up, clip_grad_norm_), and writes a checkpoint in the
 * HuggingFace / sentence-transformers layout that wn_model_load reads back.
 * Data: bi {"query", "positive", "negatives": [...]} (negatives optional);
 * ce {"query", "document", "label"}; ce listwise {"query", "positive", "negatives"};
 * mlm {"text"} (masked-language-model pre-training: BertForMaskedLM's head, 80/10/10). */
typedef enum { WN_TRAIN_BI = 0, WN_TRAIN_CE = 1, WN_TRAIN_MLM = 2 } wn_train_task;
typedef struct {
    wn_train_task task;
    const char *model_dir; /* the starting model (a local directory); with config_path: where the
                              tokenizer files (and pooling files, if any) are */
    const char *config_path; /* NULL; else a new model from this config.json, HF's initialisation
                                (normal, initializer_range) drawn from seed */
    const char *data_path; /* JSONL training rows */
    const char *out_dir;   /* the checkpoint (created; files replaced atomically) */
    const char *log_path;  /* NULL: none; else one JSON object per update: step, loss (the
                              batch's, before the update), lr (used by the update), ... */
    int epochs;            /* passes over the data (default 1); unused when steps > 0 */
    int64_t steps;         /* > 0: exactly this many updates, also the schedule's total */
    int batch;             /* rows per micro-batch (default 32) */
    int grad_accum;        /* micro-batches per update (default 1) */
    double lr;             /* peak learning rate (default 2e-5) */
    int64_t warmup;        /* warm-up updates (default 0) */
    int max_length;        /* tokens per text, special tokens included; 0: the model's */
    double weight_decay;   /* AdamW, not on biases and LayerNorm weights (default 0.01) */
    double max_grad_norm;  /* global gradient-norm clipping; 0: off (default 1) */
    double dropout;        /* < 0: the model config's; 0 turns every dropout off */
    int shuffle;           /* 1: a seeded shuffle each epoch; 0: file order (default 1) */
    uint64_t seed;         /* shuffling and dropout (default 42) */
    int n_threads;         /* 0: all CPUs */
    double scale;          /* MNRL: cosine scale (default 20) */
    int listwise;          /* ce: listwise softmax loss over rows with positive + negatives */
    double mlm_prob;       /* mlm: share of tokens masked (default 0.15): 80% [MASK], 10% random, 10% kept */
    int64_t save_every;    /* write the checkpoint every this many updates too (0: at the end) */
    const char *dev_path;  /* NULL: none; else rows in the training format whose mean loss (dropout
                              off) is logged as {"step", "dev_loss", "dev_rows"} */
    int64_t eval_every;    /* evaluate dev_path every this many updates (0: at the end only) */
    int save_state;        /* 1: trainer_state.wnts (weights + AdamW moments) goes with each checkpoint */
    int resume;            /* 1: continue from out_dir's trainer_state.wnts if there is one (same data,
                              seed and options); the result is the uninterrupted run's, bit for bit */
    wn_progress_fn progress; /* per update ("train", step, total) */
    void *progress_ud;
} wn_train_params;
WN_API wn_train_params wn_train_default_params(void);
/* Runs the training. On success the checkpoint is in p->out_dir. */
WN_API wn_status wn_train_run(const wn_train_params *p);

/* ---------------------------------------------------------------- training: hard-negative mining */
/* (section owned by src/train) */
/* Adds hard negatives to bi-encoder training rows {"query", "positive",
 * "negatives"?} (JSONL): for each row the first stage of s (BM25, dense or hybrid)
 * ranks the documents of its store, and the best-ranked ones after skip_top that are
 * neither the positive nor a near-duplicate of it, of a negative the row has or of
 * one already mined for it (word-set Jaccard >= max_overlap, lower-cased, punctuation
 * dropped; against title + " " + text and the text alone) are appended to its
 * negatives as title + " " + text. Writes {"query", "positive", "negatives":
 * [kept..., mined...]} per row to out_path, in input order, atomically (nothing is
 * written on failure). A malformed line or a missing or empty text is WN_ERR_FORMAT
 * naming FILE:LINE; s needs a document store (WN_ERR_ARG otherwise). */
typedef struct {
    int depth;          /* first-stage hits looked at per query (default 50) */
    int per_query;      /* negatives added per row, at most (default 5) */
    int skip_top;       /* the best hits skipped: they may be unlabelled positives (default 0) */
    double max_overlap; /* near-duplicate from this word-set Jaccard on (default 0.9) */
    wn_progress_fn progress; /* after each row ("mine", rows, 0); NULL: none */
    void *progress_ud;
} wn_train_mine_params;
WN_API wn_train_mine_params wn_train_mine_default_params(void);
/* p NULL: the defaults. *rows, *added (may be NULL): rows written, negatives added. */
WN_API wn_status wn_train_mine(wn_searcher *s, const char *data_path, const char *out_path,
                               const wn_train_mine_params *p, int64_t *rows, int64_t *added);

#ifdef __cplusplus
}
#endif
#endif /* WINNOW_H */
