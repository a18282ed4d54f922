/*
 * prompt.c - which prompt the pipeline puts before queries and documents
 * (sentence-transformers' encode_query / encode_document: the model's "query"
 * prompt for queries; "document", "passage" or "corpus" for documents; else the
 * default_prompt_name's prompt). E5 ("query: " / "passage: ") and BGE (a query
 * instruction, no document prompt) are the models this serves.
 */
#include <stdio.h>
#include <string.h>

#include "pipeline.h"

wn_status pipeline_prompt(const wn_model *m, int query, const char *text, const char *name, const char **out,
                          const char **name_out) {
    static const char *const doc_names[] = {"document", "passage", "corpus"};
    const char *chosen = "";
    *out = "";
    if (text) {
        *out = text;
    } else if (name) {
        if (!(*out = wn_model_prompt(m, name))) {
            int n = 0;
            const char *const *names = wn_model_prompt_names(m, &n);
            char list[256];
            size_t o = 0;
            list[0] = 0;
            for (int i = 0; i < n && o + 2 < sizeof list; i++)
                o += (size_t)snprintf(list + o, sizeof list - o, "%s%s", i ? ", " : "", names[i]);
            return wn_seterr(WN_ERR_ARG, "%s: the model has no prompt named '%s' (%s)", query ? "search" : "index", name,
                             n ? list : "it has no prompts");
        }
        chosen = name;
    } else {
        for (int i = 0; i < (query ? 1 : 3) && !chosen[0]; i++) {
            const char *nm = query ? "query" : doc_names[i], *p = wn_model_prompt(m, nm);
            if (p) *out = p, chosen = nm;
        }
        if (!chosen[0] && wn_model_prompt(m, NULL)) *out = wn_model_prompt(m, NULL), chosen = "(default)";
    }
    if (name_out) *name_out = chosen;
    return WN_OK;
}

wn_status pipeline_prefix(char **buf, size_t *cap, const char *prompt, const char *text) {
    size_t pl = strlen(prompt), tl = strlen(text);
    if (wn_grow((void **)buf, cap, pl + tl + 1, 1) != WN_OK)
        return wn_seterr(WN_ERR_NOMEM, "pipeline: out of memory for a text of %zu bytes", pl + tl);
    memcpy(*buf, prompt, pl);
    memcpy(*buf + pl, text, tl + 1);
    return WN_OK;
}
