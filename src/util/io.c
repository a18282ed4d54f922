/* io.c - checked file reading, mapping, atomic writing and a line reader. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

wn_status wn_read_file(const char *path, char **data, size_t *len) {
    *data = NULL;
    if (len) *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return wn_seterr(errno == ENOENT ? WN_ERR_NOTFOUND : WN_ERR_IO, "%s: %s", path, strerror(errno));
    char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (wn_grow((void **)&buf, &cap, n + 65536 + 1, 1) != WN_OK) {
            wn_free(buf);
            fclose(f);
            return wn_seterr(WN_ERR_NOMEM, "%s: out of memory reading the file", path);
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0) break;
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        wn_free(buf);
        return wn_seterr(WN_ERR_IO, "%s: read error", path);
    }
    buf[n] = 0;
    *data = buf;
    if (len) *len = n;
    return WN_OK;
}

wn_status wn_map_file(const char *path, void **p, size_t *len) {
    *p = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return wn_seterr(errno == ENOENT ? WN_ERR_NOTFOUND : WN_ERR_IO, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return wn_seterr(WN_ERR_IO, "%s: %s", path, strerror(errno));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return wn_seterr(WN_ERR_IO, "%s: not a regular file", path);
    }
    if (st.st_size == 0) {
        close(fd);
        return WN_OK;
    }
    void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (m == MAP_FAILED) return wn_seterr(WN_ERR_IO, "%s: mmap failed: %s", path, strerror(errno));
    *p = m;
    *len = (size_t)st.st_size;
    return WN_OK;
}

void wn_unmap_file(void *p, size_t len) {
    if (p && len) munmap(p, len);
}

int wn_file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int wn_dir_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

wn_status wn_mkdirs(const char *path, int mode) {
    char *p = wn_strdup(path);
    if (!p) return wn_seterr(WN_ERR_NOMEM, "out of memory");
    for (char *s = p + 1;; s++) {
        if (*s == '/' || *s == 0) {
            char c = *s;
            *s = 0;
            if (mkdir(p, (mode_t)mode) != 0 && errno != EEXIST) {
                wn_status st = wn_seterr(WN_ERR_IO, "cannot create directory %s: %s", p, strerror(errno));
                wn_free(p);
                return st;
            }
            *s = c;
            if (!c) break;
        }
    }
    wn_free(p);
    if (!wn_dir_exists(path)) return wn_seterr(WN_ERR_IO, "%s exists and is not a directory", path);
    return WN_OK;
}

char *wn_path_join(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    int slash = la > 0 && a[la - 1] != '/';
    char *r = wn_malloc(la + lb + 2);
    if (!r) return NULL;
    memcpy(r, a, la);
    if (slash) r[la++] = '/';
    memcpy(r + la, b, lb + 1);
    return r;
}

/* ---- atomic files */

static atomic_uint tmp_counter;

wn_status wn_atomic_open(wn_atomic_file *af, const char *path) {
    memset(af, 0, sizeof *af);
    af->path = wn_strdup(path);
    size_t n = strlen(path) + 64;
    af->tmp = wn_malloc(n);
    if (!af->path || !af->tmp) {
        wn_free(af->path);
        wn_free(af->tmp);
        memset(af, 0, sizeof *af);
        return wn_seterr(WN_ERR_NOMEM, "out of memory");
    }
    snprintf(af->tmp, n, "%s.tmp.%ld.%u", path, (long)getpid(), atomic_fetch_add(&tmp_counter, 1));
    int fd = open(af->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd >= 0) af->f = fdopen(fd, "wb");
    if (!af->f) {
        wn_status st = wn_seterr(WN_ERR_IO, "cannot create %s: %s", af->tmp, strerror(errno));
        if (fd >= 0) close(fd);
        wn_free(af->path);
        wn_free(af->tmp);
        memset(af, 0, sizeof *af);
        return st;
    }
    return WN_OK;
}

wn_status wn_atomic_write(wn_atomic_file *af, const void *data, size_t n) {
    if (!af->f || af->failed) return wn_seterr(WN_ERR_IO, "write to %s after an earlier failure", af->path ? af->path : "?");
    if (n && fwrite(data, 1, n, af->f) != n) {
        af->failed = 1;
        return wn_seterr(WN_ERR_IO, "writing %s: %s", af->tmp, strerror(errno));
    }
    return WN_OK;
}

wn_status wn_atomic_pad(wn_atomic_file *af, size_t align) {
    static const unsigned char zeros[64];
    if (!af->f) return wn_seterr(WN_ERR_IO, "pad on a closed file");
    long pos = ftell(af->f);
    if (pos < 0) return wn_seterr(WN_ERR_IO, "ftell %s: %s", af->tmp, strerror(errno));
    size_t pad = (align - (size_t)pos % align) % align;
    while (pad) {
        size_t k = pad < sizeof zeros ? pad : sizeof zeros;
        wn_status st = wn_atomic_write(af, zeros, k);
        if (st) return st;
        pad -= k;
    }
    return WN_OK;
}

wn_status wn_atomic_commit(wn_atomic_file *af) {
    if (!af->f) return wn_seterr(WN_ERR_IO, "commit of a closed file");
    wn_status st = WN_OK;
    if (af->failed) st = wn_seterr(WN_ERR_IO, "not writing %s: an earlier write failed", af->path);
    else if (fflush(af->f) != 0 || fsync(fileno(af->f)) != 0)
        st = wn_seterr(WN_ERR_IO, "flushing %s: %s", af->tmp, strerror(errno));
    if (fclose(af->f) != 0 && !st) st = wn_seterr(WN_ERR_IO, "closing %s: %s", af->tmp, strerror(errno));
    af->f = NULL;
    if (!st && rename(af->tmp, af->path) != 0)
        st = wn_seterr(WN_ERR_IO, "renaming %s to %s: %s", af->tmp, af->path, strerror(errno));
    if (st) {
        unlink(af->tmp);
    } else {
        /* make the rename durable */
        char *d = wn_strdup(af->path);
        if (d) {
            int dfd = open(dirname(d), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (dfd >= 0) {
                fsync(dfd);
                close(dfd);
            }
            wn_free(d);
        }
    }
    wn_free(af->path);
    wn_free(af->tmp);
    memset(af, 0, sizeof *af);
    return st;
}

void wn_atomic_abort(wn_atomic_file *af) {
    if (!af) return;
    if (af->f) {
        fclose(af->f);
        unlink(af->tmp);
    }
    wn_free(af->path);
    wn_free(af->tmp);
    memset(af, 0, sizeof *af);
}

/* ---- lines */

void wn_lines_init(wn_line_reader *r, FILE *f) {
    memset(r, 0, sizeof *r);
    r->f = f;
}

int wn_lines_next(wn_line_reader *r) {
    size_t n = 0;
    int c;
    int any = 0;
    while ((c = getc_unlocked(r->f)) != EOF) {
        any = 1;
        if (c == '\n') break;
        if (n + 2 > r->cap && wn_grow((void **)&r->buf, &r->cap, n + 2, 1) != WN_OK) return -1;
        r->buf[n++] = (char)c;
    }
    if (!any) {
        if (ferror(r->f)) {
            wn_seterr(WN_ERR_IO, "read error at line %llu", (unsigned long long)r->lineno + 1);
            return -1;
        }
        return 0;
    }
    if (!r->buf && wn_grow((void **)&r->buf, &r->cap, 1, 1) != WN_OK) return -1;
    if (n > 0 && r->buf[n - 1] == '\r') n--;
    r->buf[n] = 0;
    r->len = n;
    r->lineno++;
    return 1;
}

void wn_lines_free(wn_line_reader *r) {
    wn_free(r->buf);
    r->buf = NULL;
    r->cap = 0;
}

double wn_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
