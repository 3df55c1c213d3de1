#!/usr/bin/env bash
# Builds a sandbox image from Debian packages, because no container registry
# is reachable here. Skips the build when the image already exists.
#   scripts/build-image.sh [NAME] [--full] [--datascience]
# Without options: plain python3 (bay-python:local).
# --full: what shipyard-neo's ship image gives agents: Python with pip, venv
# and headers, Node.js with npm and pnpm, git, curl, procps (ps), the C/C++
# toolchain (build-essential) and CA certificates (bay-full:local).
# --datascience: the data stack: IPython (the agent then uses IPython's
# InteractiveShell instead of the plain interpreter), numpy, pandas and
# matplotlib (bay-python-ds:local, or bay-full-ds:local with --full).
# --bay-base: not a sandbox image but the base of Bay's own image
# (scripts/build-bay-image.sh): no Python, iptables for the host firewall
# (bay-server-base:local).
set -euo pipefail

# pnpm is not packaged by Debian: it comes from the npm registry, pinned (to a
# line that supports Debian 12's Node.js 18) and checked against its digest.
PNPM_VERSION="10.34.9"
PNPM_INTEGRITY="sha512-9JtajqD97bRLs8DB1ldQkqU8KVDZW3rRXfEfF5dId6LeOgHAfpNOmyjOcW5RwJqUlixzBtCb4uHksYqMh2L9Mg=="
full_packages="python3-pip,python3-venv,python3-dev,nodejs,npm,git,curl,procps,build-essential,ca-certificates"
# python3-munkres (tiny) stands in for scipy in fonttools' dependencies; scipy
# would pull in pythran, a C++ compiler and Boost (600 MB more).
datascience_packages="python3-ipython,python3-numpy,python3-pandas,python3-matplotlib,python3-munkres"

name=""
full=false
datascience=false
base_packages="python3"
for arg in "$@"; do
  case "$arg" in
    --full) full=true ;;
    --datascience) datascience=true ;;
    --bay-base) base_packages="iptables"; name="${name:-bay-server-base:local}" ;;
    -*) echo "build-image.sh: unknown option $arg" >&2; exit 2 ;;
    *) name="$arg" ;;
  esac
done

extra_packages=""
$full && extra_packages="$full_packages"
$datascience && extra_packages="${extra_packages:+$extra_packages,}$datascience_packages"
if [ -z "$name" ]; then
  base=$($full && echo bay-full || echo bay-python)
  name="$base$($datascience && echo -ds || true):local"
fi

if docker image inspect "$name" >/dev/null 2>&1; then
  echo "build-image: $name already exists"
  exit 0
fi

if ! command -v debootstrap >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
fi

started=$(date +%s)
rootfs=$(mktemp -d /tmp/bay-rootfs.XXXXXX)
log="$rootfs.log"
trap 'rm -rf "$rootfs" "$log"' EXIT
# Runs a step, showing its log only when it fails.
quietly() { "$@" >"$log" 2>&1 || { tail -n 30 "$log" >&2; exit 1; }; }

echo "build-image: debootstrap bookworm with $base_packages (about a minute)"
quietly debootstrap --variant=minbase --include="$base_packages" bookworm "$rootfs"
if [ -n "$extra_packages" ]; then
  # apt inside the new root, not debootstrap --include: debootstrap's resolver
  # cannot configure a set as large as npm's dependencies.
  echo "build-image: apt-get install ${extra_packages//,/ } ($($full && echo "several minutes" || echo "a few minutes"))"
  quietly chroot "$rootfs" apt-get update -qq
  quietly chroot "$rootfs" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ${extra_packages//,/ }
  quietly chroot "$rootfs" apt-get clean
fi
if $full; then
  echo "build-image: pnpm@$PNPM_VERSION from the npm registry"
  # Fetched by the host's npm, which trusts what the host trusts (a proxy's CA
  # included), then installed offline by the image's own npm (its Node.js, its
  # /usr/local prefix); the tarball and npm's cache are removed right after.
  command -v npm >/dev/null 2>&1 || { echo "build-image.sh: --full needs npm on the host (apt-get install npm)" >&2; exit 1; }
  quietly npm pack --silent --pack-destination "$rootfs/tmp" "pnpm@$PNPM_VERSION"
  tarball="$rootfs/tmp/pnpm-$PNPM_VERSION.tgz"
  digest=$(node -e 'const data = require("fs").readFileSync(process.argv[1]);
    console.log("sha512-" + require("crypto").createHash("sha512").update(data).digest("base64"))' "$tarball")
  [ "$digest" = "$PNPM_INTEGRITY" ] || { echo "build-image.sh: pnpm tarball digest $digest, expected $PNPM_INTEGRITY" >&2; exit 1; }
  quietly chroot "$rootfs" env HOME=/root npm install --global --offline --cache /tmp/npm-cache --no-audit --no-fund \
    --no-update-notifier "/tmp/pnpm-$PNPM_VERSION.tgz"
  rm -rf "$tarball" "$rootfs"/tmp/npm-cache "$rootfs"/root/.npm
fi
# Trim what a sandbox never needs: apt caches and docs.
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/*
tar -C "$rootfs" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  - "$name" >/dev/null
size=$(docker image inspect --format '{{.Size}}' "$name")
echo "build-image: built $name ($((size / 1000000)) MB) in $(($(date +%s) - started)) s"
