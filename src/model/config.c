/*
 * config.c - parses the JSON files of a HuggingFace / sentence-transformers
 * model directory. It checks ranges that later code relies on (heads divide the
 * hidden size, sizes bounded) and names the file and field in every error. It
 * does not look at weights (model.c checks them against this config).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "config.h"

/* Integer field in [lo, hi]; required unless def_ok, in which case *out keeps its default. */
static wn_status get_int(const cJSON *root, const char *what, const char *key, long lo, long hi, int required, int *out) {
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!j) {
        if (required) return wn_seterr(WN_ERR_FORMAT, "%s: missing \"%s\"", what, key);
        return WN_OK;
    }
    /* range first: casting an out-of-range double to an integer is undefined */
    if (!cJSON_IsNumber(j) || !(j->valuedouble >= (double)lo && j->valuedouble <= (double)hi) ||
        j->valuedouble != floor(j->valuedouble))
        return wn_seterr(WN_ERR_FORMAT, "%s: \"%s\" must be a whole number from %ld to %ld", what, key, lo, hi);
    *out = (int)j->valuedouble;
    return WN_OK;
}

static wn_status parse_root(const char *json, size_t len, const char *what, cJSON **root) {
    const char *end = NULL;
    *root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
    if (!*root && json_valid(json, len)) return wn_seterr(WN_ERR_NOMEM, "%s: out of memory parsing the JSON", what);
    if (!*root) {
        size_t at = end ? (size_t)(end - json) : 0;
        int line = 1;
        for (size_t i = 0; i < at && i < len; i++) line += json[i] == '\n';
        return wn_seterr(WN_ERR_FORMAT, "%s: invalid JSON near line %d (byte %zu)", what, line, at);
    }
    if (!cJSON_IsObject(*root)) {
        cJSON_Delete(*root);
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
    cJSON *root;
    wn_status st = parse_root(json, len, what, &root);
    if (st != WN_OK) return st;
    c->layer_norm_eps = 1e-12f;
    c->type_vocab_size = 2;
    snprintf(c->model_type, sizeof c->model_type, "bert");
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(root, "model_type");
    if (mt && cJSON_IsString(mt)) {
        size_t k = 0, nf = sizeof families / sizeof families[0];
        while (k < nf && strcmp(mt->valuestring, families[k].name)) k++;
        if (k == nf) {
            st = wn_seterr(WN_ERR_UNSUPPORTED,
                           "%s: model_type \"%.40s\" is not supported (bert, mpnet, distilbert, roberta, xlm-roberta, camembert are)", what,
                           mt->valuestring);
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
    const cJSON *eps = cJSON_GetObjectItemCaseSensitive(root, "layer_norm_eps");
    if (eps && !distil) { /* DistilBERT's LayerNorms use 1e-12 whatever the config */
        if (!cJSON_IsNumber(eps) || !(eps->valuedouble > 0 && eps->valuedouble < 1)) {
            st = wn_seterr(WN_ERR_FORMAT, "%s: \"layer_norm_eps\" must be a number in (0, 1)", what);
            goto done;
        }
        c->layer_norm_eps = (float)eps->valuedouble;
    }
    const char *act_key = distil ? "activation" : "hidden_act";
    const cJSON *act = cJSON_GetObjectItemCaseSensitive(root, act_key);
    if (act && (!cJSON_IsString(act) || strcmp(act->valuestring, "gelu"))) {
        st = wn_seterr(WN_ERR_UNSUPPORTED, "%s: %s \"%.40s\" is not supported: winnow runs %s with \"gelu\" (erf)", what, act_key,
                       cJSON_IsString(act) ? act->valuestring : "(not a string)", c->model_type);
        goto done;
    }
    const cJSON *pet = cJSON_GetObjectItemCaseSensitive(root, "position_embedding_type");
    if (pet && cJSON_IsString(pet) && strcmp(pet->valuestring, "absolute")) {
        st = wn_seterr(WN_ERR_UNSUPPORTED, "%s: position_embedding_type \"%.40s\" is not supported (only \"absolute\")", what,
                       pet->valuestring);
        goto done;
    }
    const cJSON *arch = cJSON_GetObjectItemCaseSensitive(root, "architectures");
    if (arch && cJSON_IsArray(arch)) {
        for (const cJSON *a = arch->child; a; a = a->next) {
            if (!cJSON_IsString(a)) continue;
            size_t n = strlen(a->valuestring), k = strlen("ForSequenceClassification");
            if (n >= k && !strcmp(a->valuestring + n - k, "ForSequenceClassification")) c->is_classifier = 1;
        }
    }
    /* HF: num_labels = len(id2label) when given, else the num_labels field, else 2 */
    c->num_labels = 2;
    if ((st = get_int(root, what, "num_labels", 1, 1 << 16, 0, &c->num_labels))) goto done;
    const cJSON *id2 = cJSON_GetObjectItemCaseSensitive(root, "id2label");
    if (id2 && cJSON_IsObject(id2)) {
        int n = cJSON_GetArraySize(id2);
        if (n < 1 || n > (1 << 16)) {
            st = wn_seterr(WN_ERR_FORMAT, "%s: \"id2label\" has %d labels", what, n);
            goto done;
        }
        c->num_labels = n;
    }
done:
    cJSON_Delete(root);
    return st;
}

static int get_bool(const cJSON *root, const char *key) {
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(root, key);
    return j && cJSON_IsTrue(j);
}

wn_status config_parse_pooling(const char *json, size_t len, const char *what, pool_config *p) {
    cJSON *root;
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
    cJSON_Delete(root);
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
    cJSON *root = NULL;
    wn_status st = read_json_file(dir, "sentence_bert_config.json", &path, &text, &len);
    if (st == WN_OK) {
        cJSON *sb;
        if ((st = parse_root(text, len, path, &sb)) != WN_OK) goto done;
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(sb, "max_seq_length");
        if (cJSON_IsNumber(m) && m->valuedouble >= 1 && m->valuedouble <= 1 << 20) p->max_seq_len = (int)m->valuedouble;
        cJSON_Delete(sb);
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
    const char *end = NULL;
    root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!root && json_valid(text, len)) {
        st = wn_seterr(WN_ERR_NOMEM, "%s: out of memory parsing the JSON", path);
        goto done;
    }
    if (!root || !cJSON_IsArray(root)) {
        st = wn_seterr(WN_ERR_FORMAT, "%s: expected a JSON array of modules", path);
        goto done;
    }
    int have_pool = 0;
    for (const cJSON *e = root->child; e; e = e->next) {
        const cJSON *ty = cJSON_GetObjectItemCaseSensitive(e, "type"), *pa = cJSON_GetObjectItemCaseSensitive(e, "path");
        if (!cJSON_IsString(ty)) {
            st = wn_seterr(WN_ERR_FORMAT, "%s: a module without a \"type\" string", path);
            goto done;
        }
        const char *t = ty->valuestring;
        const char *dot = strrchr(t, '.');
        const char *base = dot ? dot + 1 : t;
        if (!strcmp(base, "Transformer")) continue;
        if (!strcmp(base, "Normalize")) {
            p->normalize = 1;
            continue;
        }
        if (!strcmp(base, "Pooling")) {
            if (!cJSON_IsString(pa) || strstr(pa->valuestring, "..")) {
                st = wn_seterr(WN_ERR_FORMAT, "%s: the Pooling module needs a relative \"path\"", path);
                goto done;
            }
            char *pdir = wn_path_join(dir, pa->valuestring);
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
    cJSON_Delete(root);
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
    cJSON *root = NULL;
    wn_status st = read_json_file(dir, "config_sentence_transformers.json", &path, &text, &len);
    if (st == WN_ERR_NOTFOUND) {
        wn_clearerr();
        st = WN_OK;
        goto done;
    }
    if (st != WN_OK || (st = parse_root(text, len, path, &root)) != WN_OK) goto done;
    const cJSON *pr = cJSON_GetObjectItemCaseSensitive(root, "prompts");
    if (pr && !cJSON_IsObject(pr)) {
        st = wn_seterr(WN_ERR_FORMAT, "%s: \"prompts\" must be an object of name: text", path);
        goto done;
    }
    int n = pr ? cJSON_GetArraySize(pr) : 0;
    if (n > 0) {
        pc->names = wn_calloc((size_t)n, sizeof *pc->names);
        pc->texts = wn_calloc((size_t)n, sizeof *pc->texts);
        if (!pc->names || !pc->texts) {
            st = wn_seterr(WN_ERR_NOMEM, "%s: out of memory", path);
            goto done;
        }
    }
    for (const cJSON *e = pr ? pr->child : NULL; e; e = e->next) {
        if (!cJSON_IsString(e)) {
            st = wn_seterr(WN_ERR_FORMAT, "%s: prompt \"%.40s\" is not a string", path, e->string);
            goto done;
        }
        pc->names[pc->n] = wn_strdup(e->string);
        pc->texts[pc->n] = wn_strdup(e->valuestring);
        pc->n++;
        if (!pc->names[pc->n - 1] || !pc->texts[pc->n - 1]) {
            st = wn_seterr(WN_ERR_NOMEM, "%s: out of memory", path);
            goto done;
        }
    }
    const cJSON *def = cJSON_GetObjectItemCaseSensitive(root, "default_prompt_name");
    if (cJSON_IsString(def)) {
        for (int i = 0; i < pc->n; i++)
            if (!strcmp(pc->names[i], def->valuestring)) pc->def = i;
        if (pc->def < 0) {
            st = wn_seterr(WN_ERR_FORMAT, "%s: default_prompt_name \"%.40s\" is not one of its prompts", path, def->valuestring);
            goto done;
        }
    }
done:
    if (st != WN_OK) config_free_prompts(pc);
    cJSON_Delete(root);
    wn_free(path);
    wn_free(text);
    return st;
}
