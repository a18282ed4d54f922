/*
 * util.h - floor 0: errors, allocation, checked I/O, threads, CPU features.
 * Every other module may include this; it includes nothing of winnow's but winnow.h.
 */
#ifndef WN_UTIL_H
#define WN_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "winnow.h"

/* ---- errors (error.c) */

/* Sets this thread's last error to the formatted message and returns s. */
wn_status wn_seterr(wn_status s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void wn_clearerr(void);
/* Prefixes the current message with the formatted context and returns s: the message
 * is copied before the prefix is formatted, so context is added exactly once and
 * safely. The one way to add context: never pass wn_last_error() to wn_seterr. */
wn_status wn_seterr_prefix(wn_status s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* First statement of every public function that returns a wn_status (the error
 * contract in winnow.h; tests/t_error_contract.sh checks that none lacks it). */
#define WN_ENTRY() wn_clearerr()
#define WN_ERRMSG_CAP 1024

/* Errors on worker threads (wn_pool_run tasks): a worker that fails records its
 * status and its own thread's message with wn_task_fail (the first failure wins,
 * later ones are dropped); after the run the caller's thread re-raises it with
 * wn_task_raise, so the caller sees the real status and message. Zero-initialise
 * (or wn_task_err_init) before the run. */
typedef struct {
    _Atomic int failed;
    wn_status st;
    char msg[WN_ERRMSG_CAP];
} wn_task_err;
void wn_task_err_init(wn_task_err *e);
/* On any thread: records st (!= WN_OK) with this thread's wn_last_error(); returns st. */
wn_status wn_task_fail(wn_task_err *e, wn_status st);
int wn_task_failed(wn_task_err *e); /* 1 once a worker failed: others may stop early */
/* On the caller's thread after the run: WN_OK, or the first failure with its message. */
wn_status wn_task_raise(wn_task_err *e);

/* Broken invariants (bugs): print file:line and abort. Stays on in release builds. */
#define WN_ASSERT(x)                                                              \
    do {                                                                          \
        if (!(x)) wn_assert_fail(__FILE__, __LINE__, #x);                         \
    } while (0)
_Noreturn void wn_assert_fail(const char *file, int line, const char *expr);

/* ---- allocation through the pluggable hook (alloc.c). Never NULL for size 0. */
void *wn_malloc(size_t n);
void *wn_calloc(size_t count, size_t size); /* overflow-checked, zeroed */
void *wn_realloc(void *p, size_t n);
void wn_free(void *p);
char *wn_strdup(const char *s);
char *wn_strndup(const char *s, size_t n);
/* Allocates with 64-byte alignment (for SIMD data); free with wn_free_aligned. */
void *wn_malloc_aligned(size_t n);
void wn_free_aligned(void *p);
/* Grows *buf (element size elt) to hold at least need elements; returns WN_ERR_NOMEM. */
wn_status wn_grow(void **buf, size_t *cap, size_t need, size_t elt);

/* ---- files (io.c) */

/* Reads a whole file into a NUL-terminated buffer (wn_free it). */
wn_status wn_read_file(const char *path, char **data, size_t *len);
/* Maps a file read-only. wn_unmap_file(p, len) undoes it. Empty files give p=NULL,len=0. */
wn_status wn_map_file(const char *path, void **p, size_t *len);
void wn_unmap_file(void *p, size_t len);
int wn_file_exists(const char *path);
int wn_dir_exists(const char *path);
/* mkdir -p */
wn_status wn_mkdirs(const char *path, int mode);
/* Joins a and b with '/' (wn_free the result); NULL on OOM. */
char *wn_path_join(const char *a, const char *b);

/* Atomic file writing: data goes to "<path>.tmp.<pid>.<n>", then fsync, rename, fsync dir. */
typedef struct {
    FILE *f;
    char *path;
    char *tmp;
    int failed;
} wn_atomic_file;
wn_status wn_atomic_open(wn_atomic_file *af, const char *path);
wn_status wn_atomic_write(wn_atomic_file *af, const void *data, size_t n);
/* Pads with zero bytes to a multiple of align (relative to file start). */
wn_status wn_atomic_pad(wn_atomic_file *af, size_t align);
/* fsync + rename; on failure the temp file is removed and the target untouched. */
wn_status wn_atomic_commit(wn_atomic_file *af);
/* Abandons the temp file (NULL-safe, idempotent). */
void wn_atomic_abort(wn_atomic_file *af);

/* ---- line reader (io.c): lines of any length, '\n' or "\r\n" stripped */
typedef struct {
    FILE *f;
    char *buf;
    size_t cap;
    size_t len;     /* length of the current line */
    uint64_t lineno; /* 1-based number of the current line */
} wn_line_reader;
void wn_lines_init(wn_line_reader *r, FILE *f);
/* 1 = a line is in r->buf (NUL-terminated, may contain NULs), 0 = EOF, -1 = error/OOM. */
int wn_lines_next(wn_line_reader *r);
void wn_lines_free(wn_line_reader *r);

/* ---- UTF-8 (utf8.c) */
/* Replaces invalid UTF-8 sequences by U+FFFD; returns a new string (wn_free) or NULL. */
char *wn_utf8_sanitize(const char *s, size_t len, size_t *out_len);

/* ---- threads (pool.c): a fixed pool; wn_pool_run runs fn(arg, ith, nth) for
 * ith = 0..nth-1 on the pool's threads (the caller is thread 0) and waits. */
typedef struct wn_threads wn_pool; /* the public wn_threads, by its internal name */
typedef void (*wn_task_fn)(void *arg, int ith, int nth);
/* n_threads <= 0: the number of online CPUs. A pool of 1 thread starts no thread. */
wn_status wn_pool_create(int n_threads, wn_pool **out);
int wn_pool_size(const wn_pool *p);
void wn_pool_run(wn_pool *p, wn_task_fn fn, void *arg);
void wn_pool_free(wn_pool *p);
int wn_ncpu(void);

/* ---- names (error.c) */
/* *out = the index of s in names[0..n), or WN_ERR_ARG naming what and listing the
 * names ("unknown metric 'x' (use ip, l2, cos)"). The public _parse functions use it. */
wn_status wn_parse_name(const char *what, const char *s, const char *const *names, int n, int *out);

/* ---- time */
double wn_now(void); /* monotonic seconds */

/* ---- CPU features (cpu.c) */
typedef struct {
    int avx2, fma, f16c, avx512f, avx512bw, avx512vl, avx512dq, avx512vnni, avx512bf16;
    int avx512fp16; /* AVX512-FP16: arithmetic on binary16 (Sapphire Rapids+) */
    int avxvnni;   /* AVX-VNNI: vpdpbusd on ymm with a VEX encoding (Alder Lake+, Zen 5) */
    int asimddp;   /* aarch64: the dot-product instructions (sdot, udot) */
    /* AMX (Sapphire Rapids+): amx_cpuid: CPUID.7.0:EDX has AMX-TILE, AMX-BF16 and AMX-INT8;
     * amx_os: XCR0 enables XTILECFG and XTILEDATA; amx_perm: Linux granted this process
     * the tile data (arch_prctl ARCH_REQ_XCOMP_PERM, asked once in the detection).
     * amx_tile/amx_bf16/amx_int8: usable (all of the above, and not turned off by
     * WN_FORCE_ISA / WN_FORCE_SCALAR). */
    int amx_cpuid, amx_os, amx_perm;
    int amx_tile, amx_bf16, amx_int8;
} wn_cpu_features;
const wn_cpu_features *wn_cpu_get(void);

#define WN_MIN(a, b) ((a) < (b) ? (a) : (b))
#define WN_MAX(a, b) ((a) > (b) ? (a) : (b))

#endif
