/*
 * loop.c - wn_train_run: the training loop of sentence-transformers' fit, in C.
 * Rows come in micro-batches of p->batch (file order with shuffle off: update k,
 * from 1, takes rows (k-1)B .. kB-1 when grad_accum is 1), grad_accum of them per
 * update; each update: forward, loss, backward, clip_grad_norm_, AdamW at the
 * schedule's rate for step k-1, a log line. The checkpoint (HF layout) is
 * written every save_every updates and at the end; each file replaced atomically,
 * model.safetensors last.
 *
 * Bi-encoders: queries and documents (positives, then every row's hard negatives
 * in row order) run as two forward passes, as sentence-transformers does;
 * MNRL between them. Cross-encoders: one forward pass over the (query, document)
 * pairs; BCE with logits, or listwise softmax over (query, positive + negatives).
 */
#include <math.h>
#include <string.h>

#include "data.h"
#include "tokenizer/tokenizer.h"
#include "train.h"

/* Dimensions: B rows per micro-batch, T tokens, D output dimension. */

wn_train_params wn_train_default_params(void) {
    wn_train_params p;
    memset(&p, 0, sizeof p);
    p.epochs = 1;
    p.batch = 32;
    p.grad_accum = 1;
    p.lr = 2e-5;
    p.weight_decay = 0.01;
    p.max_grad_norm = 1.0;
    p.dropout = -1;
    p.shuffle = 1;
    p.seed = 42;
    p.scale = 20;
    p.mlm_prob = 0.15;
    return p;
}

typedef struct {
    const wn_train_params *p;
    train_model *m;
    wn_tokenizer *tok;
    train_data data, dev;
    int max_len;
    int32_t mask_id;
    int32_t *labels;
    size_t cap_labels;
    train_acts *a1, *a2;
    /* one micro-batch's token ids */
    int32_t *ids, *types, *pids, *ptypes;
    int *lens;
    size_t cap_seq;
    float *out1, *out2, *d1, *d2, *y;
    size_t cap_out;
} trainer;

static uint64_t mix(uint64_t z) {
    z += 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Fisher-Yates with a counter-based generator keyed by (seed, epoch). */
static void shuffle(int64_t *order, int64_t n, uint64_t seed, int64_t epoch) {
    uint64_t key = mix(seed ^ mix((uint64_t)epoch + 0x5851F42D4C957F2DULL));
    for (int64_t i = n - 1; i > 0; i--) {
        uint64_t r = mix(key + (uint64_t)i);
        int64_t j = (int64_t)(r % (uint64_t)(i + 1));
        int64_t t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
}

static wn_status grow(trainer *tr, size_t n_seq, size_t n_out) {
    if (n_seq > tr->cap_seq) {
        size_t L = (size_t)tr->max_len;
        wn_free(tr->ids), wn_free(tr->types), wn_free(tr->pids), wn_free(tr->ptypes), wn_free(tr->lens);
        tr->ids = wn_malloc(n_seq * L * sizeof(int32_t));
        tr->types = wn_malloc(n_seq * L * sizeof(int32_t));
        tr->pids = wn_malloc(n_seq * L * sizeof(int32_t));
        tr->ptypes = wn_malloc(n_seq * L * sizeof(int32_t));
        tr->lens = wn_malloc(n_seq * sizeof(int));
        tr->cap_seq = n_seq;
        if (!tr->ids || !tr->types || !tr->pids || !tr->ptypes || !tr->lens) {
            tr->cap_seq = 0;
            return wn_seterr(WN_ERR_NOMEM, "train: out of memory");
        }
    }
    if (n_out > tr->cap_out) {
        wn_free(tr->out1), wn_free(tr->out2), wn_free(tr->d1), wn_free(tr->d2), wn_free(tr->y);
        tr->out1 = wn_malloc(n_out * sizeof(float));
        tr->out2 = wn_malloc(n_out * sizeof(float));
        tr->d1 = wn_malloc(n_out * sizeof(float));
        tr->d2 = wn_malloc(n_out * sizeof(float));
        tr->y = wn_malloc(n_out * sizeof(float));
        tr->cap_out = n_out;
        if (!tr->out1 || !tr->out2 || !tr->d1 || !tr->d2 || !tr->y) {
            tr->cap_out = 0;
            return wn_seterr(WN_ERR_NOMEM, "train: out of memory");
        }
    }
    return WN_OK;
}

/* Tokenises n texts (a[i], b[i] or NULL) and pads them to the longest: ids and
 * types (n, *T) in tr->pids / tr->ptypes, lengths in tr->lens. */
static wn_status encode(trainer *tr, int n, const char *const *a, const char *const *b, const train_row *const *rows,
                        int *T) {
    const int L = tr->max_len;
    wn_status st = grow(tr, (size_t)n, 0);
    if (st) return st;
    int mx = 1;
    for (int i = 0; i < n; i++) {
        st = wn_tokenizer_encode(tr->tok, a[i], b ? b[i] : NULL, L, tr->ids + (size_t)i * L, tr->types + (size_t)i * L,
                                 L, &tr->lens[i]);
        if (st)
            return wn_seterr_prefix(st, "%s:%llu: ", tr->p->data_path, (unsigned long long)rows[i]->line);
        mx = WN_MAX(mx, tr->lens[i]);
    }
    memset(tr->pids, 0, (size_t)n * mx * sizeof(int32_t));
    memset(tr->ptypes, 0, (size_t)n * mx * sizeof(int32_t));
    for (int i = 0; i < n; i++) {
        memcpy(tr->pids + (size_t)i * mx, tr->ids + (size_t)i * L, (size_t)tr->lens[i] * sizeof(int32_t));
        memcpy(tr->ptypes + (size_t)i * mx, tr->types + (size_t)i * L, (size_t)tr->lens[i] * sizeof(int32_t));
    }
    *T = mx;
    return WN_OK;
}

/* One micro-batch of rows r[0..n): adds its gradients (scaled by inv) and returns its loss. */
static wn_status micro_bi(trainer *tr, const train_row *const *r, int n, uint64_t seed, float inv, int learn, float *loss) {
    train_model *m = tr->m;
    const int D = m->dim;
    int nd = n;
    for (int i = 0; i < n; i++) nd += r[i]->n_neg;
    const char **txt = wn_malloc((size_t)nd * sizeof *txt);
    const train_row **who = wn_malloc((size_t)nd * sizeof *who);
    wn_status st = WN_OK;
    if (!txt || !who) {
        st = wn_seterr(WN_ERR_NOMEM, "train: out of memory");
        goto done;
    }
    if ((st = grow(tr, (size_t)nd, (size_t)nd * D))) goto done;
    int T;
    for (int i = 0; i < n; i++) txt[i] = r[i]->query, who[i] = r[i];
    if ((st = encode(tr, n, txt, NULL, (const train_row *const *)who, &T))) goto done;
    if ((st = train_forward(m, &tr->a1, n, T, tr->pids, tr->ptypes, tr->lens, mix(seed), tr->out1))) goto done;
    int k = 0;
    for (int i = 0; i < n; i++) txt[k] = r[i]->positive, who[k++] = r[i];
    for (int i = 0; i < n; i++)
        for (int j = 0; j < r[i]->n_neg; j++) txt[k] = r[i]->negatives[j], who[k++] = r[i];
    if ((st = encode(tr, nd, txt, NULL, (const train_row *const *)who, &T))) goto done;
    if ((st = train_forward(m, &tr->a2, nd, T, tr->pids, tr->ptypes, tr->lens, mix(seed + 1), tr->out2))) goto done;
    *loss = train_mnrl(n, nd, D, tr->out1, tr->out2, (float)tr->p->scale, tr->d1, tr->d2);
    if (!learn) goto done;
    for (size_t i = 0; i < (size_t)n * D; i++) tr->d1[i] *= inv;
    for (size_t i = 0; i < (size_t)nd * D; i++) tr->d2[i] *= inv;
    if ((st = train_backward(m, tr->a2, tr->d2))) goto done;
    st = train_backward(m, tr->a1, tr->d1);
done:
    wn_free(txt);
    wn_free(who);
    return st;
}

static wn_status micro_ce(trainer *tr, const train_row *const *r, int n, uint64_t seed, float inv, int learn, float *loss) {
    train_model *m = tr->m;
    const int listwise = tr->p->listwise;
    const int g = listwise ? 1 + r[0]->n_neg : 1, ns = n * g;
    if (m->dim != 1)
        return wn_seterr(WN_ERR_UNSUPPORTED, "train: the cross-encoder has %d labels; BCE training needs 1", m->dim);
    for (int i = 0; listwise && i < n; i++)
        if (r[i]->n_neg + 1 != g)
            return wn_seterr(WN_ERR_FORMAT, "%s:%llu: %d negatives, but line %llu of the same batch has %d (listwise "
                             "batches need groups of one size)",
                             tr->p->data_path, (unsigned long long)r[i]->line, r[i]->n_neg,
                             (unsigned long long)r[0]->line, g - 1);
    const char **qa = wn_malloc((size_t)ns * sizeof *qa), **db = wn_malloc((size_t)ns * sizeof *db);
    const train_row **who = wn_malloc((size_t)ns * sizeof *who);
    wn_status st = WN_OK;
    if (!qa || !db || !who) {
        st = wn_seterr(WN_ERR_NOMEM, "train: out of memory");
        goto done;
    }
    if ((st = grow(tr, (size_t)ns, (size_t)ns))) goto done;
    for (int i = 0, k = 0; i < n; i++)
        for (int j = 0; j < g; j++, k++) {
            qa[k] = r[i]->query;
            db[k] = listwise ? (j ? r[i]->negatives[j - 1] : r[i]->positive) : r[i]->document;
            who[k] = r[i];
        }
    int T;
    if ((st = encode(tr, ns, qa, db, (const train_row *const *)who, &T))) goto done;
    if ((st = train_forward(m, &tr->a1, ns, T, tr->pids, tr->ptypes, tr->lens, mix(seed), tr->out1))) goto done;
    if (listwise) {
        *loss = train_listwise(n, g, tr->out1, tr->d1);
    } else {
        for (int i = 0; i < n; i++) tr->y[i] = (float)r[i]->label;
        *loss = train_bce(n, tr->out1, tr->y, tr->d1);
    }
    if (!learn) goto done;
    for (int i = 0; i < ns; i++) tr->d1[i] *= inv;
    st = train_backward(m, tr->a1, tr->d1);
done:
    wn_free(qa);
    wn_free(db);
    wn_free(who);
    return st;
}

/* Masked-LM: each real token but the first and last ([CLS], [SEP]) is picked with
 * probability mlm_prob; a picked one becomes [MASK] (80%), a random token (10%) or
 * stays (10%), and is labelled with its own id (HF's DataCollatorForLanguageModeling).
 * Draws come from (seed, sequence, position) alone. */
static wn_status micro_mlm(trainer *tr, const train_row *const *r, int n, uint64_t seed, float inv, int learn,
                           float *loss) {
    train_model *m = tr->m;
    const char **txt = wn_malloc((size_t)n * sizeof *txt);
    wn_status st = WN_OK;
    if (!txt) return wn_seterr(WN_ERR_NOMEM, "train: out of memory");
    for (int i = 0; i < n; i++) txt[i] = r[i]->text;
    int T;
    if ((st = encode(tr, n, txt, NULL, r, &T))) goto done;
    if ((st = wn_grow((void **)&tr->labels, &tr->cap_labels, (size_t)n * T, sizeof *tr->labels))) {
        st = wn_seterr(WN_ERR_NOMEM, "train: out of memory");
        goto done;
    }
    const int V = m->cfg.vocab_size;
    const double pm = tr->p->mlm_prob;
    for (int i = 0; i < n; i++)
        for (int t = 0; t < T; t++) {
            size_t k = (size_t)i * T + t;
            tr->labels[k] = -100;
            if (t == 0 || t >= tr->lens[i] - 1) continue;
            uint64_t z = mix(seed ^ mix(((uint64_t)i << 32) + (uint64_t)t));
            double u = (double)(z >> 11) * (1.0 / 9007199254740992.0);
            if (u >= pm) continue;
            tr->labels[k] = tr->pids[k];
            uint64_t z2 = mix(z);
            double v = (double)(z2 >> 11) * (1.0 / 9007199254740992.0);
            if (v < 0.8) tr->pids[k] = tr->mask_id;
            else if (v < 0.9) tr->pids[k] = (int32_t)(mix(z2) % (uint64_t)V);
        }
    const float ph = m->p_hidden, pa = m->p_attn;
    if (!learn) m->p_hidden = m->p_attn = 0;
    st = train_forward(m, &tr->a1, n, T, tr->pids, tr->ptypes, tr->lens, mix(seed + 7), tr->out1);
    m->p_hidden = ph, m->p_attn = pa;
    if (st) goto done;
    st = train_mlm(m, tr->a1, tr->labels, learn ? inv : 0.0f, loss);
done:
    wn_free(txt);
    return st;
}

/* ---- checkpoints */

static wn_status write_text(const char *dir, const char *name, const char *text) {
    char *path = wn_path_join(dir, name);
    if (!path) return wn_seterr(WN_ERR_NOMEM, "train: out of memory");
    wn_atomic_file af;
    wn_status st = wn_atomic_open(&af, path);
    if (!st) st = wn_atomic_write(&af, text, strlen(text));
    if (!st) st = wn_atomic_commit(&af);
    else wn_atomic_abort(&af);
    wn_free(path);
    return st;
}

static wn_status copy_file(const char *from_dir, const char *to_dir, const char *name) {
    char *src = wn_path_join(from_dir, name), *text = NULL;
    size_t len;
    wn_status st = WN_OK;
    if (!src) return wn_seterr(WN_ERR_NOMEM, "train: out of memory");
    if (wn_file_exists(src)) {
        char *dst = wn_path_join(to_dir, name);
        wn_atomic_file af;
        if (!dst) st = wn_seterr(WN_ERR_NOMEM, "train: out of memory");
        if (!st) st = wn_read_file(src, &text, &len);
        if (!st) st = wn_atomic_open(&af, dst);
        if (!st) {
            st = wn_atomic_write(&af, text, len);
            if (!st) st = wn_atomic_commit(&af);
            else wn_atomic_abort(&af);
        }
        wn_free(dst);
    }
    wn_free(text);
    wn_free(src);
    return st;
}

static wn_status save_state(const trainer *tr, const train_adamw *o, int64_t done, int64_t total);

static wn_status save_checkpoint(const trainer *tr, const train_adamw *o, int64_t done, int64_t total) {
    const wn_train_params *p = tr->p;
    const train_model *m = tr->m;
    const char *out = p->out_dir;
    wn_status st = wn_mkdirs(out, 0755);
    static const char *copy[] = {"config.json", "vocab.txt", "tokenizer.json", "tokenizer_config.json",
                                 "special_tokens_map.json"};
    for (size_t i = p->config_path ? 1 : 0; i < sizeof copy / sizeof *copy && !st; i++)
        st = copy_file(p->model_dir, out, copy[i]);
    if (!st && p->config_path) { /* a model made from a config: that config goes with it */
        char *text = NULL;
        size_t len;
        st = wn_read_file(p->config_path, &text, &len);
        if (!st) st = write_text(out, "config.json", text);
        wn_free(text);
    }
    if (!st && m->kind != TRAIN_CE) { /* an MLM encoder gets them too: winnow embed / train bi take it as is */
        char buf[1024], *sub = wn_path_join(out, "1_Pooling");
        if (!sub) return wn_seterr(WN_ERR_NOMEM, "train: out of memory");
        st = wn_mkdirs(sub, 0755);
        snprintf(buf, sizeof buf,
                 "{\n  \"word_embedding_dimension\": %d,\n  \"pooling_mode_cls_token\": %s,\n"
                 "  \"pooling_mode_mean_tokens\": %s,\n  \"pooling_mode_max_tokens\": %s,\n"
                 "  \"pooling_mode_mean_sqrt_len_tokens\": %s\n}\n",
                 m->cfg.hidden_size, m->pc.cls ? "true" : "false", m->pc.mean ? "true" : "false",
                 m->pc.max ? "true" : "false", m->pc.mean_sqrt ? "true" : "false");
        if (!st) st = write_text(sub, "config.json", buf);
        wn_free(sub);
        snprintf(buf, sizeof buf,
                 "[\n  {\"idx\": 0, \"name\": \"0\", \"path\": \"\", \"type\": \"sentence_transformers.models.Transformer\"},\n"
                 "  {\"idx\": 1, \"name\": \"1\", \"path\": \"1_Pooling\", \"type\": \"sentence_transformers.models.Pooling\"}%s\n]\n",
                 m->pc.normalize
                     ? ",\n  {\"idx\": 2, \"name\": \"2\", \"path\": \"2_Normalize\", \"type\": \"sentence_transformers.models.Normalize\"}"
                     : "");
        if (!st) st = write_text(out, "modules.json", buf);
        if (!st && m->pc.normalize) {
            char *nd = wn_path_join(out, "2_Normalize");
            if (!nd) return wn_seterr(WN_ERR_NOMEM, "train: out of memory");
            st = wn_mkdirs(nd, 0755);
            wn_free(nd);
        }
        int msl = m->pc.max_seq_len > 0 ? m->pc.max_seq_len : tr->max_len;
        snprintf(buf, sizeof buf, "{\n  \"max_seq_length\": %d,\n  \"do_lower_case\": false\n}\n", msl);
        if (!st) st = write_text(out, "sentence_bert_config.json", buf);
    }
    if (!st && tr->p->save_state) st = save_state(tr, o, done, total);
    if (!st) {
        char *path = wn_path_join(out, "model.safetensors");
        if (!path) return wn_seterr(WN_ERR_NOMEM, "train: out of memory");
        st = train_model_save_weights(m, path);
        wn_free(path);
    }
    if (st) return wn_seterr_prefix(st, "train: writing the checkpoint to %s: ", out);
    return WN_OK;
}

/* The mean loss over the dev rows in file order, batches of p->batch, dropout
 * off (the model in eval mode); rows weighted by their batch's size. */
static wn_status dev_loss(trainer *tr, const train_row **mb, double *out) {
    const wn_train_params *p = tr->p;
    train_model *m = tr->m;
    const float ph = m->p_hidden, pa = m->p_attn;
    m->p_hidden = m->p_attn = 0;
    double sum = 0;
    wn_status st = WN_OK;
    for (int64_t s = 0; s < tr->dev.n && !st; s += p->batch) {
        int nb = (int)WN_MIN((int64_t)p->batch, tr->dev.n - s);
        for (int i = 0; i < nb; i++) mb[i] = &tr->dev.rows[s + i];
        float loss = 0;
        st = p->task == WN_TRAIN_BI   ? micro_bi(tr, mb, nb, 0, 1, 0, &loss)
             : p->task == WN_TRAIN_CE ? micro_ce(tr, mb, nb, 0, 1, 0, &loss)
                                      : micro_mlm(tr, mb, nb, (uint64_t)s, 1, 0, &loss);
        sum += (double)loss * nb;
    }
    m->p_hidden = ph, m->p_attn = pa;
    *out = sum / (double)tr->dev.n;
    return st;
}

/* ---- the training state for --resume: trainer_state.wnts beside the checkpoint,
 * written atomically before model.safetensors, holding everything a resumed run
 * needs (so it is consistent by construction): little-endian
 *   magic "WNTS", u32 version 1, u32 header bytes (64), u64 n_params,
 *   i64 updates done, i64 total updates, u64 seed, zeros to 64 bytes;
 *   then f32 weights, AdamW first moments, second moments (n_params each).
 * Rows and dropout masks depend only on (seed, update), so a resumed run
 * continues exactly as the uninterrupted run would have. */
#define STATE_FILE "trainer_state.wnts"
#define STATE_VERSION 1u

static wn_status save_state(const trainer *tr, const train_adamw *o, int64_t done, int64_t total) {
    const train_model *m = tr->m;
    char *path = wn_path_join(tr->p->out_dir, STATE_FILE);
    if (!path) return wn_seterr(WN_ERR_NOMEM, "train: out of memory");
    unsigned char h[64];
    memset(h, 0, sizeof h);
    uint32_t ver = STATE_VERSION, hb = 64;
    uint64_t np = m->n_params, seed = tr->p->seed;
    memcpy(h, "WNTS", 4), memcpy(h + 4, &ver, 4), memcpy(h + 8, &hb, 4), memcpy(h + 12, &np, 8);
    memcpy(h + 20, &done, 8), memcpy(h + 28, &total, 8), memcpy(h + 36, &seed, 8);
    wn_atomic_file af;
    wn_status st = wn_atomic_open(&af, path);
    if (!st) st = wn_atomic_write(&af, h, sizeof h);
    if (!st) st = wn_atomic_write(&af, m->w, np * sizeof(float));
    if (!st) st = wn_atomic_write(&af, o->m1, np * sizeof(float));
    if (!st) st = wn_atomic_write(&af, o->m2, np * sizeof(float));
    if (!st) st = wn_atomic_commit(&af);
    else wn_atomic_abort(&af);
    wn_free(path);
    return st;
}

/* Loads the state into m and o; *done = updates done. WN_ERR_NOTFOUND if there is none. */
static wn_status load_state(trainer *tr, train_adamw *o, int64_t *done) {
    train_model *m = tr->m;
    char *path = wn_path_join(tr->p->out_dir, STATE_FILE), *data = NULL;
    size_t len;
    if (!path) return wn_seterr(WN_ERR_NOMEM, "train: out of memory");
    wn_status st;
    if (!wn_file_exists(path)) {
        st = wn_seterr(WN_ERR_NOTFOUND, "%s: no training state to resume from", path);
        goto done;
    }
    if ((st = wn_read_file(path, &data, &len))) goto done;
    uint32_t ver, hb;
    uint64_t np, seed;
    int64_t d, total;
    if (len < 64 || memcmp(data, "WNTS", 4)) {
        st = wn_seterr(WN_ERR_FORMAT, "%s: not a winnow training state", path);
        goto done;
    }
    memcpy(&ver, data + 4, 4), memcpy(&hb, data + 8, 4), memcpy(&np, data + 12, 8);
    memcpy(&d, data + 20, 8), memcpy(&total, data + 28, 8), memcpy(&seed, data + 36, 8);
    if (ver != STATE_VERSION || hb != 64) {
        st = wn_seterr(WN_ERR_FORMAT, "%s: version %u (header %u bytes), this winnow reads version %u", path, ver, hb,
                       STATE_VERSION);
        goto done;
    }
    if (np != m->n_params || len != 64 + 3 * np * sizeof(float) || d < 0) {
        st = wn_seterr(WN_ERR_FORMAT, "%s: %llu parameters in %zu bytes at update %lld; the model has %zu parameters",
                       path, (unsigned long long)np, len, (long long)d, m->n_params);
        goto done;
    }
    if (seed != tr->p->seed) {
        st = wn_seterr(WN_ERR_ARG, "%s: the run used --seed %llu, this one %llu (a resumed run must repeat it)", path,
                       (unsigned long long)seed, (unsigned long long)tr->p->seed);
        goto done;
    }
    memcpy(m->w, data + 64, np * sizeof(float));
    memcpy(o->m1, data + 64 + np * sizeof(float), np * sizeof(float));
    memcpy(o->m2, data + 64 + 2 * np * sizeof(float), np * sizeof(float));
    o->t = d;
    train_model_touch(m);
    *done = d;
done:
    wn_free(data);
    wn_free(path);
    return st;
}

/* ---- the loop */

static wn_status check_params(const wn_train_params *p) {
    if (!p->model_dir || !p->data_path || !p->out_dir)
        return wn_seterr(WN_ERR_ARG, "wn_train_run: model_dir, data_path and out_dir are required");
    if (p->batch < 1 || p->grad_accum < 1 || p->epochs < 0 || p->steps < 0 || p->warmup < 0 || p->max_length < 0 ||
        p->n_threads < 0 || p->save_every < 0)
        return wn_seterr(WN_ERR_ARG,
                         "wn_train_run: batch %d and grad_accum %d must be >= 1; epochs %d, steps %lld, warmup %lld, "
                         "max_length %d, n_threads %d, save_every %lld must not be negative",
                         p->batch, p->grad_accum, p->epochs, (long long)p->steps, (long long)p->warmup, p->max_length,
                         p->n_threads, (long long)p->save_every);
    if (!(p->lr >= 0) || !(p->weight_decay >= 0) || !(p->max_grad_norm >= 0) || !(p->dropout < 1) || !(p->scale > 0))
        return wn_seterr(WN_ERR_ARG, "wn_train_run: lr %g, weight_decay %g, max_grad_norm %g must be >= 0, dropout %g "
                         "below 1, scale %g above 0", p->lr, p->weight_decay, p->max_grad_norm, p->dropout, p->scale);
    if (p->task != WN_TRAIN_BI && p->task != WN_TRAIN_CE && p->task != WN_TRAIN_MLM)
        return wn_seterr(WN_ERR_ARG, "wn_train_run: unknown task %d", p->task);
    if (p->task == WN_TRAIN_MLM && !(p->mlm_prob > 0 && p->mlm_prob < 1))
        return wn_seterr(WN_ERR_ARG, "wn_train_run: mlm_prob %g must be between 0 and 1", p->mlm_prob);
    if (p->steps == 0 && p->epochs == 0) return wn_seterr(WN_ERR_ARG, "wn_train_run: neither epochs nor steps");
    return WN_OK;
}

wn_status wn_train_run(const wn_train_params *p) {
    WN_ENTRY();
    wn_clearerr();
    wn_status st = check_params(p);
    if (st) return st;
    trainer tr;
    memset(&tr, 0, sizeof tr);
    tr.p = p;
    train_adamw opt;
    memset(&opt, 0, sizeof opt);
    FILE *log = NULL;
    int64_t *order = NULL;
    const train_row **mb = NULL;
    st = p->task == WN_TRAIN_MLM ? train_model_create_mlm(p->model_dir, p->config_path, p->seed, p->n_threads, &tr.m)
                                 : train_model_create(p->model_dir, p->config_path, p->seed, p->n_threads, &tr.m);
    if (st) goto done;
    train_model *m = tr.m;
    if (p->task != WN_TRAIN_MLM && (p->task == WN_TRAIN_BI) != (m->kind == TRAIN_BI)) {
        st = wn_seterr(WN_ERR_ARG, "%s: is a %s, not a %s", p->model_dir, m->kind == TRAIN_BI ? "bi-encoder" : "cross-encoder",
                       p->task == WN_TRAIN_BI ? "bi-encoder (train bi)" : "cross-encoder (train ce)");
        goto done;
    }
    if (p->dropout >= 0) m->p_hidden = m->p_attn = (float)p->dropout;
    if ((st = wn_tokenizer_load(p->model_dir, &tr.tok))) goto done;
    int lim = m->cfg.max_position_embeddings;
    if (wn_tokenizer_max_length(tr.tok) > 0) lim = WN_MIN(lim, wn_tokenizer_max_length(tr.tok));
    if (m->kind != TRAIN_CE && m->pc.max_seq_len > 0) lim = WN_MIN(lim, m->pc.max_seq_len);
    if (m->kind == TRAIN_MLM) {
        tr.mask_id = vocab_find(tr.tok, 0, "[MASK]", 6);
        if (tr.mask_id < 0) tr.mask_id = vocab_find(tr.tok, 0, "<mask>", 6);
        if (tr.mask_id < 0 || tr.mask_id >= m->cfg.vocab_size) {
            st = wn_seterr(WN_ERR_FORMAT, "%s: the tokenizer has no [MASK] token in the model's vocabulary", p->model_dir);
            goto done;
        }
    }
    tr.max_len = p->max_length > 0 ? p->max_length : lim;
    if (tr.max_len > m->cfg.max_position_embeddings || tr.max_len < 3) {
        st = wn_seterr(WN_ERR_ARG, "train: max_length %d, the model takes 3 to %d tokens", tr.max_len,
                       m->cfg.max_position_embeddings);
        goto done;
    }
    int listwise = p->task == WN_TRAIN_CE && p->listwise;
    train_data_kind dk = p->task == WN_TRAIN_MLM ? TRAIN_DATA_TEXT
                         : p->task == WN_TRAIN_CE && !listwise ? TRAIN_DATA_PAIRS
                                                               : TRAIN_DATA_TRIPLES;
    if ((st = train_data_load(p->data_path, dk, &tr.data))) goto done;
    if (p->dev_path && (st = train_data_load(p->dev_path, dk, &tr.dev))) goto done;
    const int64_t n = tr.data.n, B = p->batch, A = p->grad_accum;
    const int64_t mb_per_epoch = (n + B - 1) / B, per_epoch = (mb_per_epoch + A - 1) / A;
    const int64_t total = p->steps > 0 ? p->steps : per_epoch * p->epochs;
    if ((st = train_adamw_init(&opt, m, (float)p->lr, (float)p->weight_decay))) goto done;
    int64_t start = 0;
    if (p->resume) {
        st = load_state(&tr, &opt, &start);
        if (st == WN_ERR_NOTFOUND) st = WN_OK, start = 0; /* nothing saved yet: start from the beginning */
        if (st) goto done;
        if (start > total) {
            st = wn_seterr(WN_ERR_ARG, "train: the saved state is at update %lld, past this run's %lld", (long long)start,
                           (long long)total);
            goto done;
        }
    }
    if (p->log_path && !(log = fopen(p->log_path, start > 0 ? "a" : "w"))) {
        st = wn_seterr(WN_ERR_IO, "%s: cannot open the log for writing", p->log_path);
        goto done;
    }
    order = wn_malloc((size_t)n * sizeof *order);
    mb = wn_malloc((size_t)B * sizeof *mb);
    if (!order || !mb) {
        st = wn_seterr(WN_ERR_NOMEM, "train: out of memory");
        goto done;
    }
    int64_t cur_epoch = -1;
    double t0 = wn_now();
    for (int64_t k = start; k < total; k++) {
        train_zero_grad(m);
        double loss_sum = 0;
        int64_t examples = 0;
        for (int64_t a = 0; a < A; a++) {
            /* micro-batch g of the run; past the data's end the next epoch starts */
            int64_t g = k * A + a, ep = g / mb_per_epoch, pos = g % mb_per_epoch;
            if (p->steps == 0 && ep >= p->epochs) break; /* the last update of the run may be short */
            if (ep != cur_epoch) {
                for (int64_t i = 0; i < n; i++) order[i] = i;
                if (p->shuffle) shuffle(order, n, p->seed, ep);
                cur_epoch = ep;
            }
            int nb = (int)WN_MIN(B, n - pos * B);
            for (int i = 0; i < nb; i++) mb[i] = &tr.data.rows[order[pos * B + i]];
            float loss = 0;
            uint64_t seed = mix(p->seed ^ mix((uint64_t)g * 2 + 0x1234567ULL));
            st = p->task == WN_TRAIN_BI   ? micro_bi(&tr, mb, nb, seed, 1.0f / (float)A, 1, &loss)
                 : p->task == WN_TRAIN_CE ? micro_ce(&tr, mb, nb, seed, 1.0f / (float)A, 1, &loss)
                                          : micro_mlm(&tr, mb, nb, seed, 1.0f / (float)A, 1, &loss);
            if (st) goto done;
            loss_sum += loss;
            examples += nb;
        }
        double norm = train_clip_grad_norm(m, p->max_grad_norm);
        double lr = p->lr * train_linear_schedule(k, p->warmup, total);
        train_adamw_step(&opt, m, (float)lr);
        double loss = loss_sum / (double)A;
        if (log) {
            fprintf(log, "{\"step\": %lld, \"epoch\": %lld, \"loss\": %.9g, \"lr\": %.9g, \"grad_norm\": %.9g, "
                         "\"examples\": %lld, \"seconds\": %.3f}\n",
                    (long long)(k + 1), (long long)cur_epoch + 1, loss, lr, norm, (long long)examples, wn_now() - t0);
            fflush(log);
        }
        if (!isfinite(loss)) {
            st = wn_seterr(WN_ERR_INTERNAL, "train: the loss is %g at step %lld", loss, (long long)(k + 1));
            goto done;
        }
        if (p->progress) {
            char what[32];
            snprintf(what, sizeof what, "loss %.4f", loss);
            p->progress(p->progress_ud, what, (uint64_t)(k + 1), (uint64_t)total);
        }
        if (p->dev_path && ((p->eval_every > 0 && (k + 1) % p->eval_every == 0) || k + 1 == total)) {
            double dl;
            if ((st = dev_loss(&tr, mb, &dl))) goto done;
            if (log) {
                fprintf(log, "{\"step\": %lld, \"dev_loss\": %.9g, \"dev_rows\": %lld}\n", (long long)(k + 1), dl,
                        (long long)tr.dev.n);
                fflush(log);
            }
        }
        if (p->save_every > 0 && (k + 1) % p->save_every == 0 && k + 1 < total && (st = save_checkpoint(&tr, &opt, k + 1, total)))
            goto done;
    }
    st = save_checkpoint(&tr, &opt, total, total);
done:
    if (log && fclose(log) && !st) st = wn_seterr(WN_ERR_IO, "%s: write error", p->log_path);
    wn_free(order);
    wn_free(mb);
    train_adamw_free(&opt);
    train_acts_free(tr.a1);
    train_acts_free(tr.a2);
    wn_free(tr.ids), wn_free(tr.types), wn_free(tr.pids), wn_free(tr.ptypes), wn_free(tr.lens);
    wn_free(tr.out1), wn_free(tr.out2), wn_free(tr.d1), wn_free(tr.d2), wn_free(tr.y);
    wn_free(tr.labels);
    train_data_free(&tr.data);
    train_data_free(&tr.dev);
    wn_tokenizer_free(tr.tok);
    train_model_free(tr.m);
    return st;
}
