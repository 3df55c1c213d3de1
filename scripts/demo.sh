#!/usr/bin/env bash
# Bay's main job on a fresh machine: set up, build the binary, start
# `bay serve`, and have a real sandbox do real work through the HTTP API.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
bash scripts/build.sh
exec bun scripts/demo.ts
