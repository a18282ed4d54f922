/* test_store.c - the document store (SQLite) and the corpus readers: round trips,
 * reopening, metadata, duplicate ids, a foreign database, and bad corpus lines
 * (messages name file:line, the reader continues after them). */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "scratch.h"
#include "faults.h"
#include "winnow.h"

static void store_cases(const char *dir) {
    char sdir[512];
    snprintf(sdir, sizeof sdir, "%s/ix", dir);
    wn_store *s;
    CHECK(wn_store_open(sdir, 0, &s) == WN_ERR_NOTFOUND, "open of a missing store");
    CHECK(wn_store_open(sdir, 1, &s) == WN_OK, "create: %s", wn_last_error());
    if (!s) return;
    int64_t row = -1;
    char id[32], text[64];
    for (int i = 0; i < 2500; i++) { /* crosses two batch commits */
        snprintf(id, sizeof id, "doc-%d", i);
        snprintf(text, sizeof text, "text of document %d \xc3\xa9", i);
        CHECK(wn_store_add(s, id, i % 2 ? "a title" : NULL, text, i == 7 ? "{\"year\":1999}" : NULL, &row) == WN_OK,
              "add %d: %s", i, wn_last_error());
        CHECK(row == i, "row %lld for document %d", (long long)row, i);
    }
    CHECK(wn_store_add(s, "doc-17", "", "again", NULL, &row) == WN_ERR_ARG, "duplicate id accepted");
    CHECK(strstr(wn_last_error(), "doc-17") && strstr(wn_last_error(), "row 17"), "duplicate message: %s",
          wn_last_error());
    CHECK(wn_store_count(s) == 2500, "count %lld", (long long)wn_store_count(s));
    CHECK(wn_store_set_meta(s, "bm25.k1", "0.9") == WN_OK, "meta: %s", wn_last_error());
    wn_store_free(s);
    CHECK(wn_store_open(sdir, 1, &s) == WN_ERR_ARG, "re-create over an existing store");

    CHECK(wn_store_open(sdir, 0, &s) == WN_OK, "reopen: %s", wn_last_error());
    if (!s) return;
    CHECK(wn_store_count(s) == 2500, "count after reopen %lld", (long long)wn_store_count(s));
    wn_doc d;
    CHECK(wn_store_get(s, 7, &d) == WN_OK, "get");
    CHECK(!strcmp(d.id, "doc-7") && !strcmp(d.title, "a title") && !strcmp(d.text, "text of document 7 \xc3\xa9") &&
              !strcmp(d.meta, "{\"year\":1999}"),
          "doc 7: %s|%s|%s|%s", d.id, d.title, d.text, d.meta);
    CHECK(wn_store_get(s, 2, &d) == WN_OK && !strcmp(d.title, "") && !strcmp(d.meta, ""), "doc 2 defaults");
    CHECK(wn_store_get(s, 2500, &d) == WN_ERR_NOTFOUND, "row past the end");
    CHECK(wn_store_find(s, "doc-2499", &row) == WN_OK && row == 2499, "find");
    CHECK(wn_store_find(s, "nope", &row) == WN_ERR_NOTFOUND, "find missing");
    char *v = NULL;
    CHECK(wn_store_get_meta(s, "bm25.k1", &v) == WN_OK && v && !strcmp(v, "0.9"), "meta back");
    wn_free_buffer(v);
    CHECK(wn_store_get_meta(s, "nope", &v) == WN_ERR_NOTFOUND, "missing meta");
    CHECK(wn_store_add(s, "x", "", "y", NULL, &row) == WN_ERR_ARG, "add to a read-only store");
    wn_store_free(s);

    /* a SQLite file that is not ours */
    char odir[512], opath[600];
    snprintf(odir, sizeof odir, "%s/other", dir);
    mkdir(odir, 0755);
    snprintf(opath, sizeof opath, "%s/docs.sqlite", odir);
    sqlite3 *db;
    sqlite3_open(opath, &db);
    sqlite3_exec(db, "CREATE TABLE t(x)", NULL, NULL, NULL);
    sqlite3_close(db);
    CHECK(wn_store_open(odir, 0, &s) == WN_ERR_FORMAT && strstr(wn_last_error(), "not a winnow store"),
          "foreign db: %s", wn_last_error());
}

/* Reads all of a corpus; returns documents read, fills the number of errors and
 * the first error message. */
static int read_all(const char *path, wn_corpus_format fmt, const char *idf, int *n_err, char *err, char ids[][32],
                    char texts[][64]) {
    wn_corpus_params p = wn_corpus_default_params();
    p.format = fmt;
    p.id_field = idf;
    wn_corpus *c;
    *n_err = 0;
    err[0] = 0;
    if (wn_corpus_open(path, &p, &c) != WN_OK) {
        snprintf(err, 256, "%s", wn_last_error());
        return -1;
    }
    int n = 0, got;
    wn_doc d;
    for (;;) {
        wn_status st = wn_corpus_next(c, &d, &got);
        if (st != WN_OK) {
            if (!(*n_err)++) snprintf(err, 256, "%s", wn_last_error());
            continue;
        }
        if (!got) break;
        if (n < 8) {
            snprintf(ids[n], 32, "%s", d.id);
            snprintf(texts[n], 64, "%s|%s", d.title, d.text);
        }
        n++;
    }
    uint64_t done, total;
    wn_corpus_progress(c, &done, &total);
    CHECK(done == total, "progress %llu of %llu at the end", (unsigned long long)done, (unsigned long long)total);
    wn_corpus_free(c);
    return n;
}

static void corpus_cases(const char *dir) {
    char p[512], err[256], ids[8][32], texts[8][64];
    int ne, n;
    snprintf(p, sizeof p, "%s/corpus.jsonl", dir);
    write_file(p, "{\"_id\": \"a\", \"title\": \"T\", \"text\": \"alpha\", \"metadata\": {\"x\": 1}}\n"
                  "\n"
                  "{\"_id\": \"b\", \"title\": \"\", \"text\": \"beta\"\n"
                  "{\"_id\": 42, \"text\": \"gamma \xff\"}\n"
                  "{\"_id\": \"c\", \"title\": \"only title\"}\n"
                  "[1, 2]\n"
                  "{\"_id\": \"d\", \"text\": \"delta\"}\n");
    n = read_all(p, WN_CORPUS_AUTO, NULL, &ne, err, ids, texts);
    CHECK(n == 3 && ne == 3, "beir: %d documents, %d errors", n, ne);
    CHECK(strstr(err, "corpus.jsonl:3:") && strstr(err, "malformed"), "first error: %s", err);
    CHECK(!strcmp(ids[0], "a") && !strcmp(texts[0], "T|alpha"), "doc a: %s %s", ids[0], texts[0]);
    CHECK(!strcmp(ids[1], "42") && !strcmp(texts[1], "|gamma \xef\xbf\xbd"), "numeric id / sanitised: %s %s", ids[1], texts[1]);
    CHECK(!strcmp(ids[2], "d"), "doc d: %s", ids[2]);

    snprintf(p, sizeof p, "%s/generic.jsonl", dir);
    write_file(p, "{\"docno\": \"x1\", \"title\": \"t\", \"text\": \"one\"}\n{\"id\": \"x2\", \"text\": \"two\"}\n");
    n = read_all(p, WN_CORPUS_JSONL, "docno", &ne, err, ids, texts);
    CHECK(n == 1 && ne == 1 && strstr(err, "generic.jsonl:2:") && strstr(err, "docno"), "jsonl: %d %d %s", n, ne, err);

    snprintf(p, sizeof p, "%s/c.tsv", dir);
    write_file(p, "1\tplain text\n2\ta title\tand text\nnotab\n3\ta\tb\tc\n\t x\n");
    n = read_all(p, WN_CORPUS_AUTO, NULL, &ne, err, ids, texts);
    CHECK(n == 2 && ne == 3, "tsv: %d documents, %d errors", n, ne);
    CHECK(!strcmp(texts[0], "|plain text") && !strcmp(texts[1], "a title|and text"), "tsv texts %s / %s", texts[0],
          texts[1]);
    CHECK(strstr(err, "c.tsv:3:"), "tsv error: %s", err);

    char d[512], f[600];
    snprintf(d, sizeof d, "%s/txt", dir);
    mkdir(d, 0755);
    snprintf(f, sizeof f, "%s/b.txt", d);
    write_file(f, "bee");
    snprintf(f, sizeof f, "%s/a.txt", d);
    write_file(f, "ay");
    snprintf(f, sizeof f, "%s/skip.md", d);
    write_file(f, "no");
    n = read_all(d, WN_CORPUS_AUTO, NULL, &ne, err, ids, texts);
    CHECK(n == 2 && ne == 0 && !strcmp(ids[0], "a") && !strcmp(texts[1], "|bee"), "dir: %d %s %s", n, ids[0], texts[1]);
    n = read_all(d, WN_CORPUS_TSV, NULL, &ne, err, ids, texts);
    CHECK(n == -1 && strstr(err, "folder"), "tsv on a folder: %s", err);
    wn_corpus_format cf = WN_CORPUS_AUTO;
    CHECK(wn_corpus_format_parse("beir", &cf) == WN_OK && cf == WN_CORPUS_BEIR && !*wn_last_error(), "format names");
    CHECK(wn_corpus_format_parse("x", &cf) == WN_ERR_ARG && cf == WN_CORPUS_BEIR &&
              strstr(wn_last_error(), "unknown corpus format 'x' (use auto, beir, jsonl, tsv, dir)"),
          "an unknown format is refused naming the known ones: %s", wn_last_error());
}

/* Fault injection over the corpus readers: the allocator fails its n-th call, for
 * every n until a whole read succeeds; failures are WN_ERR_NOMEM and leak nothing. */
static void corpus_faults(const char *dir) {
    char p[512];
    snprintf(p, sizeof p, "%s/fi.jsonl", dir);
    write_file(p, "{\"_id\": \"a\", \"title\": \"T\", \"text\": \"alpha\", \"metadata\": {\"x\": 1}}\n"
                  "{\"_id\": 7, \"text\": \"beta \xff\"}\n");
    fault_alloc f = {0};
    wn_allocator al = fault_allocator(&f, 0);
    int done = 0, bad = 0;
    for (long n = 1; n < 2000 && !done; n++) {
        fault_plant_stale_message();
        wn_set_allocator(&al);
        fault_arm(&f, n);
        wn_corpus *c = NULL;
        wn_status st = wn_corpus_open(p, NULL, &c);
        int docs = 0, got = 1;
        while (st == WN_OK && got) {
            wn_doc d;
            st = wn_corpus_next(c, &d, &got);
            docs += st == WN_OK && got;
        }
        wn_corpus_free(c);
        if (st == WN_OK) {
            done = 1;
            CHECK(docs == 2, "read %d documents", docs);
        } else if ((st != WN_ERR_NOMEM || !fault_message_ok(st)) && bad++ < 5) { /* the JSON reader tells OOM apart */
            fprintf(stderr, "fault %ld: %s: %s\n", n, wn_status_name(st), wn_last_error());
        }
        CHECK(fault_live(&f) == 0, "fault at allocation %ld leaks %ld blocks", n, fault_live(&f));
        fault_arm(&f, 0);
        wn_set_allocator(NULL);
    }
    CHECK(done && !bad, "corpus fault injection: done %d, bad %d", done, bad);
}

int main(void) {
    char dir[] = "/tmp/wn_test_store_XXXXXX";
    if (!mkdtemp(dir)) return 1;
    store_cases(dir);
    corpus_cases(dir);
    corpus_faults(dir);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return check_done();
}
