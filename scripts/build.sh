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

# Full --minify breaks Elysia's handler inference: whitespace and syntax only.
# A stray .env or bunfig.toml in the caller's directory must not change the binary's behaviour.
# ESM bytecode: parsing is done at build time, which cuts start-up (bay --version) about fourfold.
bun build src/main.ts \
  --compile --format=esm --bytecode \
  --minify-whitespace --minify-syntax \
  --no-compile-autoload-dotenv --no-compile-autoload-bunfig \
  --define "BAY_BUILD_COMMIT=\"$commit\"" \
  ${target:+--target "$target"} \
  --outfile "$out" >/dev/null
if [ -z "$target" ]; then
  echo "build: $out ($("$out" --version))"
else
  echo "build: $out ($target)"
fi
