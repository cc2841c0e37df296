/**
 * LSM labels: what runts asks the init to write for process.apparmorProfile,
 * process.selinuxLabel and linux.mountLabel, decided from what the host has loaded. The init only
 * writes what the plan says (native/init/lsm.cc).
 *
 * What runc 1.1.5 does, checked on a host without AppArmor or SELinux:
 * - apparmorProfile: always tries `exec <profile>` on /proc/self/attr/apparmor/exec (or the
 *   older /proc/self/attr/exec) and fails the container when the write is refused
 *   ("unable to apply apparmor profile: apparmor failed to apply profile: write
 *   /proc/self/attr/exec: invalid argument"). runts does the same write and adds why.
 * - selinuxLabel without SELinux: refused by its config validator ("selinux label is specified
 *   in config, but selinux is disabled or not supported"). runts refuses it at validation too.
 * - mountLabel without SELinux: runc 1.1.5 still appends context="…" to the mount data and the
 *   kernel refuses the first tmpfs with EINVAL. runts leaves it out and logs it at debug level.
 */
import fs = require('fs');
import path = require('path');
import { isDirectory } from '../base/files';
import { selfMountinfo } from '../base/mountinfo';

export interface LsmHost {
  apparmor: boolean;
  selinux: boolean;
  /** /proc/self/attr/apparmor exists (the LSM-stacking layout since Linux 5.8). */
  apparmorAttrDir: boolean;
}

/**
 * The per-task attr directory the init writes to. Always the kernel's: the init opens it through
 * the host's procfs and refuses anything else (tests inject an LsmHost, never another path).
 */
const ATTR_ROOT = '/proc/self/attr';

export interface PlanNote {
  level: 'debug' | 'warning';
  msg: string;
}

/** One attr write of the init: `value` to `attr`; `context` is appended to error messages. */
export interface PlanAttrWrite {
  attr: string;
  value: string;
  context: string;
}

export interface PlanLsm {
  apparmor: PlanAttrWrite | null;
  selinuxExec: PlanAttrWrite | null;
  selinuxKey: PlanAttrWrite | null;
}

export interface LsmDecision {
  lsm: PlanLsm;
  /** The `context="…"` mount data option, or null when no mount gets one. */
  mountContext: string | null;
  notes: PlanNote[];
}

/** What this host has loaded. Nothing in the environment can change the answer. */
export function probeLsmHost(): LsmHost {
  return { apparmor: appArmorEnabled(), selinux: selinuxEnabled(), apparmorAttrDir: isDirectory(path.join(ATTR_ROOT, 'apparmor')) };
}

/** As runc's apparmor.IsEnabled: securityfs shows AppArmor and the module says "Y". */
function appArmorEnabled(): boolean {
  if (!fs.existsSync('/sys/kernel/security/apparmor')) return false;
  try {
    return fs.readFileSync('/sys/module/apparmor/parameters/enabled', 'utf8').startsWith('Y');
  } catch {
    return false;
  }
}

/** As go-selinux's GetEnabled: selinuxfs is mounted and this process has a label other than "kernel". */
function selinuxEnabled(): boolean {
  let mountinfo: string;
  try {
    mountinfo = selfMountinfo();
  } catch {
    return false;
  }
  if (!mountinfo.split('\n').some((line) => / - selinuxfs /.test(line))) return false;
  try {
    const label = fs.readFileSync('/proc/self/attr/current', 'utf8').replace(/\0/g, '').trim();
    return label !== '' && label !== 'kernel';
  } catch {
    return false;
  }
}

export interface LsmSettings {
  apparmorProfile?: string;
  selinuxLabel?: string;
  mountLabel?: string;
}

/** What the plan carries for the container's labels on `host`. */
export function decideLsm(settings: LsmSettings, host: LsmHost): LsmDecision {
  const notes: PlanNote[] = [];
  const lsm: PlanLsm = { apparmor: null, selinuxExec: null, selinuxKey: null };
  if (settings.apparmorProfile) {
    // runc writes whether or not AppArmor is loaded; the kernel's refusal is the error.
    const attr = host.apparmorAttrDir ? path.join(ATTR_ROOT, 'apparmor', 'exec') : path.join(ATTR_ROOT, 'exec');
    const context = host.apparmor ? '' : ' (AppArmor is not enabled on this host)';
    lsm.apparmor = { attr, value: `exec ${settings.apparmorProfile}`, context };
  }
  if (settings.selinuxLabel && host.selinux) {
    lsm.selinuxExec = { attr: path.join(ATTR_ROOT, 'exec'), value: settings.selinuxLabel, context: '' };
    lsm.selinuxKey = { attr: path.join(ATTR_ROOT, 'keycreate'), value: settings.selinuxLabel, context: '' };
  }
  let mountContext: string | null = null;
  if (settings.mountLabel) {
    if (host.selinux) mountContext = `context="${settings.mountLabel}"`;
    else notes.push({ level: 'debug', msg: `linux.mountLabel ${JSON.stringify(settings.mountLabel)} ignored: SELinux is not enabled` });
  }
  return { lsm, mountContext, notes };
}

/** Config problems that depend on the host's LSMs (runc's validator rules). */
export function lsmProblems(settings: LsmSettings, host: LsmHost): { pointer: string; message: string }[] {
  if (settings.selinuxLabel && !host.selinux) {
    return [{ pointer: '/process/selinuxLabel', message: 'selinux label is specified in config, but selinux is disabled or not supported' }];
  }
  return [];
}

/**
 * Mount types runc gives the SELinux context= option: not proc and sysfs (the kernel labels
 * them itself), not mqueue (labelled after the mount), not binds (data is ignored on a bind).
 */
export function takesMountContext(type: string, bind: boolean): boolean {
  return !bind && type !== 'proc' && type !== 'sysfs' && type !== 'mqueue';
}

/** Appends the context option to a mount's data string. */
export function withMountContext(data: string, context: string | null): string {
  if (!context) return data;
  return data ? `${data},${context}` : context;
}
