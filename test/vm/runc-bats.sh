#!/usr/bin/env bash
# test/vm/runc-bats.sh [--systemd] RUNTIME [FILE...] — runc's bats suite (../shared/runc-bats/run.sh)
# inside the VM, plainly or with the systemd cgroup driver (--systemd: RUNC_USE_SYSTEMD=1, so
# helpers.bash passes --systemd-cgroup, names cgroups slice:prefix:name and checks the unit's
# properties through systemctl). Run it through test/vm/run.sh only: it needs systemd as PID 1.
#
# The shared runner is always the "root, cgroupfs" configuration: runc-bats.sh unsets
# RUNC_USE_SYSTEMD. For --systemd this uses a copy of the two scripts with that one name dropped
# from the unset, beside symlinks to the suite (the guest's overlay makes the suite writable).
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
shared=$(cd "$here/../../../shared/runc-bats" 2>/dev/null && pwd) || { echo "runc-bats.sh: no ../shared/runc-bats" >&2; exit 2; }
[ "$(cat /proc/1/comm)" = systemd ] || { echo "runc-bats.sh: needs systemd as PID 1 (run it through test/vm/run.sh)" >&2; exit 2; }
systemd=""
[ "${1:-}" = --systemd ] && { systemd=1; shift; }
[ $# -ge 1 ] || { echo "usage: runc-bats.sh [--systemd] RUNTIME [FILE...]" >&2; exit 2; }
if [ -z "$systemd" ]; then exec "$shared/run.sh" "$@"; fi

copy=$(mktemp -d /tmp/runc-bats-systemd.XXXXXX)
trap 'rm -rf "$copy"' EXIT
cp "$shared/run.sh" "$copy/run.sh"
sed 's/^unset RUNC_USE_SYSTEMD /unset /' "$shared/runc-bats.sh" > "$copy/runc-bats.sh"
grep -q '^unset RUNC_USE_SYSTEMD ' "$copy/runc-bats.sh" && { echo "runc-bats.sh: could not keep RUNC_USE_SYSTEMD" >&2; exit 2; }
chmod +x "$copy/run.sh" "$copy/runc-bats.sh"
for d in runc images offline; do ln -s "$shared/$d" "$copy/$d"; done
RUNC_USE_SYSTEMD=1 RUNC_BATS_WORK="${RUNC_BATS_WORK:-/tmp/runc-bats-suite}" "$copy/run.sh" "$@"
