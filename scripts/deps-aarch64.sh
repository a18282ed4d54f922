#!/bin/sh
# deps-aarch64.sh - the Debian 12 packages `make check-aarch64` needs (the NEON
# kernels cross-compiled and run under qemu): gcc-aarch64-linux-gnu,
# libc6-dev-arm64-cross and qemu-user-static (about 150 MB installed). Not in
# scripts/deps.sh: `make check` does not need them (tests/t_aarch64.sh says
# SKIPPED without them). Installs only what is missing.
set -e
PKGS="gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static"
missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0
echo "winnow: installing Debian packages:$missing" >&2
SUDO=""
[ "$(id -u)" != 0 ] && SUDO=sudo
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >&2
