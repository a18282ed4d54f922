/*
 * vocab.c - loads a BERT tokenizer from a model directory, the way transformers'
 * AutoTokenizer builds its fast BertTokenizer:
 *   - vocab: tokenizer.json's model.vocab when that file exists (it wins), else
 *     vocab.txt (id = line number; a repeated token keeps its last id);
 *   - normalizer flags: tokenizer_config.json's do_lower_case (default true),
 *     strip_accents (null: follows lowercase), tokenize_chinese_chars (default true)
 *     override tokenizer.json's normalizer, as BertTokenizerFast.__init__ does; with
 *     no tokenizer_config.json, tokenizer.json's normalizer is used as it is;
 *   - special tokens: [CLS] [SEP] [UNK] [PAD] [MASK], renamed by tokenizer_config.json
 *     then special_tokens_map.json; tokenizer.json's added_tokens (or, without it,
 *     the special tokens) are matched in the raw text;
 *   - max length: sentence_bert_config.json max_seq_length, else tokenizer_config's
 *     model_max_length when < 100000, else config.json max_position_embeddings, else 512.
 * BPE (merges, bpe.c) and Unigram (vocab of [piece, score], unigram.c) models read
 * the rest of their tokenizer.json themselves.
 */
#include "util/json.h"
#include <string.h>

#include "tokenizer.h"

int32_t vocab_find(const wn_tokenizer *t, int cont, const char *s, size_t len) {
    char tmp[TOK_MAX_PREFIX + 256];
    if (cont) {
        if (len + (size_t)t->prefix_len > sizeof tmp) return -1;
        memcpy(tmp, t->prefix, (size_t)t->prefix_len);
        memcpy(tmp + t->prefix_len, s, len);
        s = tmp;
        len += (size_t)t->prefix_len;
    }
    int64_t i = wn_strmap_find(&t->strs, s, len);
    return i < 0 ? -1 : t->map[i];
}

wn_status vocab_add(wn_tokenizer *t, const char *s, size_t len, int32_t id, size_t *map_cap) {
    int64_t i;
    if (id >= t->n_vocab) t->n_vocab = id + 1;
    if (len > 1020) return WN_OK; /* never looked up (WordPiece words: 100 chars; BPE merges: 2 KB) */
    if (wn_strmap_intern(&t->strs, s, len, &i, NULL) != WN_OK) return WN_ERR_NOMEM;
    if (wn_grow((void **)&t->map, map_cap, (size_t)i + 1, sizeof *t->map) != WN_OK)
        return wn_seterr(WN_ERR_NOMEM, "tokenizer: out of memory for %lld vocab entries", (long long)i + 1);
    t->map[i] = id;
    if ((int)len > t->max_token_bytes) t->max_token_bytes = (int)len;
    return WN_OK;
}

static wn_status load_vocab_txt(wn_tokenizer *t, const char *path, size_t *map_cap) {
    char *data;
    size_t len;
    wn_status st = wn_read_file(path, &data, &len);
    if (st != WN_OK) return st;
    int32_t id = 0;
    for (size_t i = 0; i < len && st == WN_OK; id++) {
        const char *nl = memchr(data + i, '\n', len - i);
        size_t e = nl ? (size_t)(nl - data) : len, n = e - i;
        if (n && data[i + n - 1] == '\r') n--;
        if (id == INT32_MAX) st = wn_seterr(WN_ERR_FORMAT, "tokenizer: %s has too many lines", path);
        else st = vocab_add(t, data + i, n, id, map_cap);
        i = e + 1;
    }
    wn_free(data);
    if (st == WN_OK && id == 0) st = wn_seterr(WN_ERR_FORMAT, "tokenizer: %s is empty", path);
    return st;
}

/* Parses text[0..len) of file path (WN_ERR_FORMAT naming line and column, or WN_ERR_NOMEM). */
static wn_status parse_json(const char *path, const char *text, size_t len, wn_json **out) {
    wn_status st = wn_json_parse(text, len, 0, path, out);
    return st == WN_OK ? st : wn_seterr_prefix(st, "tokenizer: ");
}

/* Parses dir/name into *out (NULL when the file does not exist). For
 * tokenizer.json (t != NULL) the vocab is read by vocab_json.c when it can, and
 * *vocab_done says so; the JSON reader then sees the file with "vocab": {}. */
static wn_status read_json(const char *dir, const char *name, wn_json **out, wn_tokenizer *t, size_t *map_cap,
                           int *vocab_done) {
    *out = NULL;
    char *path = wn_path_join(dir, name), *data = NULL, *cut = NULL;
    if (!path) return wn_seterr(WN_ERR_NOMEM, "tokenizer: out of memory");
    wn_status st = WN_OK;
    size_t len, vs, ve;
    if (!wn_file_exists(path) || (st = wn_read_file(path, &data, &len)) != WN_OK) goto done;
    if (t && vocab_json_span(data, len, &vs, &ve) == 0) {
        if (!(cut = wn_malloc(len - (ve - vs) + 3))) {
            st = wn_seterr(WN_ERR_NOMEM, "tokenizer: out of memory reading %s", path);
            goto done;
        }
        memcpy(cut, data, vs);
        memcpy(cut + vs, "{}", 2);
        memcpy(cut + vs + 2, data + ve, len - ve);
        if (parse_json(path, cut, len - (ve - vs) + 2, out) == WN_OK) {
            st = vocab_json_read(t, data + vs, ve - vs, map_cap);
            if (st == WN_OK) *vocab_done = 1;
            if (st != WN_ERR_FORMAT) goto done;
            wn_json_free(*out); /* not the plain form: let the JSON reader read it all */
            *out = NULL;
        }
    }
    st = parse_json(path, data, len, out);
done:
    wn_free(cut);
    wn_free(data);
    wn_free(path);
    return st;
}

/* A boolean config value: 1, 0, or def when absent; null gives -1. */
static int json_flag(const wn_json *o, const char *key, int def) {
    const wn_json *v = wn_json_get(o, key);
    if (!v) return def;
    if (wn_json_is(v, WN_JSON_NULL)) return -1;
    return wn_json_is_bool(v) ? wn_json_is(v, WN_JSON_TRUE) : def;
}

/* A special token's text: "[CLS]" or {"content": "[CLS]", ...}. */
static const char *json_token(const wn_json *o, const char *key) {
    const wn_json *v = wn_json_get(o, key);
    if (wn_json_is(v, WN_JSON_OBJECT)) v = wn_json_get(v, "content");
    return wn_json_is(v, WN_JSON_STRING) ? v->str : NULL;
}

static wn_status add_added_flags(wn_tokenizer *t, const char *s, int32_t id, int normalized, int lstrip, int rstrip,
                                 size_t *cap) {
    size_t len = strlen(s);
    if (!len || id < 0) return WN_OK;
    for (int i = 0; i < t->n_added; i++)
        if (!strcmp(t->added[i].text, s)) return WN_OK;
    if (wn_grow((void **)&t->added, cap, (size_t)t->n_added + 1, sizeof *t->added) != WN_OK)
        return wn_seterr(WN_ERR_NOMEM, "tokenizer: out of memory");
    tok_added *a = &t->added[t->n_added];
    if (!(a->text = wn_strdup(s))) return wn_seterr(WN_ERR_NOMEM, "tokenizer: out of memory");
    a->len = (int)len;
    a->id = id;
    a->normalized = normalized;
    a->lstrip = lstrip;
    a->rstrip = rstrip;
    t->n_norm_added += normalized != 0;
    t->n_added++;
    t->added_first[(unsigned char)s[0] >> 3] |= (uint8_t)(1u << (s[0] & 7));
    return WN_OK;
}

static wn_status add_added(wn_tokenizer *t, const char *s, int32_t id, size_t *cap) {
    return add_added_flags(t, s, id, 0, 0, 0, cap);
}

/* A post-processor item's special token: BertProcessing's and RobertaProcessing's
 * ["[CLS]", 101]; its id, or -1. */
static int32_t pair_id(const wn_json *o, const char *key) {
    const wn_json *v = wn_json_get(o, key), *id = wn_json_at(v, 1);
    return wn_json_is_array(v) && wn_json_is_number(id) && id->num >= 0 && id->num < INT32_MAX ? (int32_t)id->num
                                                                                                         : -1;
}

/* TemplateProcessing's "single" or "pair" list into tpl; 0, or -1 when malformed. */
static int read_template(const wn_json *pp, const char *key, tok_tpl *tpl, int *n) {
    const wn_json *list = wn_json_get(pp, key), *sp = wn_json_get(pp, "special_tokens");
    *n = 0;
    if (!wn_json_is_array(list)) return -1;
    for (const wn_json *it = list->child; it; it = it->next) {
        const wn_json *seq = wn_json_get(it, "Sequence"), *spt = wn_json_get(it, "SpecialToken");
        const wn_json *o = seq ? seq : spt, *id = wn_json_get(o, "id");
        const wn_json *ty = wn_json_get(o, "type_id");
        if (!o || !wn_json_is_string(id)) return -1;
        int type = wn_json_is_number(ty) && ty->num >= 0 && ty->num < 1 << 16 ? (int)ty->num : 0;
        if (seq) {
            if (*n == TOK_TPL_MAX) return -1;
            tpl[(*n)++] = (tok_tpl){!strcmp(id->str, "B") ? TOK_TPL_B : TOK_TPL_A, type};
            continue;
        }
        const wn_json *ids = wn_json_get(wn_json_get(sp, id->str), "ids");
        if (!wn_json_is_array(ids)) return -1;
        for (const wn_json *x = ids->child; x; x = x->next) {
            if (*n == TOK_TPL_MAX || !wn_json_is_number(x) || x->num < 0 || x->num >= INT32_MAX) return -1;
            tpl[(*n)++] = (tok_tpl){(int32_t)x->num, type};
        }
    }
    return 0;
}

/* A RobertaProcessing's or ByteLevel post-processor's offset trimming (both default
 * to true in tokenizers). */
static void read_trim(wn_tokenizer *t, const wn_json *pp) {
    const wn_json *tr = wn_json_get(pp, "trim_offsets"), *ap = wn_json_get(pp, "add_prefix_space");
    t->trim_offsets = wn_json_is_bool(tr) ? wn_json_is_true(tr) : 1;
    t->trim_prefix_space = wn_json_is_bool(ap) ? wn_json_is_true(ap) : 1;
}

/* tokenizer.json's post_processor into t->tpl; *have 1 when it defines one (null:
 * no special tokens at all, as the HF tokenizer does). */
static wn_status load_post_processor(wn_tokenizer *t, const wn_json *pp, const char *dir, int *have) {
    *have = 0;
    if (!pp) return WN_OK;
    *have = 1;
    if (wn_json_is_null(pp)) {
        t->n_tpl[0] = 0;
        t->n_tpl[1] = 2;
        t->tpl[1][0] = (tok_tpl){TOK_TPL_A, 0};
        t->tpl[1][1] = (tok_tpl){TOK_TPL_B, 1};
        return WN_OK;
    }
    const wn_json *type = wn_json_get(pp, "type");
    const char *ty = wn_json_is_string(type) ? type->str : "?";
    if (!strcmp(ty, "Sequence")) { /* e.g. ByteLevel (offsets only) + a template */
        const wn_json *list = wn_json_get(pp, "processors"), *tmpl = NULL;
        for (const wn_json *p = wn_json_is_array(list) ? list->child : NULL; p; p = p->next) {
            const wn_json *pt = wn_json_get(p, "type");
            if (wn_json_is_string(pt) && !strcmp(pt->str, "ByteLevel")) read_trim(t, p);
            else if (!tmpl) tmpl = p;
        }
        if (tmpl) return load_post_processor(t, tmpl, dir, have);
        *have = 0;
        return WN_OK;
    }
    if (!strcmp(ty, "RobertaProcessing")) read_trim(t, pp);
    if (!strcmp(ty, "BertProcessing") || !strcmp(ty, "RobertaProcessing")) {
        int32_t cls = pair_id(pp, "cls"), sep = pair_id(pp, "sep");
        if (cls < 0 || sep < 0)
            return wn_seterr(WN_ERR_FORMAT, "tokenizer: %s/tokenizer.json: post_processor %s without cls and sep ids", dir, ty);
        /* Bert: [CLS] A [SEP] B [SEP] with B's part type 1; Roberta: <s> A </s></s> B </s>, all type 0 */
        int roberta = ty[0] == 'R', tb = roberta ? 0 : 1, n = 0;
        t->tpl[0][0] = (tok_tpl){cls, 0}, t->tpl[0][1] = (tok_tpl){TOK_TPL_A, 0}, t->tpl[0][2] = (tok_tpl){sep, 0};
        t->n_tpl[0] = 3;
        t->tpl[1][n++] = (tok_tpl){cls, 0}, t->tpl[1][n++] = (tok_tpl){TOK_TPL_A, 0}, t->tpl[1][n++] = (tok_tpl){sep, 0};
        if (roberta) t->tpl[1][n++] = (tok_tpl){sep, 0};
        t->tpl[1][n++] = (tok_tpl){TOK_TPL_B, tb}, t->tpl[1][n++] = (tok_tpl){sep, tb};
        t->n_tpl[1] = n;
        return WN_OK;
    }
    if (!strcmp(ty, "TemplateProcessing")) {
        if (read_template(pp, "single", t->tpl[0], &t->n_tpl[0]) || read_template(pp, "pair", t->tpl[1], &t->n_tpl[1]))
            return wn_seterr(WN_ERR_FORMAT, "tokenizer: %s/tokenizer.json: a TemplateProcessing winnow cannot read (at most %d items)",
                             dir, TOK_TPL_MAX);
        return WN_OK;
    }
    return wn_seterr(WN_ERR_UNSUPPORTED,
                     "tokenizer: %s/tokenizer.json: post_processor %s (winnow has BertProcessing, RobertaProcessing, TemplateProcessing)",
                     dir, ty);
}

/* tokenizer.json: the WordPiece model, its normalizer and its added tokens. */
static wn_status load_tokenizer_json(wn_tokenizer *t, const wn_json *j, const char *dir, int vocab_done, size_t *map_cap,
                                     size_t *added_cap, const char **unk) {
    const wn_json *model = wn_json_get(j, "model");
    const wn_json *type = wn_json_get(model, "type");
    const wn_json *vocab = wn_json_get(model, "vocab");
    const int bpe = wn_json_is_string(type) && !strcmp(type->str, "BPE");
    const int unigram = wn_json_is_string(type) && !strcmp(type->str, "Unigram");
    if (wn_json_is_string(type) && strcmp(type->str, "WordPiece") && !bpe && !unigram)
        return wn_seterr(WN_ERR_UNSUPPORTED, "tokenizer: %s/tokenizer.json has a %s model; winnow reads WordPiece, BPE and Unigram",
                         dir, type->str);
    if (unigram) { /* its vocab, normalizer and pre-tokenizer: unigram.c */
        wn_status st = unigram_load(t, j, dir, map_cap);
        if (st != WN_OK) return st;
        t->clean_text = t->handle_chinese = t->lowercase = t->strip_accents = 0;
        goto added;
    }
    if (!wn_json_is_object(vocab))
        return wn_seterr(WN_ERR_FORMAT, "tokenizer: %s/tokenizer.json has no model.vocab object", dir);
    for (const wn_json *e = vocab_done ? NULL : vocab->child; e; e = e->next) {
        if (!wn_json_is(e, WN_JSON_NUMBER) || e->num < 0 || e->num >= INT32_MAX)
            return wn_seterr(WN_ERR_FORMAT, "tokenizer: %s/tokenizer.json: model.vocab[\"%s\"] is not an id", dir,
                             e->key);
        wn_status st = vocab_add(t, e->key, strlen(e->key), (int32_t)e->num, map_cap);
        if (st != WN_OK) return st;
    }
    const char *u = json_token(model, "unk_token");
    if (u) *unk = u;
    const wn_json *v = wn_json_get(model, "continuing_subword_prefix");
    if (wn_json_is(v, WN_JSON_STRING)) {
        size_t n = strlen(v->str);
        if (n > TOK_MAX_PREFIX)
            return wn_seterr(WN_ERR_UNSUPPORTED, "tokenizer: %s/tokenizer.json: continuing_subword_prefix of %zu bytes (max %d)",
                             dir, n, TOK_MAX_PREFIX);
        memcpy(t->prefix, v->str, n + 1);
        t->prefix_len = (int)n;
    }
    v = wn_json_get(model, "max_input_chars_per_word");
    if (wn_json_is(v, WN_JSON_NUMBER) && v->num >= 1 && v->num < 1e6) t->max_chars_per_word = (int)v->num;

    const wn_json *norm = wn_json_get(j, "normalizer");
    if (bpe) { /* byte-level BPE: no normalizer, the ByteLevel pre-tokenizer (bpe.c) */
        if (norm && !wn_json_is_null(norm))
            return wn_seterr(WN_ERR_UNSUPPORTED, "tokenizer: %s/tokenizer.json: a BPE model with a normalizer (winnow has none for BPE)",
                             dir);
        wn_status st = bpe_load(t, model, wn_json_get(j, "pre_tokenizer"), dir);
        if (st != WN_OK) return st;
        t->clean_text = t->handle_chinese = t->lowercase = t->strip_accents = 0;
    } else if (norm && !wn_json_is_null(norm)) {
        type = wn_json_get(norm, "type");
        if (!wn_json_is_string(type) || strcmp(type->str, "BertNormalizer"))
            return wn_seterr(WN_ERR_UNSUPPORTED, "tokenizer: %s/tokenizer.json: normalizer %s (winnow has BertNormalizer)",
                             dir, wn_json_is(type, WN_JSON_STRING) ? type->str : "?");
        t->clean_text = json_flag(norm, "clean_text", 1) == 1;
        t->handle_chinese = json_flag(norm, "handle_chinese_chars", 1) == 1;
        t->lowercase = json_flag(norm, "lowercase", 1) == 1;
        t->strip_accents = json_flag(norm, "strip_accents", -1);
    }
    const wn_json *pre = wn_json_get(j, "pre_tokenizer");
    if (!bpe && pre && !wn_json_is_null(pre)) {
        type = wn_json_get(pre, "type");
        if (!wn_json_is_string(type) || strcmp(type->str, "BertPreTokenizer"))
            return wn_seterr(WN_ERR_UNSUPPORTED,
                             "tokenizer: %s/tokenizer.json: pre_tokenizer %s (winnow has BertPreTokenizer)", dir,
                             wn_json_is(type, WN_JSON_STRING) ? type->str : "?");
    }
added:;
    const wn_json *added = wn_json_get(j, "added_tokens");
    for (const wn_json *a = wn_json_is(added, WN_JSON_ARRAY) ? added->child : NULL; a; a = a->next) {
        const wn_json *id = wn_json_get(a, "id");
        const wn_json *content = wn_json_get(a, "content");
        if (!wn_json_is(id, WN_JSON_NUMBER) || !wn_json_is(content, WN_JSON_STRING) || id->num < 0 || id->num >= INT32_MAX)
            return wn_seterr(WN_ERR_FORMAT, "tokenizer: %s/tokenizer.json: an added_tokens entry lacks id or content", dir);
        int32_t aid = (int32_t)id->num;
        if (vocab_find(t, 0, content->str, strlen(content->str)) < 0) {
            wn_status st = vocab_add(t, content->str, strlen(content->str), aid, map_cap);
            if (st != WN_OK) return st;
        }
        /* without a normalizer, normalized tokens match the raw text */
        wn_status st = add_added_flags(t, content->str, aid, !bpe && (!unigram || t->n_norm) && json_flag(a, "normalized", 0) == 1,
                                       json_flag(a, "lstrip", 0) == 1, json_flag(a, "rstrip", 0) == 1, added_cap);
        if (st != WN_OK) return st;
    }
    return WN_OK;
}

static int json_int(const wn_json *o, const char *key, double lo, double hi, int def) {
    const wn_json *v = wn_json_get(o, key);
    return wn_json_is(v, WN_JSON_NUMBER) && v->num >= lo && v->num < hi ? (int)v->num : def;
}

/* A sentence-transformers directory whose tokenizer sits in a module's folder (a
 * StaticEmbedding model: modules.json -> {"path": "0_StaticEmbedding"}): that folder,
 * or NULL (allocated; NULL too when dir has tokenizer files of its own). */
static char *module_tokenizer_dir(const char *dir) {
    char *p = wn_path_join(dir, "tokenizer.json"), *v = wn_path_join(dir, "vocab.txt"), *m = wn_path_join(dir, "modules.json");
    char *text = NULL, *found = NULL;
    size_t len = 0;
    wn_json *mods = NULL;
    if (p && v && m && !wn_file_exists(p) && !wn_file_exists(v) && wn_file_exists(m) && wn_read_file(m, &text, &len) == WN_OK &&
        wn_json_parse(text, len, 0, m, &mods) == WN_OK)
        for (size_t i = 0; !found && i < wn_json_size(mods); i++) {
            const wn_json *path = wn_json_get(wn_json_at(mods, i), "path");
            if (!wn_json_is_string(path) || !*path->str || strstr(path->str, "..")) continue;
            char *sub = wn_path_join(dir, path->str), *tj = sub ? wn_path_join(sub, "tokenizer.json") : NULL,
                 *vt = sub ? wn_path_join(sub, "vocab.txt") : NULL;
            if (tj && vt && (wn_file_exists(tj) || wn_file_exists(vt))) found = sub;
            else wn_free(sub);
            wn_free(tj);
            wn_free(vt);
        }
    wn_json_free(mods);
    wn_free(text);
    wn_free(p);
    wn_free(v);
    wn_free(m);
    wn_clearerr();
    return found;
}

wn_status wn_tokenizer_load(const char *dir, wn_tokenizer **out) {
    WN_ENTRY();
    if (!dir || !out) return wn_seterr(WN_ERR_ARG, "wn_tokenizer_load: NULL %s", dir ? "out" : "dir");
    *out = NULL;
    if (!wn_dir_exists(dir)) return wn_seterr(WN_ERR_NOTFOUND, "tokenizer: no model directory %s", dir);
    char *module = module_tokenizer_dir(dir);
    if (module) {
        wn_status mst = wn_tokenizer_load(module, out);
        wn_free(module);
        return mst;
    }
    wn_tokenizer *t = wn_calloc(1, sizeof *t);
    if (!t) return wn_seterr(WN_ERR_NOMEM, "tokenizer: out of memory");
    wn_strmap_init(&t->strs);
    t->clean_text = t->handle_chinese = t->lowercase = 1;
    t->strip_accents = -1;
    memcpy(t->prefix, "##", 3);
    t->prefix_len = 2;
    t->max_chars_per_word = 100;
    size_t map_cap = 0, added_cap = 0;
    wn_json *tj = NULL, *tc = NULL, *sm = NULL, *sb = NULL, *cfg = NULL;
    char *vpath = NULL;
    wn_status st;
    int vocab_done = 0;
    if ((st = read_json(dir, "tokenizer.json", &tj, t, &map_cap, &vocab_done)) != WN_OK ||
        (st = read_json(dir, "tokenizer_config.json", &tc, NULL, NULL, NULL)) != WN_OK ||
        (st = read_json(dir, "special_tokens_map.json", &sm, NULL, NULL, NULL)) != WN_OK ||
        (st = read_json(dir, "sentence_bert_config.json", &sb, NULL, NULL, NULL)) != WN_OK ||
        (st = read_json(dir, "config.json", &cfg, NULL, NULL, NULL)) != WN_OK)
        goto done;

    const char *unk = "[UNK]", *cls = "[CLS]", *sep = "[SEP]", *pad = "[PAD]", *mask = "[MASK]";
    if (tj) {
        if ((st = load_tokenizer_json(t, tj, dir, vocab_done, &map_cap, &added_cap, &unk)) != WN_OK) goto done;
    } else {
        if (!(vpath = wn_path_join(dir, "vocab.txt"))) goto nomem;
        if (!wn_file_exists(vpath)) {
            st = wn_seterr(WN_ERR_NOTFOUND, "tokenizer: %s has neither vocab.txt nor tokenizer.json", dir);
            goto done;
        }
        if ((st = load_vocab_txt(t, vpath, &map_cap)) != WN_OK) goto done;
    }
    /* BertTokenizerFast.__init__ re-creates the normalizer from these (or their
     * defaults) whenever tokenizer_config.json exists */
    if (tc && !t->bpe && !t->unigram) {
        t->lowercase = json_flag(tc, "do_lower_case", 1) == 1;
        t->strip_accents = json_flag(tc, "strip_accents", -1);
        t->handle_chinese = json_flag(tc, "tokenize_chinese_chars", 1) == 1;
    }
    t->strip_accents = t->strip_accents < 0 ? t->lowercase : t->strip_accents;
    /* sentence-transformers lower-cases the text itself before the tokenizer when its
     * config says so (str.lower(): the same per-char mapping but for final sigma) */
    if (json_flag(sb, "do_lower_case", 0) == 1) {
        if (t->bpe || t->unigram) {
            st = wn_seterr(WN_ERR_UNSUPPORTED, "tokenizer: %s: sentence_bert_config.json do_lower_case with a %s tokenizer", dir,
                           t->bpe ? "BPE" : "Unigram");
            goto done;
        }
        t->lowercase = 1;
    }

    int named[5] = {0}; /* which names a config file gave (unk, cls, sep, pad, mask) */
    for (int k = 0; k < 2; k++) { /* tokenizer_config.json, then special_tokens_map.json */
        const wn_json *o = k ? sm : tc;
        const char *s;
        if ((s = json_token(o, "unk_token"))) unk = s, named[0] = 1;
        if ((s = json_token(o, "cls_token"))) cls = s, named[1] = 1;
        if ((s = json_token(o, "sep_token"))) sep = s, named[2] = 1;
        if ((s = json_token(o, "pad_token"))) pad = s, named[3] = 1;
        if ((s = json_token(o, "mask_token"))) mask = s, named[4] = 1;
    }
    int have_tpl = 0; /* tokenizer.json's post-processor decides the special tokens around the text */
    if (tj && (st = load_post_processor(t, wn_json_get(tj, "post_processor"), dir, &have_tpl)) != WN_OK)
        goto done;
    const char *names[3] = {unk, cls, sep};
    int32_t *ids[3] = {&t->unk_id, &t->cls_id, &t->sep_id};
    for (int k = 0; k < 3; k++) {
        *ids[k] = vocab_find(t, 0, names[k], strlen(names[k]));
        if (*ids[k] < 0 && k > 0 && have_tpl) continue; /* [CLS] / [SEP] are not needed then */
        if (*ids[k] < 0 && k == 0 && t->bpe) continue;  /* a byte-level BPE has no unknown token */
        if (k == 0 && t->unigram) { /* Unigram: model.unk_id decides (unigram.c) */
            *ids[k] = t->uni_unk;
            continue;
        }
        if (*ids[k] < 0) {
            st = wn_seterr(WN_ERR_FORMAT, "tokenizer: %s: the special token %s is not in the vocabulary", dir, names[k]);
            goto done;
        }
    }
    t->pad_id = vocab_find(t, 0, pad, strlen(pad));
    { /* transformers adds the named special tokens to the added tokens too (with a
       * tokenizer.json, only those a config file names: the defaults are BERT's) */
        const char *sp[5] = {unk, cls, sep, pad, mask};
        for (int k = 0; k < 5; k++)
            if ((!tj || named[k]) && (st = add_added(t, sp[k], vocab_find(t, 0, sp[k], strlen(sp[k])), &added_cap)) != WN_OK)
                goto done;
    }
    if (!have_tpl) { /* BERT's [CLS] A [SEP] (B [SEP]) */
        t->tpl[0][0] = (tok_tpl){t->cls_id, 0}, t->tpl[0][1] = (tok_tpl){TOK_TPL_A, 0}, t->tpl[0][2] = (tok_tpl){t->sep_id, 0};
        t->n_tpl[0] = 3;
        t->tpl[1][0] = t->tpl[0][0], t->tpl[1][1] = t->tpl[0][1], t->tpl[1][2] = t->tpl[0][2];
        t->tpl[1][3] = (tok_tpl){TOK_TPL_B, 1}, t->tpl[1][4] = (tok_tpl){t->sep_id, 1};
        t->n_tpl[1] = 5;
    }

    t->max_length = json_int(sb, "max_seq_length", 1, 1e6, 0);
    if (!t->max_length) t->max_length = json_int(tc, "model_max_length", 1, 100000, 0);
    if (!t->max_length) t->max_length = json_int(cfg, "max_position_embeddings", 1, 1e6, 0);
    if (!t->max_length) t->max_length = 512;
    if (t->max_length < 2) {
        st = wn_seterr(WN_ERR_FORMAT, "tokenizer: %s: max length %d leaves no room for [CLS] and [SEP]", dir,
                       t->max_length);
        goto done;
    }
    *out = t;
    t = NULL; /* st is WN_OK: done frees only the JSON */
    goto done;
nomem:
    st = wn_seterr(WN_ERR_NOMEM, "tokenizer: out of memory loading %s", dir);
done:
    wn_json_free(tj);
    wn_json_free(tc);
    wn_json_free(sm);
    wn_json_free(sb);
    wn_json_free(cfg);
    wn_free(vpath);
    wn_tokenizer_free(t);
    return st;
}

void wn_tokenizer_free(wn_tokenizer *t) {
    if (!t) return;
    wn_strmap_free(&t->strs);
    bpe_free(t);
    unigram_free(t);
    wn_free(t->map);
    for (int i = 0; i < t->n_added; i++) wn_free(t->added[i].text);
    wn_free(t->added);
    wn_free(t);
}

int wn_tokenizer_max_length(const wn_tokenizer *t) { return t ? t->max_length : 0; }
int wn_tokenizer_vocab_size(const wn_tokenizer *t) { return t ? t->n_vocab : 0; }
