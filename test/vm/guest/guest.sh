#!/bin/sh
# guest.sh — runs inside the VM (systemd as PID 1, pure cgroup v2), started by the image's oneshot
# unit from the 9p share mounted at /job. It mounts the host's / (read-only 9p, tag "host") under a
# tmpfs overlay at /vm/root, gives that tree the guest's /proc, /sys (so the real cgroup2 tree),
# /dev, /run (systemd's D-Bus sockets) and a fresh /tmp, and runs /job/cmd with that tree as root:
# pivot_root in a mount namespace of its own, not chroot, since runtimes pivot_root themselves and
# the kernel refuses that inside a chroot. The job's output goes to /job/output, its exit status
# to /job/rc; then the VM powers off.
set -u
out=/job/output
exec >>/job/console 2>&1
fail() { echo "vm-guest: $*" | tee -a "$out"; echo 125 > /job/rc; sync; echo o > /proc/sysrq-trigger; exit 1; }

for m in 9pnet 9pnet_virtio 9p netfs fscache overlay; do modprobe -q "$m" 2>/dev/null; done
mkdir -p /host /vm && mount -t 9p -o trans=virtio,version=9p2000.L,msize=524288,cache=loose,ro host /host ||
  fail "cannot mount the host's / over 9p"
mount -t tmpfs -o mode=0755 vm /vm && mount --make-private /vm && mkdir -p /vm/upper /vm/work /vm/root || fail "tmpfs /vm"
mount -t overlay -o lowerdir=/host,upperdir=/vm/upper,workdir=/vm/work overlay /vm/root ||
  fail "cannot overlay the host's /"
r=/vm/root
# Paths under the host's /tmp that the job needs (run.sh lists them): held aside while the fresh
# /tmp is mounted, then put back (a symlink as a symlink).
n=0
while read -r keep; do
  n=$((n + 1))
  if [ -L "$r$keep" ]; then
    readlink "$r$keep" > "/vm/keep$n.link"
  else
    mkdir -p "/vm/keep$n" && mount --bind "$r$keep" "/vm/keep$n" || fail "cannot hold $keep"
  fi
done < /job/keep
mount -t proc proc $r/proc && mount --rbind /sys $r/sys && mount --rbind /dev $r/dev &&
  mount --rbind /run $r/run && mount -t tmpfs -o mode=1777 tmp $r/tmp || fail "cannot mount the API filesystems in $r"
n=0
while read -r keep; do
  n=$((n + 1))
  mkdir -p "$(dirname "$r$keep")"
  if [ -f "/vm/keep$n.link" ]; then
    ln -s "$(cat "/vm/keep$n.link")" "$r$keep" || fail "cannot link $keep"
  else
    mkdir -p "$r$keep" && mount --move "/vm/keep$n" "$r$keep" || fail "cannot put back $keep"
  fi
done < /job/keep
mkdir -p $r/job && mount --bind /job $r/job || fail "cannot bind /job"
writable=$(cat /job/writable 2>/dev/null)
if [ -n "$writable" ]; then
  mount -t 9p -o trans=virtio,version=9p2000.L,msize=524288 writable "$r$writable" || fail "cannot mount $writable read-write"
fi

timeout=$(cat /job/timeout 2>/dev/null || echo 600)
echo "vm-guest: up $(cut -d' ' -f1 /proc/uptime)s, $(uname -r), $(stat -fc %T /sys/fs/cgroup) on /sys/fs/cgroup, PID 1 is $(cat /proc/1/comm); running /job/cmd (${timeout}s)" >>"$out"
mkdir -p $r/.vm-oldroot
timeout -k 5 "$timeout" unshare --mount --propagation private /bin/sh -c \
  "cd $r && pivot_root . .vm-oldroot && umount -l /.vm-oldroot && exec chroot . /bin/bash /job/cmd" \
  >>"$out" 2>&1 </dev/null
rc=$?
[ $rc -eq 124 ] && echo "vm-guest: the job timed out after ${timeout}s" >>"$out"
echo $rc > /job/rc
# The disk is a throw-away snapshot and /job is written through: power off at once instead of
# an orderly shutdown, which would also have to unmount the 9p and overlay trees.
sync
echo o > /proc/sysrq-trigger
