#!/usr/bin/env bash
# Builds a Python sandbox image from Debian packages, because no container
# registry is reachable here. Skips the build when the image already exists.
#   scripts/build-image.sh [NAME] [--datascience]
# NAME defaults to bay-python:local. --datascience adds IPython (the agent
# then uses IPython's InteractiveShell instead of the plain interpreter),
# numpy and matplotlib.
set -euo pipefail

name="bay-python:local"
packages="python3"
for arg in "$@"; do
  case "$arg" in
    --datascience) packages="python3,python3-ipython,python3-numpy,python3-matplotlib" ;;
    -*) echo "build-image.sh: unknown option $arg" >&2; exit 2 ;;
    *) name="$arg" ;;
  esac
done

if docker image inspect "$name" >/dev/null 2>&1; then
  echo "build-image: $name already exists"
  exit 0
fi

if ! command -v debootstrap >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
fi

rootfs=$(mktemp -d /tmp/bay-rootfs.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT
echo "build-image: debootstrap bookworm with $packages (about a minute)"
debootstrap --variant=minbase --include="$packages" bookworm "$rootfs" >"$rootfs.log" 2>&1 || {
  tail -n 30 "$rootfs.log" >&2; exit 1; }
rm -f "$rootfs.log"
# Trim what a sandbox never needs: apt caches and docs.
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/*
tar -C "$rootfs" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  - "$name" >/dev/null
echo "build-image: built $name"
