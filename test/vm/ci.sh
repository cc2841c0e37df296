#!/usr/bin/env bash
# test/vm/ci.sh — the VM part of .ci/run: one boot of the VM (run.sh: Debian 12, systemd as PID 1,
# pure cgroup v2) runs test/vm/suite.sh there: the live cgroup v2 tests, the systemd cgroup
# driver's, containerd and Podman with the systemd driver, and a small part of runc's bats suite
# against runts with RUNC_USE_SYSTEMD=1 (pause.bats: freezing through the unit;
# cgroup_delegation.bats, systemd only in runc 1.1: the scope chowned to a user namespace's root).
# Prints the per-part lines, then last:
#     vm: N passed, M failed
# Budget on this 2-core machine under TCG (15 min in all, with other work beside it): the image
# (cached in /var/cache/runts-vm; ~1 min to build when its inputs change), ~1 min boot, then at
# most 12 min for the tests (~4-5 min for the tap files, ~3-4 min for the bats run).
# Every part has its own limit, and the guest's command has VM_CI_TIMEOUT (720 s) in all.
# Under TCG one `runts run` costs 4-7 s, so each runtime call in these files is chosen.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
TAP_FILES="dist/test/vm/cgroup-v2-live.test.js dist/test/vm/systemd.test.js dist/test/vm/systemd-clients.test.js"
# Plain v2 (freezing included) is what cgroup-v2-live checks against runc; runc's own files run
# with the systemd driver, where they reach what no tap file does.
BATS_PLAIN=""
BATS_SYSTEMD="pause cgroup_delegation"
log=$(mktemp /var/tmp/runts-vm-ci.XXXXXX)
trap 'rm -f "$log"' EXIT
"$here/run.sh" --repo "$repo" --timeout "${VM_CI_TIMEOUT:-720}" \
  --env "VM_TAP_FILES=$TAP_FILES" --env VM_TAP_TIMEOUT=300 \
  --env "VM_BATS_PLAIN=$BATS_PLAIN" --env "VM_BATS_SYSTEMD=$BATS_SYSTEMD" \
  --env RUNC_BATS_TIMEOUT=200 --env RUNC_BATS_TOTAL_TIMEOUT=360 \
  -- test/vm/suite.sh 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

passed=0 failed=0
expect() { # PREFIX NAME: the part's line must be there, else it counts as one failure
  local line; line=$(grep -E "^$1: $2 [0-9]+ passed, [0-9]+ failed" "$log" | tail -1)
  if [ -z "$line" ]; then echo "vm: no result for $2"; failed=$((failed + 1)); return; fi
  passed=$((passed + $(sed -nE 's/.* ([0-9]+) passed.*/\1/p' <<<"$line")))
  failed=$((failed + $(sed -nE 's/.* ([0-9]+) failed.*/\1/p' <<<"$line")))
}
for f in $TAP_FILES; do expect vm-tap "$f"; done
[ -z "$BATS_PLAIN" ] || expect vm-bats plain
[ -z "$BATS_SYSTEMD" ] || expect vm-bats systemd
[ "$status" -eq 0 ] || [ "$failed" -gt 0 ] || { echo "vm: the VM job ended with status $status"; failed=1; }
echo "vm: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
