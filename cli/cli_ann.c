/*
 * cli_ann.c - `winnow ann build|search`: vector indexes on TEXMEX files (.fvecs:
 * per vector an int32 dimension then that many float32; .ivecs the same with
 * int32), for benchmarks and scripts.
 *   winnow ann build --type flat|hnsw|ivf|ivfpq --metric ip|l2|cos --input base.fvecs
 *       [--m 16 --ef-construction 200 --nlist N --pq-m M --storage fp32|fp16|int8
 *        --threads T --seed S --ids ids.txt] --out FILE
 *   winnow ann search --index FILE --queries q.fvecs --k 10 [--ef E | --nprobe P]
 *       [--rerank R --threads T] --out result.ivecs
 * search prints one JSON line to stderr: queries, k, seconds, queries_per_s.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"

static const char *usage =
    "usage: winnow ann build --type flat|hnsw|ivf|ivfpq --metric ip|l2|cos --input base.fvecs\n"
    "                        [--m 16] [--ef-construction 200] [--nlist N] [--pq-m M]\n"
    "                        [--storage fp32|fp16|int8] [--threads T] [--seed S] [--ids ids.txt] --out FILE\n"
    "       winnow ann search --index FILE --queries q.fvecs --k 10 [--ef E | --nprobe P]\n"
    "                        [--rerank R] [--threads T] --out result.ivecs\n";

/* Reads a whole .fvecs file into n x d floats (malloc'd). Returns 0 and prints on error. */
static int read_fvecs(const char *path, float **out, int64_t *n_out, int *d_out) {
    FILE *f = fopen(path, "rb");
    if (!f) return cli_error("%s: %s", path, strerror(errno)), 0;
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || st.st_size < 4) {
        fclose(f);
        return cli_error("%s: empty or unreadable .fvecs file", path), 0;
    }
    int32_t d;
    if (fread(&d, 4, 1, f) != 1 || d < 1 || d > 65536) {
        fclose(f);
        return cli_error("%s: first vector has dimension %d; not a .fvecs file?", path, (int)d), 0;
    }
    int64_t rec = 4 + 4 * (int64_t)d;
    if (st.st_size % rec) {
        fclose(f);
        return cli_error("%s: %lld bytes is not a whole number of %d-dimensional vectors (%lld bytes each): "
                         "truncated or not .fvecs",
                         path, (long long)st.st_size, (int)d, (long long)rec),
               0;
    }
    int64_t n = st.st_size / rec;
    float *x = malloc((size_t)n * d * sizeof(float));
    if (!x) {
        fclose(f);
        return cli_error("%s: out of memory for %lld x %d floats", path, (long long)n, (int)d), 0;
    }
    fseek(f, 0, SEEK_SET);
    for (int64_t i = 0; i < n; i++) {
        int32_t di;
        if (fread(&di, 4, 1, f) != 1 || fread(x + (size_t)i * d, 4, (size_t)d, f) != (size_t)d) {
            free(x), fclose(f);
            return cli_error("%s: read error at vector %lld", path, (long long)i), 0;
        }
        if (di != d) {
            free(x), fclose(f);
            return cli_error("%s: vector %lld has dimension %d, the first has %d", path, (long long)i, (int)di, (int)d),
                   0;
        }
    }
    fclose(f);
    *out = x, *n_out = n, *d_out = d;
    return 1;
}

static int read_ids(const char *path, int64_t n, int64_t **out) {
    FILE *f = fopen(path, "r");
    if (!f) return cli_error("%s: %s", path, strerror(errno)), 0;
    int64_t *ids = malloc((size_t)(n ? n : 1) * sizeof *ids);
    char line[64];
    int64_t i = 0;
    while (ids && fgets(line, sizeof line, f)) {
        char *end;
        errno = 0;
        long long v = strtoll(line, &end, 10);
        while (*end == '\n' || *end == '\r' || *end == ' ') end++;
        if (errno || end == line || *end || v < 0) {
            free(ids), fclose(f);
            return cli_error("%s:%lld: expected an id >= 0, got '%.30s'", path, (long long)i + 1, line), 0;
        }
        if (i == n) {
            free(ids), fclose(f);
            return cli_error("%s: more ids than the %lld vectors", path, (long long)n), 0;
        }
        ids[i++] = v;
    }
    fclose(f);
    if (!ids || i != n) {
        free(ids);
        return cli_error("%s: %lld ids for %lld vectors", path, (long long)i, (long long)n), 0;
    }
    *out = ids;
    return 1;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* value of option argv[i] (advances i); prints an error when missing */
static const char *optval(int argc, char **argv, int *i) {
    if (*i + 1 >= argc) {
        cli_error("ann: %s needs a value", argv[*i]);
        return NULL;
    }
    return argv[++*i];
}

static int cmd_build(int argc, char **argv) {
    const char *input = NULL, *out = NULL, *ids_path = NULL;
    wn_index_type type = WN_INDEX_FLAT;
    wn_metric metric = WN_METRIC_IP;
    int have_type = 0, have_metric = 0;
    wn_index_params p = wn_index_default_params();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        long x;
        if (!(v = optval(argc, argv, &i))) return 2;
        if (!strcmp(a, "--type")) {
            if (wn_index_type_parse(v, &type) != WN_OK) return cli_error("ann build: --type %s: use flat, hnsw, ivf or ivfpq", v), 2;
            have_type = 1;
        } else if (!strcmp(a, "--metric")) {
            if (wn_metric_parse(v, &metric) != WN_OK) return cli_error("ann build: --metric %s: use ip, l2 or cos", v), 2;
            have_metric = 1;
        } else if (!strcmp(a, "--storage")) {
            if (wn_storage_parse(v, &p.storage) != WN_OK) return cli_error("ann build: --storage %s: use fp32, fp16 or int8", v), 2;
        } else if (!strcmp(a, "--input")) input = v;
        else if (!strcmp(a, "--out")) out = v;
        else if (!strcmp(a, "--ids")) ids_path = v;
        else if (!strcmp(a, "--m")) {
            if (!cli_parse_int(a, v, 2, 256, &x)) return 2;
            p.m = (int)x;
        } else if (!strcmp(a, "--ef-construction")) {
            if (!cli_parse_int(a, v, 1, 100000, &x)) return 2;
            p.ef_construction = (int)x;
        } else if (!strcmp(a, "--nlist")) {
            if (!cli_parse_int(a, v, 1, 1 << 24, &x)) return 2;
            p.nlist = (int)x;
        } else if (!strcmp(a, "--pq-m")) {
            if (!cli_parse_int(a, v, 1, 65536, &x)) return 2;
            p.pq_m = (int)x;
        } else if (!strcmp(a, "--threads")) {
            if (!cli_parse_int(a, v, 0, 1024, &x)) return 2;
            p.n_threads = (int)x;
        } else if (!strcmp(a, "--seed")) {
            if (!cli_parse_int(a, v, 0, 0x7FFFFFFF, &x)) return 2;
            p.seed = (uint64_t)x;
        } else return cli_error("ann build: unknown option %s\n%s", a, usage), 2;
    }
    if (!have_type || !have_metric || !input || !out)
        return cli_error("ann build: --type, --metric, --input and --out are required\n%s", usage), 2;
    float *x = NULL;
    int64_t n, *ids = NULL;
    int d;
    if (!read_fvecs(input, &x, &n, &d)) return 1;
    if (ids_path && !read_ids(ids_path, n, &ids)) return free(x), 1;
    cli_progress pr;
    cli_progress_init(&pr);
    p.progress = cli_progress_cb;
    p.progress_ud = &pr;
    wn_index *ix = NULL;
    double t0 = now();
    wn_status st = wn_index_create((wn_index_type)type, d, (wn_metric)metric, &p, &ix);
    if (st == WN_OK) st = wn_index_add(ix, n, x, ids);
    double t1 = now();
    cli_progress_end(&pr);
    if (st == WN_OK) st = wn_index_save(ix, out);
    int rc = 0;
    if (st != WN_OK) rc = cli_lib_error("ann build", st);
    else {
        size_t mapped = 0, heap = wn_index_memory(ix, &mapped);
        fprintf(stderr, "{\"vectors\": %lld, \"dim\": %d, \"type\": \"%s\", \"metric\": \"%s\", \"seconds\": %.3f, "
                        "\"index_bytes\": %zu}\n",
                (long long)n, d, wn_index_type_name((wn_index_type)type), wn_metric_name((wn_metric)metric), t1 - t0,
                heap + mapped);
    }
    wn_index_free(ix);
    free(x), free(ids);
    return rc;
}

/* The result ids as .ivecs (k, then k int32 ids per query). 0 ok, 1 failed (said). */
static int write_ivecs(const char *out, const int64_t *ids, int64_t nq, long k) {
    int rc = 0;
    FILE *f = fopen(out, "wb");
    if (!f) rc = cli_error("%s: %s", out, strerror(errno));
    for (int64_t i = 0; f && !rc && i < nq; i++) {
        int32_t kk = (int32_t)k;
        fwrite(&kk, 4, 1, f);
        for (long j = 0; j < k; j++) {
            int64_t id = ids[i * k + j];
            if (id > INT32_MAX) rc = cli_error("ann search: id %lld does not fit .ivecs (int32)", (long long)id);
            int32_t v = (int32_t)id;
            fwrite(&v, 4, 1, f);
        }
    }
    if (f && (fclose(f) != 0) && !rc) rc = cli_error("%s: write failed", out);
    return rc;
}

static int cmd_search(int argc, char **argv) {
    const char *index = NULL, *queries = NULL, *out = NULL;
    long k = 10;
    wn_index_search_params sp = wn_index_search_default_params();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        long x;
        if (!(v = optval(argc, argv, &i))) return 2;
        if (!strcmp(a, "--index")) index = v;
        else if (!strcmp(a, "--queries")) queries = v;
        else if (!strcmp(a, "--out")) out = v;
        else if (!strcmp(a, "--k")) {
            if (!cli_parse_int(a, v, 1, 100000, &k)) return 2;
        } else if (!strcmp(a, "--ef")) {
            if (!cli_parse_int(a, v, 1, 1000000, &x)) return 2;
            sp.ef = (int)x;
        } else if (!strcmp(a, "--nprobe")) {
            if (!cli_parse_int(a, v, 1, 1 << 24, &x)) return 2;
            sp.nprobe = (int)x;
        } else if (!strcmp(a, "--rerank")) {
            if (!cli_parse_int(a, v, -1, 1000000, &x)) return 2;
            sp.rerank = (int)x;
        } else if (!strcmp(a, "--threads")) {
            if (!cli_parse_int(a, v, 0, 1024, &x)) return 2;
            sp.n_threads = (int)x;
        } else return cli_error("ann search: unknown option %s\n%s", a, usage), 2;
    }
    if (!index || !queries || !out)
        return cli_error("ann search: --index, --queries and --out are required\n%s", usage), 2;
    float *q = NULL;
    int64_t nq;
    int d;
    if (!read_fvecs(queries, &q, &nq, &d)) return 1;
    wn_index *ix = NULL;
    double t0 = now();
    wn_status st = wn_index_load(index, &ix);
    double t_load = now() - t0;
    if (st != WN_OK) return free(q), cli_lib_error("ann search", st);
    if (wn_index_dim(ix) != d) {
        cli_error("ann search: %s has %d-dimensional queries, %s holds %d-dimensional vectors", queries, d, index,
                  wn_index_dim(ix));
        return free(q), wn_index_free(ix), 1;
    }
    float *dist = malloc((size_t)nq * k * sizeof(float));
    int64_t *ids = malloc((size_t)nq * k * sizeof(int64_t));
    int rc = 0;
    if (!dist || !ids) rc = cli_error("ann search: out of memory for %lld x %ld results", (long long)nq, k);
    double secs = 0;
    if (!rc) {
        /* single-thread runs time query by query (the latency a caller sees);
         * with threads the whole batch goes in one call */
        t0 = now();
        if (sp.n_threads == 1)
            for (int64_t i = 0; i < nq && st == WN_OK; i++)
                st = wn_index_search(ix, 1, q + (size_t)i * d, (int)k, &sp, dist + i * k, ids + i * k);
        else st = wn_index_search(ix, nq, q, (int)k, &sp, dist, ids);
        secs = now() - t0;
        if (st != WN_OK) rc = cli_lib_error("ann search", st);
    }
    if (!rc) rc = write_ivecs(out, ids, nq, k);
    if (!rc)
        fprintf(stderr, "{\"queries\": %lld, \"k\": %ld, \"threads\": %d, \"load_seconds\": %.4f, \"seconds\": %.4f, "
                        "\"queries_per_s\": %.1f}\n",
                (long long)nq, k, sp.n_threads, t_load, secs, secs > 0 ? (double)nq / secs : 0.0);
    free(q), free(dist), free(ids);
    wn_index_free(ix);
    return rc;
}

int cmd_ann(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "build")) return cmd_build(argc - 1, argv + 1);
    if (!strcmp(argv[1], "search")) return cmd_search(argc - 1, argv + 1);
    return cli_error("ann: unknown subcommand '%s' (build or search)\n%s", argv[1], usage), 2;
}
