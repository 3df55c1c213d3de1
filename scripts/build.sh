#!/usr/bin/env bash
# Builds the single `bay` executable into dist/bay (also the in-sandbox agent).
#   scripts/build.sh [--target bun-linux-x64|bun-linux-arm64|bun-linux-x64-musl|...] [--out PATH]
#   scripts/build.sh --all    # also dist/bay-linux-arm64 and dist/bay-linux-x64-musl
set -euo pipefail
cd "$(dirname "$0")/.."

target=""
out="dist/bay"
while [ $# -gt 0 ]; do
  case "$1" in
    --all)
      bash "$0"
      bash "$0" --target bun-linux-arm64 --out dist/bay-linux-arm64
      bash "$0" --target bun-linux-x64-musl --out dist/bay-linux-x64-musl
      exit 0 ;;
    --target) target="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    *) echo "build.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git status --porcelain 2>/dev/null)" ]; then commit="$commit-dirty"; fi
mkdir -p "$(dirname "$out")"

bun scripts/build.ts --out "$out" --commit "$commit" ${target:+--target "$target"}
# Profile-guided bytecode layout: what `bay serve` runs as it starts is placed together, so a daemon (and every
# command) maps fewer pages of the executable. Recorded by starting the native build once; skipped when it cannot.
if [ -z "$target" ]; then
  profile_dir=$(mktemp -d)
  if BAY_DATA_DIR="$profile_dir" BUN_BYTECODE_ORDER_OUT="$profile_dir/order" timeout 20 bash scripts/record-start.sh "$out" >/dev/null 2>&1 \
    && [ -s "$profile_dir/order" ]; then
    bun scripts/build.ts --out "$out" --commit "$commit" --bytecode-order "$profile_dir/order"
  fi
  rm -rf "$profile_dir"
fi
if [ -z "$target" ]; then
  echo "build: $out ($("$out" --version))"
else
  echo "build: $out ($target)"
fi
