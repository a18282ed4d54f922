#!/bin/sh
# deps.sh - installs the Debian 12 packages winnow builds and tests with, only
# those missing (idempotent: a no-op when all are present). Used by `make deps`,
# the README's commands and .ci/run.
# libcjson-dev: tests and benchmarks read their JSON fixtures with cJSON; the
# library has its own reader (src/util/json.c) and does not link it.
set -e
PKGS="gcc make libc6-dev pkg-config libcjson-dev libutf8proc-dev libcurl4-openssl-dev libsqlite3-dev python3 clang xz-utils"
PKGS="$PKGS libsimde-dev" # tests/test_nn_simde: the AVX-512 kernels emulated on AVX2
PKGS="$PKGS libmicrohttpd-dev" # winnow serve: the HTTP server (src/server/, docs/SERVER.md)
missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0
echo "winnow: installing Debian packages:$missing" >&2
SUDO=""
if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
        echo "winnow: need root (or sudo) to install:$missing" >&2; exit 1
    fi
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >&2
