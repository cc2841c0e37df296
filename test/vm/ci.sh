#!/usr/bin/env bash
# test/vm/ci.sh — the VM part of .ci/run: one boot of the VM (run.sh) runs the live cgroup v2
# tests (test/vm/*.test.ts, plus the unit test comparing `runts spec` with `runc spec`, which
# differs on v2) and a bounded subset of runc's bats suite against runts. Last line:
#     vm: N passed, M failed
# Budget on this 2-core machine under TCG: ~1.5 min image build (cached), ~1 min boot, ~10 min tests.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
BATS_SUBSET=(events pause delete)
log=$(mktemp /var/tmp/runts-vm-ci.XXXXXX)
trap 'rm -f "$log"' EXIT
"$here/run.sh" --repo "$repo" --timeout 1500 --env RUNC_BATS_TIMEOUT=400 --env RUNC_BATS_TOTAL_TIMEOUT=900 -- bash -c '
  npx tap --timeout 900 -R tap dist/test/vm/*.test.js dist/test/unit/validate.test.js
  echo "tap-status: $?"
  ../shared/runc-bats/run.sh "$PWD/test/vm/runts-cli" '"${BATS_SUBSET[*]}"'
  echo "bats-status: $?"' 2>&1 | tee "$log"
summary=$(grep -E '^# \{ total: [0-9]+' "$log" | tail -1)
tap_passed=$(sed -nE 's/.*pass: ([0-9]+).*/\1/p' <<<"$summary")
tap_failed=$(sed -nE 's/.*fail: ([0-9]+).*/\1/p' <<<"$summary")
[ -n "$tap_passed" ] || { tap_passed=0; tap_failed=1; }
grep -q '^tap-status: 0$' "$log" || [ "${tap_failed:-0}" -gt 0 ] || tap_failed=1
totals=$(grep -E '^runc-bats: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped, [0-9]+ excused' "$log" | tail -1)
bats_passed=$(sed -nE 's/^runc-bats: ([0-9]+) passed.*/\1/p' <<<"$totals")
bats_failed=$(sed -nE 's/^runc-bats: [0-9]+ passed, ([0-9]+) failed.*/\1/p' <<<"$totals")
[ -n "$bats_passed" ] || { bats_passed=0; bats_failed=1; }
grep -q '^bats-status: 0$' "$log" || [ "$bats_failed" -gt 0 ] || bats_failed=1
echo "vm: $((tap_passed + bats_passed)) passed, $((${tap_failed:-0} + bats_failed)) failed"
[ $((${tap_failed:-0} + bats_failed)) -eq 0 ]
