/*
 * static_train.h - inside the static-embedding trainer (static_train.c), for its
 * tests. The public entry point is wn_static_train in include/winnow.h.
 * Internal to src/train (floor 4).
 */
#ifndef WN_STATIC_TRAIN_H
#define WN_STATIC_TRAIN_H

#include <stdint.h>

#include "util/util.h"
#include "winnow.h"

/* One JSONL line {"query": "...", "positive": "...", ...}: the two strings,
 * unescaped (wn_free them). Other keys are skipped; values other than strings of
 * the two keys are an error. WN_ERR_FORMAT names what (file:line) and why. */
wn_status static_parse_pair(const char *line, const char *what, char **query, char **positive);

#endif
