/**
 * Logging as runc does it (logrus): one line per entry, to the --log file or stderr, in
 * logrus' text or JSON shape. Also the raw stdout/stderr writers: `process.stdout` costs
 * ~1.5 ms to set up, so the hot path writes to fds 1 and 2 directly.
 */
import { openSync, writeSync } from 'fs';
import type { GlobalOptions } from '../cli/context';
import { oneLine } from './errors';
import { goJson, utcDateTime } from './formats';

/** logrus' level names (warnings are "warning"). */
export type LogLevel = 'debug' | 'info' | 'warning' | 'error';

export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
  /**
   * A command failed: log `msg` at error level and, when the log goes to a file, also print
   * it to stderr as one line (runc's fatal()).
   */
  fatal(msg: string): void;
}

export type LoggerOptions = Pick<GlobalOptions, 'log' | 'logFormat' | 'debug'>;

/** Writes all of `text` to `fd`, retrying when a non-blocking pipe is full. */
export function writeFd(fd: number, text: string): void {
  const buf = Buffer.from(text);
  for (let written = 0; written < buf.length; ) {
    try {
      written += writeSync(fd, buf, written);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
    }
  }
}

export function printOut(text: string): void {
  writeFd(1, text);
}

export function printErr(text: string): void {
  writeFd(2, text);
}

const GO_ESCAPES: Record<string, string> = {
  '"': '\\"', '\\': '\\\\', '\x07': '\\a', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\v': '\\v',
};

/** Go's strconv.Quote for the characters that matter in log lines. */
function goQuote(s: string): string {
  const body = s.replace(/["\\\x00-\x1f\x7f]/g, (ch) =>
    GO_ESCAPES[ch] ?? '\\x' + ch.charCodeAt(0).toString(16).padStart(2, '0'));
  return `"${body}"`;
}

/** logrus' TextFormatter quotes a value unless it is made of these characters only. */
const BARE_VALUE = /^[A-Za-z0-9\-._/@^+]+$/;

function textValue(s: string): string {
  return BARE_VALUE.test(s) ? s : goQuote(s);
}

/** RFC 3339 to the second, UTC: logrus' default timestamp. */
function logTime(date: Date): string {
  return utcDateTime(Math.floor(date.getTime() / 1000)) + 'Z';
}

/** One log line, newline included, as runc writes it in `format`. */
export function formatLogLine(format: 'text' | 'json', level: LogLevel, msg: string, date = new Date()): string {
  const time = logTime(date);
  if (format === 'json') return goJson({ level, msg, time }) + '\n';
  return `time=${textValue(time)} level=${level} msg=${textValue(msg)}\n`;
}

class LineLogger implements Logger {
  private fd: number | undefined;

  constructor(private readonly options: LoggerOptions) {}

  debug(msg: string): void {
    if (this.options.debug) this.write('debug', msg);
  }

  info(msg: string): void {
    this.write('info', msg);
  }

  warn(msg: string): void {
    this.write('warning', msg);
  }

  error(msg: string): void {
    this.write('error', msg);
  }

  fatal(msg: string): void {
    this.error(msg);
    if (this.destination() !== 2) printErr(oneLine(msg) + '\n');
  }

  private write(level: LogLevel, msg: string): void {
    writeFd(this.destination(), formatLogLine(this.options.logFormat, level, msg));
  }

  /** The --log file, opened for appending on first use; stderr without --log. */
  private destination(): number {
    if (this.fd === undefined) this.fd = this.options.log ? openLogFile(this.options.log) : 2;
    return this.fd;
  }
}

/**
 * A log file that cannot be opened falls back to stderr, so the error is still seen once.
 * /dev/stderr is fd 2 itself, so that errors are not printed twice.
 */
function openLogFile(file: string): number {
  if (file === '/dev/stderr') return 2;
  try {
    return openSync(file, 'a', 0o644);
  } catch {
    return 2;
  }
}

export function createLogger(options: LoggerOptions): Logger {
  return new LineLogger(options);
}
