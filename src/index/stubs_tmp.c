#include "index.h"
wn_status ivf_init(wn_index *ix) { (void)ix; return WN_OK; }
void ivf_free(ivf *v) { (void)v; }
wn_status ivf_train(wn_index *ix, int64_t n, const float *x) { (void)ix; (void)n; (void)x; return wn_seterr(WN_ERR_UNSUPPORTED, "ivf: not built yet"); }
wn_status ivf_add(wn_index *ix, int64_t first, int64_t n, const float *x) { (void)ix; (void)first; (void)n; (void)x; return WN_ERR_UNSUPPORTED; }
wn_status ivf_search1(const wn_index *ix, const dist_kernels *kr, const iquery *q, int k, const wn_search_params *sp, const sfilter *f, topk *h) { (void)ix;(void)kr;(void)q;(void)k;(void)sp;(void)f;(void)h; return WN_ERR_UNSUPPORTED; }
wn_status wn_index_save(const wn_index *ix, const char *path) { (void)ix; (void)path; return wn_seterr(WN_ERR_UNSUPPORTED, "save: not built yet"); }
wn_status wn_index_load(const char *path, wn_index **out) { (void)path; *out = NULL; return wn_seterr(WN_ERR_UNSUPPORTED, "load: not built yet"); }
