/*
 * eval.h - internals of src/eval shared by its files: the run and qrels structures.
 * Floor 3: reads runs and qrels, knows nothing of indexes or models.
 */
#ifndef WN_EVAL_INTERNAL_H
#define WN_EVAL_INTERNAL_H

#include "util/strmap.h"
#include "util/util.h"

typedef struct {
    int64_t doc; /* id in the owner's docs strmap */
    double score;
} run_entry;

typedef struct {
    run_entry *e;
    size_t n, cap;
} run_list;

struct wn_run {
    wn_strmap qids; /* query ids, insertion order */
    wn_strmap docs; /* document ids */
    run_list *lists; /* (qids.n) */
    size_t lists_cap;
};

typedef struct {
    int64_t *pair; /* ids in pairs of this query's judgments */
    size_t n, cap;
} qrels_list;

struct wn_qrels {
    wn_strmap qids;
    wn_strmap pairs;  /* "qid\tdocid" -> judgment id */
    int *grades;      /* (pairs.n) */
    int64_t *pair_q;  /* (pairs.n) query of each judgment */
    size_t grades_cap, pair_q_cap;
    qrels_list *lists; /* (qids.n) */
    size_t lists_cap;
};

/* "qid\tdocid", the key of a judgment, into *buf (grown as needed); *len its length. */
wn_status qrels_pair_key(char **buf, size_t *cap, const char *qid, const char *docid, size_t *len);
/* Sorts a list the trec_eval way: score descending, then document id descending. */
void run_sort_list(const wn_run *r, run_list *l);
/* WN_ERR_FORMAT naming the document when a sorted list holds one twice. */
wn_status run_check_dups(const wn_run *r, int64_t q);

#endif
