/** config.json mount options → mount(2) flags, as runc's parseMountOptions reads them. */

export const MS = {
  RDONLY: 0x1,
  NOSUID: 0x2,
  NODEV: 0x4,
  NOEXEC: 0x8,
  SYNCHRONOUS: 0x10,
  REMOUNT: 0x20,
  MANDLOCK: 0x40,
  DIRSYNC: 0x80,
  NOSYMFOLLOW: 0x100,
  NOATIME: 0x400,
  NODIRATIME: 0x800,
  BIND: 0x1000,
  MOVE: 0x2000,
  REC: 0x4000,
  SILENT: 0x8000,
  UNBINDABLE: 0x20000,
  PRIVATE: 0x40000,
  SLAVE: 0x80000,
  SHARED: 0x100000,
  RELATIME: 0x200000,
  IVERSION: 0x800000,
  STRICTATIME: 0x1000000,
  LAZYTIME: 0x2000000,
} as const;

/** Options that set (`set`) or clear (`clear`) a flag. */
const FLAG_OPTIONS: Record<string, { set?: number; clear?: number }> = {
  async: { clear: MS.SYNCHRONOUS },
  atime: { clear: MS.NOATIME },
  bind: { set: MS.BIND },
  defaults: {},
  dev: { clear: MS.NODEV },
  diratime: { clear: MS.NODIRATIME },
  dirsync: { set: MS.DIRSYNC },
  exec: { clear: MS.NOEXEC },
  iversion: { set: MS.IVERSION },
  lazytime: { set: MS.LAZYTIME },
  loud: { clear: MS.SILENT },
  mand: { set: MS.MANDLOCK },
  noatime: { set: MS.NOATIME },
  nodev: { set: MS.NODEV },
  nodiratime: { set: MS.NODIRATIME },
  noexec: { set: MS.NOEXEC },
  noiversion: { clear: MS.IVERSION },
  nolazytime: { clear: MS.LAZYTIME },
  nomand: { clear: MS.MANDLOCK },
  norelatime: { clear: MS.RELATIME },
  nostrictatime: { clear: MS.STRICTATIME },
  nosuid: { set: MS.NOSUID },
  nosymfollow: { set: MS.NOSYMFOLLOW },
  rbind: { set: MS.BIND | MS.REC },
  relatime: { set: MS.RELATIME },
  remount: { set: MS.REMOUNT },
  ro: { set: MS.RDONLY },
  rw: { clear: MS.RDONLY },
  silent: { set: MS.SILENT },
  strictatime: { set: MS.STRICTATIME },
  suid: { clear: MS.NOSUID },
  sync: { set: MS.SYNCHRONOUS },
};

export const PROPAGATION_OPTIONS: Record<string, number> = {
  private: MS.PRIVATE,
  shared: MS.SHARED,
  slave: MS.SLAVE,
  unbindable: MS.UNBINDABLE,
  rprivate: MS.PRIVATE | MS.REC,
  rshared: MS.SHARED | MS.REC,
  rslave: MS.SLAVE | MS.REC,
  runbindable: MS.UNBINDABLE | MS.REC,
};

/** mount_setattr(2) attributes (linux/mount.h). */
export const MOUNT_ATTR = {
  RDONLY: 0x1,
  NOSUID: 0x2,
  NODEV: 0x4,
  NOEXEC: 0x8,
  /** The access-time bits: setting one of them means clearing this mask. */
  _ATIME: 0x70,
  RELATIME: 0x0,
  NOATIME: 0x10,
  STRICTATIME: 0x20,
  NODIRATIME: 0x80,
  IDMAP: 0x100000,
  NOSYMFOLLOW: 0x200000,
} as const;

/**
 * The recursive options runc (1.1+) applies with mount_setattr(AT_RECURSIVE) to the whole tree
 * after the mount: `clear: true` takes the attribute away.
 */
const RECURSIVE_OPTIONS: Record<string, { attr: number; clear: boolean }> = {
  rro: { attr: MOUNT_ATTR.RDONLY, clear: false },
  rrw: { attr: MOUNT_ATTR.RDONLY, clear: true },
  rnosuid: { attr: MOUNT_ATTR.NOSUID, clear: false },
  rsuid: { attr: MOUNT_ATTR.NOSUID, clear: true },
  rnodev: { attr: MOUNT_ATTR.NODEV, clear: false },
  rdev: { attr: MOUNT_ATTR.NODEV, clear: true },
  rnoexec: { attr: MOUNT_ATTR.NOEXEC, clear: false },
  rexec: { attr: MOUNT_ATTR.NOEXEC, clear: true },
  rnodiratime: { attr: MOUNT_ATTR.NODIRATIME, clear: false },
  rdiratime: { attr: MOUNT_ATTR.NODIRATIME, clear: true },
  rrelatime: { attr: MOUNT_ATTR.RELATIME, clear: false },
  rnorelatime: { attr: MOUNT_ATTR.RELATIME, clear: true },
  rnoatime: { attr: MOUNT_ATTR.NOATIME, clear: false },
  ratime: { attr: MOUNT_ATTR.NOATIME, clear: true },
  rstrictatime: { attr: MOUNT_ATTR.STRICTATIME, clear: false },
  rnostrictatime: { attr: MOUNT_ATTR.STRICTATIME, clear: true },
  rnosymfollow: { attr: MOUNT_ATTR.NOSYMFOLLOW, clear: false },
  rsymfollow: { attr: MOUNT_ATTR.NOSYMFOLLOW, clear: true },
};

export const ACCESS_TIME_ATTRS = new Set<number>([MOUNT_ATTR.RELATIME, MOUNT_ATTR.NOATIME, MOUNT_ATTR.STRICTATIME]);

export interface RecursiveAttributes {
  set: number;
  clear: number;
  /** The options as written, for error messages. */
  options: string;
}

export interface ParsedMountOptions {
  flags: number;
  propagation: number[];
  /** Options the kernel takes as the filesystem's data string. */
  data: string[];
  /** r* options, or null when there are none. */
  recursive: RecursiveAttributes | null;
  /** "idmap" (false) or "ridmap" (true); null without either. */
  idmapRecursive: boolean | null;
  /** runc's tmpcopyup extension: the tmpfs starts with a copy of the directory it covers. */
  copyUp: boolean;
}

/** Every option name runts gives a meaning to (features.md's mountOptions), sorted. */
export function knownMountOptions(): string[] {
  const extensions = ['idmap', 'ridmap', 'tmpcopyup'];
  return [...Object.keys(FLAG_OPTIONS), ...Object.keys(PROPAGATION_OPTIONS), ...Object.keys(RECURSIVE_OPTIONS), ...extensions].sort();
}

export function isRecursiveOption(option: string): boolean {
  return option in RECURSIVE_OPTIONS;
}

export function parseMountOptions(options: readonly string[] = []): ParsedMountOptions {
  let flags = 0;
  const propagation: number[] = [];
  const data: string[] = [];
  const recursiveNames: string[] = [];
  let recSet = 0;
  let recClear = 0;
  let idmapRecursive: boolean | null = null;
  let copyUp = false;
  for (const option of options) {
    const flag = FLAG_OPTIONS[option];
    const recursive = RECURSIVE_OPTIONS[option];
    if (flag) {
      if (flag.clear) flags &= ~flag.clear;
      if (flag.set) flags |= flag.set;
    } else if (option in PROPAGATION_OPTIONS) {
      propagation.push(PROPAGATION_OPTIONS[option]);
    } else if (recursive) {
      recursiveNames.push(option);
      if (recursive.clear && ACCESS_TIME_ATTRS.has(recursive.attr)) {
        // ratime / rnostrictatime / rnorelatime: back to the kernel's default (relatime); the
        // kernel takes the access-time bits only as the whole MOUNT_ATTR__ATIME mask.
        if (recursive.attr !== MOUNT_ATTR.RELATIME) {
          recClear |= MOUNT_ATTR._ATIME;
          recSet &= ~MOUNT_ATTR._ATIME;
        }
      } else if (recursive.clear) {
        recClear |= recursive.attr;
        recSet &= ~recursive.attr;
      } else {
        // mount_setattr(2): an access-time setting in attr_set needs MOUNT_ATTR__ATIME in attr_clr.
        if (ACCESS_TIME_ATTRS.has(recursive.attr)) {
          recSet &= ~MOUNT_ATTR._ATIME;
          recClear |= MOUNT_ATTR._ATIME;
        } else {
          recClear &= ~recursive.attr;
        }
        recSet |= recursive.attr;
      }
    } else if (option === 'idmap' || option === 'ridmap') {
      idmapRecursive = option === 'ridmap';
    } else if (option === 'tmpcopyup') {
      copyUp = true;
    } else {
      data.push(option);
    }
  }
  const recursive = recursiveNames.length > 0 ? { set: recSet >>> 0, clear: recClear >>> 0, options: recursiveNames.join(',') } : null;
  return { flags: flags >>> 0, propagation, data, recursive, idmapRecursive, copyUp };
}
