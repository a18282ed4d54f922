/*
 * amx_emu.h - a scalar emulation of the AMX tile instructions ops_amx.c uses, so
 * that its kernels are tested on CPUs without AMX (no SIMDe or qemu emulates it).
 * Included by ops_amx.c only when it is compiled with -DWN_AMX_EMU (the Makefile's
 * test object, linked into tests/test_nn_amx.c); never part of libwinnow.
 *
 * Written from the pseudo-code of the Intel 64 and IA-32 Architectures Software
 * Developer's Manual, vol. 2 (instruction set reference) and vol. 1 ch. 18 (AMX):
 *  - LDTILECFG: a 64-byte config: byte 0 palette_id, byte 1 start_row, bytes 2-15
 *    reserved (0), bytes 16-47 colsb[16] (uint16, bytes per row of tile i),
 *    bytes 48-63 rows[16] (uint8). Palette 1 (CPUID.1DH.1): 8 tiles (tmm0-7) of at
 *    most 16 rows x 64 bytes. #GP on reserved bytes set, on a tile past the 8th
 *    configured, on rows > 16 or colsb > 64, on palette > 1; palette 0 releases.
 *    A tile is configured when its rows and colsb are both non-zero.
 *  - TILELOADD tmm, [base + stride*row]: rows 0..rows-1 of colsb bytes each; the
 *    rest of each row and the rows past `rows` are zeroed (write_row_and_zero,
 *    zero_upper_rows). TILESTORED: the same rows and bytes stored. TILEZERO:
 *    the whole tile zeroed. TILERELEASE: back to the init state (no tile
 *    configured, all data zero).
 *  - TDPBF16PS tsrcdest, tsrc1, tsrc2 (C m x n += A m x k . B k x n, elements of A
 *    and B are bf16 pairs): per row m, two fp32 partial sums per column n, one for
 *    the even and one for the odd elements of the pairs, each updated by an FMA
 *    over k (make_fp32: the bf16 in the upper 16 bits) with DAZ=FTZ=1 and round
 *    to nearest even (MXCSR is neither read nor written); then
 *    C[m][n] += (even + odd), with the same rounding and flushing.
 *  - TDPBUSD tsrcdest, tsrc1, tsrc2: per (m, k, n), the four u8 (tsrc1) x s8
 *    (tsrc2) byte products of the dwords tsrc1.row[m].dword[k] and
 *    tsrc2.row[k].dword[n] added to C[m].dword[n] in 32 bits, wrapping (no
 *    saturation), the same arithmetic as VPDPBUSD.
 *  - The #UD checks of the TMUL instructions (exception class AMX-E4): tiles
 *    configured, the three operands distinct, colsb multiples of 4,
 *    C.rows == A.rows, A.colsb == 4 B.rows, C.colsb == B.colsb, at most
 *    TMUL_MAXK = 16 (A.colsb / 4, B.rows) and TMUL_MAXN = 16 dwords (C.colsb / 4);
 *    for loads and stores (AMX-E3), a configured tile.
 * A violation, which would fault on real hardware, aborts here with a message, so
 * the tests catch configurations the hardware would reject.
 *
 * The state is per thread (_Thread_local), as the tile registers are. Tile
 * numbers are run-time ints here (immediates in the real intrinsics).
 */
#ifndef WN_AMX_EMU_H
#define WN_AMX_EMU_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AMX_EMU_TILES 8
#define AMX_EMU_ROWS 16
#define AMX_EMU_COLSB 64

typedef struct {
    int configured;
    int rows[AMX_EMU_TILES], colsb[AMX_EMU_TILES];
    uint8_t t[AMX_EMU_TILES][AMX_EMU_ROWS][AMX_EMU_COLSB];
} amx_emu_state;

static _Thread_local amx_emu_state amx_emu;

static void amx_emu_fault(const char *insn, const char *why, int t) {
    fprintf(stderr, "amx_emu: %s tmm%d: %s (would fault on AMX hardware)\n", insn, t, why);
    abort();
}

static void amx_emu_loadconfig(const void *cfg) {
    const uint8_t *c = cfg;
    if (c[0] == 0) { /* palette 0: the init state */
        memset(&amx_emu, 0, sizeof amx_emu);
        return;
    }
    if (c[0] != 1) amx_emu_fault("ldtilecfg", "palette other than 1", 0);
    if (c[1] != 0) amx_emu_fault("ldtilecfg", "start_row not 0 (only a restarted load sets it)", 0);
    for (int i = 2; i < 16; i++)
        if (c[i]) amx_emu_fault("ldtilecfg", "reserved byte set", i);
    memset(&amx_emu, 0, sizeof amx_emu);
    for (int i = 0; i < 16; i++) {
        int colsb = c[16 + 2 * i] | c[17 + 2 * i] << 8, rows = c[48 + i];
        if (i >= AMX_EMU_TILES && (colsb || rows)) amx_emu_fault("ldtilecfg", "tile past palette 1's 8", i);
        if (i >= AMX_EMU_TILES) continue;
        if (rows > AMX_EMU_ROWS || colsb > AMX_EMU_COLSB) amx_emu_fault("ldtilecfg", "rows > 16 or colsb > 64", i);
        if ((rows == 0) != (colsb == 0)) amx_emu_fault("ldtilecfg", "rows and colsb not both zero or non-zero", i);
        amx_emu.rows[i] = rows;
        amx_emu.colsb[i] = colsb;
    }
    amx_emu.configured = 1;
}

static void amx_emu_release(void) { memset(&amx_emu, 0, sizeof amx_emu); }

static void amx_emu_valid(const char *insn, int t) {
    if (!amx_emu.configured) amx_emu_fault(insn, "tiles not configured (no ldtilecfg)", t);
    if (t < 0 || t >= AMX_EMU_TILES) amx_emu_fault(insn, "no such tile", t);
    if (!amx_emu.rows[t]) amx_emu_fault(insn, "tile not configured", t);
}

static void amx_emu_zero(int t) {
    amx_emu_valid("tilezero", t);
    memset(amx_emu.t[t], 0, sizeof amx_emu.t[t]);
}

static void amx_emu_loadd(int t, const void *base, long stride) {
    amx_emu_valid("tileloadd", t);
    memset(amx_emu.t[t], 0, sizeof amx_emu.t[t]);
    for (int r = 0; r < amx_emu.rows[t]; r++)
        memcpy(amx_emu.t[t][r], (const uint8_t *)base + (long)r * stride, (size_t)amx_emu.colsb[t]);
}

static void amx_emu_stored(int t, void *base, long stride) {
    amx_emu_valid("tilestored", t);
    for (int r = 0; r < amx_emu.rows[t]; r++)
        memcpy((uint8_t *)base + (long)r * stride, amx_emu.t[t][r], (size_t)amx_emu.colsb[t]);
}

/* the shape checks of the TMUL instructions (SDM exception class AMX-E4) */
static void amx_emu_tmul_check(const char *insn, int c, int a, int b) {
    amx_emu_valid(insn, c), amx_emu_valid(insn, a), amx_emu_valid(insn, b);
    if (c == a || c == b || a == b) amx_emu_fault(insn, "operands not distinct", c);
    if (amx_emu.colsb[c] % 4 || amx_emu.colsb[a] % 4 || amx_emu.colsb[b] % 4)
        amx_emu_fault(insn, "colsb not a multiple of 4", c);
    if (amx_emu.rows[c] != amx_emu.rows[a]) amx_emu_fault(insn, "dest rows != src1 rows", c);
    if (amx_emu.colsb[a] != 4 * amx_emu.rows[b]) amx_emu_fault(insn, "src1 colsb != 4 * src2 rows", a);
    if (amx_emu.colsb[c] != amx_emu.colsb[b]) amx_emu_fault(insn, "dest colsb != src2 colsb", c);
    if (amx_emu.colsb[a] / 4 > 16 || amx_emu.rows[b] > 16 || amx_emu.colsb[c] / 4 > 16)
        amx_emu_fault(insn, "past TMUL_MAXK or TMUL_MAXN", c);
}

/* The products touch only the emulator's own tile state (ASan still checks every
 * byte of the kernels' memory in the loads and stores): left uninstrumented, they
 * ran 5x faster under SANITIZE=1. */
#define AMX_EMU_NOASAN __attribute__((no_sanitize("address", "undefined")))

/* DAZ on inputs and FTZ on outputs: a denormal becomes a zero of its sign */
AMX_EMU_NOASAN static inline float amx_emu_flush(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7f800000u) == 0) u &= 0x80000000u;
    memcpy(&f, &u, 4);
    return f;
}
AMX_EMU_NOASAN static inline float amx_emu_bf16(const uint8_t *p) { /* make_fp32, then DAZ */
    uint32_t u = (uint32_t)(p[0] | p[1] << 8) << 16;
    float f;
    memcpy(&f, &u, 4);
    return amx_emu_flush(f);
}


AMX_EMU_NOASAN static void amx_emu_dpbf16ps(int c, int a, int b) {
    amx_emu_tmul_check("tdpbf16ps", c, a, b);
    const int nk = amx_emu.colsb[a] / 4, nn = amx_emu.colsb[c] / 4;
    float fb[16][32]; /* src2 as fp32: row k, element 2n + e */
    for (int k = 0; k < nk; k++)
        for (int j = 0; j < 2 * nn; j++) fb[k][j] = amx_emu_bf16(&amx_emu.t[b][k][2 * j]);
    for (int m = 0; m < amx_emu.rows[c]; m++) {
        float tmp[2 * 16] = {0}; /* temp1: even and odd partial sums per column */
        for (int k = 0; k < nk; k++) {
            const float x0 = amx_emu_bf16(&amx_emu.t[a][m][4 * k]), x1 = amx_emu_bf16(&amx_emu.t[a][m][4 * k + 2]);
            for (int n = 0; n < nn; n++) {
                tmp[2 * n] = amx_emu_flush(fmaf(x0, fb[k][2 * n], tmp[2 * n]));
                tmp[2 * n + 1] = amx_emu_flush(fmaf(x1, fb[k][2 * n + 1], tmp[2 * n + 1]));
            }
        }
        for (int n = 0; n < nn; n++) {
            float d;
            memcpy(&d, &amx_emu.t[c][m][4 * n], 4);
            float s = amx_emu_flush(tmp[2 * n] + tmp[2 * n + 1]);
            d = amx_emu_flush(amx_emu_flush(d) + s);
            memcpy(&amx_emu.t[c][m][4 * n], &d, 4);
        }
        memset(&amx_emu.t[c][m][4 * nn], 0, (size_t)(AMX_EMU_COLSB - 4 * nn));
    }
    for (int m = amx_emu.rows[c]; m < AMX_EMU_ROWS; m++) memset(amx_emu.t[c][m], 0, AMX_EMU_COLSB);
}

AMX_EMU_NOASAN static void amx_emu_dpbusd(int c, int a, int b) {
    amx_emu_tmul_check("tdpbusd", c, a, b);
    const int nk = amx_emu.colsb[a] / 4, nn = amx_emu.colsb[c] / 4;
    int32_t yb[16][16][4]; /* src2, sign-extended s8: row k, dword n, byte e */
    for (int k = 0; k < nk; k++)
        for (int n = 0; n < nn; n++)
            for (int e = 0; e < 4; e++) yb[k][n][e] = (int8_t)amx_emu.t[b][k][4 * n + e];
    for (int m = 0; m < amx_emu.rows[c]; m++) {
        uint32_t acc[16];
        memcpy(acc, amx_emu.t[c][m], 4 * (size_t)nn);
        for (int k = 0; k < nk; k++) {
            const uint8_t *x = &amx_emu.t[a][m][4 * k]; /* zero-extended u8 */
            for (int n = 0; n < nn; n++) /* |products| < 2^15: no overflow before the 32-bit wrap-around add */
                acc[n] += (uint32_t)(x[0] * yb[k][n][0] + x[1] * yb[k][n][1] + x[2] * yb[k][n][2] + x[3] * yb[k][n][3]);
        }
        memcpy(amx_emu.t[c][m], acc, 4 * (size_t)nn);
        memset(&amx_emu.t[c][m][4 * nn], 0, (size_t)(AMX_EMU_COLSB - 4 * nn));
    }
    for (int m = amx_emu.rows[c]; m < AMX_EMU_ROWS; m++) memset(amx_emu.t[c][m], 0, AMX_EMU_COLSB);
}

/* the intrinsics' names (immintrin.h may define them as macros already) */
#undef _tile_loadconfig
#undef _tile_release
#undef _tile_zero
#undef _tile_loadd
#undef _tile_stored
#undef _tile_dpbf16ps
#undef _tile_dpbusd
#define _tile_loadconfig(cfg) amx_emu_loadconfig(cfg)
#define _tile_release() amx_emu_release()
#define _tile_zero(t) amx_emu_zero(t)
#define _tile_loadd(t, base, stride) amx_emu_loadd(t, base, (long)(stride))
#define _tile_stored(t, base, stride) amx_emu_stored(t, base, (long)(stride))
#define _tile_dpbf16ps(c, a, b) amx_emu_dpbf16ps(c, a, b)
#define _tile_dpbusd(c, a, b) amx_emu_dpbusd(c, a, b)

#endif
