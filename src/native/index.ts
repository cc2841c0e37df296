/**
 * The one typed boundary to the C++ addon (native/addon). Nothing else loads the addon.
 * It is loaded lazily: `state` and `list` never pay for dlopen.
 */
import { join } from 'path';
import { nativeBuildDir } from '../base/paths';

export type NamespaceType = 'mount' | 'pid' | 'network' | 'ipc' | 'uts' | 'user' | 'cgroup' | 'time';

export interface ExitStatus {
  /** Exit code when the process exited, else null. */
  code: number | null;
  /** Signal number when it was killed by a signal, else null. */
  signal: number | null;
}

/** struct seccomp_notif. */
export interface SeccompNotification {
  id: bigint;
  pid: number;
  flags: number;
  /** Syscall number for `arch` (an AUDIT_ARCH_* value). */
  syscall: number;
  arch: number;
  instructionPointer: bigint;
  args: bigint[];
}

export interface NativeAddon {
  /** AF_UNIX SOCK_STREAM pair, both ends close-on-exec. */
  socketpair(): [number, number];
  /**
   * On a thread of its own: makes a sealed (read-only, fixed size) memfd copy of the init at
   * `path` named `name`, and spawns it with `argv0` and `args`, an empty environment, signal
   * dispositions and mask reset, and as fds `before`, the copy (which it is executed from), then
   * `after`. The fds must stay open until collectInit; one spawn at a time.
   */
  startInitSpawn(path: string, name: string, argv0: string, args: string[], before: number[], after: number[]): void;
  /** The pid of the init startInitSpawn spawned, once it has; throws what failed. */
  collectInit(): number;
  /** CLOCK_REALTIME in nanoseconds. */
  realtimeNanos(): bigint;
  /**
   * Opens (creating) `path` and takes an exclusive flock; returns the fd: closing it unlocks.
   * With `timeoutMs`, gives up with errno ETIMEDOUT once it has waited that long.
   */
  lockFile(path: string, timeoutMs?: number): number;
  /** mkfifo(2) with the exact mode (umask ignored). */
  mkfifo(path: string, mode: number): void;
  /**
   * Writes `content` into `temp` (created with `mode`, less the umask) and renames it over `path`;
   * on failure `temp` is removed and the error carries `code` ("ENOENT") and `errno`.
   */
  writeFileAtomic(path: string, temp: string, content: string, mode: number): void;
  /** mkdir(2) with `mode` (less the umask): "" once made, else the errno's name ("EEXIST"); never throws. */
  mkdir(path: string, mode: number): string;
  /** rmdir(2): "" once removed, else the errno's name ("EBUSY", "ENOENT"); never throws. */
  rmdir(path: string): string;
  /**
   * Unlinks every entry of `dir` and removes it: true when it is gone (or never was), false when
   * a subdirectory stayed in it (the caller removes the rest). Errors carry `code`.
   */
  removeFlatDirectory(dir: string): boolean;
  /** Writes `content` to the existing file `path` (truncated) in one write(2); errors carry `code`. */
  writeExisting(path: string, content: string): void;
  /** Writes `content` to the existing file `path` from a detached thread; no result, errors ignored. */
  writeFileInBackground(path: string, content: string): void;
  /**
   * Opens the exec fifo for reading, unlinks it, and waits for the container init's byte, giving
   * up with an error when `pid` dies first. Returns when the init has been released.
   */
  releaseExecFifo(path: string, pid: number, pidStartTime: number): void;
  /** Resolves once child `pid` has exited (its pidfd polled on the event loop); reaps it. */
  waitExit(pid: number): Promise<ExitStatus>;
  /**
   * Sends each of `signals` that runts receives on to `pid` (gone is fine), until the returned
   * function is called. Signals outside the forwarded set (see the addon) throw EINVAL.
   */
  forwardSignals(pid: number, signals: NodeJS.Signals[]): () => void;
  /** Reaps child `pid` if it has exited, without blocking; null while it runs. */
  reapExited(pid: number): ExitStatus | null;
  /** Sends `signal` through a pidfd so a recycled pid is never signalled. */
  signalProcess(pid: number, pidStartTime: number, signal: number): void;
  /** A pidfd (close-on-exec) of `pid` if it is still the process started at `pidStartTime`; ESRCH otherwise. */
  pidfdOpen(pid: number, pidStartTime: number): number;
  /** Every open fd of this process: its readlink target and O_ACCMODE. */
  listFds(): { fd: number; target: string; accessMode: number }[];
  /** FD_CLOEXEC on every fd >= first (close_range). */
  markCloseOnExecFrom(first: number): void;
  /** Loads a BPF_PROG_TYPE_CGROUP_DEVICE program and attaches it to `cgroupDir` (replacing runts' previous one); returns its id. */
  attachDeviceFilter(cgroupDir: string, insns: Uint8Array, license: string): number;
  /** Ids of the device programs attached to `cgroupDir`. */
  deviceFilterIds(cgroupDir: string): number[];
  /** TIOCSWINSZ on a pty master the runtime relays. */
  setWindowSize(fd: number, rows: number, cols: number): void;
  /** Waits up to `timeoutMs` for `fd` to be readable (or at EOF); false when the time ran out. */
  waitReadable(fd: number, timeoutMs: number): boolean;
  /**
   * The body of the next frame on `fd` (a 4-byte little-endian length, then UTF-8), or null at
   * EOF; throws with errno ETIMEDOUT when nothing comes for `timeoutMs` (0: no bound).
   */
  readFrame(fd: number, timeoutMs: number): string | null;
  /** Writes `text` to `fd` as one frame, header and body in one call. */
  writeFrame(fd: number, text: string): void;
  /** Takes the fd runts-init sent with channel::sendFd (one byte, SCM_RIGHTS); close-on-exec. */
  receiveFd(socketFd: number, timeoutMs?: number): number;
  /**
   * Connects to the AF_UNIX SOCK_STREAM socket at `path`, sends `data` with `fds` as SCM_RIGHTS
   * and closes the connection (runtime-spec's seccomp listenerPath protocol).
   */
  sendFdsToUnixSocket(path: string, data: string, fds: number[]): void;
  /** A listening AF_UNIX SOCK_STREAM socket bound to `path` (seccomp agents, tests). */
  unixListen(path: string): number;
  /** Accepts one connection on `listenFd` and reads it to EOF: its bytes and every fd it carried. */
  unixAcceptMessage(listenFd: number, timeoutMs?: number): { data: string; fds: number[] };
  /** The next notification of a seccomp listener fd (SECCOMP_IOCTL_NOTIF_RECV). */
  seccompNotifyReceive(listenerFd: number, timeoutMs?: number): SeccompNotification;
  /**
   * Answers notification `id`: the syscall fails with errno `error` (> 0), or returns `val`
   * (error 0); flags 1 (SECCOMP_USER_NOTIF_FLAG_CONTINUE) lets the syscall run.
   */
  seccompNotifyRespond(listenerFd: number, id: bigint, error: number, val?: bigint | number, flags?: number): void;
}

/** A D-Bus value with its signature, for a variant ("v") argument or reply. */
export interface DbusVariant {
  type: string;
  value: unknown;
}

/**
 * runts_sdbus.node: method calls to systemd over sd-bus (libsystemd), loaded only by the
 * systemd cgroup driver. Values are marshalled by their D-Bus signature: b boolean; y n q i u
 * number; x t bigint or number; s o g string; a… array; (…) and {…} arrays of members; v a
 * DbusVariant. Replies come back the same way (x and t as bigint).
 */
export interface SdBusAddon {
  /** Connects once (root: systemd's private socket, else the system bus); says which. */
  connect(): string;
  /** A method call; throws an Error with `dbusName` (e.g. org.freedesktop.systemd1.NoSuchUnit) on an error reply. */
  call(destination: string, path: string, iface: string, member: string, signature: string, args: unknown[], timeoutMs: number): unknown[];
  /** Processes the bus until systemd reports job `jobPath` removed: its result ("done", "failed" …), or null after `timeoutMs`. */
  waitJob(jobPath: string, timeoutMs: number): string | null;
}

let loaded: NativeAddon | undefined;
let loadedSdBus: SdBusAddon | undefined;

export function sdbus(): SdBusAddon {
  if (!loadedSdBus) {
    const mod = { exports: {} as SdBusAddon };
    process.dlopen(mod, join(nativeBuildDir(), 'runts_sdbus.node'));
    loadedSdBus = mod.exports;
  }
  return loadedSdBus;
}

/** The addon, loaded once per process: the bundles each have a copy of this module. */
const ADDON_KEY = Symbol.for('runts.native');

export function native(): NativeAddon {
  if (!loaded) {
    const shared = globalThis as { [ADDON_KEY]?: NativeAddon };
    if (!shared[ADDON_KEY]) {
      const mod = { exports: {} as NativeAddon };
      process.dlopen(mod, join(nativeBuildDir(), 'runts.node'));
      shared[ADDON_KEY] = mod.exports;
    }
    loaded = shared[ADDON_KEY];
  }
  return loaded;
}

export function initBinaryPath(): string {
  return join(nativeBuildDir(), 'runts-init');
}
