#!/usr/bin/env bash
# Builds the image of Bay itself: the compiled `bay` binary on a small Debian
# base (minbase with iptables, built once from Debian packages and kept as
# bay-server-base:local). Rebuilt whenever the binary changed; cheap when
# only the binary did (one layer on the kept base).
#   scripts/build-bay-image.sh [NAME]      # default bay:local
# Run it with compose.yaml (docs/deployment.md).
set -euo pipefail
cd "$(dirname "$0")/.."

name="${1:-bay:local}"
base="bay-server-base:local"

bash scripts/build-image.sh "$base" --bay-base
[ -n "${BAY_SKIP_BUILD:-}" ] || bash scripts/build.sh >/dev/null
binary="dist/bay"
digest=$(sha256sum "$binary" | cut -c1-16)
base_id=$(docker image inspect --format '{{.Id}}' "$base")

current=$(docker image inspect --format '{{index .Config.Labels "bay.binary_sha256"}} {{index .Config.Labels "bay.base_image"}}' "$name" 2>/dev/null || true)
if [ "$current" = "$digest $base_id" ]; then
  echo "build-bay-image: $name is up to date ($("$binary" --version))"
  exit 0
fi

context=$(mktemp -d /tmp/bay-image.XXXXXX)
trap 'rm -rf "$context"' EXIT
cp "$binary" "$context/bay"
cat > "$context/Dockerfile" <<DOCKERFILE
FROM $base
COPY bay /usr/local/bin/bay
LABEL bay.binary_sha256="$digest" bay.base_image="$base_id"
ENV BAY_SERVER__HOST=0.0.0.0 BAY_DATA_DIR=/var/lib/bay
EXPOSE 8114
ENTRYPOINT ["/usr/local/bin/bay"]
CMD ["serve"]
DOCKERFILE
# The classic builder: BuildKit's client plugin is not in Debian's docker.io 20.10.
DOCKER_BUILDKIT=0 docker build --quiet --tag "$name" "$context" >/dev/null 2>"$context/log" || { cat "$context/log" >&2; exit 1; }
size=$(docker image inspect --format '{{.Size}}' "$name")
echo "build-bay-image: built $name ($((size / 1000000)) MB, $("$binary" --version))"
