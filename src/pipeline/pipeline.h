/*
 * pipeline.h - internals of src/pipeline (floor 3): where the store, BM25, the
 * vector index and the models meet. build.c builds an index directory, search.c
 * runs the stages, fuse.c combines first-stage lists.
 */
#ifndef WN_PIPELINE_INTERNAL_H
#define WN_PIPELINE_INTERNAL_H

#include "util/util.h"

/* Removes an index directory's known files and the directory (best effort). */
void pipeline_remove_dir(const char *dir);

/* The text a document is indexed and re-ranked as: title + " " + text (either alone
 * when the other is empty), into *buf (grown as needed; *buf may be NULL with *cap 0). */
wn_status pipeline_join(char **buf, size_t *cap, const char *title, const char *text, size_t *len);

#endif
