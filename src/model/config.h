/*
 * config.h - what a model directory's JSON files say: config.json (BERT
 * hyper-parameters, architecture, labels) and the sentence-transformers files
 * (modules.json, the Pooling module's config.json, Normalize). Internal to
 * src/model (floor 2).
 */
#ifndef WN_MODEL_CONFIG_H
#define WN_MODEL_CONFIG_H

#include "util/util.h"

/* The architecture families config.json's model_type selects (model.c maps each
 * to its tensor names; bert.c runs them all as post-LayerNorm encoders). */
typedef enum {
    FAMILY_BERT = 0,   /* bert */
    FAMILY_MPNET,      /* mpnet: no token types, relative position bias, positions after the pad id */
    FAMILY_DISTILBERT, /* distilbert: no token types, its own names, pre_classifier + ReLU head */
    FAMILY_ROBERTA,    /* roberta, xlm-roberta: positions after the pad id, dense + tanh + out_proj head */
} model_family;

#define CONFIG_MAX_LABELS 64  /* id2label names kept (a classifier has more: LABEL_i) */
#define CONFIG_LABEL_BYTES 64 /* bytes of a name, NUL included */

typedef struct {
    int vocab_size;              /* V */
    int hidden_size;             /* H */
    int num_attention_heads;     /* NH */
    int num_hidden_layers;       /* L */
    int intermediate_size;       /* I */
    int max_position_embeddings; /* P */
    int type_vocab_size;         /* TV */
    float layer_norm_eps;
    int is_classifier;           /* architectures has *ForSequenceClassification */
    int num_labels;              /* classifier outputs (1 when the config has no id2label) */
    /* other families (model_type); BERT: FAMILY_BERT, 0, 0, 0 */
    model_family family;
    int type_vocab_none;         /* 1: no token type embeddings (MPNet, DistilBERT; type_vocab_size is 0) */
    int pad_positions;           /* 1: position ids are pad_token_id + cumsum(id != pad) (RoBERTa, MPNet) */
    int pad_token_id;
    int rel_buckets;             /* MPNet's relative_attention_num_buckets, else 0 */
    char model_type[32];         /* as config.json says it ("bert" when absent) */
    float rerank_interpolate;    /* "winnow": {"rerank_interpolate": A} (a cross-encoder's own
                                    re-ranking interpolation with the first stage), else 0 */
    char label[CONFIG_MAX_LABELS][CONFIG_LABEL_BYTES]; /* id2label's names of the first labels
                                    ("" when absent; longer names cut at a character) */
} bert_config;

/* Pooling modes of sentence-transformers; several may be on (vectors concatenated
 * in sentence-transformers' order: cls, max, mean, mean_sqrt_len). */
typedef struct {
    int cls, max, mean, mean_sqrt;
    int normalize;   /* a sentence_transformers.models.Normalize module follows */
    int max_seq_len; /* sentence_bert_config.json's max_seq_length, 0 if absent */
} pool_config;

/* config_sentence_transformers.json's prompts: names[i] -> texts[i], and the
 * default_prompt_name's index (-1: none); and winnow's block there, for a static
 * model that is a pair scorer (static.c): "winnow": {"pair_scorer": true,
 * "rerank_interpolate": A}. */
typedef struct {
    char **names, **texts;
    int n;
    int def;
    int pair_scorer;          /* scores (query, document) by the cosine of their embeddings */
    float rerank_interpolate; /* its own mix with the first stage (0 when absent) */
} prompt_config;

/* Reads dir's config_sentence_transformers.json (absent: no prompts). */
wn_status config_load_prompts(const char *dir, prompt_config *pc);
void config_free_prompts(prompt_config *pc);

/* Parses config.json text (len bytes); what names the file in errors. model_type
 * bert (or none), mpnet, distilbert, roberta, xlm-roberta; DistilBERT's own keys
 * (dim, n_layers, n_heads, hidden_dim, activation) are read into the same fields. */
wn_status config_parse_bert(const char *json, size_t len, const char *what, bert_config *c);
/* Parses a Pooling module's config.json text. */
wn_status config_parse_pooling(const char *json, size_t len, const char *what, pool_config *p);
/* Reads dir's modules.json (if any), the Pooling module and Normalize, and
 * sentence_bert_config.json. No modules.json: mean pooling, no normalize (what
 * sentence-transformers does for a plain HuggingFace model). */
wn_status config_load_pooling(const char *dir, int hidden, pool_config *p);
int pool_dim(const pool_config *p, int hidden); /* H * number of modes on */
/* Tokens a sequence may have: P, less pad_token_id + 1 when positions start after the pad id. */
int config_max_tokens(const bert_config *c);

#endif
