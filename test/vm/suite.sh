#!/usr/bin/env bash
# test/vm/suite.sh — the guest side of test/vm/ci.sh: runs inside the VM (through run.sh), in the
# repository. Each tap file runs under plain node (tap's runner costs tens of seconds to start
# under TCG) with a time limit; then the named runc-bats files, plainly and with the systemd
# driver. Prints each part's figures as lines ci.sh adds up:
#     vm-tap: FILE N passed, M failed
#     vm-bats: MODE N passed, M failed, K skipped, E excused
# A file that dies, overruns or prints no summary counts as one failure more.
#
# Environment: VM_TAP_FILES (space-separated dist/… paths), VM_TAP_TIMEOUT (s per file, 480),
# VM_BATS_PLAIN and VM_BATS_SYSTEMD (space-separated bats file names; empty = none),
# VM_BATS_RUNTIME (default: test/vm/runts-cli; /usr/sbin/runc for the oracle figures),
# RUNC_BATS_TIMEOUT / RUNC_BATS_TOTAL_TIMEOUT (passed on to the suite, per run).
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
cd "$repo" || exit 125
log=$(mktemp)

for f in ${VM_TAP_FILES:-}; do
  started=$SECONDS
  # Outside tap's runner a file's root test times out after TAP_TIMEOUT (30 s by default).
  TAP_TIMEOUT=${VM_TAP_TIMEOUT:-480} timeout -k 10 "${VM_TAP_TIMEOUT:-480}" node "$f" 2>&1 | tee "$log"
  status=${PIPESTATUS[0]}
  summary=$(grep -E '^# \{ total: [0-9]+' "$log" | tail -1)
  passed=$(sed -nE 's/.*pass: ([0-9]+).*/\1/p' <<<"$summary")
  failed=$(sed -nE 's/.*fail: ([0-9]+).*/\1/p' <<<"$summary")
  failed=${failed:-0}
  if [ -z "$passed" ]; then passed=0; failed=$((failed + 1)); elif [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
  [ "$status" -eq 124 ] && echo "# vm: $f overran ${VM_TAP_TIMEOUT:-480}s"
  echo "vm-tap: $f $passed passed, $failed failed  # $((SECONDS - started))s"
done

run_bats() { # MODE FLAG FILES...
  local mode=$1 flag=$2; shift 2
  [ $# -gt 0 ] || return 0
  local started=$SECONDS
  "$here/runc-bats.sh" $flag "${VM_BATS_RUNTIME:-$here/runts-cli}" "$@" 2>&1 | tee "$log"
  local status=${PIPESTATUS[0]}
  local totals; totals=$(grep -E '^runc-bats: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped, [0-9]+ excused' "$log" | tail -1)
  if [ -z "$totals" ]; then totals="runc-bats: 0 passed, 1 failed, 0 skipped, 0 excused"
  elif [ "$status" -ne 0 ] && grep -q ', 0 failed,' <<<"$totals"; then totals=${totals/, 0 failed,/, 1 failed,}; fi
  # The guest's /tmp goes with the VM: a failing file's raw TAP (its commands' output) is shown
  # here, or the failure leaves nothing but its name.
  local logs; logs=$(sed -nE 's/^# logs: (.*)$/\1/p' "$log" | tail -1)
  if [ -n "$logs" ] && ! grep -q ', 0 failed,' <<<"$totals"; then
    grep -l '^not ok' "$logs"/*.tap 2>/dev/null | while read -r tap; do echo "# --- $tap"; sed 's/^/# /' "$tap"; done
  fi
  echo "vm-bats: $mode ${totals#runc-bats: }  # $((SECONDS - started))s"
}
run_bats plain "" ${VM_BATS_PLAIN:-}
run_bats systemd --systemd ${VM_BATS_SYSTEMD:-}
rm -f "$log"
