#!/bin/sh
# t_amx_dispatch.sh - the AMX kernels are chosen only where the CPU has AMX, and
# WN_FORCE_ISA=avx512 (AVX-512 without AMX, for benchmarks) turns them off:
# `winnow --version` names the kernels that run ("kernels: amx: ..." for AMX).
#  - WN_FORCE_ISA=avx512 / avx2 / scalar: never amx;
#  - without it: amx only if /proc/cpuinfo lists amx_tile, amx_bf16 and amx_int8 (the
#    kernel may still refuse the tile data permission, then the AVX-512 kernels run:
#    both are right, and the line says which).
: "${BUILD:=build}"
W="$BUILD/winnow"
[ -x "$W" ] || { echo "t_amx_dispatch: $W is not built"; exit 1; }
. "${0%/*}/lib.sh"
t_tmp amx_dispatch
kern() { env "$@" "$W" --version | sed -n 's/^kernels: //p'; }
def=$(kern WN_FORCE_ISA=)
[ -n "$def" ] || fail "winnow --version prints no kernels line"
for isa in avx512 avx2 scalar; do
    k=$(kern WN_FORCE_ISA=$isa)
    case "$k" in amx*) fail "WN_FORCE_ISA=$isa still runs the AMX kernels: $k" ;; esac
done
has_amx=0
if [ -r /proc/cpuinfo ] && grep -qw amx_tile /proc/cpuinfo && grep -qw amx_bf16 /proc/cpuinfo &&
    grep -qw amx_int8 /proc/cpuinfo; then has_amx=1; fi
case "$def" in
amx*) [ $has_amx = 1 ] || fail "AMX kernels chosen on a CPU whose /proc/cpuinfo has no amx flags: $def" ;;
*) [ $has_amx = 1 ] && echo "note: the CPU lists AMX, but the AVX-512 kernels run (permission refused?): $def" ;;
esac
echo "default kernels: $def (cpuinfo amx: $has_amx)"
t_done
