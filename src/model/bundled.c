/*
 * bundled.c - winnow's own models by name ("winnow-small-embed"), found on this
 * machine, never on the network. wn_hub_resolve asks here after "is it an existing
 * directory?" and before "is it a hub id?": a name without '/' is a bundled name,
 * looked up as <models dir>/<name> in, in order,
 *
 *   1. $WINNOW_MODELS_DIR, when set and not empty: a ':'-separated list of
 *      directories, and then only those (it overrides 2 and 3, so a test or a user
 *      decides exactly where bundled models come from);
 *   2. params->models_dir (':'-separated too): the caller's own place. The winnow
 *      CLI passes the models/ beside its executable (<exe>/../models in a source
 *      tree, <exe>/../share/winnow/models when installed), found through
 *      /proc/self/exe, so it works from any current directory;
 *   3. WN_MODELS_DIR, compiled in by the Makefile: $(PREFIX)/share/winnow/models,
 *      which `make install` fills.
 *
 * The current directory plays no part, except through a name that is itself an
 * existing (relative) directory, which wn_hub_resolve takes first, as a path.
 * A bundled-looking name that is in none of them fails with WN_ERR_NOTFOUND when it
 * is one of winnow's own names (saying it is not bundled in this build), else
 * WN_ERR_ARG (neither a directory, nor a bundled model, nor a hub id); both say
 * where they looked and which bundled models are there.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

#ifndef WN_MODELS_DIR
#define WN_MODELS_DIR "" /* built without the Makefile: no install directory */
#endif

#define BUNDLED_MAX_NAME 96
#define BUNDLED_MSG 1536

/* winnow's own model names, and what to say when one is not here */
static const struct {
    const char *name, *instead;
} own_models[] = {
    {"winnow-small-embed", "a bi-encoder directory or hub id, e.g. sentence-transformers/all-MiniLM-L6-v2"},
    {"winnow-small-rerank", "a cross-encoder directory or hub id, e.g. cross-encoder/ms-marco-MiniLM-L-6-v2"},
};

/* 1-96 of [A-Za-z0-9._-], not starting with '.' or '-' (so never "." or ".."). */
static int bundled_name(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > BUNDLED_MAX_NAME || s[0] == '.' || s[0] == '-') return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
              c == '.'))
            return 0;
    }
    return 1;
}

/* Appends sep (when buf is not empty) and s to buf (cap bytes), truncating. */
static void append(char *buf, size_t cap, const char *sep, const char *s) {
    size_t n = strlen(buf);
    const char *parts[2] = {n ? sep : "", s};
    for (int k = 0; k < 2; k++) {
        size_t m = strlen(parts[k]);
        if (n + m + 1 > cap) m = cap > n + 1 ? cap - n - 1 : 0;
        memcpy(buf + n, parts[k], m);
        n += m;
        buf[n] = 0;
    }
}

/* The directories to search, ':'-separated, into buf (cap bytes). */
static void search_list(const wn_hub_params *p, char *buf, size_t cap) {
    const char *env = getenv("WINNOW_MODELS_DIR");
    buf[0] = 0;
    if (env && *env) {
        append(buf, cap, ":", env);
        return;
    }
    if (p && p->models_dir) append(buf, cap, ":", p->models_dir);
    append(buf, cap, ":", WN_MODELS_DIR);
}

/* Appends the models found in dir (subdirectories with a modules.json or a
 * config.json) to list (cap bytes), ", "-separated. */
static void list_models(const char *dir, char *list, size_t cap) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || !bundled_name(e->d_name)) continue;
        char *sub = wn_path_join(dir, e->d_name);
        char *m = sub ? wn_path_join(sub, "modules.json") : NULL, *c = sub ? wn_path_join(sub, "config.json") : NULL;
        if (m && c && (wn_file_exists(m) || wn_file_exists(c))) append(list, cap, ", ", e->d_name);
        wn_free(sub);
        wn_free(m);
        wn_free(c);
    }
    closedir(d);
}

wn_status bundled_resolve(const char *name, const wn_hub_params *p, char *dir, size_t cap, int *found) {
    *found = 0;
    if (!bundled_name(name)) return WN_OK;
    char dirs[4096], looked[BUNDLED_MSG] = "", have[BUNDLED_MSG] = "";
    search_list(p, dirs, sizeof dirs);
    for (char *s = dirs, *end; s && *s; s = end ? end + 1 : NULL) {
        if ((end = strchr(s, ':'))) *end = 0;
        if (!*s) continue;
        char *cand = wn_path_join(s, name);
        if (!cand) return wn_seterr(WN_ERR_NOMEM, "out of memory");
        int hit = wn_dir_exists(cand);
        size_t n = strlen(cand);
        if (hit && n + 1 > cap) {
            wn_free(cand);
            return wn_seterr(WN_ERR_ARG, "models: the directory of %s needs %zu bytes, the caller's buffer has %zu", name,
                             n + 1, cap);
        }
        if (hit) {
            memcpy(dir, cand, n + 1);
            wn_free(cand);
            *found = 1;
            return WN_OK;
        }
        wn_free(cand);
        append(looked, sizeof looked, ", ", s);
        list_models(s, have, sizeof have);
    }
    const char *where = *looked ? looked : "nowhere: no models directory is set (WINNOW_MODELS_DIR)";
    const char *src = getenv("WINNOW_MODELS_DIR") && *getenv("WINNOW_MODELS_DIR") ? ", from WINNOW_MODELS_DIR" : "";
    for (size_t i = 0; i < sizeof own_models / sizeof own_models[0]; i++)
        if (!strcmp(name, own_models[i].name))
            return wn_seterr(WN_ERR_NOTFOUND,
                             "%s is one of winnow's own models, but it is not bundled in this build (looked in %s%s; "
                             "bundled there: %s). Use %s",
                             name, where, src, *have ? have : "none", own_models[i].instead);
    return wn_seterr(WN_ERR_ARG,
                     "'%s': no such directory, no bundled model of that name (looked in %s%s; bundled there: %s), and not a "
                     "hub id (owner/name of letters, digits, '-', '_', '.', as in "
                     "sentence-transformers/all-MiniLM-L6-v2)",
                     name, where, src, *have ? have : "none");
}
