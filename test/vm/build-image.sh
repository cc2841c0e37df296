#!/usr/bin/env bash
# build-image.sh — prints the path of the VM root image, building it first when its inputs changed.
#
# The image is a Debian 12 minbase made by mmdebstrap with systemd as init, plus the modules of the
# host's Debian kernel (linux-image-amd64). Beside it, IMAGE.initrd: Debian's initramfs-tools
# (mkinitramfs) with only the modules a virtio disk needs, stored uncompressed — the stock
# MODULES=most initrd costs ~20 s more to unpack and run under TCG. The image knows nothing of runts:
# one enabled oneshot unit mounts the 9p share tagged "job" and runs /job/guest.sh from it, so the
# harness's guest side can change without a rebuild. Cached under $RUNTS_VM_CACHE (default
# /var/cache/runts-vm), keyed by a hash of this script, the kernel release and the mirror.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${RUNTS_VM_CACHE:-/var/cache/runts-vm}
mirror=${RUNTS_VM_MIRROR:-http://deb.debian.org/debian}
kernel=$(ls -1 /boot/vmlinuz-*-amd64 2>/dev/null | sort -V | tail -1) ||
  { echo "build-image: no /boot/vmlinuz-*-amd64 (apt-get install linux-image-amd64)" >&2; exit 1; }
[ -n "$kernel" ] || { echo "build-image: no /boot/vmlinuz-*-amd64 (apt-get install linux-image-amd64)" >&2; exit 1; }
release=${kernel#/boot/vmlinuz-}
[ -d "/lib/modules/$release" ] || { echo "build-image: /lib/modules/$release is missing" >&2; exit 1; }

key=$( { cat "${BASH_SOURCE[0]}"; echo "$release $mirror"; } | sha256sum | cut -c1-16)
image=$cache/root-$key.ext4
if [ -f "$image" ]; then echo "$image"; exit 0; fi

mkdir -p "$cache"
exec 9>"$cache/.build.lock"
flock 9
if [ -f "$image" ]; then echo "$image"; exit 0; fi

packages=systemd,systemd-sysv,dbus,udev,kmod,iproute2,procps
# Units a throw-away test VM does not need and that cost seconds each under TCG.
masked="systemd-timesyncd.service apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer
  e2scrub_reap.service fstrim.timer dpkg-db-backup.timer systemd-tmpfiles-clean.timer
  systemd-networkd-wait-online.service getty@tty1.service serial-getty@ttyS0.service
  systemd-logind.service systemd-user-sessions.service systemd-update-utmp.service
  systemd-update-utmp-runlevel.service systemd-journal-flush.service systemd-random-seed.service
  modprobe@drm.service modprobe@dm_mod.service modprobe@efi_pstore.service modprobe@loop.service"
unit='[Unit]
Description=run the runts VM job from the 9p share "job"
After=dbus.service
[Service]
Type=oneshot
TimeoutStartSec=infinity
StandardOutput=journal+console
StandardError=journal+console
ExecStart=/bin/sh -c "mkdir -p /job && mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 job /job && exec /bin/sh /job/guest.sh"
SuccessAction=poweroff-force
FailureAction=poweroff-force
[Install]
WantedBy=multi-user.target'

tmp=$(mktemp -d "$cache/.build-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "build-image: mmdebstrap bookworm ($packages) + modules $release" >&2
mmdebstrap --quiet --variant=minbase --include="$packages" \
  --customize-hook="mkdir -p \"\$1/lib/modules\" && cp -a /lib/modules/$release \"\$1/lib/modules/\"" \
  --customize-hook="printf '%s\n' '$unit' > \"\$1/etc/systemd/system/runts-vm-job.service\"" \
  --customize-hook="ln -s /etc/systemd/system/runts-vm-job.service \"\$1/etc/systemd/system/multi-user.target.wants/runts-vm-job.service\"" \
  --customize-hook="printf '%s\n' '9pnet' '9pnet_virtio' '9p' 'netfs' 'fscache' 'overlay' > \"\$1/etc/modules-load.d/runts-vm.conf\"" \
  --customize-hook="echo runts-vm > \"\$1/etc/hostname\"; printf '/dev/vda / ext4 rw,noatime 0 1\n' > \"\$1/etc/fstab\"" \
  --customize-hook="systemctl --root=\"\$1\" mask --quiet $(echo $masked)" \
  --customize-hook="chroot \"\$1\" depmod -a $release" \
  bookworm "$tmp/root.tar" "$mirror" >&2
truncate -s 2G "$tmp/root.ext4"
mkfs.ext4 -q -F -L runts-vm -d "$tmp/root.tar" "$tmp/root.ext4" 2>/dev/null ||
  { mkdir "$tmp/root"; tar -C "$tmp/root" -xf "$tmp/root.tar"; mkfs.ext4 -q -F -L runts-vm -d "$tmp/root" "$tmp/root.ext4"; }
mkdir "$tmp/initramfs"
cp -a /etc/initramfs-tools "$tmp/initramfs/conf" && rm -rf "$tmp/initramfs/conf/conf.d"/*
sed -i 's/^MODULES=.*/MODULES=list/; s/^COMPRESS=.*/COMPRESS=gzip/' "$tmp/initramfs/conf/initramfs.conf"
printf '%s\n' virtio_pci virtio_blk ext4 > "$tmp/initramfs/conf/modules"
mkinitramfs -d "$tmp/initramfs/conf" -o "$tmp/initrd.gz" "$release" 2>/dev/null
zcat "$tmp/initrd.gz" > "$image.initrd"
mv "$tmp/root.ext4" "$image"
# Older images (other inputs) go; a VM still booted from one keeps its open file.
for old in "$cache"/root-*.ext4; do [ "$old" = "$image" ] || rm -f "$old" "$old.initrd"; done
echo "$image"
