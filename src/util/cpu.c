/* cpu.c - CPU feature detection (cpuid + xgetbv), done once; WN_FORCE_SCALAR=1
 * and WN_FORCE_ISA=scalar|avx2|avx2-novnni|avx512 override the choice (avx2-novnni:
 * the AVX2 kernels without AVX-VNNI's int8; avx512: AVX-512 without AMX; for
 * comparisons). AMX also needs the Linux kernel's permission for the tile data
 * (5.16+): asked here, once, inside the same once-initialisation, and only where
 * the AMX kernels would run; refused or unknown (older kernels), AMX stays off. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
static uint64_t xgetbv0(void) {
    uint32_t a, d;
    __asm__ volatile("xgetbv" : "=a"(a), "=d"(d) : "c"(0));
    return ((uint64_t)d << 32) | a;
}
#endif
#if defined(__x86_64__) && defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
/* from the kernel's asm/prctl.h and fpu/types.h (Linux 5.16+), not in every libc's headers */
#define WN_ARCH_GET_XCOMP_PERM 0x1022
#define WN_ARCH_REQ_XCOMP_PERM 0x1023
#define WN_XFEATURE_XTILEDATA 18

/* 1 if this process may use the AMX tile data (asks for it if not yet granted) */
static int amx_permission(void) {
    unsigned long perm = 0;
    if (syscall(SYS_arch_prctl, WN_ARCH_GET_XCOMP_PERM, &perm) == 0 && ((perm >> WN_XFEATURE_XTILEDATA) & 1)) return 1;
    if (syscall(SYS_arch_prctl, WN_ARCH_REQ_XCOMP_PERM, (unsigned long)WN_XFEATURE_XTILEDATA) != 0) return 0;
    perm = 0;
    return syscall(SYS_arch_prctl, WN_ARCH_GET_XCOMP_PERM, &perm) == 0 && ((perm >> WN_XFEATURE_XTILEDATA) & 1);
}
#endif
#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)
#endif
#endif

static wn_cpu_features feats;
static wn_isa isa;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void detect(void) {
    int amx_palette = 0; /* palette 1 has the 8 tiles of 16 rows x 64 bytes the kernels use */
#if defined(__x86_64__) || defined(__i386__)
    unsigned a, b, c, d;
    if (__get_cpuid(1, &a, &b, &c, &d)) {
        int osxsave = (c >> 27) & 1;
        uint64_t xcr0 = osxsave ? xgetbv0() : 0;
        feats.amx_os = ((xcr0 >> 17) & 3) == 3; /* XTILECFG (17) and XTILEDATA (18) */
        int ymm = (xcr0 & 6) == 6, zmm = (xcr0 & 0xe6) == 0xe6;
        feats.fma = ymm && ((c >> 12) & 1);
        feats.f16c = ymm && ((c >> 29) & 1);
        if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
            feats.avx2 = ymm && ((b >> 5) & 1);
            feats.avx512f = zmm && ((b >> 16) & 1);
            feats.avx512dq = zmm && ((b >> 17) & 1);
            feats.avx512bw = zmm && ((b >> 30) & 1);
            feats.avx512vl = zmm && ((b >> 31) & 1);
            feats.avx512vnni = zmm && ((c >> 11) & 1);
            feats.avx512fp16 = zmm && ((d >> 23) & 1);
#if defined(__x86_64__)
            /* EDX: AMX-BF16 (22), AMX-TILE (24), AMX-INT8 (25) */
            feats.amx_cpuid = ((d >> 22) & 1) && ((d >> 24) & 1) && ((d >> 25) & 1);
#endif
        }
        /* CPUID.1DH.1: palette 1: EBX = max_names << 16 | bytes_per_row, ECX = max_rows */
        if (feats.amx_cpuid && __get_cpuid_count(0x1d, 1, &a, &b, &c, &d))
            amx_palette = (b & 0xffff) >= 64 && (b >> 16) >= 8 && (c & 0xffff) >= 16;
        if (__get_cpuid_count(7, 1, &a, &b, &c, &d)) {
            feats.avx512bf16 = zmm && ((a >> 5) & 1);
            feats.avxvnni = ymm && ((a >> 4) & 1);
        }
    }
#endif
    isa = WN_ISA_SCALAR;
#if defined(__aarch64__) /* NEON (Advanced SIMD) is part of every aarch64 CPU; sdot is optional */
#if defined(__linux__)
    feats.asimddp = (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;
#endif
    isa = WN_ISA_NEON;
#endif
    if (feats.avx2 && feats.fma && feats.f16c) isa = WN_ISA_AVX2;
    if (isa == WN_ISA_AVX2 && feats.avx512f && feats.avx512bw && feats.avx512vl && feats.avx512dq) isa = WN_ISA_AVX512;
    const char *force = getenv("WN_FORCE_SCALAR");
    if (force && *force && strcmp(force, "0") != 0) isa = WN_ISA_SCALAR;
    const char *fi = getenv("WN_FORCE_ISA");
    if (fi) {
        if (!strcmp(fi, "scalar")) isa = WN_ISA_SCALAR;
        else if (!strcmp(fi, "neon-nodot") && isa == WN_ISA_NEON) feats.asimddp = 0; /* NEON without sdot */
        else if (!strcmp(fi, "avx2") && isa >= WN_ISA_AVX2 && isa <= WN_ISA_AVX512) isa = WN_ISA_AVX2;
        else if (!strcmp(fi, "avx2-novnni") && isa >= WN_ISA_AVX2 && isa <= WN_ISA_AVX512) { /* AVX2 without AVX-VNNI's int8 */
            isa = WN_ISA_AVX2;
            feats.avxvnni = 0;
        } else if (!strcmp(fi, "avx512") && isa == WN_ISA_AVX512) { /* AVX-512 without AMX */
            amx_palette = 0; /* amx_cpuid and amx_os still say what the machine has */
        }
    }
    (void)amx_palette;
#if defined(__x86_64__) && defined(__linux__)
    /* the AMX kernels run only under the AVX-512 table (they reuse its fp32 path) */
    if (isa == WN_ISA_AVX512 && feats.amx_cpuid && feats.amx_os && amx_palette) feats.amx_perm = amx_permission();
    feats.amx_tile = feats.amx_bf16 = feats.amx_int8 = feats.amx_perm;
#endif
}

const wn_cpu_features *wn_cpu_get(void) {
    pthread_once(&once, detect);
    return &feats;
}

wn_isa wn_cpu_isa(void) {
    pthread_once(&once, detect);
    return isa;
}

const char *wn_isa_name(wn_isa i) {
    switch (i) {
    case WN_ISA_SCALAR: return "scalar";
    case WN_ISA_AVX2: return "avx2+fma";
    case WN_ISA_AVX512: return "avx512";
    case WN_ISA_NEON: return "neon";
    }
    return "?";
}
