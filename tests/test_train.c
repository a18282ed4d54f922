/*
 * test_train.c - src/train against PyTorch (scripts/make_train_reference.py, float64
 * autograd; fixtures in tests/fixtures/train), as llm.c's test_gpt2.c does:
 *
 *  1. gradient parity: the loss, the outputs and every parameter's gradient of a
 *     bi-encoder MNRL batch (mean pooling + Normalize, and CLS pooling), a
 *     cross-encoder BCE batch, a listwise batch and a masked-LM batch (BertForMaskedLM's
 *     head, decoder tied to the word embeddings), all with padding; each tensor
 *     must satisfy |got - ref| <= ATOL + RTOL * |ref| (the worst element printed);
 *  2. determinism: the gradients with 1 and 2 threads are identical bit for bit;
 *  3. the losses' own gradients against central differences (double);
 *  4. a few AdamW steps through wn_train_run (the code `winnow train` runs) on
 *     the fixture's JSONL: the same losses as torch.optim.AdamW + the linear
 *     schedule + clip_grad_norm_ to 1e-4 relative, the same weights.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "model/safetensors.h"
#include "train/train.h"

#define DIR "tests/fixtures/train"

/* Gradient tolerance: fp32 forward and backward against float64 autograd. */
#define ATOL 1e-7
#define RTOL 1e-4

typedef struct {
    cJSON *root;
    float *data;
    size_t n_data;
    int n;
    int32_t **ids, **types;
    int *lens;
} fixture;

static void fx_free(fixture *f) {
    for (int i = 0; i < f->n; i++) free(f->ids[i]), free(f->types[i]);
    free(f->ids), free(f->types), free(f->lens), free(f->data);
    cJSON_Delete(f->root);
}

static int fx_load(const char *name, fixture *f) {
    memset(f, 0, sizeof *f);
    char path[256], *text;
    size_t len;
    snprintf(path, sizeof path, DIR "/%s.json", name);
    if (wn_read_file(path, &text, &len)) return fprintf(stderr, "%s: %s\n", path, wn_last_error()), 0;
    f->root = cJSON_Parse(text);
    wn_free(text);
    if (!f->root) return fprintf(stderr, "%s: bad JSON\n", path), 0;
    snprintf(path, sizeof path, DIR "/%s.f32", name);
    if (wn_read_file(path, &text, &len)) return fprintf(stderr, "%s: %s\n", path, wn_last_error()), 0;
    f->n_data = len / 4;
    f->data = malloc(len + 4);
    memcpy(f->data, text, len);
    wn_free(text);
    const cJSON *in = cJSON_GetObjectItemCaseSensitive(f->root, "inputs");
    f->n = in ? cJSON_GetArraySize(in) : 0;
    f->ids = calloc((size_t)f->n + 1, sizeof *f->ids);
    f->types = calloc((size_t)f->n + 1, sizeof *f->types);
    f->lens = calloc((size_t)f->n + 1, sizeof *f->lens);
    int i = 0;
    for (const cJSON *s = in ? in->child : NULL; s; s = s->next, i++) {
        const cJSON *ids = cJSON_GetObjectItemCaseSensitive(s, "ids"), *ty = cJSON_GetObjectItemCaseSensitive(s, "types");
        int n = cJSON_GetArraySize(ids), k = 0;
        f->lens[i] = n;
        f->ids[i] = malloc(sizeof(int32_t) * (size_t)(n + 1));
        f->types[i] = malloc(sizeof(int32_t) * (size_t)(n + 1));
        for (const cJSON *x = ids->child; x; x = x->next) f->ids[i][k++] = (int32_t)x->valuedouble;
        k = 0;
        for (const cJSON *x = ty->child; x; x = x->next) f->types[i][k++] = (int32_t)x->valuedouble;
    }
    return 1;
}

static double fx_num(const fixture *f, const char *k) {
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(f->root, k);
    return j ? j->valuedouble : 0;
}

static const float *fx_tensor(const fixture *f, const char *key, size_t *n) {
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(f->root, "tensors"), key);
    if (!t) return NULL;
    size_t off = (size_t)cJSON_GetObjectItemCaseSensitive(t, "offset")->valuedouble, cnt = 1;
    for (const cJSON *d = cJSON_GetObjectItemCaseSensitive(t, "shape")->child; d; d = d->next) cnt *= (size_t)d->valuedouble;
    if (off + cnt > f->n_data) return NULL;
    *n = cnt;
    return f->data + off;
}

/* |got - ref| <= atol + rtol |ref| on every element; prints the worst (by its
 * ratio to the allowance). Returns the worst ratio. */
static double compare(const char *what, const float *got, const float *ref, size_t n, double atol, double rtol) {
    double worst = -1, wd = 0;
    size_t wi = 0;
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - ref[i]), allow = atol + rtol * fabs(ref[i]);
        if (!(d <= allow)) bad++;
        if (!(d / allow <= worst)) worst = d / allow, wi = i, wd = d;
    }
    fprintf(stderr, "%-58s %6zu  worst |diff| %.2e at [%zu] (got %.8g, ref %.8g) = %.2f of allowed%s\n", what, n, wd,
            wi, n ? got[wi] : 0.0, n ? ref[wi] : 0.0, worst, bad ? "  FAIL" : "");
    CHECK(bad == 0, "%s: %d of %zu values beyond %g + %g |ref| (worst %.3g at %zu)", what, bad, n, atol, rtol, wd, wi);
    return worst;
}

/* Runs the fixture's batch through forward, loss and backward on n_threads;
 * leaves the gradients in *pm (the caller frees it). Returns the loss. */
static float run_grad(const char *name, const fixture *f, int n_threads, train_model **pm, float **pout) {
    const int mlm = strstr(name, "_mlm") != NULL;
    const char *kind = mlm ? "mlm" : strstr(name, "_ce") ? "ce" : strstr(name, "_cls") ? "bi-cls" : "bi";
    char dir[256];
    snprintf(dir, sizeof dir, DIR "/%s", kind);
    train_model *m;
    wn_status st = mlm ? train_model_create_mlm(dir, NULL, 0, n_threads, &m) : train_model_load(dir, n_threads, &m);
    CHECK(st == WN_OK, "load %s: %s", dir, wn_last_error());
    if (st) return NAN;
    m->p_hidden = m->p_attn = 0; /* the reference runs without dropout */
    int B = f->n, T = 0;
    for (int b = 0; b < B; b++) T = WN_MAX(T, f->lens[b]);
    int32_t *ids = calloc((size_t)B * T, sizeof *ids), *ty = calloc((size_t)B * T, sizeof *ty);
    for (int b = 0; b < B; b++) {
        memcpy(ids + (size_t)b * T, f->ids[b], sizeof *ids * f->lens[b]);
        memcpy(ty + (size_t)b * T, f->types[b], sizeof *ty * f->lens[b]);
    }
    float *out = calloc((size_t)B * m->dim, sizeof *out), *dout = calloc((size_t)B * m->dim, sizeof *dout);
    train_acts *a = NULL;
    st = train_forward(m, &a, B, T, ids, ty, f->lens, 1, out);
    CHECK(st == WN_OK, "forward: %s", wn_last_error());
    float loss = NAN;
    if (mlm) {
        int32_t *lab = malloc(sizeof *lab * (size_t)B * T);
        for (int i = 0; i < B * T; i++) lab[i] = -100;
        int b = 0;
        for (const cJSON *l = cJSON_GetObjectItemCaseSensitive(f->root, "labels")->child; l && b < B; l = l->next, b++) {
            int t = 0;
            for (const cJSON *x = l->child; x && t < T; x = x->next, t++) lab[(size_t)b * T + t] = (int32_t)x->valuedouble;
        }
        if (!st) st = train_mlm(m, a, lab, 1.0f, &loss);
        CHECK(st == WN_OK, "train_mlm: %s", wn_last_error());
        free(lab);
        train_acts_free(a);
        free(ids), free(ty), free(dout);
        *pm = m;
        *pout = out;
        return loss;
    }
    if (m->kind == TRAIN_BI) {
        int nq = (int)fx_num(f, "nq"), nd = (int)fx_num(f, "nd");
        loss = train_mnrl(nq, nd, m->dim, out, out + (size_t)nq * m->dim, (float)fx_num(f, "scale"), dout,
                          dout + (size_t)nq * m->dim);
    } else if (strstr(name, "list")) {
        loss = train_listwise((int)fx_num(f, "groups"), (int)fx_num(f, "group_size"), out, dout);
    } else {
        float y[64];
        int k = 0;
        for (const cJSON *x = cJSON_GetObjectItemCaseSensitive(f->root, "labels")->child; x && k < 64; x = x->next)
            y[k++] = (float)x->valuedouble;
        loss = train_bce(B, out, y, dout);
    }
    if (!st) st = train_backward(m, a, dout);
    CHECK(st == WN_OK, "backward: %s", wn_last_error());
    train_acts_free(a);
    free(ids), free(ty), free(dout);
    *pm = m;
    *pout = out;
    return loss;
}

static void test_grad(const char *name) {
    fixture f;
    if (!fx_load(name, &f)) {
        CHECK(0, "fixture %s unreadable", name);
        return;
    }
    fprintf(stderr, "--- %s (tolerance %g + %g |ref|)\n", name, ATOL, RTOL);
    train_model *m = NULL, *m2 = NULL;
    float *out = NULL, *out2 = NULL;
    float loss = run_grad(name, &f, 1, &m, &out);
    if (!m) goto done;
    size_t n;
    const float *ref = fx_tensor(&f, "loss", &n);
    compare("loss", &loss, ref, 1, 1e-6, 1e-5);
    if (m->kind == TRAIN_BI) {
        int nq = (int)fx_num(&f, "nq");
        if ((ref = fx_tensor(&f, "emb_q", &n))) compare("embeddings (queries)", out, ref, n, 1e-6, 1e-4);
        if ((ref = fx_tensor(&f, "emb_d", &n))) compare("embeddings (documents)", out + (size_t)nq * m->dim, ref, n, 1e-6, 1e-4);
    } else if ((ref = fx_tensor(&f, "logits", &n))) {
        compare("logits", out, ref, n, 1e-6, 1e-4);
    }
    int seen = 0;
    for (int i = 0; i < m->n_tensors; i++) {
        char key[160];
        snprintf(key, sizeof key, "grad:%s", m->t[i].name);
        ref = fx_tensor(&f, key, &n);
        CHECK(ref && n == m->t[i].n, "%s: no reference gradient of that size", key);
        if (!ref || n != m->t[i].n) continue;
        compare(m->t[i].name, m->g + m->t[i].off, ref, n, ATOL, RTOL);
        seen++;
    }
    const cJSON *tens = cJSON_GetObjectItemCaseSensitive(f.root, "tensors");
    int n_ref = 0;
    for (const cJSON *t = tens->child; t; t = t->next) n_ref += !strncmp(t->string, "grad:", 5);
    CHECK(seen == n_ref, "%s: compared %d gradients, the reference has %d", name, seen, n_ref);
    /* the same with two threads: bit for bit */
    float loss2 = run_grad(name, &f, 2, &m2, &out2);
    if (m2) {
        CHECK(loss2 == loss, "%s: loss %.9g with 2 threads, %.9g with 1", name, loss2, loss);
        CHECK(!memcmp(m->g, m2->g, m->n_params * sizeof(float)), "%s: gradients differ between 1 and 2 threads", name);
    }
done:
    train_model_free(m);
    train_model_free(m2);
    free(out), free(out2);
    fx_free(&f);
}

/* ---- the losses against central differences in double */
static void test_loss_fd(void) {
    enum { NQ = 3, ND = 5, D = 4 };
    float q[NQ * D], d[ND * D], dq[NQ * D], dd[ND * D], dq2[NQ * D], dd2[ND * D];
    uint64_t s = 12345;
    for (int i = 0; i < NQ * D; i++) s = s * 6364136223846793005ULL + 1, q[i] = (float)((s >> 40) % 1000) / 500 - 1;
    for (int i = 0; i < ND * D; i++) s = s * 6364136223846793005ULL + 1, d[i] = (float)((s >> 40) % 1000) / 500 - 1;
    train_mnrl(NQ, ND, D, q, d, 20, dq, dd);
    const float h = 1e-3f;
    double worst = 0;
    for (int i = 0; i < NQ * D; i++) {
        float keep = q[i];
        q[i] = keep + h;
        double lp = train_mnrl(NQ, ND, D, q, d, 20, dq2, dd2);
        q[i] = keep - h;
        double lm = train_mnrl(NQ, ND, D, q, d, 20, dq2, dd2);
        q[i] = keep;
        worst = fmax(worst, fabs((lp - lm) / (2 * h) - dq[i]));
    }
    for (int i = 0; i < ND * D; i++) {
        float keep = d[i];
        d[i] = keep + h;
        double lp = train_mnrl(NQ, ND, D, q, d, 20, dq2, dd2);
        d[i] = keep - h;
        double lm = train_mnrl(NQ, ND, D, q, d, 20, dq2, dd2);
        d[i] = keep;
        worst = fmax(worst, fabs((lp - lm) / (2 * h) - dd[i]));
    }
    fprintf(stderr, "MNRL vs central differences: worst %.3g\n", worst);
    CHECK(worst < 5e-3, "MNRL gradient vs central differences: %.3g", worst);
}


/* ---- a few AdamW steps through wn_train_run against torch.optim.AdamW */
static void test_adam(const char *task) {
    char name[64], dir[256], data[256], out[256], logp[300];
    snprintf(name, sizeof name, "adam_%s", task);
    fixture f;
    if (!fx_load(name, &f)) {
        CHECK(0, "fixture %s unreadable", name);
        return;
    }
    snprintf(dir, sizeof dir, DIR "/adam-%s", task);
    snprintf(data, sizeof data, DIR "/adam_%s.jsonl", task);
    snprintf(out, sizeof out, "%s/test_train_%s_%d", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", task, (int)getpid());
    snprintf(logp, sizeof logp, "%s.log", out);
    wn_train_params p = wn_train_default_params();
    p.task = !strcmp(task, "bi") ? WN_TRAIN_BI : WN_TRAIN_CE;
    p.model_dir = dir, p.data_path = data, p.out_dir = out, p.log_path = logp;
    p.steps = (int64_t)fx_num(&f, "steps");
    p.batch = (int)fx_num(&f, "batch");
    p.lr = fx_num(&f, "lr");
    p.warmup = (int64_t)fx_num(&f, "warmup");
    p.weight_decay = fx_num(&f, "weight_decay");
    p.max_grad_norm = fx_num(&f, "max_grad_norm");
    p.max_length = (int)fx_num(&f, "max_length");
    p.dropout = 0;
    p.shuffle = 0;
    p.n_threads = 2;
    wn_status st = wn_train_run(&p);
    CHECK(st == WN_OK, "wn_train_run %s: %s", task, wn_last_error());
    fprintf(stderr, "--- %s: %lld AdamW steps (losses to 1e-4 relative; weights 1e-6 + 1e-4 |ref|)\n", name, (long long)p.steps);
    /* the log: one line per update, loss before it and the lr it used */
    char *text = NULL;
    size_t len;
    const cJSON *jl = cJSON_GetObjectItemCaseSensitive(f.root, "losses"), *jr = cJSON_GetObjectItemCaseSensitive(f.root, "lrs");
    if (!st && wn_read_file(logp, &text, &len) == WN_OK) {
        int k = 0;
        const cJSON *el = jl->child, *er = jr->child;
        for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"), k++) {
            cJSON *o = cJSON_Parse(line);
            CHECK(o, "log line %d is not JSON: %s", k + 1, line);
            if (!o) continue;
            double step = cJSON_GetObjectItemCaseSensitive(o, "step")->valuedouble;
            double loss = cJSON_GetObjectItemCaseSensitive(o, "loss")->valuedouble;
            double lr = cJSON_GetObjectItemCaseSensitive(o, "lr")->valuedouble;
            CHECK(step == k + 1, "log line %d says step %g", k + 1, step);
            if (el && er) {
                fprintf(stderr, "step %d: loss %.9g (torch %.9g, rel %.2e), lr %.6g (torch %.6g)\n", k + 1, loss,
                        el->valuedouble, fabs(loss - el->valuedouble) / fabs(el->valuedouble), lr, er->valuedouble);
                CHECK(fabs(loss - el->valuedouble) <= 1e-4 * fabs(el->valuedouble), "step %d: loss %.9g, torch %.9g",
                      k + 1, loss, el->valuedouble);
                CHECK(fabs(lr - er->valuedouble) <= 1e-9 + 1e-6 * er->valuedouble, "step %d: lr %.9g, torch %.9g", k + 1,
                      lr, er->valuedouble);
                el = el->next, er = er->next;
            }
            cJSON_Delete(o);
        }
        CHECK(k == p.steps, "%d log lines for %lld steps", k, (long long)p.steps);
    } else {
        CHECK(0, "no log at %s", logp);
    }
    wn_free(text);
    /* the checkpoint's weights */
    char wpath[320];
    snprintf(wpath, sizeof wpath, "%s/model.safetensors", out);
    st_file sf;
    if (st_open(wpath, &sf) == WN_OK) {
        int seen = 0;
        for (const cJSON *t = cJSON_GetObjectItemCaseSensitive(f.root, "tensors")->child; t; t = t->next) {
            if (strncmp(t->string, "weight:", 7)) continue;
            size_t n;
            const float *ref = fx_tensor(&f, t->string, &n);
            const st_tensor *w = st_find(&sf, t->string + 7);
            CHECK(w && w->dtype == ST_F32 && (size_t)st_numel(w) == n, "%s: missing or wrong size in the checkpoint",
                  t->string + 7);
            if (!w || w->dtype != ST_F32 || (size_t)st_numel(w) != n) continue;
            float *got = malloc(n * sizeof *got);
            memcpy(got, w->data, n * sizeof *got);
            /* The key bias's true gradient is zero (softmax ignores a constant added to every
             * score of a row): PyTorch's and ours are rounding noise (~1e-9 vs ~1e-19), and
             * Adam turns noise into steps of up to lr each. Bound it by the sum of the rates. */
            double atol = 1e-6;
            if (strstr(t->string, "attention.self.key.bias"))
                for (const cJSON *e = jr->child; e; e = e->next) atol += 1.01 * e->valuedouble;
            compare(t->string + 7, got, ref, n, atol, 1e-4);
            free(got);
            seen++;
        }
        CHECK(seen > 10, "only %d weights compared", seen);
        st_close(&sf);
    } else {
        CHECK(0, "%s: %s", wpath, wn_last_error());
    }
    /* the checkpoint loads as a model and runs */
    wn_model *wm = NULL;
    wn_model_params mp = wn_model_default_params();
    mp.hub.offline = 1;
    st = wn_model_load(out, &mp, &wm);
    CHECK(st == WN_OK, "wn_model_load(%s): %s", out, wn_last_error());
    if (wm) {
        const char *q[1] = {"the first city"}, *d[1] = {"a film about music"};
        float v[64];
        st = p.task == WN_TRAIN_BI ? wn_model_embed(wm, 1, q, v) : wn_model_score(wm, 1, q, d, v);
        CHECK(st == WN_OK && isfinite(v[0]), "the trained model does not run: %s", wn_last_error());
    }
    wn_model_free(wm);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", out, logp);
    CHECK(system(cmd) == 0, "%s", cmd);
    fx_free(&f);
}

/* ---- gradient accumulation: for BCE (a mean over rows) two micro-batches of 2
 * rows make the same update as one batch of 4, up to rounding. */
static void test_accum(void) {
    char out1[256], out2[256];
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(out1, sizeof out1, "%s/test_train_acc1_%d", tmp, (int)getpid());
    snprintf(out2, sizeof out2, "%s/test_train_acc2_%d", tmp, (int)getpid());
    wn_train_params p = wn_train_default_params();
    p.task = WN_TRAIN_CE;
    p.model_dir = DIR "/adam-ce", p.data_path = DIR "/adam_ce.jsonl";
    p.steps = 3, p.lr = 1e-3, p.warmup = 0, p.max_length = 16, p.dropout = 0, p.shuffle = 0, p.n_threads = 1;
    p.out_dir = out1, p.batch = 4, p.grad_accum = 1;
    wn_status st = wn_train_run(&p);
    CHECK(st == WN_OK, "batch 4: %s", wn_last_error());
    p.out_dir = out2, p.batch = 2, p.grad_accum = 2;
    st = wn_train_run(&p);
    CHECK(st == WN_OK, "batch 2 x 2: %s", wn_last_error());
    char a[300], b[300];
    snprintf(a, sizeof a, "%s/model.safetensors", out1);
    snprintf(b, sizeof b, "%s/model.safetensors", out2);
    st_file fa, fb;
    if (st_open(a, &fa) == WN_OK) {
        if (st_open(b, &fb) == WN_OK) {
            CHECK(fa.n == fb.n, "%d vs %d tensors", fa.n, fb.n);
            double worst = 0;
            for (int i = 0; i < fa.n && i < fb.n; i++) {
                if (strstr(fa.t[i].name, "attention.self.key.bias")) continue; /* noise, see test_adam */
                size_t n = (size_t)st_numel(&fa.t[i]);
                const float *x = (const float *)fa.t[i].data, *y = (const float *)fb.t[i].data;
                for (size_t k = 0; k < n; k++) worst = fmax(worst, fabs((double)x[k] - y[k]) / (1e-6 + fabs((double)x[k])));
            }
            fprintf(stderr, "grad accumulation 2 x 2 vs 4: worst relative weight difference %.3g\n", worst);
            CHECK(worst < 1e-4, "batch 2 x 2 and batch 4 differ by %.3g relative", worst);
            st_close(&fb);
        }
        st_close(&fa);
    }
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", out1, out2);
    CHECK(system(cmd) == 0, "%s", cmd);
}

int main(void) {
    if (!wn_dir_exists(DIR)) SKIP_TEST("%s is missing (scripts/make_train_reference.py writes it)", DIR);
    test_grad("grad_bi");
    test_grad("grad_bi_cls");
    test_grad("grad_ce");
    test_grad("grad_ce_list");
    test_grad("grad_mlm");
    test_loss_fd();
    test_adam("bi");
    test_adam("ce");
    test_accum();
    return check_done();
}
