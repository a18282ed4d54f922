/*
 * store.c - the document store of an index directory: DIR/docs.sqlite, an embedded
 * SQLite database (libsqlite3). Tables: docs(row, id unique, title, text, meta) and
 * meta(key, value). The file's magic and version are SQLite's application_id
 * ('WNST') and user_version (1), checked on open. Inserts are batched in
 * transactions; a store being built lives in a temporary directory that the
 * builder renames when complete (src/pipeline/build.c), so it needs no journal.
 * It does not read corpora (corpus.c) or know about BM25 and vectors.
 */
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <string.h>
#include <unistd.h>

#include "util/util.h"

#define STORE_APP_ID 0x574E5354 /* "WNST" */
#define STORE_VERSION 1
#define STORE_BATCH 1000

struct wn_store {
    sqlite3 *db;
    char *path;
    int writable;
    int in_tx, batch;
    int64_t count;
    sqlite3_stmt *ins, *get, *find;
};

static wn_status dberr(wn_store *s, const char *what) {
    return wn_seterr(WN_ERR_IO, "%s: %s: %s", s->path, what, sqlite3_errmsg(s->db));
}

static wn_status exec(wn_store *s, const char *sql) {
    char *msg = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        wn_status st = wn_seterr(WN_ERR_IO, "%s: %s: %s", s->path, sql, msg ? msg : "?");
        sqlite3_free(msg);
        return st;
    }
    return WN_OK;
}

static int64_t query_int(wn_store *s, const char *sql, int64_t dflt) {
    sqlite3_stmt *st;
    int64_t v = dflt;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) return dflt;
    if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

void wn_store_free(wn_store *s) {
    if (!s) return;
    if (s->in_tx) exec(s, "COMMIT");
    sqlite3_finalize(s->ins);
    sqlite3_finalize(s->get);
    sqlite3_finalize(s->find);
    sqlite3_close(s->db);
    if (s->writable) { /* the build ran without sync: make the file durable now */
        int fd = open(s->path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            fsync(fd);
            close(fd);
        }
    }
    wn_free(s->path);
    wn_free(s);
}

wn_status wn_store_open(const char *dir, int create, wn_store **out) {
    WN_ENTRY();
    *out = NULL;
    if (!dir) return wn_seterr(WN_ERR_ARG, "wn_store_open: NULL directory");
    wn_store *s = wn_calloc(1, sizeof *s);
    if (!s || !(s->path = wn_path_join(dir, "docs.sqlite"))) {
        wn_free(s);
        return wn_seterr(WN_ERR_NOMEM, "store: out of memory");
    }
    wn_status st = WN_OK;
    if (create) {
        if (wn_file_exists(s->path)) {
            st = wn_seterr(WN_ERR_ARG, "%s: already exists (a store is created once)", s->path);
            goto fail;
        }
        if (!wn_dir_exists(dir) && (st = wn_mkdirs(dir, 0755)) != WN_OK) goto fail;
    } else if (!wn_file_exists(s->path)) {
        st = wn_seterr(WN_ERR_NOTFOUND, "%s: no such file (is %s an index made by winnow index?)", s->path, dir);
        goto fail;
    }
    int flags = create ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY;
    if (sqlite3_open_v2(s->path, &s->db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        st = s->db ? dberr(s, "open") : wn_seterr(WN_ERR_NOMEM, "%s: sqlite out of memory", s->path);
        goto fail;
    }
    s->writable = create;
    if (create) {
        char sql[512];
        snprintf(sql, sizeof sql,
                 "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA application_id=%d; PRAGMA user_version=%d;"
                 "CREATE TABLE docs(row INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, title TEXT NOT NULL,"
                 " text TEXT NOT NULL, meta TEXT NOT NULL);"
                 "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);",
                 STORE_APP_ID, STORE_VERSION);
        if ((st = exec(s, sql)) != WN_OK) goto fail;
        if (sqlite3_prepare_v2(s->db, "INSERT INTO docs(row, id, title, text, meta) VALUES(?,?,?,?,?)", -1, &s->ins,
                               NULL) != SQLITE_OK) {
            st = dberr(s, "prepare insert");
            goto fail;
        }
    } else {
        int64_t app = query_int(s, "PRAGMA application_id", -1), ver = query_int(s, "PRAGMA user_version", -1);
        if (app != STORE_APP_ID) {
            st = wn_seterr(WN_ERR_FORMAT, "%s: not a winnow store (application id %lld, want %d)", s->path,
                           (long long)app, STORE_APP_ID);
            goto fail;
        }
        if (ver != STORE_VERSION) {
            st = wn_seterr(WN_ERR_FORMAT, "%s: store version %lld, this winnow reads version %d", s->path,
                           (long long)ver, STORE_VERSION);
            goto fail;
        }
    }
    if (sqlite3_prepare_v2(s->db, "SELECT id, title, text, meta FROM docs WHERE row = ?", -1, &s->get, NULL) !=
            SQLITE_OK ||
        sqlite3_prepare_v2(s->db, "SELECT row FROM docs WHERE id = ?", -1, &s->find, NULL) != SQLITE_OK) {
        st = dberr(s, "prepare");
        goto fail;
    }
    s->count = query_int(s, "SELECT COUNT(*) FROM docs", 0);
    *out = s;
    return WN_OK;
fail:
    s->writable = 0;
    wn_store_free(s);
    return st;
}

wn_status wn_store_flush(wn_store *s) {
    WN_ENTRY();
    if (!s->in_tx) return WN_OK;
    s->in_tx = 0;
    s->batch = 0;
    return exec(s, "COMMIT");
}

wn_status wn_store_add(wn_store *s, const char *id, const char *title, const char *text, const char *meta,
                       int64_t *row) {
    WN_ENTRY();
    if (!s || !id) return wn_seterr(WN_ERR_ARG, "wn_store_add: NULL argument");
    if (!s->writable) return wn_seterr(WN_ERR_ARG, "%s: opened read-only", s->path);
    if (!*id) return wn_seterr(WN_ERR_ARG, "store: empty document id");
    wn_status st;
    if (!s->in_tx) {
        if ((st = exec(s, "BEGIN")) != WN_OK) return st;
        s->in_tx = 1;
    }
    int64_t r = s->count;
    sqlite3_reset(s->ins);
    sqlite3_bind_int64(s->ins, 1, r);
    sqlite3_bind_text(s->ins, 2, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s->ins, 3, title ? title : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(s->ins, 4, text ? text : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(s->ins, 5, meta ? meta : "", -1, SQLITE_STATIC);
    int rc = sqlite3_step(s->ins);
    sqlite3_reset(s->ins);
    sqlite3_clear_bindings(s->ins);
    if (rc == SQLITE_CONSTRAINT) {
        int64_t prev = -1;
        wn_store_find(s, id, &prev);
        return wn_seterr(WN_ERR_ARG, "duplicate document id '%s' (already at row %lld)", id, (long long)prev);
    }
    if (rc != SQLITE_DONE) return dberr(s, "insert");
    s->count++;
    if (row) *row = r;
    if (++s->batch >= STORE_BATCH) return wn_store_flush(s);
    return WN_OK;
}

int64_t wn_store_count(const wn_store *s) { return s ? s->count : 0; }

static const char *col(sqlite3_stmt *st, int i) {
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? (const char *)t : "";
}

wn_status wn_store_get(wn_store *s, int64_t row, wn_doc *out) {
    WN_ENTRY();
    memset(out, 0, sizeof *out);
    sqlite3_reset(s->get);
    sqlite3_bind_int64(s->get, 1, row);
    int rc = sqlite3_step(s->get);
    if (rc == SQLITE_DONE)
        return wn_seterr(WN_ERR_NOTFOUND, "%s: no document at row %lld (%lld documents)", s->path, (long long)row,
                         (long long)s->count);
    if (rc != SQLITE_ROW) return dberr(s, "get");
    out->row = row;
    out->id = col(s->get, 0);
    out->title = col(s->get, 1);
    out->text = col(s->get, 2);
    out->meta = col(s->get, 3);
    return WN_OK;
}

wn_status wn_store_find(wn_store *s, const char *id, int64_t *row) {
    WN_ENTRY();
    sqlite3_reset(s->find);
    sqlite3_bind_text(s->find, 1, id, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(s->find);
    if (rc == SQLITE_ROW) {
        *row = sqlite3_column_int64(s->find, 0);
        sqlite3_reset(s->find);
        return WN_OK;
    }
    sqlite3_reset(s->find);
    if (rc == SQLITE_DONE) return wn_seterr(WN_ERR_NOTFOUND, "%s: no document with id '%s'", s->path, id);
    return dberr(s, "find");
}

wn_status wn_store_set_meta(wn_store *s, const char *key, const char *value) {
    WN_ENTRY();
    if (!s->writable) return wn_seterr(WN_ERR_ARG, "%s: opened read-only", s->path);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)", -1, &st, NULL) != SQLITE_OK)
        return dberr(s, "prepare meta");
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, value ? value : "", -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? WN_OK : dberr(s, "set meta");
}

wn_status wn_store_get_meta(wn_store *s, const char *key, char **value) {
    WN_ENTRY();
    *value = NULL;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "SELECT value FROM meta WHERE key = ?", -1, &st, NULL) != SQLITE_OK)
        return dberr(s, "prepare meta");
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    wn_status r = WN_OK;
    if (rc == SQLITE_ROW) {
        *value = wn_strdup(col(st, 0));
        if (!*value) r = wn_seterr(WN_ERR_NOMEM, "store: out of memory");
    } else if (rc == SQLITE_DONE) {
        r = wn_seterr(WN_ERR_NOTFOUND, "%s: no metadata '%s'", s->path, key);
    } else {
        r = dberr(s, "get meta");
    }
    sqlite3_finalize(st);
    return r;
}
