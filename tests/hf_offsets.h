/* hf_offsets.h - wn_tokenizer_encode_offsets against HF's tokenizer: path is a
 * file of OFFSETS=1 scripts/hf_ids.js (one {"a", "b", "max", "ids", "offsets"} a line:
 * each token's byte span in its own text, -1 -1 for special tokens); every case's ids
 * and spans must be HF's, and the ids wn_tokenizer_encode's; at least min_cases cases
 * and min_spans known spans read. Returns the number of failures (each said on
 * stderr). (test_tokenizer, test_tokenizer_families) */
#ifndef WN_TEST_HF_OFFSETS_H
#define WN_TEST_HF_OFFSETS_H
#include "winnow.h"
int check_hf_offsets(const wn_tokenizer *t, const char *path, int min_cases, int min_spans);
#endif
