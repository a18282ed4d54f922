/* Embeds two sentences and prints their cosine similarity.
 * cc example.c $(pkg-config --cflags --libs winnow) -lm -o example
 * ./example [MODEL] ["sentence one" "sentence two"] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <winnow.h>

int main(int argc, char **argv) {
    const char *model = argc > 1 ? argv[1] : "sentence-transformers/all-MiniLM-L6-v2";
    const char *texts[2] = {argc > 3 ? argv[2] : "A cat sits on the mat.",
                            argc > 3 ? argv[3] : "There is a cat on the rug."};
    wn_model_params p = wn_model_default_params();
    wn_model *m = NULL;
    if (wn_model_load(model, &p, &m) != WN_OK) { /* m stays NULL: nothing to free */
        fprintf(stderr, "load %s: %s\n", model, wn_last_error());
        return 1;
    }
    int dim = wn_model_dim(m);
    float *emb = malloc(2 * (size_t)dim * sizeof *emb);
    if (!emb) {
        wn_model_free(m);
        return 1;
    }
    int rc = 1;
    if (wn_model_embed(m, 2, texts, emb) != WN_OK) {
        fprintf(stderr, "embed: %s\n", wn_last_error());
        goto done;
    }
    double dot = 0, na = 0, nb = 0;
    for (int i = 0; i < dim; i++) {
        dot += emb[i] * emb[dim + i];
        na += emb[i] * emb[i];
        nb += emb[dim + i] * emb[dim + i];
    }
    printf("cosine %.6f\n", dot / (sqrt(na) * sqrt(nb)));
    rc = 0;
done:
    free(emb);
    wn_model_free(m);
    return rc;
}
