/**
 * /proc/self/mountinfo, read once per process. runts mounts nothing in its own mount namespace
 * (the init mounts in the container's), and a create wanted it three times: for the cgroup
 * layout, the order of the host's cgroup mounts and the SELinux probe (~0.15 ms a read).
 */
import fs = require('fs');

let text: string | undefined;

export function selfMountinfo(): string {
  return (text ??= fs.readFileSync('/proc/self/mountinfo', 'utf8'));
}
