/*
 * hub.c - where models come from: a local directory as it is, or a HuggingFace hub id
 * ("owner/name") whose files are downloaded once, with libcurl, into a cache:
 *
 *   <cache>/<owner>--<name>/<revision>/config.json, model.safetensors, vocab.txt, ...
 *   <cache>/<owner>--<name>/<revision>/.winnow-complete   (the manifest, written last)
 *
 * <cache> is params->cache_dir, else $WINNOW_CACHE, else ~/.cache/winnow. Files come
 * from <endpoint>/<repo>/resolve/<revision>/<file> (endpoint: params->endpoint, else
 * $HF_ENDPOINT, else https://huggingface.co), redirects followed (the hub sends large
 * files to a CDN), $HF_TOKEN sent as a bearer token (curl drops it on a redirect to
 * another host). Each file is written to a temp file beside its final name and renamed
 * only once complete (wn_atomic_*), so a final name never holds a partial file; the
 * manifest lists the files fetched (with sizes) and the optional ones the hub does not
 * have, so a later call neither asks for them again nor touches the network at all.
 *
 * Before downloading, it looks in huggingface_hub's own cache ($HF_HUB_CACHE, else
 * $HF_HOME/hub, else ~/.cache/huggingface/hub): a model that Python's
 * sentence-transformers already fetched is used from there as it is, read-only.
 *
 * What it does not do: resume a broken download (it starts the file again, and
 * removes the temp files of downloads whose process is gone), check
 * for newer commits of a branch (delete the revision's directory to refresh), read
 * pytorch_model.bin (winnow reads safetensors only), or guess at legacy ids without
 * an owner ("bert-base-uncased").
 *
 * libcurl's global init: we never call curl_global_init. Since libcurl 7.84, built
 * with CURL_VERSION_THREADSAFE (Debian 12's is 7.88 with it), curl_easy_init does the
 * global init itself, thread-safely, on first use. With an older libcurl a program
 * that resolves models from several threads at once should call
 * curl_global_init(CURL_GLOBAL_DEFAULT) first, as libcurl's documentation says.
 */
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "model.h"
#include "util/util.h"

#define HUB_DEFAULT_ENDPOINT "https://huggingface.co"
#define HUB_MANIFEST ".winnow-complete"
#define HUB_MANIFEST_MAGIC "WNHB"
#define HUB_MANIFEST_VERSION 1
#define HUB_MAX_ID 200

typedef enum { NEED_REQUIRED, NEED_VOCAB, NEED_OPTIONAL } need;

/* The files of a sentence-transformers bi-encoder or a BertForSequenceClassification
 * cross-encoder. The small ones first, model.safetensors last, so that a wrong id or a
 * repo without a vocabulary fails before the big download. tokenizer.json comes
 * before vocab.txt: NEED_VOCAB means required unless tokenizer.json is there. */
static const struct {
    const char *name;
    need need;
} hub_files[] = {
    {"config.json", NEED_REQUIRED},
    {"tokenizer.json", NEED_OPTIONAL},
    {"vocab.txt", NEED_VOCAB},
    {"tokenizer_config.json", NEED_OPTIONAL},
    {"special_tokens_map.json", NEED_OPTIONAL},
    {"modules.json", NEED_OPTIONAL},
    {"sentence_bert_config.json", NEED_OPTIONAL},
    {"1_Pooling/config.json", NEED_OPTIONAL},
    {"config_sentence_transformers.json", NEED_OPTIONAL},
    {"model.safetensors", NEED_REQUIRED},
};
enum { N_HUB_FILES = sizeof hub_files / sizeof hub_files[0] };

#define HUB_FILES_HINT                                                                         \
    "config.json, model.safetensors and vocab.txt (with tokenizer.json, tokenizer_config.json, " \
    "special_tokens_map.json, modules.json, sentence_bert_config.json, 1_Pooling/config.json "   \
    "when the model has them)"

/* One resolve call's state. */
typedef struct {
    const wn_hub_params *p;
    const char *repo;     /* "owner/name" */
    const char *revision; /* "main" */
    char *endpoint;       /* without a trailing '/' */
    char *dir;            /* <cache>/<owner>--<name>/<revision> */
    CURL *curl;
    char errbuf[CURL_ERROR_SIZE];
    int unreachable;        /* the last failure was DNS, connect or a silent timeout */
    int got[N_HUB_FILES];    /* 1 fetched or already there, -1 the hub has none, 0 not yet */
    int64_t size[N_HUB_FILES];
} hub;

wn_hub_params wn_hub_default_params(void) {
    wn_hub_params p;
    memset(&p, 0, sizeof p);
    return p;
}

static int env_true(const char *name) {
    const char *v = getenv(name);
    return v && (!strcmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcasecmp(v, "on"));
}

static int id_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
           c == '.';
}

/* The hub's rule, a little stricter: owner/name, each part 1-96 of [A-Za-z0-9._-],
 * not starting with '.' or '-', no "..". Returns 1 if valid. */
static int valid_id(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > HUB_MAX_ID || strstr(s, "..")) return 0;
    const char *slash = strchr(s, '/');
    if (!slash || strchr(slash + 1, '/')) return 0;
    const char *parts[2] = {s, slash + 1};
    size_t lens[2] = {(size_t)(slash - s), n - (size_t)(slash - s) - 1};
    for (int k = 0; k < 2; k++) {
        if (lens[k] == 0 || lens[k] > 96 || parts[k][0] == '.' || parts[k][0] == '-') return 0;
        for (size_t i = 0; i < lens[k]; i++)
            if (!id_char(parts[k][i])) return 0;
    }
    return 1;
}

/* A branch, tag or commit: [A-Za-z0-9._-/], not starting with '/' or '.', no "..". */
static int valid_revision(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > HUB_MAX_ID || s[0] == '/' || s[0] == '.' || s[n - 1] == '/' || strstr(s, "..") ||
        strstr(s, "//"))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!id_char(s[i]) && s[i] != '/') return 0;
    return 1;
}

/* s with each '/' replaced by rep (wn_free the result). */
static char *replace_slash(const char *s, const char *rep) {
    size_t n = strlen(s), r = strlen(rep), k = 0;
    for (size_t i = 0; i < n; i++) k += s[i] == '/';
    char *out = wn_malloc(n + k * r + 1), *o = out;
    if (!out) return NULL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '/') {
            memcpy(o, rep, r);
            o += r;
        } else {
            *o++ = s[i];
        }
    }
    *o = 0;
    return out;
}

static wn_status copy_out(const char *src, char *dir, size_t cap) {
    size_t n = strlen(src);
    if (n + 1 > cap)
        return wn_seterr(WN_ERR_ARG, "hub: the directory %s needs %zu bytes, the caller's buffer has %zu", src, n + 1,
                         cap);
    memcpy(dir, src, n + 1);
    return WN_OK;
}

/* ---- the cache */

/* <cache>/<owner>--<name>/<revision>, where <cache> is the caller's, $WINNOW_CACHE or ~/.cache/winnow. */
static wn_status cache_dir_of(hub *h) {
    const char *root = h->p->cache_dir ? h->p->cache_dir : getenv("WINNOW_CACHE");
    char *home_cache = NULL;
    if (!root || !*root) {
        const char *home = getenv("HOME");
        if (!home || !*home)
            return wn_seterr(WN_ERR_ARG, "hub: HOME is not set: set WINNOW_CACHE to the directory where models go");
        home_cache = wn_path_join(home, ".cache/winnow");
        if (!home_cache) return wn_seterr(WN_ERR_NOMEM, "hub: out of memory");
        root = home_cache;
    }
    char *repo = replace_slash(h->repo, "--");
    char *rev = replace_slash(h->revision, "--");
    char *model = repo ? wn_path_join(root, repo) : NULL;
    h->dir = model && rev ? wn_path_join(model, rev) : NULL;
    wn_free(home_cache);
    wn_free(repo);
    wn_free(rev);
    wn_free(model);
    return h->dir ? WN_OK : wn_seterr(WN_ERR_NOMEM, "hub: out of memory");
}

static int file_size(const char *path, int64_t *size) {
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) return 0;
    *size = (int64_t)st.st_size;
    return 1;
}

static int file_index(const char *name) {
    for (int i = 0; i < N_HUB_FILES; i++)
        if (!strcmp(hub_files[i].name, name)) return i;
    return -1;
}

/* Reads the manifest: "WNHB 1", then "file <name> <bytes>" and "absent <name>" lines.
 * Returns 1 when it is there, of this version, and every file it lists is present
 * with its size: the download is complete and the network is not needed. -1: out
 * of memory. */
static int cache_complete(hub *h) {
    char *path = wn_path_join(h->dir, HUB_MANIFEST), *text = NULL;
    int ok = 0;
    if (!path) return -1;
    wn_status st = wn_read_file(path, &text, NULL);
    if (st == WN_ERR_NOMEM) ok = -1;
    if (st) goto done;
    char *save = NULL, *line = strtok_r(text, "\n", &save);
    int version = 0;
    if (!line || sscanf(line, HUB_MANIFEST_MAGIC " %d", &version) != 1 || version != HUB_MANIFEST_VERSION) goto done;
    int n_files = 0;
    while ((line = strtok_r(NULL, "\n", &save))) {
        char name[128];
        long long bytes;
        if (sscanf(line, "file %127s %lld", name, &bytes) == 2) {
            char *fp = wn_path_join(h->dir, name);
            int64_t have;
            int present = fp && file_size(fp, &have) && have == bytes;
            wn_free(fp);
            if (!fp) ok = -1;
            if (!present) goto done;
            n_files++;
        }
    }
    ok = n_files > 0;
done:
    wn_free(path);
    wn_free(text);
    return ok;
}

/* What is already in the directory (complete, since files only land by rename). */
static wn_status scan_present(hub *h) {
    for (int i = 0; i < N_HUB_FILES; i++) {
        char *fp = wn_path_join(h->dir, hub_files[i].name);
        if (!fp) return wn_seterr(WN_ERR_NOMEM, "hub: out of memory");
        if (file_size(fp, &h->size[i])) h->got[i] = 1;
        wn_free(fp);
    }
    return WN_OK;
}

/* config.json, model.safetensors and a vocabulary are there: enough to load. */
static int usable(const hub *h) {
    return h->got[file_index("config.json")] == 1 && h->got[file_index("model.safetensors")] == 1 &&
           (h->got[file_index("vocab.txt")] == 1 || h->got[file_index("tokenizer.json")] == 1);
}

/* One formatted manifest line, however long (the endpoint has no length limit). */
__attribute__((format(printf, 2, 3))) static wn_status put_line(wn_atomic_file *af, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return wn_seterr(WN_ERR_IO, "hub: cannot format a manifest line");
    char *line = wn_malloc((size_t)n + 1);
    if (!line) return wn_seterr(WN_ERR_NOMEM, "hub: out of memory");
    va_start(ap, fmt);
    vsnprintf(line, (size_t)n + 1, fmt, ap);
    va_end(ap);
    wn_status st = wn_atomic_write(af, line, (size_t)n);
    wn_free(line);
    return st;
}

static wn_status write_manifest(hub *h) {
    char *path = wn_path_join(h->dir, HUB_MANIFEST);
    if (!path) return wn_seterr(WN_ERR_NOMEM, "hub: out of memory");
    wn_atomic_file af;
    wn_status st = wn_atomic_open(&af, path);
    wn_free(path);
    if (st) return st;
    st = put_line(&af, "%s %d\nrepo %s\nrevision %s\nendpoint %s\n", HUB_MANIFEST_MAGIC, HUB_MANIFEST_VERSION,
                  h->repo, h->revision, h->endpoint);
    for (int i = 0; i < N_HUB_FILES && !st; i++) {
        if (h->got[i] == 1)
            st = put_line(&af, "file %s %lld\n", hub_files[i].name, (long long)h->size[i]);
        else
            st = put_line(&af, "absent %s\n", hub_files[i].name);
    }
    if (st) {
        wn_atomic_abort(&af);
        return st;
    }
    return wn_atomic_commit(&af);
}

/* The message for "not here and cannot be fetched": which files, and where. */
static wn_status not_cached(const hub *h, wn_status st, const char *why) {
    return wn_seterr(st,
                     "hub: %s is not in the cache and %s. Put " HUB_FILES_HINT
                     " of %s in %s, or pass a local directory that holds them instead of the hub id",
                     h->repo, why, h->repo, h->dir);
}

/* ---- HuggingFace's own cache: models that Python's huggingface_hub already fetched */

/* $HF_HUB_CACHE (or the older $HUGGINGFACE_HUB_CACHE), else $HF_HOME/hub, else
 * $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub. *root = NULL when
 * none can be named (no HOME). */
static wn_status hf_cache_root(char **root) {
    const char *v;
    *root = NULL;
    if (((v = getenv("HF_HUB_CACHE")) && *v) || ((v = getenv("HUGGINGFACE_HUB_CACHE")) && *v)) *root = wn_strdup(v);
    else if ((v = getenv("HF_HOME")) && *v) *root = wn_path_join(v, "hub");
    else if ((v = getenv("XDG_CACHE_HOME")) && *v) *root = wn_path_join(v, "huggingface/hub");
    else if ((v = getenv("HOME")) && *v) *root = wn_path_join(v, ".cache/huggingface/hub");
    else return WN_OK;
    return *root ? WN_OK : wn_seterr(WN_ERR_NOMEM, "hub: out of memory");
}

/* huggingface_hub's layout: <root>/models--<owner>--<name>/refs/<revision> holds a
 * commit hash, snapshots/<commit>/ the files (links into blobs/, which only appear
 * once complete). When that snapshot has what winnow needs, *out is its path (wn_free);
 * else *out = NULL. */
static wn_status hf_snapshot(const hub *h, char **out) {
    *out = NULL;
    char *root = NULL, *repo = NULL, *model = NULL, *ref = NULL, *refpath = NULL, *snaps = NULL, *snap = NULL;
    char *text = NULL;
    wn_status st = hf_cache_root(&root);
    if (st || !root) return st;
    char *flat = replace_slash(h->repo, "--");
    size_t n = flat ? strlen(flat) + sizeof "models--" : 0;
    if (flat && (repo = wn_malloc(n))) snprintf(repo, n, "models--%s", flat);
    wn_free(flat);
    if (!repo || !(model = wn_path_join(root, repo)) || !(ref = wn_path_join(model, "refs")) ||
        !(refpath = wn_path_join(ref, h->revision)) || !(snaps = wn_path_join(model, "snapshots"))) {
        st = wn_seterr(WN_ERR_NOMEM, "hub: out of memory");
        goto done;
    }
    const char *commit = h->revision;
    wn_status rs = wn_read_file(refpath, &text, NULL);
    if (rs == WN_ERR_NOMEM) {
        st = rs;
        goto done;
    }
    if (rs == WN_OK) {
        text[strcspn(text, " \t\r\n")] = 0;
        commit = text;
    }
    if (!*commit || strspn(commit, "0123456789abcdef") != strlen(commit)) goto done; /* not a commit: no snapshot */
    if (!(snap = wn_path_join(snaps, commit))) {
        st = wn_seterr(WN_ERR_NOMEM, "hub: out of memory");
        goto done;
    }
    hub probe;
    memset(&probe, 0, sizeof probe);
    probe.dir = snap;
    if ((st = scan_present(&probe))) goto done;
    if (usable(&probe)) {
        *out = snap;
        snap = NULL;
    }
done:
    wn_free(root);
    wn_free(repo);
    wn_free(model);
    wn_free(ref);
    wn_free(refpath);
    wn_free(snaps);
    wn_free(snap);
    wn_free(text);
    return st;
}

/* ---- downloading */

typedef struct {
    hub *h;
    const char *what;
    wn_atomic_file af;
    int write_failed;
    curl_off_t last;
} transfer;

static size_t on_write(char *data, size_t size, size_t nmemb, void *ud) {
    transfer *t = ud;
    size_t n = size * nmemb;
    if (wn_atomic_write(&t->af, data, n) != WN_OK) {
        t->write_failed = 1;
        return 0; /* makes curl stop with CURLE_WRITE_ERROR */
    }
    return n;
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow) {
    (void)ultotal;
    (void)ulnow;
    transfer *t = ud;
    if (t->h->p->progress && dlnow != t->last) {
        t->last = dlnow;
        t->h->p->progress(t->h->p->progress_ud, t->what, (uint64_t)dlnow, dltotal > 0 ? (uint64_t)dltotal : 0);
    }
    return 0;
}

/* <endpoint>/<repo>/resolve/<revision, '/' as %2F>/<file> (wn_free it). */
static char *file_url(const hub *h, const char *file) {
    char *rev = replace_slash(h->revision, "%2F");
    if (!rev) return NULL;
    size_t n = strlen(h->endpoint) + strlen(h->repo) + strlen(rev) + strlen(file) + 16;
    char *url = wn_malloc(n);
    if (url) snprintf(url, n, "%s/%s/resolve/%s/%s", h->endpoint, h->repo, rev, file);
    wn_free(rev);
    return url;
}

static wn_status hub_open(hub *h) {
    h->curl = curl_easy_init();
    if (!h->curl) return wn_seterr(WN_ERR_NETWORK, "hub: curl_easy_init failed (libcurl could not initialise)");
    CURL *c = h->curl;
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->errbuf);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
#if LIBCURL_VERSION_NUM >= 0x075500 /* 7.85 */
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 15L);
    /* abort a transfer slower than 1 KiB/s for 30 s (a stalled CDN) rather than hang */
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 30L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "winnow/" WN_VERSION);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    const char *token = getenv("HF_TOKEN");
    if (token && *token) {
        /* CURLAUTH_BEARER is sent to the endpoint's host only, never to a redirect's */
        curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
        curl_easy_setopt(c, CURLOPT_XOAUTH2_BEARER, token);
    }
    return WN_OK;
}

static int is_unreachable(CURLcode rc, curl_off_t got) {
    return rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_COULDNT_RESOLVE_PROXY || rc == CURLE_COULDNT_CONNECT ||
           (rc == CURLE_OPERATION_TIMEDOUT && got == 0);
}

static size_t discard(char *data, size_t size, size_t nmemb, void *ud) {
    (void)data;
    (void)ud;
    return size * nmemb;
}

/* Does the repo have this file? (a HEAD request; for the pytorch_model.bin hint) */
static int has_file(hub *h, const char *file) {
    char *url = file_url(h, file);
    if (!url) return 0;
    curl_easy_setopt(h->curl, CURLOPT_URL, url);
    curl_easy_setopt(h->curl, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(h->curl, CURLOPT_NOPROGRESS, 1L);
    curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, discard);
    CURLcode rc = curl_easy_perform(h->curl);
    long code = 0;
    curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_setopt(h->curl, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(h->curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, on_write);
    wn_free(url);
    return rc == CURLE_OK && code >= 200 && code < 300;
}

/* Downloads file i to its final name. WN_OK with *absent = 1 when the hub answers
 * 404 (the caller decides whether that is fine); an error otherwise, with nothing
 * left under the final name. */
static wn_status fetch(hub *h, int i, int *absent) {
    const char *name = hub_files[i].name;
    *absent = 0;
    h->unreachable = 0;
    char *path = wn_path_join(h->dir, name), *url = file_url(h, name);
    wn_status st = WN_OK;
    transfer t;
    memset(&t, 0, sizeof t);
    t.h = h;
    t.what = name;
    t.last = -1;
    if (!path || !url) {
        st = wn_seterr(WN_ERR_NOMEM, "hub: out of memory");
        goto done;
    }
    if (strchr(name, '/')) { /* 1_Pooling/config.json */
        char *sub = wn_strndup(path, (size_t)(strrchr(path, '/') - path));
        st = sub ? wn_mkdirs(sub, 0755) : wn_seterr(WN_ERR_NOMEM, "hub: out of memory");
        wn_free(sub);
        if (st) goto done;
    }
    if ((st = wn_atomic_open(&t.af, path))) goto done;
    h->errbuf[0] = 0;
    curl_easy_setopt(h->curl, CURLOPT_URL, url);
    curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(h->curl, CURLOPT_XFERINFODATA, &t);
    CURLcode rc = curl_easy_perform(h->curl);
    long code = 0;
    curl_off_t got = 0, expect = -1;
    curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_getinfo(h->curl, CURLINFO_SIZE_DOWNLOAD_T, &got);
    curl_easy_getinfo(h->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &expect);
    const char *why = h->errbuf[0] ? h->errbuf : curl_easy_strerror(rc);
    if (rc == CURLE_HTTP_RETURNED_ERROR && code == 404) {
        *absent = 1;
    } else if (rc == CURLE_HTTP_RETURNED_ERROR && (code == 401 || code == 403)) {
        st = wn_seterr(WN_ERR_NOTFOUND,
                       "hub: HTTP %ld for %s: no repository %s at %s (and no local directory of that name), or "
                       "it is private or gated (%s)",
                       code, url, h->repo, h->endpoint,
                       getenv("HF_TOKEN") ? "the token in HF_TOKEN cannot read it"
                                          : "set HF_TOKEN to an access token that can read it");
    } else if (rc == CURLE_HTTP_RETURNED_ERROR) {
        st = wn_seterr(WN_ERR_NETWORK, "hub: HTTP %ld for %s", code, url);
    } else if (t.write_failed) {
        st = WN_ERR_IO; /* wn_atomic_write said what */
    } else if (rc == CURLE_PARTIAL_FILE || (rc == CURLE_OK && expect >= 0 && got != expect)) {
        st = wn_seterr(WN_ERR_NETWORK,
                       "hub: the connection closed after %lld of %lld bytes of %s; nothing was kept, run again to "
                       "retry",
                       (long long)got, (long long)expect, url);
    } else if (rc != CURLE_OK) {
        h->unreachable = is_unreachable(rc, got);
        st = wn_seterr(WN_ERR_NETWORK, "hub: downloading %s: %s", url, why);
    }
    if (st || *absent) {
        wn_atomic_abort(&t.af);
        goto done;
    }
    if ((st = wn_atomic_commit(&t.af))) goto done;
    h->got[i] = 1;
    h->size[i] = (int64_t)got;
done:
    if (t.af.f) wn_atomic_abort(&t.af);
    wn_free(path);
    wn_free(url);
    return st;
}

/* Removes the temp files ("<file>.tmp.<pid>.<n>", wn_atomic_open's names) that a
 * process killed in mid-download left in dir: those whose process is gone. A live
 * process's temp file is its download in progress, and stays. */
static void remove_stale_temps(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *t = strstr(e->d_name, ".tmp.");
        long pid;
        unsigned n;
        char end;
        if (!t || sscanf(t, ".tmp.%ld.%u%c", &pid, &n, &end) != 2 || pid <= 0 || pid == (long)getpid()) continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
        char *path = wn_path_join(dir, e->d_name);
        if (path) unlink(path);
        wn_free(path);
    }
    closedir(d);
}

/* Fetches what is missing, then writes the manifest. */
static wn_status download(hub *h) {
    wn_status st = wn_mkdirs(h->dir, 0755);
    if (st) return st;
    remove_stale_temps(h->dir);
    char *pooling = wn_path_join(h->dir, "1_Pooling");
    if (!pooling) return wn_seterr(WN_ERR_NOMEM, "hub: out of memory");
    remove_stale_temps(pooling);
    wn_free(pooling);
    if ((st = hub_open(h))) return st;
    for (int i = 0; i < N_HUB_FILES; i++) {
        if (h->got[i] == 1) continue;
        int absent;
        if ((st = fetch(h, i, &absent))) {
            if (h->unreachable && !usable(h)) {
                char why[CURL_ERROR_SIZE + 300];
                snprintf(why, sizeof why, "%s cannot be reached (%s)", h->endpoint,
                         h->errbuf[0] ? h->errbuf : "network error");
                return not_cached(h, WN_ERR_NETWORK, why);
            }
            if (h->unreachable) {
                wn_clearerr(); /* enough is here to load the model; try the rest next time */
                return WN_OK;
            }
            return st;
        }
        if (!absent) continue;
        h->got[i] = -1;
        const char *name = hub_files[i].name;
        if (hub_files[i].need == NEED_REQUIRED && !strcmp(name, "model.safetensors") &&
            has_file(h, "pytorch_model.bin"))
            return wn_seterr(WN_ERR_UNSUPPORTED,
                             "hub: %s has pytorch_model.bin but no model.safetensors at revision %s: winnow reads "
                             "safetensors only (convert it with safetensors' convert script, or pick a revision "
                             "that has model.safetensors)",
                             h->repo, h->revision);
        if (hub_files[i].need == NEED_REQUIRED) {
            char *url = file_url(h, name);
            const char *why = strcmp(name, "config.json")
                                  ? ""
                                  : " (no such repository or revision, and no local directory of that name)";
            st = wn_seterr(WN_ERR_NOTFOUND, "hub: HTTP 404 for %s: %s has no %s at revision %s%s", url ? url : name,
                           h->repo, name, h->revision, why);
            wn_free(url);
            return st;
        }
        if (hub_files[i].need == NEED_VOCAB && h->got[file_index("tokenizer.json")] != 1)
            return wn_seterr(WN_ERR_NOTFOUND,
                             "hub: %s has neither vocab.txt nor tokenizer.json at revision %s: winnow needs one of "
                             "them for the tokenizer",
                             h->repo, h->revision);
    }
    return write_manifest(h);
}

wn_status wn_hub_resolve(const char *name, const wn_hub_params *params, char *dir, size_t cap) {
    WN_ENTRY();
    if (!name || !dir || cap == 0) return wn_seterr(WN_ERR_ARG, "hub: wn_hub_resolve needs a name and a buffer");
    if (wn_dir_exists(name)) return copy_out(name, dir, cap);
    int bundled = 0; /* a name without '/': winnow's own models (bundled.c), never the network */
    wn_status bst = bundled_resolve(name, params, dir, cap, &bundled);
    if (bst || bundled) return bst;
    if (!valid_id(name))
        return wn_seterr(WN_ERR_ARG,
                         "hub: '%s': no such directory, and not a hub id (owner/name of letters, digits, '-', '_', "
                         "'.', as in sentence-transformers/all-MiniLM-L6-v2)",
                         name);
    wn_hub_params defaults = wn_hub_default_params();
    hub h;
    memset(&h, 0, sizeof h);
    h.p = params ? params : &defaults;
    h.repo = name;
    h.revision = h.p->revision && *h.p->revision ? h.p->revision : "main";
    if (!valid_revision(h.revision))
        return wn_seterr(WN_ERR_ARG, "hub: '%s' is not a revision (a branch, tag or commit of [A-Za-z0-9._-/])",
                         h.revision);
    const char *ep = h.p->endpoint ? h.p->endpoint : getenv("HF_ENDPOINT");
    if (!ep || !*ep) ep = HUB_DEFAULT_ENDPOINT;
    if (strncmp(ep, "http://", 7) && strncmp(ep, "https://", 8))
        return wn_seterr(WN_ERR_ARG, "hub: endpoint '%s' (HF_ENDPOINT) is not an http:// or https:// URL", ep);
    wn_status st = WN_OK;
    if (!(h.endpoint = wn_strdup(ep))) {
        st = wn_seterr(WN_ERR_NOMEM, "hub: out of memory");
        goto done;
    }
    for (size_t n = strlen(h.endpoint); n > 0 && h.endpoint[n - 1] == '/'; n--) h.endpoint[n - 1] = 0;
    if ((st = cache_dir_of(&h))) goto done;
    int complete = cache_complete(&h);
    char *snapshot = NULL;
    if (complete < 0) {
        st = wn_seterr(WN_ERR_NOMEM, "hub: out of memory");
    } else if (!complete && !(st = hf_snapshot(&h, &snapshot)) && snapshot) {
        wn_free(h.dir); /* huggingface_hub has it: use its copy as it is */
        h.dir = snapshot;
    } else if (!complete && !st && !(st = scan_present(&h))) {
        if (h.p->offline || env_true("HF_HUB_OFFLINE")) {
            if (!usable(&h))
                st = not_cached(&h, WN_ERR_NOTFOUND, "offline mode is on (HF_HUB_OFFLINE=1 or params.offline)");
        } else {
            st = download(&h);
        }
    }
    if (!st) st = copy_out(h.dir, dir, cap);
done:
    if (h.curl) curl_easy_cleanup(h.curl);
    wn_free(h.endpoint);
    wn_free(h.dir);
    return st;
}
