/* test_nn_rel.c - MPNet's attention with a relative position bias
 * (nn_attention_rel): each ISA's kernel against the scalar reference at awkward
 * sizes (T 1, 7, 8, 9, 33, 100; keys L < T; HD 8, 16, 40, 64 and 12, which falls
 * back to the reference), and the reference against a direct double-precision
 * softmax(q k^T / sqrt(HD) + bias) v computed here. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "nn/nn.h"

static uint64_t rng = 88172645463325252ULL;
static float frand(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (float)((double)(rng >> 11) / 9007199254740992.0 * 2 - 1);
}

int main(void) {
    const int Ts[] = {1, 7, 8, 9, 33, 100}, HDs[] = {8, 16, 40, 64, 12};
    const nn_kernels_t *isa[2] = {nn_kernels_ref(), nn_kernels_isa(WN_ISA_AVX2)};
    for (size_t ti = 0; ti < sizeof Ts / sizeof *Ts; ti++)
        for (size_t hi = 0; hi < sizeof HDs / sizeof *HDs; hi++) {
            const int T = Ts[ti], HD = HDs[hi], NH = 2, H = NH * HD, L = T > 4 ? T - 3 : T;
            float *qkv = malloc(sizeof(float) * (size_t)T * 3 * H), *rel = malloc(sizeof(float) * (size_t)NH * (2 * T - 1));
            float *out[2], *scratch = malloc(sizeof(float) * nn_attention_scratch(T, 1));
            for (size_t i = 0; i < (size_t)T * 3 * H; i++) qkv[i] = frand() * 2;
            for (int i = 0; i < NH * (2 * T - 1); i++) rel[i] = frand() * 3;
            /* direct: double precision, this test's own loops */
            double worst_direct = 0;
            for (int k = 0; k < 2; k++) {
                out[k] = calloc((size_t)T * H, sizeof(float));
                if (!isa[k]) continue;
                for (int h = 0; h < NH; h++) {
                    const float *rh = rel + (size_t)h * (2 * T - 1);
                    if (isa[k]->attention_head_rel) isa[k]->attention_head_rel(qkv, T, L, H, h, HD, rh, out[k], scratch);
                }
            }
            for (int h = 0; h < NH; h++)
                for (int i = 0; i < L; i++) {
                    double s[128], mx = -1e300, sum = 0;
                    for (int j = 0; j < L; j++) {
                        double d = 0;
                        for (int c = 0; c < HD; c++) d += (double)qkv[(size_t)i * 3 * H + h * HD + c] * qkv[(size_t)j * 3 * H + H + h * HD + c];
                        s[j] = d / sqrt((double)HD) + rel[(size_t)h * (2 * T - 1) + (T - 1) + j - i];
                        mx = fmax(mx, s[j]);
                    }
                    for (int j = 0; j < L; j++) sum += s[j] = exp(s[j] - mx);
                    for (int c = 0; c < HD; c++) {
                        double acc = 0;
                        for (int j = 0; j < L; j++) acc += s[j] * qkv[(size_t)j * 3 * H + 2 * H + h * HD + c];
                        worst_direct = fmax(worst_direct, fabs(acc / sum - out[0][(size_t)i * H + h * HD + c]));
                    }
                }
            CHECK(worst_direct < 1e-5, "T %d HD %d: the reference is %g from the direct computation", T, HD, worst_direct);
            if (isa[1]) {
                double worst = 0;
                for (size_t i = 0; i < (size_t)T * H; i++) worst = fmax(worst, fabs(out[1][i] - out[0][i]));
                CHECK(worst < 2e-6, "T %d HD %d: %s vs the reference: %g", T, HD, isa[1]->name, worst);
            }
            /* the threaded driver gives the chosen kernels' result */
            float *drv = calloc((size_t)T * H, sizeof(float));
            int len = L;
            nn_attention_rel(NULL, qkv, 1, T, NH, HD, &len, rel, drv, scratch);
            double wd = 0;
            for (int i = 0; i < L; i++)
                for (int c = 0; c < H; c++) wd = fmax(wd, fabs(drv[(size_t)i * H + c] - out[0][(size_t)i * H + c]));
            CHECK(wd < 2e-6, "T %d HD %d: nn_attention_rel vs the reference: %g", T, HD, wd);
            free(drv);
            free(out[0]), free(out[1]), free(qkv), free(rel), free(scratch);
        }
    return check_done();
}
