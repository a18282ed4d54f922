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

#endif
