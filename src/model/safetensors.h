/*
 * safetensors.h - the safetensors format (HuggingFace): an 8-byte little-endian
 * header length n, n bytes of JSON {"name": {"dtype", "shape", "data_offsets"}, ...,
 * "__metadata__": {...}}, then the raw tensor bytes; offsets are relative to the
 * end of the header. The reader checks every count and offset against the file
 * before anything is used; the writer (tests, tools, synthetic models) emits the
 * same canonical layout as scripts/make_reference.py, byte for byte.
 * Internal to src/model (floor 2).
 */
#ifndef WN_SAFETENSORS_H
#define WN_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

#define ST_MAX_DIMS 8

typedef enum { ST_F32 = 0, ST_F16, ST_BF16, ST_F64, ST_I64, ST_I32, ST_I16, ST_I8, ST_U8, ST_BOOL, ST_N_DTYPES } st_dtype;

typedef struct {
    char *name;
    st_dtype dtype;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    uint64_t begin, end;        /* byte offsets inside the data section */
    const unsigned char *data;  /* begin's address in the mapped file */
} st_tensor;

typedef struct {
    char *path;        /* for error messages */
    void *map;         /* the mapping (NULL when parsed from a caller's buffer) */
    size_t map_len;
    st_tensor *t;      /* n tensors, in file order of data offsets */
    int n;
} st_file;

const char *st_dtype_name(st_dtype dt);
size_t st_dtype_size(st_dtype dt);
int64_t st_numel(const st_tensor *t);

/* Parses a safetensors image of len bytes; what names it in errors. buf must
 * outlive *out (st_parse does not copy tensor data). */
wn_status st_parse(const void *buf, size_t len, const char *what, st_file *out);
/* Maps path and parses it. */
wn_status st_open(const char *path, st_file *out);
/* The tensor called name, or prefix+name ("bert.", ...) when prefix is not NULL;
 * NULL when absent (no error set). */
const st_tensor *st_find(const st_file *f, const char *name);
void st_close(st_file *f); /* NULL-safe, idempotent */

/* ---- writer: tensors in the order given, data contiguous, header padded with
 * spaces to a multiple of 8 (so data starts 8-aligned), "__metadata__" first. */
typedef struct {
    const char *name;
    st_dtype dtype;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    const void *data; /* numel * dtype size bytes */
} st_out_tensor;
/* The header JSON (NUL-terminated, wn_free it) and its padded length. */
char *st_header_json(const st_out_tensor *t, int n, size_t *padded_len);
wn_status st_write(const char *path, const st_out_tensor *t, int n);

#endif
