#!/usr/bin/env bash
# The whole test suite, from a fresh machine: sets up what it needs, then
# type-checks, runs every test against the real Docker engine, checks that
# no test left a container or volume behind, and ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/bootstrap.sh --test || { echo "0 passed, 1 failed"; exit 1; }

passed=0
failed=0
log=$(mktemp /tmp/bay-test.XXXXXX)
# Run again under gVisor: the core flow, and the red-team suites of the sandbox boundary.
GVISOR_SUITES=(test/e2e/sandbox-lifecycle.test.ts test/security/agent-identity.test.ts test/e2e/hardening.test.ts test/security/network-policy.test.ts test/security/resource-caps.test.ts)

echo "== type-check"
if bunx tsc --noEmit -p tsconfig.json; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
# The dashboard (src/ui) is checked with the browser's DOM types, apart.
if bun scripts/typecheck-ui.ts; then passed=$((passed + 1)); else failed=$((failed + 1)); fi

# Runs bun test with the given arguments and adds its counts to the totals.
run_bun_test() {
  bun test --timeout 60000 "$@" 2>&1 | tee "$log"
  local status=${PIPESTATUS[0]}
  local pass_count fail_count
  pass_count=$(grep -E '^ *[0-9]+ pass$' "$log" | tail -n 1 | awk '{print $1}')
  fail_count=$(grep -E '^ *[0-9]+ fail$' "$log" | tail -n 1 | awk '{print $1}')
  if [ -z "$pass_count" ] || [ -z "$fail_count" ]; then
    echo "bun test did not report its results (exit $status)"
    failed=$((failed + 1))
  else
    passed=$((passed + pass_count))
    failed=$((failed + fail_count))
    if [ "$status" -ne 0 ] && [ "$fail_count" -eq 0 ]; then
      echo "bun test exited $status without failing tests"
      failed=$((failed + 1))
    fi
  fi
}

echo "== bun test"
run_bun_test "$@"

# The core flow and the sandbox boundary's red-team suites once more with every profile under gVisor
# (test/helpers/bay-under-test.ts reads BAY_TEST_RUNTIME).
if [ $# -eq 0 ]; then
  echo "== bun test, under gVisor"
  BAY_TEST_RUNTIME=gvisor run_bun_test "${GVISOR_SUITES[@]}"
fi
rm -f "$log"

echo "== leftovers"
# Test instances are named test-…; none of their objects may outlive the suite.
leftovers=$( { docker ps -aq --filter label=bay.managed=true | xargs -r docker inspect --format '{{index .Config.Labels "bay.instance_id"}} {{.Name}}';
               docker volume ls -q --filter label=bay.managed=true | xargs -r docker volume inspect --format '{{index .Labels "bay.instance_id"}} {{.Name}}'; } | grep '^test-' || true)
# A host network helper lives only as long as the Bay container it serves.
for helper in $(docker ps -aq --filter label=bay.host_network_helper_for); do
  bay_container=$(docker inspect --format '{{index .Config.Labels "bay.host_network_helper_for"}}' "$helper" 2>/dev/null) || continue
  docker container inspect "$bay_container" >/dev/null 2>&1 || leftovers="$leftovers${leftovers:+
}host network helper $helper of a Bay container that is gone"
done
if [ -z "$leftovers" ]; then
  passed=$((passed + 1))
else
  echo "left behind by the tests:"; echo "$leftovers"
  failed=$((failed + 1))
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
