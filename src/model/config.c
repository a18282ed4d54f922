/*
 * config.c - parses the JSON files of a HuggingFace / sentence-transformers
 * model directory. It checks ranges that later code relies on (heads divide the
 * hidden size, sizes bounded) and names the file and field in every error. It
 * does not look at weights (model.c checks them against this config).
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "util/json.h"

/* Integer field in [lo, hi]; required unless def_ok, in which case *out keeps its default. */
static wn_status get_int(const wn_json *root, const char *what, const char *key, long lo, long hi, int required, int *out) {
    const wn_json *j = wn_json_get(root, key);
    if (!j) {
        if (required) return wn_seterr(WN_ERR_FORMAT, "%s: missing \"%s\"", what, key);
        return WN_OK;
    }
    /* range first: casting an out-of-range double to an integer is undefined */
    if (!wn_json_is(j, WN_JSON_NUMBER) || !(j->num >= (double)lo && j->num <= (double)hi) ||
        j->num != floor(j->num))
        return wn_seterr(WN_ERR_FORMAT, "%s: \"%s\" must be a whole number from %ld to %ld", what, key, lo, hi);
    *out = (int)j->num;
    return WN_OK;
}

static wn_status parse_root(const char *json, size_t len, const char *what, wn_json **root) {
    wn_status st = wn_json_parse(json, len, 0, what, root);
    if (st != WN_OK) return st;
    if (!wn_json_is(*root, WN_JSON_OBJECT)) {
        wn_json_free(*root);
        *root = NULL;
        return wn_seterr(WN_ERR_FORMAT, "%s: expected a JSON object", what);
    }
    return WN_OK;
}

/* model_type -> family; NULL name: not one winnow runs. */
static const struct {
    const char *name;
    model_family family;
} families[] = {{"bert", FAMILY_BERT},           {"mpnet", FAMILY_MPNET},          {"distilbert", FAMILY_DISTILBERT},
                {"roberta", FAMILY_ROBERTA},     {"xlm-roberta", FAMILY_ROBERTA}, {"camembert", FAMILY_ROBERTA}};

int config_max_tokens(const bert_config *c) {
    return c->pad_positions ? c->max_position_embeddings - c->pad_token_id - 1 : c->max_position_embeddings;
}

wn_status config_parse_bert(const char *json, size_t len, const char *what, bert_config *c) {
    memset(c, 0, sizeof *c);
    wn_json *root;
    wn_status st = parse_root(json, len, what, &root);
    if (st != WN_OK) return st;
    c->layer_norm_eps = 1e-12f;
    c->type_vocab_size = 2;
    snprintf(c->model_type, sizeof c->model_type, "bert");
    const wn_json *mt = wn_json_get(root, "model_type");
    if (mt && wn_json_is_string(mt)) {
        size_t k = 0, nf = sizeof families / sizeof families[0];
        while (k < nf && strcmp(mt->str, families[k].name)) k++;
        if (k == nf) {
            st = wn_seterr(WN_ERR_UNSUPPORTED,
                           "%s: model_type \"%.40s\" is not supported (bert, mpnet, distilbert, roberta, xlm-roberta, camembert are)", what,
                           mt->str);
            goto done;
        }
        c->family = families[k].family;
        snprintf(c->model_type, sizeof c->model_type, "%s", families[k].name);
    }
    const int distil = c->family == FAMILY_DISTILBERT;
    /* DistilBERT names the same sizes dim, n_heads, n_layers, hidden_dim */
    if ((st = get_int(root, what, "vocab_size", 1, 1 << 24, 1, &c->vocab_size)) ||
        (st = get_int(root, what, distil ? "dim" : "hidden_size", 1, 1 << 14, 1, &c->hidden_size)) ||
        (st = get_int(root, what, distil ? "n_heads" : "num_attention_heads", 1, 1 << 10, 1, &c->num_attention_heads)) ||
        (st = get_int(root, what, distil ? "n_layers" : "num_hidden_layers", 0, 1 << 10, 1, &c->num_hidden_layers)) ||
        (st = get_int(root, what, distil ? "hidden_dim" : "intermediate_size", 1, 1 << 18, 1, &c->intermediate_size)) ||
        (st = get_int(root, what, "max_position_embeddings", 1, 1 << 16, 1, &c->max_position_embeddings)) ||
        (st = get_int(root, what, "type_vocab_size", 1, 1 << 10, 0, &c->type_vocab_size)))
        goto done;
    if (c->hidden_size % c->num_attention_heads) {
        st = wn_seterr(WN_ERR_FORMAT, "%s: hidden_size %d is not a multiple of num_attention_heads %d", what, c->hidden_size,
                       c->num_attention_heads);
        goto done;
    }
    if (c->family == FAMILY_MPNET || distil) { /* no token type embeddings */
        c->type_vocab_size = 0;
        c->type_vocab_none = 1;
    }
    if (c->family == FAMILY_MPNET || c->family == FAMILY_ROBERTA) {
        /* position ids: pad + cumsum(id != pad), masked (create_position_ids_from_input_ids).
         * HF's MPNetEmbeddings fixes its padding_idx at 1 whatever the config says. */
        c->pad_positions = 1;
        c->pad_token_id = 1;
        if (c->family == FAMILY_ROBERTA && (st = get_int(root, what, "pad_token_id", 0, 1 << 16, 0, &c->pad_token_id))) goto done;
        if (config_max_tokens(c) < 1) {
            st = wn_seterr(WN_ERR_FORMAT, "%s: max_position_embeddings %d leaves no position after pad_token_id %d", what,
                           c->max_position_embeddings, c->pad_token_id);
            goto done;
        }
    }
    if (c->family == FAMILY_MPNET) {
        c->rel_buckets = 32;
        if ((st = get_int(root, what, "relative_attention_num_buckets", 2, 1 << 10, 0, &c->rel_buckets))) goto done;
    }
    const wn_json *eps = wn_json_get(root, "layer_norm_eps");
    if (eps && !distil) { /* DistilBERT's LayerNorms use 1e-12 whatever the config */
        if (!wn_json_is_number(eps) || !(eps->num >= FLT_MIN && eps->num < 1)) {
            st = wn_seterr(WN_ERR_FORMAT, "%s: \"layer_norm_eps\" must be a number in [%g, 1) (a float above 0)", what, (double)FLT_MIN);
            goto done;
        }
        c->layer_norm_eps = (float)eps->num;
    }
    const char *act_key = distil ? "activation" : "hidden_act";
    const wn_json *act = wn_json_get(root, act_key);
    if (act && (!wn_json_is_string(act) || strcmp(act->str, "gelu"))) {
        st = wn_seterr(WN_ERR_UNSUPPORTED, "%s: %s \"%.40s\" is not supported: winnow runs %s with \"gelu\" (erf)", what, act_key,
                       wn_json_is_string(act) ? act->str : "(not a string)", c->model_type);
        goto done;
    }
    const wn_json *pet = wn_json_get(root, "position_embedding_type");
    if (pet && wn_json_is(pet, WN_JSON_STRING) && strcmp(pet->str, "absolute")) {
        st = wn_seterr(WN_ERR_UNSUPPORTED, "%s: position_embedding_type \"%.40s\" is not supported (only \"absolute\")", what,
                       pet->str);
        goto done;
    }
    const wn_json *arch = wn_json_get(root, "architectures");
    if (arch && wn_json_is_array(arch)) {
        for (const wn_json *a = arch->child; a; a = a->next) {
            if (!wn_json_is_string(a)) continue;
            size_t n = strlen(a->str), k = strlen("ForSequenceClassification");
            if (n >= k && !strcmp(a->str + n - k, "ForSequenceClassification")) c->is_classifier = 1;
        }
    }
    /* HF: num_labels = len(id2label) when given, else the num_labels field, else 2 */
    c->num_labels = 2;
    if ((st = get_int(root, what, "num_labels", 1, 1 << 16, 0, &c->num_labels))) goto done;
    const wn_json *id2 = wn_json_get(root, "id2label");
    if (id2 && wn_json_is(id2, WN_JSON_OBJECT)) {
        int n = (int)(id2)->len;
        if (n < 1 || n > (1 << 16)) {
            st = wn_seterr(WN_ERR_FORMAT, "%s: \"id2label\" has %d labels", what, n);
            goto done;
        }
        c->num_labels = n;
        for (const wn_json *e = id2->child; e; e = e->next) { /* {"0": "negative", ...} */
            char *end;
            long i = strtol(e->key, &end, 10);
            if (*end || end == e->key || i < 0 || i >= n || i >= CONFIG_MAX_LABELS || !wn_json_is_string(e)) continue;
            size_t len = strlen(e->str);
            if (len >= CONFIG_LABEL_BYTES) { /* cut at a character boundary */
                len = CONFIG_LABEL_BYTES - 1;
                while (len && ((unsigned char)e->str[len] & 0xC0) == 0x80) len--;
            }
            memcpy(c->label[i], e->str, len);
            c->label[i][len] = 0;
        }
    }
    const wn_json *wj = wn_json_get(root, "winnow");
    const wn_json *ri = wj && wn_json_is(wj, WN_JSON_OBJECT) ? wn_json_get(wj, "rerank_interpolate") : NULL;
    if (ri) {
        if (!wn_json_is_number(ri) || !(ri->num >= 0 && ri->num <= 1)) {
            st = wn_seterr(WN_ERR_FORMAT, "%s: \"winnow\": {\"rerank_interpolate\"} must be a number in [0, 1]", what);
            goto done;
        }
        c->rerank_interpolate = (float)ri->num;
    }
done:
    wn_json_free(root);
    return st;
}

static int get_bool(const wn_json *root, const char *key) {
    const wn_json *j = wn_json_get(root, key);
    return j && wn_json_is(j, WN_JSON_TRUE);
}

wn_status config_parse_pooling(const char *json, size_t len, const char *what, pool_config *p) {
    wn_json *root;
    wn_status st = parse_root(json, len, what, &root);
    if (st != WN_OK) return st;
    p->cls = get_bool(root, "pooling_mode_cls_token");
    p->max = get_bool(root, "pooling_mode_max_tokens");
    p->mean = get_bool(root, "pooling_mode_mean_tokens");
    p->mean_sqrt = get_bool(root, "pooling_mode_mean_sqrt_len_tokens");
    const char *other[] = {"pooling_mode_weightedmean_tokens", "pooling_mode_lasttoken"};
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++)
        if (get_bool(root, other[i])) st = wn_seterr(WN_ERR_UNSUPPORTED, "%s: %s is not supported (cls, mean, max, mean_sqrt_len are)", what, other[i]);
    if (st == WN_OK && !(p->cls || p->max || p->mean || p->mean_sqrt))
        st = wn_seterr(WN_ERR_FORMAT, "%s: no pooling mode is switched on", what);
    wn_json_free(root);
    return st;
}

int pool_dim(const pool_config *p, int hidden) { return hidden * (p->cls + p->max + p->mean + p->mean_sqrt); }

static wn_status read_json_file(const char *dir, const char *name, char **path, char **text, size_t *len) {
    *text = NULL;
    *path = wn_path_join(dir, name);
    if (!*path) return wn_seterr(WN_ERR_NOMEM, "out of memory");
    return wn_read_file(*path, text, len);
}

wn_status config_load_pooling(const char *dir, int hidden, pool_config *p) {
    memset(p, 0, sizeof *p);
    p->mean = 1;
    char *path = NULL, *text = NULL, *ppath = NULL, *sub = NULL;
    size_t len;
    wn_json *root = NULL;
    wn_status st = read_json_file(dir, "sentence_bert_config.json", &path, &text, &len);
    if (st == WN_OK) {
        wn_json *sb;
        if ((st = parse_root(text, len, path, &sb)) != WN_OK) goto done;
        const wn_json *m = wn_json_get(sb, "max_seq_length");
        if (wn_json_is(m, WN_JSON_NUMBER) && m->num >= 1 && m->num <= 1 << 20) p->max_seq_len = (int)m->num;
        wn_json_free(sb);
    } else if (st != WN_ERR_NOTFOUND) goto done;
    wn_free(path);
    wn_free(text);
    path = text = NULL;
    st = read_json_file(dir, "modules.json", &path, &text, &len);
    if (st == WN_ERR_NOTFOUND) { /* a plain HF model: mean pooling, no Normalize */
        wn_clearerr();
        st = WN_OK;
        goto done;
    }
    if (st != WN_OK) goto done;
    if ((st = wn_json_parse(text, len, 0, path, &root)) != WN_OK) goto done;
    if (!wn_json_is(root, WN_JSON_ARRAY)) {
        st = wn_seterr(WN_ERR_FORMAT, "%s: expected a JSON array of modules", path);
        goto done;
    }
    int have_pool = 0;
    for (const wn_json *e = root->child; e; e = e->next) {
        const wn_json *ty = wn_json_get(e, "type"), *pa = wn_json_get(e, "path");
        if (!wn_json_is(ty, WN_JSON_STRING)) {
            st = wn_seterr(WN_ERR_FORMAT, "%s: a module without a \"type\" string", path);
            goto done;
        }
        const char *t = ty->str;
        const char *dot = strrchr(t, '.');
        const char *base = dot ? dot + 1 : t;
        if (!strcmp(base, "Transformer")) continue;
        if (!strcmp(base, "Normalize")) {
            p->normalize = 1;
            continue;
        }
        if (!strcmp(base, "Pooling")) {
            if (!wn_json_is(pa, WN_JSON_STRING) || strstr(pa->str, "..")) {
                st = wn_seterr(WN_ERR_FORMAT, "%s: the Pooling module needs a relative \"path\"", path);
                goto done;
            }
            char *pdir = wn_path_join(dir, pa->str);
            if (!pdir) {
                st = wn_seterr(WN_ERR_NOMEM, "out of memory");
                goto done;
            }
            st = read_json_file(pdir, "config.json", &ppath, &sub, &len);
            wn_free(pdir);
            if (st != WN_OK) goto done;
            if ((st = config_parse_pooling(sub, len, ppath, p)) != WN_OK) goto done;
            have_pool = 1;
            continue;
        }
        st = wn_seterr(WN_ERR_UNSUPPORTED, "%s: module type \"%.80s\" is not supported (Transformer, Pooling, Normalize are)", path, t);
        goto done;
    }
    if (!have_pool) p->mean = 1;
    (void)hidden;
done:
    wn_json_free(root);
    wn_free(path);
    wn_free(text);
    wn_free(ppath);
    wn_free(sub);
    return st;
}

void config_free_prompts(prompt_config *pc) {
    for (int i = 0; i < pc->n; i++) {
        wn_free(pc->names[i]);
        wn_free(pc->texts[i]);
    }
    wn_free(pc->names);
    wn_free(pc->texts);
    memset(pc, 0, sizeof *pc);
    pc->def = -1;
}

wn_status config_load_prompts(const char *dir, prompt_config *pc) {
    memset(pc, 0, sizeof *pc);
    pc->def = -1;
    char *path = NULL, *text = NULL;
    size_t len;
    wn_json *root = NULL;
    wn_status st = read_json_file(dir, "config_sentence_transformers.json", &path, &text, &len);
    if (st == WN_ERR_NOTFOUND) {
        wn_clearerr();
        st = WN_OK;
        goto done;
    }
    if (st != WN_OK || (st = parse_root(text, len, path, &root)) != WN_OK) goto done;
    const wn_json *pr = wn_json_get(root, "prompts");
    if (pr && !wn_json_is_object(pr)) {
        st = wn_seterr(WN_ERR_FORMAT, "%s: \"prompts\" must be an object of name: text", path);
        goto done;
    }
    int n = pr ? wn_json_size(pr) : 0;
    if (n > 0) {
        pc->names = wn_calloc((size_t)n, sizeof *pc->names);
        pc->texts = wn_calloc((size_t)n, sizeof *pc->texts);
        if (!pc->names || !pc->texts) {
            st = wn_seterr(WN_ERR_NOMEM, "%s: out of memory", path);
            goto done;
        }
    }
    for (const wn_json *e = pr ? pr->child : NULL; e; e = e->next) {
        if (!wn_json_is_string(e)) {
            st = wn_seterr(WN_ERR_FORMAT, "%s: prompt \"%.40s\" is not a string", path, e->key);
            goto done;
        }
        pc->names[pc->n] = wn_strdup(e->key);
        pc->texts[pc->n] = wn_strdup(e->str);
        pc->n++;
        if (!pc->names[pc->n - 1] || !pc->texts[pc->n - 1]) {
            st = wn_seterr(WN_ERR_NOMEM, "%s: out of memory", path);
            goto done;
        }
    }
    const wn_json *wj = wn_json_get(root, "winnow");
    if (wj && !wn_json_is_object(wj)) {
        st = wn_seterr(WN_ERR_FORMAT, "%s: \"winnow\" must be an object", path);
        goto done;
    }
    const wn_json *ps = wj ? wn_json_get(wj, "pair_scorer") : NULL, *ri = wj ? wn_json_get(wj, "rerank_interpolate") : NULL;
    if (ps && !wn_json_is_bool(ps)) {
        st = wn_seterr(WN_ERR_FORMAT, "%s: \"winnow\": {\"pair_scorer\"} must be true or false", path);
        goto done;
    }
    pc->pair_scorer = wn_json_is_true(ps);
    if (ri && (!wn_json_is_number(ri) || !(ri->num >= 0 && ri->num <= 1))) {
        st = wn_seterr(WN_ERR_FORMAT, "%s: \"winnow\": {\"rerank_interpolate\"} must be a number in [0, 1]", path);
        goto done;
    }
    pc->rerank_interpolate = ri ? (float)ri->num : 0;
    const wn_json *def = wn_json_get(root, "default_prompt_name");
    if (wn_json_is_string(def)) {
        for (int i = 0; i < pc->n; i++)
            if (!strcmp(pc->names[i], def->str)) pc->def = i;
        if (pc->def < 0) {
            st = wn_seterr(WN_ERR_FORMAT, "%s: default_prompt_name \"%.40s\" is not one of its prompts", path, def->str);
            goto done;
        }
    }
done:
    if (st != WN_OK) config_free_prompts(pc);
    wn_json_free(root);
    wn_free(path);
    wn_free(text);
    return st;
}
