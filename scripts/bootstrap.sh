#!/usr/bin/env bash
# Sets up a machine for Bay, idempotently: Bun (from the npm registry), the
# project's packages, a running Docker engine (installed from Debian's
# packages when absent and we are root) and the sandbox image(s).
#   scripts/bootstrap.sh            # what `bay serve` needs
#   scripts/bootstrap.sh --test     # plus the images the tests use: data science (--datascience) and full (--full)
set -euo pipefail
cd "$(dirname "$0")/.."

BUN_VERSION="1.4.5"
with_test_images=false
[ "${1:-}" = "--test" ] && with_test_images=true

say() { echo "bootstrap: $*"; }
is_root() { [ "$(id -u)" = 0 ]; }
apt_install() {
  is_root || { say "need root to install $* (apt-get)"; exit 1; }
  if [ ! -f /tmp/.bay-apt-updated ]; then apt-get update -qq && touch /tmp/.bay-apt-updated; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# 1. Bun, pinned.
if [ "$(bun --version 2>/dev/null || true)" != "$BUN_VERSION" ]; then
  command -v npm >/dev/null 2>&1 || apt_install nodejs npm
  say "installing bun@$BUN_VERSION from the npm registry"
  npm install -g --silent "bun@$BUN_VERSION" >/dev/null
  hash -r
fi
say "bun $(bun --version)"

# 2. Packages, exactly as locked.
bun install --frozen-lockfile --silent

# 2b. A C compiler and the static C library: the build compiles the network slots' native holder
#     (drivers/docker/slot-holder.c) into the executable; without them holders run `bay hold`.
if ! command -v cc >/dev/null 2>&1 || [ ! -f "$(cc -print-file-name=libc.a 2>/dev/null)" ]; then
  if is_root; then apt_install gcc libc6-dev; else say "no C compiler: network slot holders will run 'bay hold'"; fi
fi

# 3. A reachable Docker engine, with gVisor registered as the runtime "runsc" (profiles with runtime: gvisor).
#    runsc runs with --network=host: gVisor then uses the container's own network namespace, so the engine's
#    bridge and Bay's network policy apply as under runc (gVisor's own netstack refuses to start on this engine);
#    and with --host-uds=create, so that a network: none sandbox's agent can listen on its socket for Bay.
# Exits 10 when it changed daemon.json (a running engine must then read it again).
register_gvisor() {
  is_root || return 0
  command -v runsc >/dev/null 2>&1 || apt_install runsc
  mkdir -p /etc/docker
  bun -e '
    const path = "/etc/docker/daemon.json";
    const file = Bun.file(path);
    const config = (await file.exists()) ? await file.json() : {};
    const runsc = { path: "/usr/bin/runsc", runtimeArgs: ["--network=host", "--host-uds=create"] };
    if (JSON.stringify(config.runtimes?.runsc) === JSON.stringify(runsc)) process.exit(0);
    config.runtimes = { ...config.runtimes, runsc };
    await Bun.write(path, JSON.stringify(config, null, 2) + "\n");
    process.exit(10);
  '
}
gvisor_registered() { docker info --format '{{range $name, $_ := .Runtimes}}{{$name}} {{end}}' 2>/dev/null | grep -qw runsc; }
# Registered for the tests, on request, and whenever this script starts its own engine.
if $with_test_images || [ "${BAY_GVISOR:-}" = 1 ] || ! docker info >/dev/null 2>&1; then
  changed=0
  register_gvisor || changed=$?
  if [ "$changed" -ne 0 ] && [ "$changed" -ne 10 ]; then say "could not register gVisor in /etc/docker/daemon.json"; exit 1; fi
  if [ "$changed" -eq 10 ] && docker info >/dev/null 2>&1 && pidof dockerd >/dev/null; then
    # An engine started before the runtime was registered reads daemon.json again on SIGHUP.
    say "registered gVisor (runsc) in /etc/docker/daemon.json; reloading the engine"
    kill -HUP "$(pidof dockerd)"
    for _ in $(seq 1 20); do gvisor_registered && break; sleep 0.5; done
  fi
fi
if ! docker info >/dev/null 2>&1; then
  if ! command -v dockerd >/dev/null 2>&1; then
    say "installing the Docker engine (docker.io) from Debian's packages"
    apt_install docker.io
  fi
  if ! command -v docker >/dev/null 2>&1; then apt_install docker.io; fi
  is_root || { say "the Docker engine is not reachable and we are not root to start it"; exit 1; }
  say "starting dockerd in the background (log: /var/log/bay-dockerd.log)"
  nohup dockerd >/var/log/bay-dockerd.log 2>&1 &
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null 2>&1 || { tail -n 20 /var/log/bay-dockerd.log >&2; say "dockerd did not come up"; exit 1; }
fi
say "docker engine $(docker version --format '{{.Server.Version}}')"

# 4. The host tools Bay fences sandbox networks with (iptables comes with docker.io), and that the
#    network tests build their outside hosts with (ip netns).
command -v iptables >/dev/null 2>&1 || apt_install iptables
if $with_test_images && ! command -v ip >/dev/null 2>&1; then apt_install iproute2; fi
# bay attach's test (test/e2e/attach.test.ts) types into a real terminal: tmux.
if $with_test_images && ! command -v tmux >/dev/null 2>&1; then apt_install tmux; fi
# The API reference test (test/e2e/openapi-page.test.ts) drives Debian's Chromium.
if $with_test_images && ! command -v chromium >/dev/null 2>&1; then apt_install chromium; fi
# The Postgres backend's tests start throwaway clusters with Debian's server (test/helpers/postgres.ts).
if $with_test_images && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then apt_install postgresql; fi
# Bay in a container (test/e2e/bay-in-container.test.ts) is started with compose.yaml.
if $with_test_images && ! command -v docker-compose >/dev/null 2>&1; then apt_install docker-compose; fi

# 5. Sandbox images, built locally from Debian packages (no registry is needed).
bash scripts/build-image.sh bay-python:local
if $with_test_images; then
  bash scripts/build-image.sh bay-python-ds:local --datascience
  bash scripts/build-image.sh bay-full:local --full
  # The base of Bay's own image; the test adds the current binary on top.
  bash scripts/build-image.sh bay-server-base:local --bay-base
fi
