/* data.h - training rows read from JSONL (data.c). Internal to src/train. */
#ifndef WN_TRAIN_DATA_H
#define WN_TRAIN_DATA_H

#include <stdint.h>

#include "util/util.h"

typedef enum {
    TRAIN_DATA_TRIPLES = 0, /* {"query", "positive", "negatives": [...]} */
    TRAIN_DATA_PAIRS = 1,   /* {"query", "document", "label"} */
    TRAIN_DATA_TEXT = 2     /* {"text"} */
} train_data_kind;

typedef struct {
    char *query, *positive, *document, *text;
    char **negatives;
    int n_neg;
    double label;
    uint64_t line; /* 1-based line in the file */
} train_row;

typedef struct {
    train_row *rows;
    int64_t n;
} train_data;

/* Reads every row; WN_ERR_FORMAT "FILE:LINE: why" on the first malformed one. */
wn_status train_data_load(const char *path, train_data_kind kind, train_data *d);
void train_data_free(train_data *d);
void train_row_free(train_row *r);

#endif
