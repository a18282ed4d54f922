/* test_model_errors.c - every way a model directory can be broken gives a clear
 * error naming the file and the tensor or field, never a crash: safetensors
 * headers (too long, bad JSON, offsets out of range, overlaps, size vs shape,
 * duplicates), tensors that disagree with config.json (dtype, shape, missing,
 * extra layer), config.json itself, pytorch_model.bin only; and an allocator
 * that fails the N-th call, for every N, returns WN_ERR_NOMEM without leaks. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "faults.h"
#include <stdatomic.h>
#include "model/model.h"

#define TINY "tests/fixtures/model/tiny-bi"

static char tmp[] = "/tmp/wn_model_err_XXXXXX";

static void put(const char *name, const void *data, size_t n) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tmp, name);
    FILE *f = fopen(path, "wb");
    fwrite(data, 1, n, f);
    fclose(f);
}

static void copy(const char *name) {
    char src[512], *d;
    size_t n;
    snprintf(src, sizeof src, TINY "/%s", name);
    if (wn_read_file(src, &d, &n) != WN_OK) return;
    put(name, d, n);
    wn_free(d);
}

static void rm(const char *name) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tmp, name);
    unlink(path);
}

/* Loads tmp; expects status want and a message containing each of the strings. */
static void expect_load(const char *what, wn_status want, const char *s1, const char *s2) {
    wn_model_params p = wn_model_default_params();
    p.n_threads = 1;
    wn_model *m = NULL;
    wn_status st = model_load_dir(tmp, &p, 0, &m);
    const char *e = wn_last_error();
    CHECK(st == want, "%s: status %s, expected %s (%s)", what, wn_status_name(st), wn_status_name(want), e);
    CHECK(!s1 || strstr(e, s1), "%s: message lacks '%s': %s", what, s1, e);
    CHECK(!s2 || strstr(e, s2), "%s: message lacks '%s': %s", what, s2, e);
    if (st == want) fprintf(stderr, "ok  %-34s %s\n", what, st == WN_OK ? "(loads)" : e);
    wn_model_free(m);
}

/* safetensors image: 8-byte length + header + data_len zero bytes */
static unsigned char *image(const char *header, size_t data_len, size_t *len) {
    size_t h = strlen(header);
    *len = 8 + h + data_len;
    unsigned char *b = calloc(1, *len);
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)((uint64_t)h >> (8 * i));
    memcpy(b + 8, header, h);
    return b;
}

static void expect_parse(const char *what, const char *header, size_t data_len, const char *s1) {
    size_t len;
    unsigned char *b = image(header, data_len, &len);
    st_file f;
    wn_status st = st_parse(b, len, "x.safetensors", &f);
    const char *e = wn_last_error();
    CHECK(st != WN_OK, "%s: parsed", what);
    CHECK(strstr(e, "x.safetensors") && strstr(e, s1), "%s: message lacks '%s': %s", what, s1, e);
    if (st != WN_OK) fprintf(stderr, "ok  %-34s %s\n", what, e);
    else st_close(&f);
    free(b);
}

/* Rewrites tmp/model.safetensors from the tiny model with tensor `name` changed. */
static void rewrite(const char *name, int drop, st_dtype dt, int64_t d1, const char *extra_name) {
    st_file f;
    if (st_open(TINY "/model.safetensors", &f) != WN_OK) {
        CHECK(0, "open: %s", wn_last_error());
        return;
    }
    st_out_tensor *o = calloc((size_t)f.n + 1, sizeof *o);
    void *big = calloc(1, 1 << 20);
    int n = 0;
    for (int i = 0; i < f.n; i++) {
        const st_tensor *t = &f.t[i];
        st_out_tensor x = {t->name, t->dtype, t->ndim, {0}, t->data};
        for (int d = 0; d < t->ndim; d++) x.shape[d] = t->shape[d];
        if (!strcmp(t->name, name)) {
            if (drop) continue;
            if (dt != ST_N_DTYPES) x.dtype = dt, x.data = big;
            if (d1 > 0) x.shape[t->ndim - 1] = d1, x.data = big;
        }
        o[n++] = x;
    }
    if (extra_name) o[n++] = (st_out_tensor){extra_name, ST_F32, 2, {64, 64}, big};
    char path[512];
    snprintf(path, sizeof path, "%s/model.safetensors", tmp);
    CHECK(st_write(path, o, n) == WN_OK, "st_write: %s", wn_last_error());
    free(o);
    free(big);
    st_close(&f);
}

/* Rewrites tmp/model.safetensors with every name prefixed by "bert." and
 * LayerNorm weight/bias renamed to the older gamma/beta (the same numbers). */
static void rewrite_names(void) {
    st_file f;
    if (st_open(TINY "/model.safetensors", &f) != WN_OK) return;
    st_out_tensor *o = calloc((size_t)f.n, sizeof *o);
    char (*names)[160] = calloc((size_t)f.n, sizeof *names);
    for (int i = 0; i < f.n; i++) {
        const st_tensor *t = &f.t[i];
        snprintf(names[i], sizeof names[i], "bert.%s", t->name);
        char *ln = strstr(names[i], "LayerNorm.");
        if (ln && !strcmp(ln, "LayerNorm.weight")) strcpy(ln, "LayerNorm.gamma");
        if (ln && !strcmp(ln, "LayerNorm.bias")) strcpy(ln, "LayerNorm.beta");
        o[i] = (st_out_tensor){names[i], t->dtype, t->ndim, {0}, t->data};
        for (int d = 0; d < t->ndim; d++) o[i].shape[d] = t->shape[d];
    }
    char path[512];
    snprintf(path, sizeof path, "%s/model.safetensors", tmp);
    CHECK(st_write(path, o, f.n) == WN_OK, "st_write: %s", wn_last_error());
    free(o);
    free(names);
    st_close(&f);
}

/* embeds two fixed id sequences with the model in dir */
static int embed2(const char *dir, float *out) {
    wn_model_params p = wn_model_default_params();
    p.n_threads = 1;
    wn_model *m = NULL;
    if (model_load_dir(dir, &p, 0, &m) != WN_OK) {
        CHECK(0, "%s: %s", dir, wn_last_error());
        return 0;
    }
    static const int32_t a[5] = {101, 500, 700, 1100, 102}, b[3] = {101, 1050, 102};
    const int32_t *ids[2] = {a, b};
    int lens[2] = {5, 3};
    wn_status st = model_run_ids(m, 2, ids, NULL, lens, out);
    CHECK(st == WN_OK, "run: %s", wn_last_error());
    int dim = m->dim;
    wn_model_free(m);
    return st == WN_OK ? dim : 0;
}


int main(void) {
    CHECK(mkdtemp(tmp) != NULL, "mkdtemp");
    char sub[600];

    /* directory and config.json */
    expect_load("missing directory", WN_ERR_NOTFOUND, tmp, NULL); /* empty dir: no config.json */
    rmdir(tmp);
    expect_load("no such directory", WN_ERR_NOTFOUND, "no such model directory", NULL);
    mkdir(tmp, 0700);
    put("config.json", "{\"hidden_size\": 64,\n \"vocab_size\": ", 36);
    expect_load("config.json invalid JSON", WN_ERR_FORMAT, "config.json", "invalid JSON near line 2");
    const char *relu = "{\"vocab_size\":10,\"hidden_size\":8,\"num_attention_heads\":2,\"num_hidden_layers\":1,"
                       "\"intermediate_size\":16,\"max_position_embeddings\":8,\"hidden_act\":\"relu\"}";
    put("config.json", relu, strlen(relu));
    expect_load("hidden_act relu", WN_ERR_UNSUPPORTED, "config.json", "hidden_act \"relu\"");
    const char *heads = "{\"vocab_size\":10,\"hidden_size\":8,\"num_attention_heads\":3,\"num_hidden_layers\":1,"
                        "\"intermediate_size\":16,\"max_position_embeddings\":8}";
    put("config.json", heads, strlen(heads));
    expect_load("heads do not divide hidden", WN_ERR_FORMAT, "config.json", "not a multiple of num_attention_heads 3");
    const char *nolayers = "{\"vocab_size\":10,\"hidden_size\":8,\"num_attention_heads\":2,"
                           "\"intermediate_size\":16,\"max_position_embeddings\":8}";
    put("config.json", nolayers, strlen(nolayers));
    expect_load("missing field", WN_ERR_FORMAT, "config.json", "missing \"num_hidden_layers\"");

    /* weights file */
    copy("config.json");
    snprintf(sub, sizeof sub, "%s/1_Pooling", tmp);
    mkdir(sub, 0700);
    copy("modules.json");
    copy("1_Pooling/config.json");
    copy("sentence_bert_config.json");
    expect_load("no weights", WN_ERR_NOTFOUND, "model.safetensors", NULL);
    put("pytorch_model.bin", "PK", 2);
    expect_load("pytorch_model.bin only", WN_ERR_UNSUPPORTED, "pytorch_model.bin", "convert");
    rm("pytorch_model.bin");
    put("model.safetensors", "\x10\x00", 2);
    expect_load("2-byte file", WN_ERR_FORMAT, "model.safetensors", "too short");
    put("model.safetensors", "\xff\xff\x00\x00\x00\x00\x00\x00{}", 10);
    expect_load("header longer than file", WN_ERR_FORMAT, "model.safetensors", "longer than the file");
    copy("model.safetensors");
    expect_load("intact copy loads", WN_OK, NULL, NULL);

    /* "bert." prefixes and gamma/beta names load to the same model */
    float e_ref[2 * 64], e_alt[2 * 64];
    int d_ref = embed2(TINY, e_ref);
    rewrite_names();
    int d_alt = embed2(tmp, e_alt);
    CHECK(d_ref == 64 && d_alt == 64 && !memcmp(e_ref, e_alt, sizeof e_ref), "renamed tensors give other embeddings");
    /* no modules.json: a plain HF model, mean pooling without Normalize */
    rm("modules.json");
    int d_plain = embed2(tmp, e_alt);
    double nrm = 0;
    for (int j = 0; j < 64; j++) nrm += (double)e_alt[j] * e_alt[j];
    CHECK(d_plain == 64 && fabs(sqrt(nrm) - 1) > 1e-3, "without modules.json the vector must not be normalised (norm %g)", sqrt(nrm));
    double dot = 0;
    for (int j = 0; j < 64; j++) dot += (double)e_alt[j] * e_ref[j];
    CHECK(fabs(dot / sqrt(nrm) - 1) < 1e-5, "without modules.json: mean pooling (cosine to the normalised one %g)", dot / sqrt(nrm));
    copy("modules.json");
    copy("model.safetensors");
    {   /* ids the model does not have: an error, not a read out of bounds */
        wn_model_params p = wn_model_default_params();
        wn_model *m = NULL;
        if (model_load_dir(tmp, &p, 0, &m) == WN_OK) {
            const int32_t bad_id[3] = {101, 1174, 102}, bad_ty[3] = {0, 2, 0}, ok_id[3] = {101, 5, 102};
            const int32_t *ids[1] = {bad_id}, *ids2[1] = {ok_id}, *tys[1] = {bad_ty};
            int lens[1] = {3}, big[1] = {129};
            float o[64];
            CHECK(model_run_ids(m, 1, ids, NULL, lens, o) == WN_ERR_ARG && strstr(wn_last_error(), "token id 1174"),
                  "id past the vocabulary: %s", wn_last_error());
            CHECK(model_run_ids(m, 1, ids2, tys, lens, o) == WN_ERR_ARG && strstr(wn_last_error(), "token type 2"),
                  "token type 2: %s", wn_last_error());
            CHECK(model_run_ids(m, 1, ids2, NULL, big, o) == WN_ERR_ARG && strstr(wn_last_error(), "129 tokens"),
                  "129 tokens on 128 positions: %s", wn_last_error());
            wn_model_free(m);
        } else CHECK(0, "load: %s", wn_last_error());
    }

    /* tensors against config.json */
    rewrite("encoder.layer.1.attention.self.query.weight", 0, ST_N_DTYPES, 60, NULL);
    expect_load("wrong shape", WN_ERR_FORMAT, "'encoder.layer.1.attention.self.query.weight': shape [64, 60]",
                "config.json says [64, 64] (hidden_size, hidden_size)");
    rewrite("encoder.layer.0.intermediate.dense.bias", 0, ST_I32, 0, NULL);
    expect_load("wrong dtype", WN_ERR_UNSUPPORTED, "'encoder.layer.0.intermediate.dense.bias' has dtype I32", NULL);
    rewrite("encoder.layer.1.output.LayerNorm.bias", 1, ST_N_DTYPES, 0, NULL);
    expect_load("missing tensor", WN_ERR_NOTFOUND, "model.safetensors: tensor 'encoder.layer.1.output.LayerNorm.bias' is missing", NULL);
    rewrite("", 0, ST_N_DTYPES, 0, "encoder.layer.2.attention.self.query.weight");
    expect_load("more layers than config", WN_ERR_FORMAT, "encoder.layer.2.attention.self.query.weight", "num_hidden_layers 2");
    rewrite("embeddings.word_embeddings.weight", 0, ST_N_DTYPES, 32, NULL);
    expect_load("embedding width", WN_ERR_FORMAT, "embeddings.word_embeddings.weight", "vocab_size, hidden_size");

    /* the header parser */
    expect_parse("invalid header JSON", "{\"a\":{\"dtype\":\"F32\",", 0, "header: invalid JSON near line 1");
    expect_parse("not an object", "[1,2]   ", 0, "not a JSON object");
    expect_parse("end past data", "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8,
                 "tensor 'w' ends at byte 16 of the data section, which has 8 bytes");
    expect_parse("begin > end", "{\"w\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,4]}}", 8, "begin > end");
    expect_parse("size vs shape", "{\"w\":{\"dtype\":\"F16\",\"shape\":[3,2],\"data_offsets\":[0,16]}}", 16,
                 "tensor 'w': F16 shape holds 6 elements of 2 bytes, but data_offsets span 16 bytes");
    expect_parse("overlap",
                 "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                 "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}",
                 16, "tensors 'a' and 'b' overlap");
    expect_parse("duplicate name",
                 "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                 "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
                 8, "tensor 'a' appears twice");
    expect_parse("unknown dtype", "{\"w\":{\"dtype\":\"F8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1, "dtype \"F8\"");
    expect_parse("negative dim", "{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4, "shape[0]");
    expect_parse("huge dims overflow", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1099511627776,1099511627776],\"data_offsets\":[0,4]}}",
                 4, "more elements than the data section has bytes");
    expect_parse("missing offsets", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, "data_offsets");
    {
        size_t len;
        unsigned char *b = image("{\"__metadata__\":{\"x\":\"y\"},\"w\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]}}", 4, &len);
        st_file f;
        CHECK(st_parse(b, len, "ok.safetensors", &f) == WN_OK && f.n == 1 && st_numel(&f.t[0]) == 1,
              "scalar tensor with metadata: %s", wn_last_error());
        st_close(&f);
        free(b);
    }

    /* out of memory at every allocation of a load: WN_ERR_NOMEM, nothing leaked */
    copy("model.safetensors");
    copy("vocab.txt");
    copy("tokenizer_config.json");
    fault_alloc f = {0};
    wn_allocator al = fault_allocator(&f, 1);
    wn_set_allocator(&al);
    int n_nomem = 0, n_ok = 0;
    for (long fail_at = 1; fail_at < 100000; fail_at++) {
        fault_plant_stale_message();
        fault_arm(&f, fail_at);
        wn_model_params p = wn_model_default_params();
        p.n_threads = 1;
        wn_model *m = NULL;
        wn_status st = model_load_dir(tmp, &p, 1, &m);
        if (st == WN_OK) {
            wn_model_free(m);
            CHECK(fault_live(&f) == 0, "load succeeded, %ld blocks live after free", fault_live(&f));
            if (!fault_reached(&f)) {
                n_ok++;
                break; /* no allocation left to fail */
            }
            continue;
        }
        CHECK(st == WN_ERR_NOMEM && fault_message_ok(st), "allocation %ld failing gave %s: %s", fail_at,
              wn_status_name(st), wn_last_error());
        CHECK(fault_live(&f) == 0, "allocation %ld failing leaked %ld blocks", fail_at, fault_live(&f));
        n_nomem++;
    }
    wn_set_allocator(NULL);
    fprintf(stderr, "fault injection: %d failing allocations, all WN_ERR_NOMEM without leaks\n", n_nomem);
    CHECK(n_ok == 1 && n_nomem > 10, "fault loop: %d failures, %d ok", n_nomem, n_ok);

    /* out of memory at every allocation of a batch split between 2 threads (16
     * sequences: MODEL_SPLIT_MIN_PER_THREAD * 2 or more): WN_ERR_NOMEM from the
     * call, nothing leaked, and the outputs of a later clean run are the ones of
     * a model that never failed. The counters are re-armed without resetting the
     * live count, so the load's blocks are counted until wn_model_free. */
    {
        enum { NS = 16 };
        int32_t idbuf[NS][12];
        const int32_t *ids[NS];
        int lens[NS];
        for (int i = 0; i < NS; i++) {
            lens[i] = 3 + i % 9;
            for (int t = 0; t < lens[i]; t++) idbuf[i][t] = (int32_t)((i * 7 + t * 3) % 90 + 1);
            ids[i] = idbuf[i];
        }
        wn_model_params p = wn_model_default_params();
        p.n_threads = 2;
        wn_model *m0 = NULL;
        wn_set_allocator(NULL);
        CHECK(model_load_dir(tmp, &p, 0, &m0) == WN_OK, "load: %s", wn_last_error());
        float want[NS * 64], got[NS * 64];
        CHECK(m0 && m0->dim <= 64, "model dim");
        CHECK(m0 && model_run_ids(m0, NS, ids, NULL, lens, want) == WN_OK, "clean run: %s", wn_last_error());
        CHECK(m0 && m0->part_ws != NULL, "16 sequences on 2 threads were not split");
        wn_model_free(m0);
        int split_nomem = 0, split_ok = 0;
        for (long fail_at = 1; fail_at < 10000; fail_at++) {
            wn_set_allocator(&al);
            fault_arm(&f, 0);
            wn_model *m = NULL;
            if (model_load_dir(tmp, &p, 0, &m) != WN_OK) {
                CHECK(0, "load without faults: %s", wn_last_error());
                break;
            }
            fault_plant_stale_message(); /* model_run_ids is internal: it does not clear */
            atomic_store(&f.calls, 0);
            atomic_store(&f.fail_at, fail_at);
            wn_status st = model_run_ids(m, NS, ids, NULL, lens, got);
            int reached = fault_reached(&f);
            atomic_store(&f.fail_at, 0);
            if (st == WN_OK) CHECK(memcmp(got, want, sizeof(float) * NS * m->dim) == 0, "run after no failure differs");
            else CHECK(st == WN_ERR_NOMEM && fault_message_ok(st), "allocation %ld of a split run failing gave %s: %s",
                       fail_at, wn_status_name(st), wn_last_error());
            if (st != WN_OK) { /* the same model runs clean afterwards */
                CHECK(model_run_ids(m, NS, ids, NULL, lens, got) == WN_OK, "run after a failure: %s", wn_last_error());
                CHECK(memcmp(got, want, sizeof(float) * NS * m->dim) == 0, "run after failure %ld differs", fail_at);
                split_nomem++;
            }
            wn_model_free(m);
            wn_set_allocator(NULL);
            CHECK(fault_live(&f) == 0, "split run, allocation %ld failing: %ld blocks leaked", fail_at, fault_live(&f));
            if (!reached) {
                split_ok++;
                break;
            }
        }
        fprintf(stderr, "fault injection, split batch: %d failing allocations, all WN_ERR_NOMEM without leaks\n",
                split_nomem);
        CHECK(split_ok == 1 && split_nomem >= 5, "split fault loop: %d failures, %d ok", split_nomem, split_ok);
    }

    const char *files[] = {"config.json", "model.safetensors", "modules.json", "1_Pooling/config.json", "sentence_bert_config.json",
                           "vocab.txt", "tokenizer_config.json"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) rm(files[i]);
    rmdir(sub);
    rmdir(tmp);
    return check_done();
}
