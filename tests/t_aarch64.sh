#!/bin/sh
# t_aarch64.sh - the NEON kernels (src/nn/ops_neon*.c, src/index/dist_neon.c)
# against the scalar oracle on aarch64 under qemu: `make check-aarch64`
# (cross-compiled with gcc-aarch64-linux-gnu, run by qemu-aarch64-static).
# Emulated, the kernel tests take minutes of CPU (test_nn alone ~45 s of CPU,
# twice), past make check's budget per test: it runs when WN_CHECK_AARCH64=1
# and says SKIPPED otherwise, or when the cross tools are absent
# (sh scripts/deps-aarch64.sh installs them).
CC_A64=${AARCH64_CC:-aarch64-linux-gnu-gcc}
QEMU=${QEMU_AARCH64:-qemu-aarch64-static}
if ! command -v "$CC_A64" >/dev/null 2>&1 || ! command -v "$QEMU" >/dev/null 2>&1 ||
    [ ! -e /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 ]; then
    echo "SKIPPED: no aarch64 cross toolchain or qemu-aarch64-static (sh scripts/deps-aarch64.sh installs them)"
    exit 77
fi
if [ "${WN_CHECK_AARCH64:-0}" != 1 ]; then
    echo "SKIPPED: the NEON kernel tests under qemu take minutes; run make check-aarch64 (or WN_CHECK_AARCH64=1 make check)"
    exit 77
fi
exec make --no-print-directory check-aarch64
