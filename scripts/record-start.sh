#!/usr/bin/env bash
# Starts `bay serve` (the executable given) on $BAY_DATA_DIR until /health answers, then stops it:
# scripts/build.sh runs it to record which bytecode a start uses (BUN_BYTECODE_ORDER_OUT).
set -euo pipefail
bay="$1"
printf 'log: { level: warn }\n' > "$BAY_DATA_DIR/bay.yaml"
BAY_API_KEY="record-start-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')" "$bay" serve --port 0 --config "$BAY_DATA_DIR/bay.yaml" \
  --log-level info > "$BAY_DATA_DIR/log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 500); do
  url=$(grep -o 'listening on http://[^ ]*' "$BAY_DATA_DIR/log" | head -1 | cut -d' ' -f3 || true)
  if [ -n "$url" ] && curl -sf "$url/health" >/dev/null; then exit 0; fi
  sleep 0.02
done
exit 1
