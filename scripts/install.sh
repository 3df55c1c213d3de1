#!/usr/bin/env bash
# Puts the `bay` binary on PATH: builds it if needed, then copies it to
# $PREFIX/bin (default /usr/local/bin). Safe to run again.
#   scripts/install.sh [--prefix DIR]
set -euo pipefail
cd "$(dirname "$0")/.."

prefix="${PREFIX:-/usr/local}"
if [ "${1:-}" = "--prefix" ]; then prefix="$2"; fi

[ -x dist/bay ] || bash scripts/build.sh
mkdir -p "$prefix/bin"
install -m 0755 dist/bay "$prefix/bin/bay"
echo "install: $prefix/bin/bay ($("$prefix/bin/bay" --version))"
case ":$PATH:" in
  *":$prefix/bin:"*) ;;
  *) echo "install: add $prefix/bin to PATH" ;;
esac
