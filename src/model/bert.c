/*
 * bert.c - the forward pass of HuggingFace's BertModel on one padded batch, and
 * the heads on top of it: sentence-transformers pooling (+ Normalize) or
 * BertForSequenceClassification's pooler and classifier. All activations live
 * in the model's scratch block (no allocation here); every matrix product goes
 * through nn.h so the speed work stays behind that API.
 *
 * Per layer (post-LayerNorm BERT):
 *   qkv = x Wqkv^T + bqkv;  ctx = MultiHeadAttention(qkv, padding mask)
 *   x = LayerNorm(ctx Wo^T + bo + x);  x = LayerNorm(GELU(x Wi^T + bi) Wout^T + bout + x)
 *
 * The other families (config.h) are the same encoder with other embeddings and
 * heads, chosen by the config, never by name:
 *   - token types only when the model has them (not MPNet, DistilBERT);
 *   - position ids pad + cumsum(id != pad) when cfg.pad_positions (RoBERTa, MPNet;
 *     HF's create_position_ids_from_input_ids), else 0..T-1;
 *   - MPNet: a relative position bias (NH, T, T), from the encoder's shared table
 *     of rel_buckets x NH through T5's bidirectional buckets, computed once per
 *     forward and added to every layer's attention scores;
 *   - the cross-encoder head: dense + tanh (BERT's pooler, RoBERTa's and MPNet's
 *     classifier.dense) or + ReLU (DistilBERT's pre_classifier), then the output.
 */
#include <math.h>
#include <string.h>

#include "model.h"

/* Dimensions: B batch, T tokens, H hidden, NH heads, I intermediate. */

static size_t attn_floats(const bert_ws *ws, int T) { return nn_attention_scratch(T, wn_pool_size(ws->pool)); }

/* The feed-forward runs over chunks of this many rows, so its (rows, I) output
 * stays small whatever the batch; every row is computed alone by the kernels,
 * so the chunk size never changes a result. */
#define BERT_FFN_ROWS 512
static int ffn_rows(const wn_model *m, int BT) { return WN_MIN(BT, m->ffn_rows > 0 ? m->ffn_rows : BERT_FFN_ROWS); }

/* x (BT, H), big (BT, 3H): qkv, then the sublayers' outputs; ctx (BT, H), then
 * the attention block's output; inter (chunk, I); attention; head (2 B H); one
 * embedding row (H). */
static size_t head_offset(const wn_model *m, const bert_ws *ws, int B, int T) {
    size_t BT = (size_t)B * T, H = (size_t)m->cfg.hidden_size, I = (size_t)m->cfg.intermediate_size;
    return BT * 5 * H + (size_t)ffn_rows(m, (int)BT) * I + attn_floats(ws, T);
}

/* MPNet's relative bias (NH, 2T - 1) follows the head's rows and the embedding row */
static size_t rel_floats(const wn_model *m, int T) {
    return m->cfg.rel_buckets ? (size_t)m->cfg.num_attention_heads * (2 * (size_t)T - 1) : 0;
}

size_t bert_scratch_floats(const wn_model *m, const bert_ws *ws, int B, int T) {
    return head_offset(m, ws, B, T) + 2 * (size_t)B * m->cfg.hidden_size + (size_t)m->cfg.hidden_size + rel_floats(m, T) + 64;
}

int bert_rel_bucket(int d, int n_buckets) {
    /* HF MPNetEncoder.relative_position_bucket(max_distance=128): n = -d; the
     * float32 log as torch computes it, truncated toward zero */
    const int nb = n_buckets / 2, max_exact = nb / 2;
    int n = -d, ret = n < 0 ? nb : 0;
    n = n < 0 ? -n : n;
    if (n < max_exact) return ret + n;
    float v = logf((float)n / (float)max_exact) / (float)log(128.0 / max_exact) * (float)(nb - max_exact);
    int large = max_exact + (int)v;
    return ret + WN_MIN(large, nb - 1);
}

/* Whole: bert_scratch_floats with B x T <= tokens, each term at its largest. Split
 * between nth threads (model.c: run_split, one thread and no pool per part): the parts'
 * tokens and sequences add up to at most the batch's, the per-part terms (feed-forward
 * chunk, attention, embedding row, relative bias, slack, alignment) count nth times. */
size_t bert_scratch_bound(const wn_model *m, int B, int tokens, int T) {
    size_t H = (size_t)m->cfg.hidden_size, I = (size_t)m->cfg.intermediate_size, nth = (size_t)wn_pool_size(m->ws.pool);
    size_t R = (size_t)ffn_rows(m, tokens), per = H + rel_floats(m, T) + 64;
    size_t whole = (size_t)tokens * 5 * H + R * I + nn_attention_scratch(T, (int)nth) + 2 * (size_t)B * H + per;
    size_t split = (size_t)tokens * 5 * H + 2 * (size_t)B * H + nth * (R * I + nn_attention_scratch(T, 1) + per + 16);
    return WN_MAX(whole, split);
}

wn_status bert_reserve(const wn_model *m, bert_ws *ws, int B, int T) {
    size_t need = bert_scratch_floats(m, ws, B, T);
    if (need <= ws->cap) return WN_OK;
    float *s = wn_malloc_aligned(need * sizeof(float));
    if (!s) return wn_seterr(WN_ERR_NOMEM, "model: out of memory for the activations of %d x %d tokens", B, T);
    if (!ws->borrowed) wn_free_aligned(ws->scratch);
    ws->scratch = s;
    ws->cap = need;
    ws->borrowed = 0;
    ws->allocs++;
    return WN_OK;
}

wn_status bert_check_token(const wn_model *m, int32_t id, int32_t ty, int t) {
    if (id < 0 || id >= m->cfg.vocab_size)
        return wn_seterr(WN_ERR_ARG, "model: token id %d at position %d is outside the vocabulary (%d)", id, t,
                         m->cfg.vocab_size);
    if (!m->cfg.type_vocab_none && (ty < 0 || ty >= m->cfg.type_vocab_size))
        return wn_seterr(WN_ERR_ARG, "model: token type %d at position %d, the model has %d", ty, t,
                         m->cfg.type_vocab_size);
    return WN_OK;
}

/* Adds row r of a (rows, H) table stored as dt to dst. */
static void add_row(const unsigned char *table, st_dtype dt, int64_t r, int H, float *row, float *dst) {
    size_t es = st_dtype_size(dt);
    nn_dtype nd = dt == ST_F16 ? NN_F16 : dt == ST_BF16 ? NN_BF16 : NN_F32;
    nn_to_f32(nd, table + (size_t)r * H * es, row, (size_t)H);
    for (int h = 0; h < H; h++) dst[h] += row[h];
}

wn_status bert_forward(wn_model *m, int B, int T, const int32_t *ids, const int32_t *types, const int *len,
                       const float **hidden) {
    return bert_forward_ws(m, &m->ws, B, T, ids, types, len, hidden);
}

wn_status bert_forward_ws(wn_model *m, bert_ws *ws, int B, int T, const int32_t *ids, const int32_t *types,
                          const int *len, const float **hidden) {
    const bert_config *c = &m->cfg;
    const int H = c->hidden_size, NH = c->num_attention_heads, HD = H / NH, I = c->intermediate_size;
    const int BT = B * T;
    if (T > config_max_tokens(c))
        return wn_seterr(WN_ERR_ARG, "model: %d tokens, the model has %d positions", T, config_max_tokens(c));
    wn_status st = bert_reserve(m, ws, B, T);
    if (st) return st;
    wn_pool *pool = ws->pool;
    const int CH = ffn_rows(m, BT);
    float *x = ws->scratch;               /* (BT, H) */
    float *qkv = x + (size_t)BT * H;      /* (BT, 3H); its first (BT, H) is tmp once attention is done */
    float *tmp = qkv;
    float *ctx = qkv + (size_t)BT * 3 * H; /* (BT, H) */
    float *inter = ctx + (size_t)BT * H;   /* (CH, I) */
    float *att = inter + (size_t)CH * I;
    float *row = ws->scratch + head_offset(m, ws, B, T) + 2 * (size_t)B * H; /* (H) */

    /* embeddings: (word + token type) + position, in HF's order of additions */
    for (int b = 0; b < B; b++) {
        int n_real = 0; /* pad_positions: ids other than the pad id so far */
        for (int t = 0; t < T; t++) {
            size_t i = (size_t)b * T + t;
            float *e = x + i * H;
            memset(e, 0, sizeof(float) * H);
            if (t >= len[b]) continue; /* padding rows: zeros, never read by real tokens */
            int32_t id = ids[i], ty = types ? types[i] : 0;
            if ((st = bert_check_token(m, id, ty, t))) return st;
            int pos = t;
            if (c->pad_positions) pos = id == c->pad_token_id ? c->pad_token_id : c->pad_token_id + ++n_real;
            add_row(m->word, m->word_dt, id, H, row, e);
            if (m->type) add_row(m->type, m->type_dt, ty, H, row, e);
            add_row(m->pos, m->pos_dt, pos, H, row, e);
        }
    }
    float *rel = NULL; /* MPNet: (NH, 2T - 1), rel[h][T - 1 + d] the bias of key - query = d */
    if (c->rel_buckets) {
        rel = row + H;
        for (int d = -(T - 1); d <= T - 1; d++) {
            const float *tb = m->rel_bias + (size_t)bert_rel_bucket(d, c->rel_buckets) * NH;
            for (int h = 0; h < NH; h++) rel[(size_t)h * (2 * T - 1) + (T - 1) + d] = tb[h];
        }
    }
    nn_add_layernorm(pool, x, NULL, BT, H, m->emb_g, m->emb_b, c->layer_norm_eps, x);
    if (m->tap) m->tap(m->tap_ud, 0, x, B, T, H);

    for (int l = 0; l < c->num_hidden_layers; l++) {
        const bert_layer *ly = &m->layer[l];
        nn_linear(pool, x, BT, &ly->qkv, ly->qkv_b, NN_ACT_NONE, qkv);
        if (rel) nn_attention_rel(pool, qkv, B, T, NH, HD, len, rel, ctx, att);
        else nn_attention(pool, qkv, B, T, NH, HD, len, ctx, att);
        nn_linear(pool, ctx, BT, &ly->ao, ly->ao_b, NN_ACT_NONE, tmp);
        float *h1 = ctx; /* the context is consumed: the attention block's output goes there */
        nn_add_layernorm(pool, tmp, x, BT, H, ly->ln1_g, ly->ln1_b, c->layer_norm_eps, h1);
        for (int r = 0; r < BT; r += CH) {
            int n = WN_MIN(CH, BT - r);
            size_t o = (size_t)r * H;
            nn_linear(pool, h1 + o, n, &ly->inter, ly->inter_b, NN_ACT_GELU, inter);
            nn_linear(pool, inter, n, &ly->out, ly->out_b, NN_ACT_NONE, tmp + o);
            nn_add_layernorm(pool, tmp + o, h1 + o, n, H, ly->ln2_g, ly->ln2_b, c->layer_norm_eps, x + o);
        }
        if (m->tap) m->tap(m->tap_ud, l + 1, x, B, T, H);
    }
    *hidden = x;
    return WN_OK;
}

void bert_pool(const pool_config *pc, int H, const float *h, int n, float *o) {
    if (pc->cls) {
        memcpy(o, h, sizeof(float) * H);
        o += H;
    }
    if (pc->max) {
        for (int j = 0; j < H; j++) {
            float mx = -INFINITY;
            for (int t = 0; t < n; t++) mx = fmaxf(mx, h[(size_t)t * H + j]);
            o[j] = mx;
        }
        o += H;
    }
    if (pc->mean || pc->mean_sqrt) {
        for (int j = 0; j < H; j++) {
            double s = 0;
            for (int t = 0; t < n; t++) s += h[(size_t)t * H + j];
            double cnt = n > 0 ? n : 1e-9;
            if (pc->mean) o[j] = (float)(s / cnt);
            if (pc->mean_sqrt) o[j + (pc->mean ? H : 0)] = (float)(s / sqrt(cnt));
        }
    }
}

/* Pooling, then Normalize: v / max(||v||, 1e-12). */
static void pool_one(const wn_model *m, const float *h, int n, float *out) {
    bert_pool(&m->pc, m->cfg.hidden_size, h, n, out);
    if (m->pc.normalize) {
        double ss = 0;
        for (int j = 0; j < m->dim; j++) ss += (double)out[j] * out[j];
        double nrm = sqrt(ss);
        if (nrm < 1e-12) nrm = 1e-12;
        for (int j = 0; j < m->dim; j++) out[j] = (float)(out[j] / nrm);
    }
}

void bert_head(wn_model *m, int B, int T, const float *hidden, const int *len, float *out) {
    bert_head_ws(m, &m->ws, B, T, hidden, len, out);
}

void bert_head_ws(wn_model *m, bert_ws *ws, int B, int T, const float *hidden, const int *len, float *out) {
    const int H = m->cfg.hidden_size;
    if (m->kind == WN_MODEL_BIENCODER) {
        for (int b = 0; b < B; b++) pool_one(m, hidden + (size_t)b * T * H, len[b], out + (size_t)b * m->dim);
        return;
    }
    /* BertPooler: tanh(W h[CLS] + b) (RoBERTa's, MPNet's classifier.dense too;
     * DistilBERT's pre_classifier with ReLU); then the classifier on it */
    float *cls = ws->scratch + head_offset(m, ws, B, T);
    float *pooled = cls + (size_t)B * H;
    for (int b = 0; b < B; b++) memcpy(cls + (size_t)b * H, hidden + (size_t)b * T * H, sizeof(float) * H);
    nn_linear(ws->pool, cls, B, &m->pooler, m->pooler_b, m->head_relu ? NN_ACT_NONE : NN_ACT_TANH, pooled);
    if (m->head_relu)
        for (size_t i = 0; i < (size_t)B * H; i++) pooled[i] = pooled[i] > 0 ? pooled[i] : 0;
    nn_linear(ws->pool, pooled, B, &m->classifier, m->cls_b, NN_ACT_NONE, out);
}
