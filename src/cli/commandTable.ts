/**
 * The one table of runts' command line: every runc 1.1.5 command with its flags, plus the
 * runts-only `validate`. Pure data: argv.ts parses from it, help.ts prints it, main.ts loads
 * `module` for the selected command only. The flags live here rather than in each command file
 * because the hot path parses every command line without loading the command modules; each
 * command's `run` is typed from its entry instead (`CommandContext<FlagsOf<'exec'>>`).
 */

export type FlagType = 'boolean' | 'string' | 'number' | 'string-array';

export interface FlagSpec<Name extends string = string, Type extends FlagType = FlagType> {
  /** Long name without dashes; also the key in CommandContext.flags. */
  name: Name;
  /** One-letter alias (`-b`). */
  short?: string;
  type: Type;
  /** Value when the flag is absent (booleans default to false, arrays to []). */
  default?: string | number;
  description: string;
  /** Accepted but left out of --help, as runc hides obsolete flags. */
  hidden?: boolean;
}

export interface CommandSpec {
  name: string;
  aliases?: string[];
  summary: string;
  /** What follows `runts <name> [command options]` in the usage line. */
  usage: string;
  /** Longer help text (DESCRIPTION), optional. */
  description?: string;
  /** Display names of the positionals, in order. */
  positionals: readonly string[];
  /** How many positionals runc accepts (max: Infinity when open-ended). */
  args: { min: number; max: number };
  flags: readonly FlagSpec[];
  /**
   * runc's exec and ps stop reading flags at the first positional: everything after the
   * container id belongs to the command. Other commands take flags anywhere before `--`.
   */
  stopAtFirstPositional?: boolean;
  /** Module under src/ exporting `run: CommandMain`, required only when selected. */
  module: string;
}

const ID = '<container-id>';
const exactlyOne = { min: 1, max: 1 };
const none = { min: 0, max: 0 };

function bool<N extends string>(name: N, description: string, short?: string): FlagSpec<N, 'boolean'> {
  return { name, short, type: 'boolean', description };
}

function str<N extends string>(name: N, description: string, short?: string, def?: string): FlagSpec<N, 'string'> {
  return { name, short, type: 'string', description, default: def };
}

function num<N extends string>(name: N, description: string, def: number): FlagSpec<N, 'number'> {
  return { name, type: 'number', description, default: def };
}

function list<N extends string>(name: N, description: string, short?: string): FlagSpec<N, 'string-array'> {
  return { name, short, type: 'string-array', description };
}

export const DEFAULT_ROOT = '/run/runts';

export const GLOBAL_FLAGS: FlagSpec[] = [
  bool('debug', 'enable debug logging'),
  str('log', "write runtime logs to this file (default is '/dev/stderr')"),
  str('log-format', "log format: 'text' or 'json'", undefined, 'text'),
  str('root', 'directory holding container state (should be on a tmpfs)', undefined, DEFAULT_ROOT),
  str('criu', 'path of the criu binary used by checkpoint and restore', undefined, 'criu'),
  bool('systemd-cgroup', 'enable systemd cgroup support, expects cgroupsPath to be of form "slice:prefix:name" for e.g. "system.slice:runts:434234" (a transient scope per container)'),
  str('rootless', "ignore cgroup permission errors: 'true', 'false' or 'auto'", undefined, 'auto'),
  bool('help', 'show help', 'h'),
  bool('version', 'print the version', 'v'),
];

/** The help flag urfave/cli adds to every command. */
export const COMMAND_HELP_FLAG: FlagSpec = bool('help', 'show help', 'h');

const bundle = str('bundle', 'bundle directory (default: the current directory)', 'b');
const consoleSocket = str('console-socket', 'AF_UNIX socket that receives the pty master fd of the console');
const pidFile = str('pid-file', 'write the process id to this file');
const detach = bool('detach', "detach from the container's process", 'd');
const noPivot = bool('no-pivot', 'use chroot-like MS_MOVE instead of pivot_root (for a rootfs on a ramdisk)');
const noNewKeyring = bool('no-new-keyring', "keep the caller's session keyring instead of creating one");
const noSubreaper = bool('no-subreaper', 'do not become a subreaper for orphaned processes');
const preserveFds = num('preserve-fds', 'pass N more file descriptors (after stdio and $LISTEN_FDS)', 0);
const imagePath = str('image-path', 'directory of the criu image files');
const workPath = str('work-path', 'directory for criu work files and logs');
const tcpEstablished = bool('tcp-established', 'allow open tcp connections');
const extUnixSk = bool('ext-unix-sk', 'allow external unix sockets');
const shellJob = bool('shell-job', 'allow shell jobs');
const fileLocks = bool('file-locks', 'handle file locks');
const lazyPages = bool('lazy-pages', 'use userfaultfd to move memory pages lazily');
const manageCgroupsMode = str('manage-cgroups-mode', "cgroups mode: 'soft' (default), 'full' or 'strict'");
const emptyNs = list('empty-ns', 'create this namespace but do not restore its properties');
const autoDedup = bool('auto-dedup', 'deduplicate memory images');
const formatFlag = str('format', "output format: 'table' or 'json'", 'f', 'table');

/** `as const`, so that FlagsOf can read each command's flag names and types. */
const TABLE = [
  {
    name: 'checkpoint',
    summary: 'checkpoint a running container',
    usage: ID,
    positionals: [ID],
    args: exactlyOne,
    flags: [
      imagePath,
      workPath,
      str('parent-path', 'directory of the previous (pre-dump) criu images'),
      bool('leave-running', 'keep the process running after the checkpoint'),
      tcpEstablished,
      extUnixSk,
      shellJob,
      lazyPages,
      num('status-fd', 'criu writes \\0 to this fd once lazy-pages is ready', -1),
      str('page-server', 'ADDRESS:PORT of the page server'),
      fileLocks,
      bool('pre-dump', "dump the container's memory only and leave it running"),
      manageCgroupsMode,
      emptyNs,
      autoDedup,
    ],
    module: './commands/checkpoint',
  },
  {
    name: 'create',
    summary: 'create a container',
    usage: ID,
    description: 'Creates the container of the bundle (config.json + rootfs) and leaves it in the\n' +
      '"created" state; "start" then runs process.args.',
    positionals: [ID],
    args: exactlyOne,
    flags: [bundle, consoleSocket, pidFile, noPivot, noNewKeyring, preserveFds],
    module: './commands/create',
  },
  {
    name: 'delete',
    summary: 'delete the resources held by a container',
    usage: ID,
    positionals: [ID],
    args: exactlyOne,
    flags: [bool('force', 'delete even a running container (it gets SIGKILL)', 'f')],
    module: './commands/delete',
  },
  {
    name: 'events',
    summary: 'show container events: OOM notifications, cpu, memory and IO statistics',
    usage: ID,
    positionals: [ID],
    args: exactlyOne,
    flags: [
      str('interval', 'statistics interval', undefined, '5s'),
      bool('stats', "show the container's statistics once and exit"),
    ],
    module: './commands/events',
  },
  {
    name: 'exec',
    summary: 'run a new process inside a container',
    usage: `${ID} <command> [command options]  || -p process.json ${ID}`,
    description: 'Flags must come before the container id: everything after it is the command.',
    positionals: [ID, '<command>', '[args...]'],
    args: { min: 1, max: Infinity },
    stopAtFirstPositional: true,
    flags: [
      consoleSocket,
      str('cwd', 'working directory in the container'),
      list('env', 'set an environment variable (KEY=VALUE)', 'e'),
      bool('tty', 'allocate a pseudo-TTY', 't'),
      str('user', 'UID[:GID] to run as', 'u'),
      list('additional-gids', 'additional group id', 'g'),
      str('process', 'path of a process.json', 'p'),
      detach,
      pidFile,
      str('process-label', 'SELinux label of the process'),
      str('apparmor', 'AppArmor profile of the process'),
      bool('no-new-privs', 'set no_new_privs for the process'),
      list('cap', 'add a capability to the bounding set', 'c'),
      preserveFds,
      list('cgroup', 'run in an existing sub-cgroup: [<controller>:]<cgroup>'),
      bool('ignore-paused', 'allow exec in a paused container'),
    ],
    module: './commands/exec',
  },
  {
    name: 'features',
    summary: 'show the enabled features',
    usage: '',
    description: 'Prints the features this runtime supports as JSON (runtime-spec features.md).',
    positionals: [],
    args: none,
    flags: [],
    module: './commands/features',
  },
  {
    name: 'kill',
    summary: "send a signal (default: SIGTERM) to the container's init process",
    usage: `${ID} [signal]`,
    positionals: [ID, '[signal]'],
    args: { min: 1, max: 2 },
    flags: [bool('all', 'send the signal to every process in the container', 'a')],
    module: './commands/kill',
  },
  {
    name: 'list',
    summary: 'list the containers under --root',
    usage: '',
    positionals: [],
    args: none,
    flags: [formatFlag, bool('quiet', 'print the container ids only', 'q')],
    module: './commands/list',
  },
  {
    name: 'pause',
    summary: 'suspend every process in a container',
    usage: ID,
    positionals: [ID],
    args: exactlyOne,
    flags: [],
    module: './commands/pause',
  },
  {
    name: 'ps',
    summary: 'show the processes running in a container',
    usage: `${ID} [ps options]`,
    positionals: [ID, '[ps options]'],
    args: { min: 1, max: Infinity },
    stopAtFirstPositional: true,
    flags: [formatFlag],
    module: './commands/ps',
  },
  {
    name: 'restore',
    summary: 'restore a container from a checkpoint',
    usage: ID,
    positionals: [ID],
    args: exactlyOne,
    flags: [
      consoleSocket,
      imagePath,
      workPath,
      tcpEstablished,
      extUnixSk,
      shellJob,
      fileLocks,
      manageCgroupsMode,
      bundle,
      detach,
      pidFile,
      noSubreaper,
      noPivot,
      emptyNs,
      autoDedup,
      lazyPages,
      str('lsm-profile', 'LSM profile for the restore, as TYPE:NAME'),
      str('lsm-mount-context', 'LSM mount context for the restore'),
    ],
    module: './commands/restore',
  },
  {
    name: 'resume',
    summary: 'resume every process of a paused container',
    usage: ID,
    positionals: [ID],
    args: exactlyOne,
    flags: [],
    module: './commands/resume',
  },
  {
    name: 'run',
    summary: 'create and start a container',
    usage: ID,
    positionals: [ID],
    args: exactlyOne,
    flags: [
      bundle,
      consoleSocket,
      detach,
      bool('keep', 'keep the container after it exits'),
      pidFile,
      noSubreaper,
      noPivot,
      noNewKeyring,
      preserveFds,
    ],
    module: './commands/run',
  },
  {
    name: 'spec',
    summary: 'write a starter config.json',
    usage: '',
    positionals: [],
    args: none,
    flags: [
      str('bundle', 'bundle directory to write config.json in', 'b'),
      bool('rootless', 'write a configuration for a rootless container'),
    ],
    module: './commands/spec',
  },
  {
    name: 'start',
    summary: 'run the user process of a created container',
    usage: ID,
    positionals: [ID],
    args: exactlyOne,
    flags: [],
    module: './commands/start',
  },
  {
    name: 'state',
    summary: 'print the state of a container',
    usage: ID,
    positionals: [ID],
    args: exactlyOne,
    flags: [],
    module: './commands/state',
  },
  {
    name: 'update',
    summary: 'update the resource limits of a container',
    usage: ID,
    positionals: [ID],
    args: exactlyOne,
    flags: [
      str('resources', "JSON file of LinuxResources to apply, '-' for stdin (other flags are then ignored)", 'r'),
      num('blkio-weight', 'block IO weight, 10 to 1000', 0),
      str('cpu-period', 'CPU CFS period in usecs (0: system default)'),
      str('cpu-quota', 'CPU CFS quota in usecs per period'),
      str('cpu-share', 'CPU shares (weight relative to other containers)'),
      str('cpu-rt-period', 'CPU realtime period in usecs (0: system default)'),
      str('cpu-rt-runtime', 'CPU realtime runtime in usecs per period'),
      str('cpuset-cpus', 'CPUs to use'),
      str('cpuset-mems', 'memory nodes to use'),
      { ...str('kernel-memory', 'obsolete, ignored'), hidden: true },
      { ...str('kernel-memory-tcp', 'obsolete, ignored'), hidden: true },
      str('memory', 'memory limit in bytes'),
      str('memory-reservation', 'memory soft limit in bytes'),
      str('memory-swap', "memory + swap limit in bytes; '-1' for unlimited swap"),
      num('pids-limit', 'maximum number of pids in the container', 0),
      str('l3-cache-schema', 'Intel RDT/CAT L3 cache schema'),
      str('mem-bw-schema', 'Intel RDT/MBA memory bandwidth schema'),
    ],
    module: './commands/update',
  },
  {
    name: 'validate',
    summary: 'check a bundle\'s config.json against the runtime-spec (runts only)',
    usage: '',
    description: 'Prints one line per problem found and exits 1 if there is any; prints nothing and\n' +
      'exits 0 when config.json is valid.',
    positionals: [],
    args: none,
    flags: [str('bundle', 'bundle directory (default: the current directory)', 'b')],
    module: './commands/validate',
  },
] as const satisfies readonly CommandSpec[];

export const COMMANDS: readonly CommandSpec[] = TABLE;

/** What argv.ts puts in `flags` for a flag of each type (absent: false, [], or the default). */
type FlagValueOf<T extends FlagType> =
  T extends 'boolean' ? boolean : T extends 'number' ? number : T extends 'string-array' ? string[] : string | undefined;

export type CommandName = (typeof TABLE)[number]['name'];

/** The parsed flags of command `N`, typed from its table entry. */
export type FlagsOf<N extends CommandName> = {
  readonly [F in Extract<(typeof TABLE)[number], { name: N }>['flags'][number] as F['name']]: FlagValueOf<F['type']>;
};

/** The built-in `help` command (runc: "help, h"); handled by argv.ts, not a module. */
export const HELP_COMMAND = {
  name: 'help',
  aliases: ['h'],
  summary: 'show the list of commands or the help of one command',
};

export function findCommand(name: string): CommandSpec | undefined {
  return COMMANDS.find((c) => c.name === name || (c.aliases !== undefined && c.aliases.includes(name)));
}
