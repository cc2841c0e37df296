#!/usr/bin/env bash
# test/vm/run.sh — run a command inside a throw-away VM that boots systemd as PID 1 on the pure
# cgroup v2 hierarchy, with the host's / shared read-only (tmpfs overlay on top), so the command
# uses the host's node, runc, the worktree's build and fixtures as they are. Usage, from anywhere:
#
#   test/vm/run.sh [--repo DIR] [--timeout SECS] [--env NAME=VALUE]... [--writable DIR] -- COMMAND [ARG...]
#
#   e.g. /work/hosts/test/vm/run.sh --repo /work/systemd -- npx tap dist/test/vm/cgroup-v2.test.js
#        /work/hosts/test/vm/run.sh -- bash -c 'cat /sys/fs/cgroup/cgroup.controllers'
#
# COMMAND runs as root under bash in DIR (default: this repository), inside the guest, with the
# guest's /proc, /sys (the real cgroup2 tree), /dev, /run (systemd's D-Bus sockets) and a fresh
# /tmp (the host's /tmp is NOT visible: put scripts in the worktree or /var/tmp); writes go to the
# overlay and vanish with the VM, except below --writable DIR (a host directory, shared read-write
# at the same path, e.g. for logs). Build on the host first (npm run build):
# the VM runs what the worktree holds. Its output streams to stdout; the exit status is
# COMMAND's (124 when it ran past --timeout, 125 when the VM could not run it).
# The root image (Debian 12 + the host's linux-image-amd64 modules, from build-image.sh) is
# cached in /var/cache/runts-vm; the first run builds it (~1.5 min). KVM is used when a bounded
# probe shows it boots, else TCG (RUNTS_VM_ACCEL=kvm|tcg forces one). RUNTS_VM_MEM (MiB, 2048),
# RUNTS_VM_CPUS (2). RUNTS_VM_KEEP=1 keeps the job directory (serial console log in it).
# RUNTS_VM_CGROUPS=hybrid boots systemd on the hybrid layout instead (v1 controllers, cgroup2 at
# /sys/fs/cgroup/unified: systemd.unified_cgroup_hierarchy=0).
# Needs root and the Debian packages qemu-system-x86, qemu-utils, linux-image-amd64, mmdebstrap.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
timeout=600
envs=()
writable=""
while [ $# -gt 0 ]; do
  case "$1" in
    --repo) repo=$(cd "$2" && pwd) || exit 2; shift 2 ;;
    --timeout) timeout=$2; shift 2 ;;
    --env) envs+=("$2"); shift 2 ;;
    --writable) writable=$(cd "$2" && pwd) || exit 2; shift 2 ;;
    --) shift; break ;;
    *) echo "run.sh: unknown option $1 (usage: run.sh [--repo DIR] [--timeout SECS] [--env N=V]... [--writable DIR] -- COMMAND...)" >&2; exit 2 ;;
  esac
done
[ $# -gt 0 ] || { echo "run.sh: no COMMAND (usage: run.sh [--repo DIR] [--timeout SECS] [--env N=V]... [--writable DIR] -- COMMAND...)" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "run.sh: needs root" >&2; exit 2; }

image=$("$here/build-image.sh") || { echo "run.sh: could not build the VM image" >&2; exit 125; }
kernel=$(ls -1 /boot/vmlinuz-*-amd64 | sort -V | tail -1)
release=${kernel#/boot/vmlinuz-}
initrd=$image.initrd
cache=$(dirname "$image")

# Nested KVM here may accept the VM and then spin forever: believe /dev/kvm only if a kernel
# reaches its "no root" panic within a few seconds under it. The verdict is cached per qemu+kernel.
accel() {
  if [ -n "${RUNTS_VM_ACCEL:-}" ]; then echo "$RUNTS_VM_ACCEL"; return; fi
  [ -w /dev/kvm ] || { echo tcg; return; }
  local verdict=$cache/kvm-$( { qemu-system-x86_64 --version; echo "$release"; } | sha256sum | cut -c1-12)
  if [ ! -f "$verdict" ]; then
    local log; log=$(mktemp)
    if timeout 12 qemu-system-x86_64 -accel kvm -cpu host -m 256 -nodefaults -display none -no-reboot \
        -serial "file:$log" -kernel "$kernel" -append "console=ttyS0 panic=-1 root=/dev/null" \
        >/dev/null 2>&1 && grep -q "Kernel panic" "$log"; then echo kvm > "$verdict"; else echo tcg > "$verdict"; fi
    rm -f "$log"
  fi
  cat "$verdict"
}
mode=$(accel)
if [ "$mode" = kvm ]; then machine=(-accel kvm -cpu host); else machine=(-accel tcg,thread=multi -cpu max); fi

case "${RUNTS_VM_CGROUPS:-v2}" in
  v2) cgroups="systemd.unified_cgroup_hierarchy=1 cgroup_no_v1=all" ;;
  hybrid) cgroups="systemd.unified_cgroup_hierarchy=0 systemd.legacy_systemd_cgroup_controller=0" ;;
  *) echo "run.sh: RUNTS_VM_CGROUPS is v2 or hybrid, not ${RUNTS_VM_CGROUPS}" >&2; exit 2 ;;
esac

job=$(mktemp -d /tmp/runts-vm-job.XXXXXX)
qpid="" tailpid=""
cleanup() {
  [ -n "$qpid" ] && kill "$qpid" 2>/dev/null
  [ -n "$tailpid" ] && kill "$tailpid" 2>/dev/null
  if [ "${RUNTS_VM_KEEP:-}" = 1 ]; then echo "run.sh: job directory kept: $job" >&2; else rm -rf "$job"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cp "$here/guest/guest.sh" "$job/guest.sh"
echo "$timeout" > "$job/timeout"
echo "$writable" > "$job/writable"
# The guest gets a fresh /tmp: a repository (and the shared/ beside it) that lives under the host's
# /tmp, as a CI clone may, is carried over into it.
for keep in "$repo" "$(dirname "$repo")/shared"; do
  case "$keep" in /tmp/*) [ -e "$keep" ] && echo "$keep" ;; esac
done > "$job/keep"
share=()
[ -n "$writable" ] && share=(-virtfs "local,path=$writable,mount_tag=writable,security_model=passthrough")
{
  echo 'export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8'
  echo 'export RUNTS_IN_VM=1 SYSTEMD_IGNORE_CHROOT=1'
  for e in "${envs[@]}"; do printf 'export %q\n' "$e"; done
  printf 'cd %q || exit 125\n' "$repo"
  printf 'exec'; printf ' %q' "$@"; printf '\n'
} > "$job/cmd"
: > "$job/output"

started=$SECONDS
timeout -k 10 $((timeout + 240)) qemu-system-x86_64 "${machine[@]}" -smp "${RUNTS_VM_CPUS:-2}" \
  -m "${RUNTS_VM_MEM:-2048}" -nodefaults -display none -no-reboot -nic none \
  -serial "file:$job/serial.log" \
  -kernel "$kernel" -initrd "$initrd" \
  -append "root=/dev/vda rw console=ttyS0 panic=-1 loglevel=4 sysrq_always_enabled=1 $cgroups systemd.show_status=0" \
  -drive "file=$image,format=raw,if=virtio,snapshot=on" \
  -virtfs "local,path=/,mount_tag=host,security_model=passthrough,readonly=on,multidevs=remap" \
  -virtfs "local,path=$job,mount_tag=job,security_model=passthrough" "${share[@]}" \
  >"$job/qemu.log" 2>&1 &
qpid=$!
# In the background, so that a TERM or INT to this script runs its traps (stopping the VM) at once:
# bash defers traps while a foreground command runs, and `wait` is interruptible.
tail -n +1 -F --pid=$qpid "$job/output" 2>/dev/null &
tailpid=$!
wait $qpid
qrc=$?
qpid=""
wait $tailpid
tailpid=""
elapsed=$((SECONDS - started))
if [ -f "$job/rc" ]; then
  rc=$(cat "$job/rc")
  echo "run.sh: VM ($mode) done in ${elapsed}s, command exit status $rc" >&2
  exit "$rc"
fi
echo "run.sh: the VM ($mode) ended after ${elapsed}s without running the command (qemu status $qrc); last console lines:" >&2
tail -n 30 "$job/serial.log" "$job/console" "$job/qemu.log" 2>/dev/null >&2
exit 125
