/*
 * synth.c - writes synthetic BERT models whose weights come from a counter-based
 * generator shared with scripts/make_reference.py (see synth.h). The scales are
 * powers of two so (2u - 1) * scale is exact and only the final add rounds: the
 * same float in C and numpy whether or not the compiler fuses multiply-add.
 * Weights are larger than BERT's init (uniform +-0.125, std 0.072) so that every
 * layer changes the result and a wrong layer cannot hide.
 */
#include <stdio.h>
#include <string.h>

#include "nn/nn.h"
#include "synth.h"

static uint64_t mix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

float synth_value(uint64_t seed, int ti, uint64_t e, float scale, float offset) {
    uint64_t key = (seed * 0x9E3779B97F4A7C15ull) ^ ((uint64_t)(ti + 1) * 0xD1B54A32D192ED03ull);
    uint64_t z = mix(key + (e + 1) * 0x9E3779B97F4A7C15ull);
    float u = (float)(z >> 40) * 0x1p-24f;
    float v = (u * 2.0f - 1.0f) * scale;
    return v + offset;
}

synth_spec synth_minilm(int classifier, st_dtype dt, uint64_t seed) {
    synth_spec s = {30522, 384, 12, 6, 1536, 512, 2, classifier, 1, dt, seed};
    return s;
}

typedef struct {
    char name[96];
    int ndim;
    int64_t shape[2];
    float scale, offset;
} spec_tensor;

/* The tensor list in file order; index = the generator's tensor number. */
static int tensor_list(const synth_spec *s, spec_tensor *t) {
    const int H = s->hidden, I = s->inter;
    const char *pre = s->classifier ? "bert." : "";
    int n = 0;
#define T2(nm, a, b, sc, of) (snprintf(t[n].name, sizeof t[n].name, "%s", nm), t[n].ndim = 2, t[n].shape[0] = (a), t[n].shape[1] = (b), t[n].scale = (sc), t[n].offset = (of), n++)
#define T1(nm, a, sc, of) (snprintf(t[n].name, sizeof t[n].name, "%s", nm), t[n].ndim = 1, t[n].shape[0] = (a), t[n].shape[1] = 0, t[n].scale = (sc), t[n].offset = (of), n++)
    char nm[96];
    snprintf(nm, sizeof nm, "%sembeddings.word_embeddings.weight", pre), T2(nm, s->vocab, H, 0.5f, 0.0f);
    snprintf(nm, sizeof nm, "%sembeddings.position_embeddings.weight", pre), T2(nm, s->max_pos, H, 0.5f, 0.0f);
    snprintf(nm, sizeof nm, "%sembeddings.token_type_embeddings.weight", pre), T2(nm, s->type_vocab, H, 0.5f, 0.0f);
    snprintf(nm, sizeof nm, "%sembeddings.LayerNorm.weight", pre), T1(nm, H, 0.125f, 1.0f);
    snprintf(nm, sizeof nm, "%sembeddings.LayerNorm.bias", pre), T1(nm, H, 0.0625f, 0.0f);
    for (int l = 0; l < s->layers; l++) {
        static const char *qkv[3] = {"query", "key", "value"};
        for (int j = 0; j < 3; j++) {
            snprintf(nm, sizeof nm, "%sencoder.layer.%d.attention.self.%s.weight", pre, l, qkv[j]), T2(nm, H, H, 0.125f, 0.0f);
            snprintf(nm, sizeof nm, "%sencoder.layer.%d.attention.self.%s.bias", pre, l, qkv[j]), T1(nm, H, 0.0625f, 0.0f);
        }
        snprintf(nm, sizeof nm, "%sencoder.layer.%d.attention.output.dense.weight", pre, l), T2(nm, H, H, 0.125f, 0.0f);
        snprintf(nm, sizeof nm, "%sencoder.layer.%d.attention.output.dense.bias", pre, l), T1(nm, H, 0.0625f, 0.0f);
        snprintf(nm, sizeof nm, "%sencoder.layer.%d.attention.output.LayerNorm.weight", pre, l), T1(nm, H, 0.125f, 1.0f);
        snprintf(nm, sizeof nm, "%sencoder.layer.%d.attention.output.LayerNorm.bias", pre, l), T1(nm, H, 0.0625f, 0.0f);
        snprintf(nm, sizeof nm, "%sencoder.layer.%d.intermediate.dense.weight", pre, l), T2(nm, I, H, 0.125f, 0.0f);
        snprintf(nm, sizeof nm, "%sencoder.layer.%d.intermediate.dense.bias", pre, l), T1(nm, I, 0.0625f, 0.0f);
        snprintf(nm, sizeof nm, "%sencoder.layer.%d.output.dense.weight", pre, l), T2(nm, H, I, 0.0625f, 0.0f);
        snprintf(nm, sizeof nm, "%sencoder.layer.%d.output.dense.bias", pre, l), T1(nm, H, 0.0625f, 0.0f);
        snprintf(nm, sizeof nm, "%sencoder.layer.%d.output.LayerNorm.weight", pre, l), T1(nm, H, 0.125f, 1.0f);
        snprintf(nm, sizeof nm, "%sencoder.layer.%d.output.LayerNorm.bias", pre, l), T1(nm, H, 0.0625f, 0.0f);
    }
    if (s->classifier) {
        snprintf(nm, sizeof nm, "%spooler.dense.weight", pre), T2(nm, H, H, 0.125f, 0.0f);
        snprintf(nm, sizeof nm, "%spooler.dense.bias", pre), T1(nm, H, 0.0625f, 0.0f);
        T2("classifier.weight", s->num_labels, H, 0.125f, 0.0f);
        T1("classifier.bias", s->num_labels, 0.0625f, 0.0f);
    }
#undef T1
#undef T2
    return n;
}

wn_status synth_write_safetensors(const char *path, const synth_spec *s) {
    int max_t = 5 + 16 * s->layers + 4 + 1;
    spec_tensor *t = wn_calloc((size_t)max_t, sizeof *t);
    st_out_tensor *o = wn_calloc((size_t)max_t, sizeof *o);
    void **bufs = wn_calloc((size_t)max_t, sizeof *bufs);
    wn_status st = WN_OK;
    if (!t || !o || !bufs) {
        st = wn_seterr(WN_ERR_NOMEM, "synth: out of memory");
        goto done;
    }
    int n = tensor_list(s, t);
    size_t es = st_dtype_size(s->dtype);
    for (int i = 0; i < n; i++) {
        size_t numel = (size_t)t[i].shape[0] * (t[i].ndim == 2 ? (size_t)t[i].shape[1] : 1);
        unsigned char *b = wn_malloc(numel * es);
        if (!(bufs[i] = b)) {
            st = wn_seterr(WN_ERR_NOMEM, "synth: out of memory for tensor '%s'", t[i].name);
            goto done;
        }
        for (size_t e = 0; e < numel; e++) {
            float v = synth_value(s->seed, i, e, t[i].scale, t[i].offset);
            uint16_t h;
            switch (s->dtype) {
            case ST_F16: h = nn_f32_to_f16(v), memcpy(b + 2 * e, &h, 2); break;
            case ST_BF16: h = nn_f32_to_bf16(v), memcpy(b + 2 * e, &h, 2); break;
            default: memcpy(b + 4 * e, &v, 4); break;
            }
        }
        o[i].name = t[i].name;
        o[i].dtype = s->dtype;
        o[i].ndim = t[i].ndim;
        o[i].shape[0] = t[i].shape[0];
        o[i].shape[1] = t[i].shape[1];
        o[i].data = b;
    }
    /* an extra tensor a loader must ignore, as HF checkpoints carry */
    int64_t *pid = NULL;
    if (!s->classifier) {
        pid = wn_malloc((size_t)s->max_pos * sizeof *pid);
        if (!pid) {
            st = wn_seterr(WN_ERR_NOMEM, "synth: out of memory");
            goto done;
        }
        for (int i = 0; i < s->max_pos; i++) pid[i] = i;
        o[n] = (st_out_tensor){"embeddings.position_ids", ST_I64, 2, {1, s->max_pos}, pid};
        bufs[n++] = pid;
    }
    st = st_write(path, o, n);
done:
    if (bufs)
        for (int i = 0; i < max_t; i++) wn_free(bufs[i]);
    wn_free(bufs);
    wn_free(t);
    wn_free(o);
    return st;
}

static wn_status write_text(const char *dir, const char *name, const char *text) {
    char *path = wn_path_join(dir, name);
    if (!path) return wn_seterr(WN_ERR_NOMEM, "out of memory");
    wn_atomic_file af;
    wn_status st = wn_atomic_open(&af, path);
    if (st == WN_OK) {
        st = wn_atomic_write(&af, text, strlen(text));
        if (st == WN_OK) st = wn_atomic_commit(&af);
        else wn_atomic_abort(&af);
    }
    wn_free(path);
    return st;
}

wn_status synth_write_model(const char *dir, const synth_spec *s) {
    char cfg[2048], *sub = NULL, *path = NULL;
    wn_status st = wn_mkdirs(dir, 0755);
    if (st != WN_OK) return st;
    snprintf(cfg, sizeof cfg,
             "{\n  \"architectures\": [\"%s\"],\n  \"hidden_act\": \"gelu\",\n  \"hidden_size\": %d,\n"
             "  \"intermediate_size\": %d,\n  \"layer_norm_eps\": 1e-12,\n  \"max_position_embeddings\": %d,\n"
             "  \"model_type\": \"bert\",\n  \"num_attention_heads\": %d,\n  \"num_hidden_layers\": %d,\n"
             "  \"pad_token_id\": 0,\n  \"position_embedding_type\": \"absolute\",\n  \"type_vocab_size\": %d,\n"
             "  \"vocab_size\": %d%s%s\n}\n",
             s->classifier ? "BertForSequenceClassification" : "BertModel", s->hidden, s->inter, s->max_pos, s->heads,
             s->layers, s->type_vocab, s->vocab, s->classifier ? ",\n  \"num_labels\": " : "", "");
    if (s->classifier) {
        size_t k = strlen(cfg) - 2; /* before "\n}" */
        snprintf(cfg + k, sizeof cfg - k, "%d\n}\n", s->num_labels);
    }
    if ((st = write_text(dir, "config.json", cfg))) return st;
    if (!s->classifier) {
        if ((st = write_text(dir, "modules.json",
                             "[\n  {\"idx\": 0, \"name\": \"0\", \"path\": \"\", \"type\": \"sentence_transformers.models.Transformer\"},\n"
                             "  {\"idx\": 1, \"name\": \"1\", \"path\": \"1_Pooling\", \"type\": \"sentence_transformers.models.Pooling\"},\n"
                             "  {\"idx\": 2, \"name\": \"2\", \"path\": \"2_Normalize\", \"type\": \"sentence_transformers.models.Normalize\"}\n]\n")))
            return st;
        snprintf(cfg, sizeof cfg, "{\"max_seq_length\": %d, \"do_lower_case\": false}\n", s->max_pos);
        if ((st = write_text(dir, "sentence_bert_config.json", cfg))) return st;
        if (!(sub = wn_path_join(dir, "1_Pooling"))) return wn_seterr(WN_ERR_NOMEM, "out of memory");
        if ((st = wn_mkdirs(sub, 0755)) == WN_OK) {
            snprintf(cfg, sizeof cfg,
                     "{\"word_embedding_dimension\": %d, \"pooling_mode_cls_token\": false, \"pooling_mode_mean_tokens\": true, "
                     "\"pooling_mode_max_tokens\": false, \"pooling_mode_mean_sqrt_len_tokens\": false}\n",
                     s->hidden);
            st = write_text(sub, "config.json", cfg);
        }
        wn_free(sub);
        if (st) return st;
    }
    if (!(path = wn_path_join(dir, "model.safetensors"))) return wn_seterr(WN_ERR_NOMEM, "out of memory");
    st = synth_write_safetensors(path, s);
    wn_free(path);
    return st;
}
