/*
 * config.h - what a model directory's JSON files say: config.json (BERT
 * hyper-parameters, architecture, labels) and the sentence-transformers files
 * (modules.json, the Pooling module's config.json, Normalize). Internal to
 * src/model (floor 2).
 */
#ifndef WN_MODEL_CONFIG_H
#define WN_MODEL_CONFIG_H

#include "util/util.h"

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
} bert_config;

/* Pooling modes of sentence-transformers; several may be on (vectors concatenated
 * in sentence-transformers' order: cls, max, mean, mean_sqrt_len). */
typedef struct {
    int cls, max, mean, mean_sqrt;
    int normalize;   /* a sentence_transformers.models.Normalize module follows */
    int max_seq_len; /* sentence_bert_config.json's max_seq_length, 0 if absent */
} pool_config;

/* Parses config.json text (len bytes); what names the file in errors. */
wn_status config_parse_bert(const char *json, size_t len, const char *what, bert_config *c);
/* Parses a Pooling module's config.json text. */
wn_status config_parse_pooling(const char *json, size_t len, const char *what, pool_config *p);
/* Reads dir's modules.json (if any), the Pooling module and Normalize, and
 * sentence_bert_config.json. No modules.json: mean pooling, no normalize (what
 * sentence-transformers does for a plain HuggingFace model). */
wn_status config_load_pooling(const char *dir, int hidden, pool_config *p);
int pool_dim(const pool_config *p, int hidden); /* H * number of modes on */

#endif
