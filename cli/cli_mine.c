/* cli_mine.c - winnow mine --index DIR --data FILE --out FILE [--depth N]
 * [--per-query M] [--skip-top K] [pipeline options]: adds hard negatives to
 * bi-encoder training rows {"query", "positive", "negatives"?} from the first
 * stage of an index (BM25, dense or hybrid): the best-ranked documents that are
 * neither the row's positive nor a near-duplicate of it (word-set Jaccard >= 0.9
 * after lower-casing and dropping punctuation, against the document's title +
 * text and its text alone) nor already among its negatives. Each document's text is
 * title + " " + text (as the index saw it). Writes {"query", "positive",
 * "negatives": [kept..., mined...]} per row, in input order, atomically by rename.
 * A malformed line, a missing or empty text stops with FILE:LINE. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "cli_pipeline.h"

static void mine_usage(FILE *f) {
    fprintf(f,
            "usage: winnow mine --index DIR --data FILE --out FILE [--depth N] [--per-query M] [--skip-top K]\n"
            "                   [--first-stage bm25|dense|hybrid] [--dense MODEL] [--threads N]\n"
            "  --data FILE      training rows {\"query\", \"positive\", \"negatives\": [...]} (JSONL)\n"
            "  --out FILE       the rows with mined negatives added (written atomically)\n"
            "  --depth N        first-stage hits looked at per query (default 50)\n"
            "  --per-query M    negatives added per row (default 5)\n"
            "  --skip-top K     skip the K best hits (they may be unlabelled positives; default 0)\n");
}

/* lower-cased words (ASCII letters and digits; other bytes kept as they are), sorted, unique */
typedef struct {
    char **w;
    int n;
} words;

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void words_free(words *s) {
    for (int i = 0; i < s->n; i++) free(s->w[i]);
    free(s->w);
    s->w = NULL, s->n = 0;
}

static int words_of(const char *t, words *s) {
    s->w = NULL, s->n = 0;
    int cap = 0;
    while (*t) {
        while (*t && isspace((unsigned char)*t)) t++;
        const char *b = t;
        while (*t && !isspace((unsigned char)*t)) t++;
        if (t == b) break;
        char *w = malloc((size_t)(t - b) + 1);
        if (!w) return 0;
        size_t k = 0;
        for (const char *c = b; c < t; c++)
            if (isalnum((unsigned char)*c) || (unsigned char)*c >= 0x80) w[k++] = (char)tolower((unsigned char)*c);
        w[k] = 0;
        if (!k) {
            free(w);
            continue;
        }
        if (s->n == cap) {
            cap = cap ? 2 * cap : 32;
            char **nw = realloc(s->w, (size_t)cap * sizeof *nw);
            if (!nw) return free(w), 0;
            s->w = nw;
        }
        s->w[s->n++] = w;
    }
    if (s->n) qsort(s->w, (size_t)s->n, sizeof *s->w, cmp_str);
    int u = 0;
    for (int i = 0; i < s->n; i++) {
        if (u && !strcmp(s->w[u - 1], s->w[i])) free(s->w[i]);
        else s->w[u++] = s->w[i];
    }
    s->n = u;
    return 1;
}

/* |a ∩ b| / |a ∪ b| of two sorted unique word lists (1 for two empty ones) */
static double jaccard(const words *a, const words *b) {
    int i = 0, j = 0, inter = 0;
    while (i < a->n && j < b->n) {
        int c = strcmp(a->w[i], b->w[j]);
        if (!c) inter++, i++, j++;
        else if (c < 0) i++;
        else j++;
    }
    int uni = a->n + b->n - inter;
    return uni ? (double)inter / uni : 1.0;
}

int cmd_mine(int argc, char **argv) {
    cli_pipeline_opts o;
    cli_pipeline_opts_init(&o);
    const char *data = NULL, *out = NULL;
    long depth = 50, per = 5, skip = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            mine_usage(stdout);
            return 0;
        }
        int k = !strcmp(argv[i], "--depth") ? 0 : cli_pipeline_opt("mine", argc, argv, i, &o);
        if (k < 0) return 2;
        if (k > 0) {
            i += k - 1;
            continue;
        }
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            cli_error("mine: unexpected argument '%s'", argv[i]);
            mine_usage(stderr);
            return 2;
        }
        if (!strcmp(argv[i], "--data")) data = v;
        else if (!strcmp(argv[i], "--out")) out = v;
        else if (!strcmp(argv[i], "--depth")) {
            if (!cli_parse_int("--depth", v, 1, 100000, &depth)) return 2;
        } else if (!strcmp(argv[i], "--per-query")) {
            if (!cli_parse_int("--per-query", v, 1, 10000, &per)) return 2;
        } else if (!strcmp(argv[i], "--skip-top")) {
            if (!cli_parse_int("--skip-top", v, 0, 100000, &skip)) return 2;
        } else {
            cli_error("mine: unknown option '%s'", argv[i]);
            mine_usage(stderr);
            return 2;
        }
        i++;
    }
    if (!o.index || !data || !out) {
        cli_error("mine: needs --index, --data and --out");
        mine_usage(stderr);
        return 2;
    }
    FILE *in = fopen(data, "rb");
    if (!in) return cli_error("mine: cannot open %s", data);
    wn_searcher *s = NULL;
    wn_status st = cli_pipeline_open(&o, &s);
    if (st) {
        fclose(in);
        return cli_lib_error("mine", st);
    }
    wn_store *store = wn_searcher_store(s);
    char *tmp = malloc(strlen(out) + 32);
    sprintf(tmp, "%s.tmp.%ld", out, (long)getpid());
    FILE *fo = fopen(tmp, "wb");
    wn_hit *hits = malloc(sizeof *hits * (size_t)(depth + skip));
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    unsigned long long ln = 0, rows = 0, mined = 0;
    int rc = 0;
    if (!fo || !hits) rc = cli_error("mine: cannot write %s", tmp);
    while (!rc && (len = getline(&line, &cap, in)) >= 0) {
        ln++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
        size_t b = 0;
        while (b < (size_t)len && isspace((unsigned char)line[b])) b++;
        if (b == (size_t)len) continue;
        cJSON *j = cJSON_ParseWithLength(line, (size_t)len);
        const cJSON *q = j ? cJSON_GetObjectItemCaseSensitive(j, "query") : NULL;
        const cJSON *p = j ? cJSON_GetObjectItemCaseSensitive(j, "positive") : NULL;
        const cJSON *negs = j ? cJSON_GetObjectItemCaseSensitive(j, "negatives") : NULL;
        if (!j || !cJSON_IsObject(j)) rc = cli_error("mine: %s:%llu: invalid JSON", data, ln);
        else if (!cJSON_IsString(q) || !*q->valuestring) rc = cli_error("mine: %s:%llu: missing or empty \"query\"", data, ln);
        else if (!cJSON_IsString(p) || !*p->valuestring)
            rc = cli_error("mine: %s:%llu: missing or empty \"positive\"", data, ln);
        else if (negs && !cJSON_IsArray(negs)) rc = cli_error("mine: %s:%llu: \"negatives\" must be an array", data, ln);
        if (rc) {
            cJSON_Delete(j);
            break;
        }
        /* the texts to avoid: the positive and the row's negatives */
        int n_avoid = 1 + (negs ? cJSON_GetArraySize(negs) : 0) + (int)per, n_av = 0;
        words *avoid = calloc((size_t)n_avoid, sizeof *avoid);
        if (!avoid || !words_of(p->valuestring, &avoid[n_av++])) rc = cli_error("mine: out of memory");
        fputs("{\"query\": ", fo);
        cli_print_json_string(fo, q->valuestring);
        fputs(", \"positive\": ", fo);
        cli_print_json_string(fo, p->valuestring);
        fputs(", \"negatives\": [", fo);
        int first = 1;
        for (const cJSON *e = negs ? negs->child : NULL; e && !rc; e = e->next) {
            if (!cJSON_IsString(e) || !*e->valuestring) {
                rc = cli_error("mine: %s:%llu: \"negatives\" must hold non-empty strings", data, ln);
                break;
            }
            if (!words_of(e->valuestring, &avoid[n_av++])) rc = cli_error("mine: out of memory");
            fputs(first ? "" : ", ", fo);
            cli_print_json_string(fo, e->valuestring);
            first = 0;
        }
        int n = 0, got = 0;
        double secs;
        if (!rc && (st = wn_searcher_first(s, q->valuestring, (int)(depth + skip), hits, &n, &secs)))
            rc = cli_lib_error("mine", st);
        for (int h = (int)skip; h < n && got < per && !rc; h++) {
            wn_doc d;
            if ((st = wn_store_get(store, hits[h].row, &d))) {
                rc = cli_lib_error("mine", st);
                break;
            }
            size_t tl = strlen(d.title), xl = strlen(d.text);
            char *txt = malloc(tl + xl + 2);
            if (!txt) {
                rc = cli_error("mine: out of memory");
                break;
            }
            if (tl) sprintf(txt, "%s %s", d.title, d.text);
            else memcpy(txt, d.text, xl + 1);
            words w, wt; /* title + text, and the text alone (a positive may have either) */
            if (!words_of(txt, &w) || !words_of(d.text, &wt)) rc = cli_error("mine: out of memory");
            int dup = w.n == 0;
            for (int a = 0; a < n_av && !dup && !rc; a++)
                dup = jaccard(&w, &avoid[a]) >= 0.9 || jaccard(&wt, &avoid[a]) >= 0.9;
            words_free(&wt);
            if (!dup && !rc) {
                fputs(first ? "" : ", ", fo);
                cli_print_json_string(fo, txt);
                first = 0;
                avoid[n_av++] = w; /* no near-duplicates among the mined ones either */
                got++;
            } else {
                words_free(&w);
            }
            free(txt);
        }
        fputs("]}\n", fo);
        mined += (unsigned long long)got;
        rows++;
        for (int a = 0; a < n_av; a++) words_free(&avoid[a]);
        free(avoid);
        cJSON_Delete(j);
    }
    free(line);
    free(hits);
    fclose(in);
    wn_searcher_free(s);
    if (fo && (fflush(fo) || ferror(fo) || fsync(fileno(fo)))) rc = rc ? rc : cli_error("mine: error writing %s", tmp);
    if (fo) fclose(fo);
    if (!rc && rename(tmp, out)) rc = cli_error("mine: cannot rename %s to %s", tmp, out);
    if (rc) remove(tmp);
    else fprintf(stderr, "mine: %llu rows, %llu negatives added\n", rows, mined);
    free(tmp);
    return rc;
}
