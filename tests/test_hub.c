/* test_hub.c - wn_hub_resolve against tests/tools/hub_test_server.py, a stand-in for the
 * HuggingFace hub on 127.0.0.1 (started here on an ephemeral port, killed at the end,
 * and exiting by itself after 60 s whatever happens). The fake models are bytes we
 * write; what is checked is the client: which files land, byte for byte; that a
 * failure leaves nothing under a final name; that the cache answers without network;
 * and that each error says what to do. Nothing here reaches beyond 127.0.0.1. */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "faults.h"
#include "util/util.h"
#include "winnow.h"

static char tmp[64];         /* the test's scratch directory */
static char srv_root[128];   /* what the server serves: <owner>/<name>/<files> */
static char cache[128];      /* WINNOW_CACHE */
static char logpath[128];    /* one line per request the server saw */
static char endpoint[64];

/* ---- small helpers */

static void put(const char *repo, const char *file, const void *data, size_t n) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s/%s", srv_root, repo, file);
    char *slash = strrchr(path, '/');
    *slash = 0;
    WN_ASSERT(wn_mkdirs(path, 0755) == WN_OK);
    *slash = '/';
    FILE *f = fopen(path, "wb");
    WN_ASSERT(f && fwrite(data, 1, n, f) == n && fclose(f) == 0);
}

static void put_str(const char *repo, const char *file, const char *s) { put(repo, file, s, strlen(s)); }

static unsigned char blob[300000]; /* a "model.safetensors" big enough to be dropped half way */

static void put_model(const char *repo, int vocab, int tokjson) {
    put_str(repo, "config.json", "{\"model_type\": \"bert\", \"hidden_size\": 8}\n");
    put(repo, "model.safetensors", blob, sizeof blob);
    if (vocab) put_str(repo, "vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\n");
    if (tokjson) put_str(repo, "tokenizer.json", "{\"model\": {\"type\": \"WordPiece\"}}\n");
}

/* 1 if the file at a/b has the same bytes as the served repo's file. */
static int same_file(const char *dir, const char *repo, const char *file) {
    char p1[1024], p2[1024];
    snprintf(p1, sizeof p1, "%s/%s", dir, file);
    snprintf(p2, sizeof p2, "%s/%s/%s", srv_root, repo, file);
    char *d1 = NULL, *d2 = NULL;
    size_t n1 = 0, n2 = 0;
    int ok = wn_read_file(p1, &d1, &n1) == WN_OK && wn_read_file(p2, &d2, &n2) == WN_OK && n1 == n2 &&
             !memcmp(d1, d2, n1);
    wn_free(d1);
    wn_free(d2);
    return ok;
}

static int exists_in(const char *dir, const char *file) {
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, file);
    return access(p, F_OK) == 0;
}

/* Number of entries in dir whose name contains ".tmp." (leftover temp files). */
static int temps_in(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strstr(e->d_name, ".tmp.")) n++;
    closedir(d);
    return n;
}

static int log_lines(void) {
    char *t = NULL;
    size_t n = 0;
    if (wn_read_file(logpath, &t, &n) != WN_OK) return 0;
    int k = 0;
    for (size_t i = 0; i < n; i++) k += t[i] == '\n';
    wn_free(t);
    return k;
}

/* How many requests the server logged whose line contains needle. */
static int log_count(const char *needle) {
    char *t = NULL;
    if (wn_read_file(logpath, &t, NULL) != WN_OK) return 0;
    int r = 0;
    for (const char *s = t; (s = strstr(s, needle)); s++) r++;
    wn_free(t);
    return r;
}

static int log_has(const char *needle) { return log_count(needle) > 0; }

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

/* ---- the server */

static pid_t start_server(int *port) {
    char portfile[128];
    snprintf(portfile, sizeof portfile, "%s/port", tmp);
    unlink(portfile);
    pid_t pid = fork();
    WN_ASSERT(pid >= 0);
    if (pid == 0) {
        execlp("python3", "python3", "tests/tools/hub_test_server.py", srv_root, "--port-file", portfile, "--log", logpath,
               "--drop", "acme/drop", "--redirect", "acme/redir", "--token", "acme/private:s3cret", "--max-seconds",
               "60", (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 200; i++) { /* up to 10 s for python to start */
        FILE *f = fopen(portfile, "r");
        if (f) {
            int ok = fscanf(f, "%d", port) == 1;
            fclose(f);
            if (ok) return pid;
        }
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) return -1;
        usleep(50000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

static void stop_server(pid_t pid) {
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
}

/* ---- progress */

typedef struct {
    int calls, full;
} prog;

static void on_progress(void *ud, const char *what, uint64_t done, uint64_t total) {
    prog *p = ud;
    p->calls++;
    if (!strcmp(what, "model.safetensors") && total == sizeof blob && done == total) p->full = 1;
}

static wn_hub_params params(void) {
    wn_hub_params p = wn_hub_default_params();
    p.endpoint = endpoint;
    p.cache_dir = cache;
    return p;
}

/* ---- cases */

static void test_bad_names(void) {
    wn_hub_params p = params();
    char dir[512];
    const char *bad[] = {"",       "x",         "../etc",     "/no/such/dir", "a/b/c",     "a/..",
                         "../a",   "owner/na me", "owner/",   "/owner",       "-x/y",      "owner/.hidden",
                         "a//b",   "ow ner/x",  "owner/x\n", "./model"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        wn_status st = wn_hub_resolve(bad[i], &p, dir, sizeof dir);
        CHECK(st == WN_ERR_ARG, "'%s': status %s", bad[i], wn_status_name(st));
        CHECK(strstr(wn_last_error(), "not a hub id"), "'%s': %s", bad[i], wn_last_error());
    }
    CHECK(log_lines() == 0, "bad names made %d requests", log_lines());
    CHECK(wn_hub_resolve(NULL, &p, dir, sizeof dir) == WN_ERR_ARG, "NULL name");
    CHECK(wn_hub_resolve("acme/tiny", &p, NULL, 0) == WN_ERR_ARG, "NULL dir");
    p.revision = "../main";
    CHECK(wn_hub_resolve("acme/tiny", &p, dir, sizeof dir) == WN_ERR_ARG, "revision ../main");
    CHECK(strstr(wn_last_error(), "not a revision"), "%s", wn_last_error());
    p = params();
    p.endpoint = "ftp://127.0.0.1/";
    CHECK(wn_hub_resolve("acme/tiny", &p, dir, sizeof dir) == WN_ERR_ARG, "ftp endpoint");
}

static void test_local_dir(void) {
    wn_hub_params p = params();
    char dir[512], small[4];
    char local[256];
    snprintf(local, sizeof local, "%s/acme/tiny", srv_root);
    CHECK(wn_hub_resolve(local, &p, dir, sizeof dir) == WN_OK, "%s", wn_last_error());
    CHECK(!strcmp(dir, local), "local dir came back as %s", dir);
    CHECK(wn_hub_resolve(local, &p, small, sizeof small) == WN_ERR_ARG, "small buffer");
    CHECK(log_lines() == 0, "a local dir made %d requests", log_lines());
}

/* bundled names (src/model/bundled.c): the caller's models_dir list, $WINNOW_MODELS_DIR
 * replacing it, a directory of the same name first, the two failures; never a request */
static void test_bundled(void) {
    wn_hub_params p = params();
    char dir[512], want[512], list[512], small[8];
    snprintf(list, sizeof list, "%s/nothing:%s/acme", srv_root, srv_root);
    snprintf(want, sizeof want, "%s/acme/tiny", srv_root);
    p.models_dir = list;
    CHECK(wn_hub_resolve("tiny", &p, dir, sizeof dir) == WN_OK && !strcmp(dir, want), "bundled tiny: %s (%s)", dir,
          wn_last_error());
    CHECK(wn_hub_resolve("tiny", &p, small, sizeof small) == WN_ERR_ARG, "bundled, small buffer");
    wn_status st = wn_hub_resolve("winnow-small-rerank", &p, dir, sizeof dir);
    CHECK(st == WN_ERR_NOTFOUND && strstr(wn_last_error(), "not bundled in this build") &&
              strstr(wn_last_error(), "/nothing") && strstr(wn_last_error(), "tiny"),
          "rerank: %s %s", wn_status_name(st), wn_last_error());
    st = wn_hub_resolve("tinyy", &p, dir, sizeof dir);
    CHECK(st == WN_ERR_ARG && strstr(wn_last_error(), "no bundled model of that name") &&
              strstr(wn_last_error(), "not a hub id"),
          "unknown: %s %s", wn_status_name(st), wn_last_error());
    /* the override: only $WINNOW_MODELS_DIR */
    char env[256];
    snprintf(env, sizeof env, "%s/nothing", srv_root);
    setenv("WINNOW_MODELS_DIR", env, 1);
    st = wn_hub_resolve("tiny", &p, dir, sizeof dir);
    CHECK(st == WN_ERR_ARG && strstr(wn_last_error(), "from WINNOW_MODELS_DIR"), "override: %s %s",
          wn_status_name(st), wn_last_error());
    snprintf(env, sizeof env, "%s", srv_root);
    setenv("WINNOW_MODELS_DIR", env, 1);
    snprintf(want, sizeof want, "%s/acme", srv_root);
    CHECK(wn_hub_resolve("acme", &p, dir, sizeof dir) == WN_OK && !strcmp(dir, want), "override acme: %s", dir);
    unsetenv("WINNOW_MODELS_DIR");
    /* a directory of that name in the current directory comes first (a path) */
    char cwd[1024], here[256];
    WN_ASSERT(getcwd(cwd, sizeof cwd));
    snprintf(here, sizeof here, "%s/cwd/tiny", tmp);
    WN_ASSERT(wn_mkdirs(here, 0755) == WN_OK);
    snprintf(here, sizeof here, "%s/cwd", tmp);
    WN_ASSERT(chdir(here) == 0);
    CHECK(wn_hub_resolve("tiny", &p, dir, sizeof dir) == WN_OK && !strcmp(dir, "tiny"), "cwd dir first: %s", dir);
    WN_ASSERT(chdir(cwd) == 0);
    /* wn_model_load by name: the repository's winnow-small-embed, from another directory */
    char models[1100], path[1200];
    snprintf(models, sizeof models, "%s/models", cwd);
    snprintf(path, sizeof path, "%s/winnow-small-embed/modules.json", models);
    if (wn_file_exists(path)) {
        wn_model_params mp = wn_model_default_params();
        mp.n_threads = 1;
        mp.hub = params();
        mp.hub.offline = 1;
        mp.hub.models_dir = models;
        wn_model *m = NULL;
        WN_ASSERT(chdir(here) == 0);
        st = wn_model_load("winnow-small-embed", &mp, &m);
        WN_ASSERT(chdir(cwd) == 0);
        CHECK(st == WN_OK && m && wn_model_dim(m) == 256, "wn_model_load winnow-small-embed: %s", wn_last_error());
        wn_model_free(m);
    } else {
        printf("test_hub: %s is absent: wn_model_load by bundled name not checked\n", path);
    }
    CHECK(log_lines() == 0, "bundled names made %d requests", log_lines());
}

static void test_download_and_cache(void) {
    wn_hub_params p = params();
    prog pr = {0, 0};
    p.progress = on_progress;
    p.progress_ud = &pr;
    char dir[512], want[512];
    wn_status st = wn_hub_resolve("acme/tiny", &p, dir, sizeof dir);
    CHECK(st == WN_OK, "acme/tiny: %s", wn_last_error());
    snprintf(want, sizeof want, "%s/acme--tiny/main", cache);
    CHECK(!strcmp(dir, want), "dir %s, want %s", dir, want);
    const char *files[] = {"config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json",
                           "1_Pooling/config.json"};
    for (int i = 0; i < 5; i++) CHECK(same_file(dir, "acme/tiny", files[i]), "%s differs from the served one", files[i]);
    CHECK(!exists_in(dir, "tokenizer.json") && !exists_in(dir, "modules.json"), "a 404 left a file");
    CHECK(exists_in(dir, ".winnow-complete"), "no manifest");
    CHECK(temps_in(dir) == 0 && temps_in(want) == 0, "temp files left");
    CHECK(log_has("GET /acme/tiny/resolve/main/modules.json"), "optional files were not asked for");
    CHECK(pr.calls > 0 && pr.full, "progress: %d calls, full %d", pr.calls, pr.full);

    /* second time: the manifest answers, no request at all */
    int before = log_lines();
    CHECK(wn_hub_resolve("acme/tiny", &p, dir, sizeof dir) == WN_OK, "%s", wn_last_error());
    CHECK(log_lines() == before, "the cached model made %d requests", log_lines() - before);

    /* a file lost from the cache: the manifest no longer holds, what is missing is fetched again */
    char vocab[600];
    snprintf(vocab, sizeof vocab, "%s/vocab.txt", dir);
    unlink(vocab);
    before = log_lines();
    CHECK(wn_hub_resolve("acme/tiny", &p, dir, sizeof dir) == WN_OK, "%s", wn_last_error());
    CHECK(same_file(dir, "acme/tiny", "vocab.txt"), "vocab.txt not fetched again");
    CHECK(log_count("GET /acme/tiny/resolve/main/model.safetensors ") == 1, "model.safetensors fetched again");
    CHECK(log_lines() > before, "nothing was fetched");

    /* a revision with '/' goes to the URL as %2F and to the cache as -- */
    p.revision = "refs/pr/1";
    CHECK(wn_hub_resolve("acme/tiny", &p, dir, sizeof dir) == WN_OK, "%s", wn_last_error());
    snprintf(want, sizeof want, "%s/acme--tiny/refs--pr--1", cache);
    CHECK(!strcmp(dir, want), "dir %s, want %s", dir, want);
    CHECK(log_has("GET /acme/tiny/resolve/refs%2Fpr%2F1/config.json"), "revision not in the URL");

    /* tokenizer.json stands in for vocab.txt */
    p = params();
    CHECK(wn_hub_resolve("acme/tokjson", &p, dir, sizeof dir) == WN_OK, "acme/tokjson: %s", wn_last_error());
    CHECK(same_file(dir, "acme/tokjson", "tokenizer.json"), "tokenizer.json");
}

/* The environment variables instead of params; a trailing '/' on the endpoint. */
static void test_env(void) {
    char ep[80], dir[512], want[512];
    snprintf(ep, sizeof ep, "%s/", endpoint);
    setenv("HF_ENDPOINT", ep, 1);
    setenv("WINNOW_CACHE", cache, 1);
    CHECK(wn_hub_resolve("acme/env", NULL, dir, sizeof dir) == WN_OK, "acme/env: %s", wn_last_error());
    snprintf(want, sizeof want, "%s/acme--env/main", cache);
    CHECK(!strcmp(dir, want), "dir %s, want %s", dir, want);
    CHECK(log_has("GET /acme/env/resolve/main/config.json"), "no double slash in the URL");
    unsetenv("HF_ENDPOINT");
    unsetenv("WINNOW_CACHE");
    unsetenv("WINNOW_MODELS_DIR");
}

static void expect_fail(const char *repo, wn_status want, const char *msg1, const char *msg2) {
    wn_hub_params p = params();
    char dir[512], cdir[512];
    wn_status st = wn_hub_resolve(repo, &p, dir, sizeof dir);
    CHECK(st == want, "%s: status %s, want %s (%s)", repo, wn_status_name(st), wn_status_name(want), wn_last_error());
    CHECK(strstr(wn_last_error(), msg1), "%s: message lacks '%s': %s", repo, msg1, wn_last_error());
    if (msg2) CHECK(strstr(wn_last_error(), msg2), "%s: message lacks '%s': %s", repo, msg2, wn_last_error());
    char flat[128];
    snprintf(flat, sizeof flat, "%s", repo);
    *strchr(flat, '/') = 0;
    snprintf(cdir, sizeof cdir, "%s/%s--%s/main", cache, flat, strchr(repo, '/') + 1);
    CHECK(!exists_in(cdir, "model.safetensors"), "%s: model.safetensors left in the cache", repo);
    CHECK(!exists_in(cdir, ".winnow-complete"), "%s: manifest written", repo);
    CHECK(temps_in(cdir) == 0, "%s: temp files left", repo);
}

static void test_failures(void) {
    expect_fail("acme/missing", WN_ERR_NOTFOUND, "HTTP 404", "/acme/missing/resolve/main/config.json");
    expect_fail("acme/nomodel", WN_ERR_NOTFOUND, "HTTP 404", "no model.safetensors");
    expect_fail("acme/nosafe", WN_ERR_UNSUPPORTED, "pytorch_model.bin", "safetensors only");
    expect_fail("acme/novocab", WN_ERR_NOTFOUND, "neither vocab.txt nor tokenizer.json", NULL);
    expect_fail("acme/drop", WN_ERR_NETWORK, "connection closed after 150000 of 300000 bytes", "model.safetensors");
    /* the dropped repo's config.json was small and whole: it may stay, complete */
    char p[512];
    snprintf(p, sizeof p, "%s/acme--drop/main", cache);
    CHECK(!exists_in(p, "config.json") || same_file(p, "acme/drop", "config.json"), "partial config.json");
}

/* Temp files of a download killed half way: those of a dead process go, a live one's stay. */
static void test_stale_temps(void) {
    char mdir[512], dead[700], live[700], dir[512];
    snprintf(mdir, sizeof mdir, "%s/acme--redir/main", cache);
    WN_ASSERT(wn_mkdirs(mdir, 0755) == WN_OK);
    pid_t child = fork();
    WN_ASSERT(child >= 0);
    if (child == 0) _exit(0);
    waitpid(child, NULL, 0); /* a pid that is certainly no process now */
    snprintf(dead, sizeof dead, "%s/model.safetensors.tmp.%ld.0", mdir, (long)child);
    snprintf(live, sizeof live, "%s/vocab.txt.tmp.%ld.0", mdir, (long)getppid());
    FILE *f = fopen(dead, "w");
    WN_ASSERT(f && fputs("half", f) >= 0 && fclose(f) == 0);
    f = fopen(live, "w");
    WN_ASSERT(f && fputs("busy", f) >= 0 && fclose(f) == 0);
    wn_hub_params p = params();
    CHECK(wn_hub_resolve("acme/redir", &p, dir, sizeof dir) == WN_OK, "acme/redir: %s", wn_last_error());
    CHECK(access(dead, F_OK) != 0, "a dead process's temp file stayed");
    CHECK(access(live, F_OK) == 0, "a live process's temp file was removed");
    unlink(live);
}

static void test_redirect_and_token(void) {
    wn_hub_params p = params();
    char dir[512];
    test_stale_temps(); /* downloads acme/redir */
    CHECK(wn_hub_resolve("acme/redir", &p, dir, sizeof dir) == WN_OK, "acme/redir: %s", wn_last_error());
    CHECK(same_file(dir, "acme/redir", "model.safetensors"), "redirected model.safetensors differs");
    CHECK(log_has("GET /cdn/acme/redir/model.safetensors"), "the redirect was not followed");

    unsetenv("HF_TOKEN");
    expect_fail("acme/private", WN_ERR_NOTFOUND, "HTTP 401", "set HF_TOKEN");
    setenv("HF_TOKEN", "wrong", 1);
    expect_fail("acme/private", WN_ERR_NOTFOUND, "HTTP 401", "the token in HF_TOKEN cannot read it");
    setenv("HF_TOKEN", "s3cret", 1);
    CHECK(wn_hub_resolve("acme/private", &p, dir, sizeof dir) == WN_OK, "acme/private with token: %s",
          wn_last_error());
    CHECK(same_file(dir, "acme/private", "model.safetensors"), "private model.safetensors differs");
    unsetenv("HF_TOKEN");
}

static void test_offline(void) {
    wn_hub_params p = params();
    char dir[512];
    p.offline = 1;
    int before = log_lines();
    CHECK(wn_hub_resolve("acme/later", &p, dir, sizeof dir) == WN_ERR_NOTFOUND, "offline, not cached");
    CHECK(strstr(wn_last_error(), "offline mode") && strstr(wn_last_error(), "Put config.json, model.safetensors") &&
              strstr(wn_last_error(), "acme--later/main") && strstr(wn_last_error(), "local directory"),
          "%s", wn_last_error());
    CHECK(wn_hub_resolve("acme/tiny", &p, dir, sizeof dir) == WN_OK, "offline, cached: %s", wn_last_error());
    setenv("HF_HUB_OFFLINE", "1", 1);
    p.offline = 0;
    CHECK(wn_hub_resolve("acme/later", &p, dir, sizeof dir) == WN_ERR_NOTFOUND, "HF_HUB_OFFLINE=1, not cached");
    CHECK(strstr(wn_last_error(), "HF_HUB_OFFLINE"), "%s", wn_last_error());
    /* files put in the cache by hand, no manifest: offline takes them as they are */
    char manual[512];
    snprintf(manual, sizeof manual, "%s/acme--manual/main", cache);
    WN_ASSERT(wn_mkdirs(manual, 0755) == WN_OK);
    const char *need[] = {"config.json", "model.safetensors", "vocab.txt"};
    for (int i = 0; i < 3; i++) {
        char f[600];
        snprintf(f, sizeof f, "%s/%s", manual, need[i]);
        FILE *fp = fopen(f, "w");
        WN_ASSERT(fp && fputs("x", fp) >= 0 && fclose(fp) == 0);
    }
    CHECK(wn_hub_resolve("acme/manual", &p, dir, sizeof dir) == WN_OK, "offline, by hand: %s", wn_last_error());
    CHECK(!strcmp(dir, manual), "%s", dir);
    unsetenv("HF_HUB_OFFLINE");
    CHECK(log_lines() == before, "offline mode made %d requests", log_lines() - before);
}

/* A model that Python's huggingface_hub already fetched is used from its cache as it
 * is, without a request: through refs/<revision>, or with the commit as revision. */
static void test_hf_cache(void) {
    const char *commit = "0123456789abcdef0123456789abcdef01234567";
    char snap[512], path[700], dir[512] = "";
    snprintf(snap, sizeof snap, "%s/hf/models--acme--hfonly/snapshots/%s", tmp, commit);
    WN_ASSERT(wn_mkdirs(snap, 0755) == WN_OK);
    const char *files[] = {"config.json", "model.safetensors", "vocab.txt"};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", snap, files[i]);
        FILE *f = fopen(path, "w");
        WN_ASSERT(f && fputs("x", f) >= 0 && fclose(f) == 0);
    }
    snprintf(path, sizeof path, "%s/hf/models--acme--hfonly/refs", tmp);
    WN_ASSERT(wn_mkdirs(path, 0755) == WN_OK);
    snprintf(path, sizeof path, "%s/hf/models--acme--hfonly/refs/main", tmp);
    FILE *f = fopen(path, "w");
    WN_ASSERT(f && fprintf(f, "%s", commit) > 0 && fclose(f) == 0);

    wn_hub_params p = params();
    int before = log_lines();
    CHECK(wn_hub_resolve("acme/hfonly", &p, dir, sizeof dir) == WN_OK, "HF cache: %s", wn_last_error());
    CHECK(!strcmp(dir, snap), "HF cache: dir %s, want %s", dir, snap);
    p.revision = commit;
    CHECK(wn_hub_resolve("acme/hfonly", &p, dir, sizeof dir) == WN_OK, "HF cache by commit: %s", wn_last_error());
    CHECK(!strcmp(dir, snap), "HF cache by commit: dir %s", dir);
    p = params();
    p.offline = 1;
    CHECK(wn_hub_resolve("acme/hfonly", &p, dir, sizeof dir) == WN_OK, "HF cache offline: %s", wn_last_error());
    CHECK(log_lines() == before, "the HF cache made %d requests", log_lines() - before);

    /* a snapshot without model.safetensors is not enough: winnow's own download runs */
    snprintf(path, sizeof path, "%s/hf/models--acme--env/snapshots/%s", tmp, commit);
    WN_ASSERT(wn_mkdirs(path, 0755) == WN_OK);
    snprintf(path, sizeof path, "%s/hf/models--acme--env/snapshots/%s/config.json", tmp, commit);
    f = fopen(path, "w");
    WN_ASSERT(f && fputs("{}", f) >= 0 && fclose(f) == 0);
    p = params();
    p.revision = commit;
    CHECK(wn_hub_resolve("acme/env", &p, dir, sizeof dir) == WN_OK, "partial HF snapshot: %s", wn_last_error());
    CHECK(strstr(dir, "/cache/acme--env/") && same_file(dir, "acme/env", "model.safetensors"),
          "partial HF snapshot: dir %s", dir);
}

/* An allocator that fails its n-th call (SQLite's fault simulation): a failure comes
 * back as WN_ERR_NOMEM with no manifest written, or (where the failed allocation was
 * optional: util's fsync of the directory after a rename) as success with every file
 * whole; never a temp file left, never a leak (ASan's leak check at exit). A small
 * repo: every commit costs two fsyncs. */
static void test_faults(void) {
    const char *need[] = {"config.json", "model.safetensors", "vocab.txt"};
    int done = 0;
    /* the caches go to memory where there is a tmpfs: ~100 downloads of 3 fsync'd files */
    char base[64];
    snprintf(base, sizeof base, "/dev/shm/wn_test_hub_XXXXXX");
    if (access("/dev/shm", W_OK) != 0 || !mkdtemp(base)) snprintf(base, sizeof base, "%s", tmp);
    for (long n = 1; n < 400 && !done; n++) {
        char fcache[256], dir[512], mdir[512];
        snprintf(fcache, sizeof fcache, "%s/fault%ld", base, n);
        snprintf(mdir, sizeof mdir, "%s/acme--small/main", fcache);
        wn_hub_params p = params();
        p.cache_dir = fcache;
        fault_alloc f = {0};
        wn_allocator al = fault_allocator(&f, 1);
        fault_plant_stale_message();
        wn_set_allocator(&al);
        fault_arm(&f, n);
        wn_status st = wn_hub_resolve("acme/small", &p, dir, sizeof dir);
        wn_set_allocator(NULL);
        if (!fault_reached(&f)) { /* no allocation failed: this is the success */
            CHECK(st == WN_OK, "fault %ld: no failure injected, yet %s: %s", n, wn_status_name(st), wn_last_error());
            done = 1;
        } else if (st != WN_OK) {
            CHECK(st == WN_ERR_NOMEM && fault_message_ok(st), "allocation %ld failed: status %s (%s)", n, wn_status_name(st),
                  wn_last_error());
            CHECK(!exists_in(mdir, ".winnow-complete"), "allocation %ld failed: manifest written", n);
        }
        if (st == WN_OK)
            for (int i = 0; i < 3; i++) CHECK(same_file(dir, "acme/small", need[i]), "fault %ld: %s differs", n, need[i]);
        CHECK(temps_in(mdir) == 0, "fault %ld: temp files left", n);
        nftw(fcache, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    }
    CHECK(done, "resolve never succeeded under the failing allocator");
    if (strcmp(base, tmp)) rmdir(base);
}

/* After the server is gone: the cache still answers; what is not cached fails fast and says what to do. */
static void test_server_gone(void) {
    wn_hub_params p = params();
    char dir[512];
    CHECK(wn_hub_resolve("acme/tiny", &p, dir, sizeof dir) == WN_OK, "cached, server gone: %s", wn_last_error());
    CHECK(same_file(dir, "acme/tiny", "model.safetensors"), "cached model.safetensors");
    double t0 = wn_now();
    wn_status st = wn_hub_resolve("acme/later", &p, dir, sizeof dir);
    double secs = wn_now() - t0;
    CHECK(st == WN_ERR_NETWORK, "status %s", wn_status_name(st));
    CHECK(strstr(wn_last_error(), "cannot be reached") && strstr(wn_last_error(), "Put config.json") &&
              strstr(wn_last_error(), "acme--later/main"),
          "%s", wn_last_error());
    CHECK(secs < 5, "a refused connection took %.1f s", secs);
}

/* A long endpoint (a mirror under a deep path): every file is already in the cache
 * but the manifest is not, so it is written with no request; its endpoint line holds
 * the whole URL (it once went through a 512-byte line buffer and overran it). */
static void test_long_endpoint(void) {
    char ep[800], dir[1024], path[1200];
    int k = snprintf(ep, sizeof ep, "http://127.0.0.1:9/");
    memset(ep + k, 'p', 700);
    ep[k + 700] = 0;
    const char *files[] = {"config.json", "tokenizer.json", "vocab.txt", "tokenizer_config.json",
                           "special_tokens_map.json", "modules.json", "sentence_bert_config.json",
                           "1_Pooling/config.json", "config_sentence_transformers.json", "model.safetensors"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/acme--long/main/%s", cache, files[i]);
        char *slash = strrchr(path, '/');
        *slash = 0;
        WN_ASSERT(wn_mkdirs(path, 0755) == WN_OK);
        *slash = '/';
        FILE *f = fopen(path, "w");
        WN_ASSERT(f);
        fputs("x\n", f);
        fclose(f);
    }
    wn_hub_params p = params();
    p.endpoint = ep;
    CHECK(wn_hub_resolve("acme/long", &p, dir, sizeof dir) == WN_OK, "long endpoint: %s", wn_last_error());
    snprintf(path, sizeof path, "%s/acme--long/main/.winnow-complete", cache);
    char *text = NULL;
    CHECK(wn_read_file(path, &text, NULL) == WN_OK, "manifest: %s", wn_last_error());
    char want[sizeof ep + 40];
    snprintf(want, sizeof want, "\nendpoint %s\nfile config.json 2\n", ep);
    CHECK(text && strstr(text, want), "manifest lacks the whole endpoint line: '%.80s...'", text ? text : "");
    wn_free(text);
    p.offline = 1; /* now the manifest alone answers */
    CHECK(wn_hub_resolve("acme/long", &p, dir, sizeof dir) == WN_OK, "long endpoint, cached: %s", wn_last_error());
}

int main(void) {
    if (system("python3 -c 'import http.server' >/dev/null 2>&1") != 0) SKIP_OR_FAIL("python3 is not installed (scripts/deps.sh installs it)");
    /* the server is on 127.0.0.1: no proxy may come between, no token or setting of the user's may leak in */
    setenv("no_proxy", "127.0.0.1", 1);
    setenv("NO_PROXY", "127.0.0.1", 1);
    unsetenv("HF_TOKEN");
    unsetenv("HF_HUB_OFFLINE");
    unsetenv("HF_ENDPOINT");
    unsetenv("WINNOW_CACHE");
    snprintf(tmp, sizeof tmp, "/tmp/wn_test_hub_XXXXXX");
    WN_ASSERT(mkdtemp(tmp));
    char hf[128];
    snprintf(hf, sizeof hf, "%s/hf", tmp); /* huggingface_hub's cache: ours, not the user's */
    setenv("HF_HUB_CACHE", hf, 1);
    snprintf(srv_root, sizeof srv_root, "%s/hub", tmp);
    snprintf(cache, sizeof cache, "%s/cache", tmp);
    snprintf(logpath, sizeof logpath, "%s/requests.log", tmp);
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof blob; i++) blob[i] = (unsigned char)((x = x * 1664525u + 1013904223u) >> 24);

    put_model("acme/tiny", 1, 0);
    put_str("acme/tiny", "tokenizer_config.json", "{\"do_lower_case\": true}\n");
    put_str("acme/tiny", "1_Pooling/config.json", "{\"pooling_mode_mean_tokens\": true}\n");
    put_model("acme/tokjson", 0, 1);
    put_model("acme/env", 1, 0);
    put_model("acme/novocab", 0, 0);
    put_model("acme/redir", 1, 1);
    put_model("acme/drop", 1, 0);
    put_model("acme/private", 1, 0);
    put_model("acme/later", 1, 0);
    put_str("acme/small", "config.json", "{}\n");
    put_str("acme/small", "model.safetensors", "not really a model\n");
    put_str("acme/small", "vocab.txt", "[UNK]\n");
    put_str("acme/nomodel", "config.json", "{}\n");
    put_str("acme/nomodel", "vocab.txt", "[UNK]\n");
    put_str("acme/nosafe", "config.json", "{}\n");
    put_str("acme/nosafe", "vocab.txt", "[UNK]\n");
    put("acme/nosafe", "pytorch_model.bin", blob, 2000);

    int port = 0;
    pid_t pid = start_server(&port);
    if (pid < 0) SKIP_OR_FAIL("the test hub server (python3 tests/tools/hub_test_server.py) did not start");
    snprintf(endpoint, sizeof endpoint, "http://127.0.0.1:%d", port);

    test_bad_names();
    test_local_dir();
    test_bundled();
    test_download_and_cache();
    test_env();
    test_failures();
    test_redirect_and_token();
    test_offline();
    test_hf_cache();
    test_faults();
    stop_server(pid);
    test_server_gone();
    test_long_endpoint();

    nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return check_done();
}
