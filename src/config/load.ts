/**
 * Reading a bundle's config.json from disk: file errors and JSON syntax errors as one line; keys
 * matched to the spec's fields case-insensitively, as runc's Go decoder does (keys.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { RuntimeError, describeSystemError } from '../base/errors';
import { isDirectory } from '../base/files';
import { foldKeys } from './keys';

export const CONFIG_FILE = 'config.json';

export interface ConfigFile {
  /** Absolute bundle directory. */
  bundle: string;
  /** Parsed JSON with struct keys in the spec's spelling (foldKeys), not yet validated. */
  document: unknown;
}

/** Reads and parses `<bundleDir>/config.json`; throws a one-line RuntimeError on any failure. */
export function readConfig(bundleDir: string): ConfigFile {
  const bundle = path.resolve(bundleDir);
  assertDirectory(bundle);
  const file = path.join(bundle, CONFIG_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw describeSystemError(`${CONFIG_FILE}: open ${file}`, err);
  }
  return { bundle, document: foldKeys(parseJson(text, CONFIG_FILE), 'config') };
}

function assertDirectory(bundle: string): void {
  if (isDirectory(bundle)) return;
  // What is wrong with it, in stat's words.
  let stat: fs.Stats;
  try {
    stat = fs.statSync(bundle);
  } catch (err) {
    throw describeSystemError(`bundle ${bundle}`, err);
  }
  if (!stat.isDirectory()) throw new RuntimeError(`bundle ${bundle}: not a directory`);
}

/**
 * JSON.parse with the error located by line and column (1-based), e.g.
 * `config.json: invalid JSON at line 3, column 5: expected double-quoted property name`.
 */
export function parseJson(text: string, label: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    // V8's messages do not always carry a position, so the text is rescanned to locate the error.
    const found = findSyntaxError(text) ?? { offset: text.length, reason: String((err as Error).message) };
    const { line, column } = lineAndColumn(text, found.offset);
    throw new RuntimeError(`${label}: invalid JSON at line ${line}, column ${column}: ${found.reason}`);
  }
}

export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text[i] === '\n') {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

interface SyntaxProblem {
  offset: number;
  reason: string;
}

/** The first RFC 8259 syntax error in `text`, or undefined when it is valid JSON. */
export function findSyntaxError(text: string): SyntaxProblem | undefined {
  try {
    new JsonScanner(text).document();
    return undefined;
  } catch (err) {
    if (err instanceof ScanError) return { offset: err.offset, reason: err.message };
    throw err;
  }
}

class ScanError extends Error {
  constructor(readonly offset: number, reason: string) {
    super(reason);
  }
}

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const ESCAPE = /\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})/y;

/** A validating-only recursive descent scanner: it builds nothing, it just finds the error. */
/** Deeper than this the scanner (recursive) stops: the fuzz test found a stack overflow at ~10^4. */
const MAX_SCAN_DEPTH = 1000;

class JsonScanner {
  private pos = 0;
  private depth = 0;

  constructor(private readonly text: string) {}

  document(): void {
    this.value();
    this.skipSpace();
    if (this.pos < this.text.length) this.fail('unexpected non-whitespace character after JSON');
  }

  private fail(reason: string): never {
    throw new ScanError(this.pos, reason);
  }

  private skipSpace(): void {
    while (this.pos < this.text.length && ' \t\n\r'.includes(this.text[this.pos])) this.pos++;
  }

  private value(): void {
    this.skipSpace();
    const ch = this.text[this.pos];
    if (ch === '{') return this.object();
    if (ch === '[') return this.array();
    if (ch === '"') return this.string();
    if (ch === 't') return this.literal('true');
    if (ch === 'f') return this.literal('false');
    if (ch === 'n') return this.literal('null');
    if (ch === '-' || (ch >= '0' && ch <= '9')) return this.number();
    this.fail(ch === undefined ? 'unexpected end of input' : `unexpected character ${JSON.stringify(ch)}`);
  }

  private object(): void {
    if (this.openList('}')) return;
    this.nest();
    for (;;) {
      this.skipSpace();
      if (this.text[this.pos] !== '"') this.fail('expected double-quoted property name');
      this.string();
      this.skipSpace();
      if (this.text[this.pos] !== ':') this.fail("expected ':' after property name");
      this.pos++;
      this.value();
      if (this.endOfList('}')) return void this.depth--;
    }
  }

  private array(): void {
    if (this.openList(']')) return;
    this.nest();
    for (;;) {
      this.value();
      if (this.endOfList(']')) return void this.depth--;
    }
  }

  private nest(): void {
    if (++this.depth > MAX_SCAN_DEPTH) this.fail(`nested deeper than ${MAX_SCAN_DEPTH} levels`);
  }

  /** Consumes the opening bracket; true when the list is empty (its closing bracket consumed too). */
  private openList(close: string): boolean {
    this.pos++;
    this.skipSpace();
    if (this.text[this.pos] !== close) return false;
    this.pos++;
    return true;
  }

  /** After a member: true (and consumed) at the closing bracket, false after a comma. */
  private endOfList(close: string): boolean {
    this.skipSpace();
    const ch = this.text[this.pos];
    if (ch === close || ch === ',') {
      this.pos++;
      return ch === close;
    }
    return this.fail(`expected ',' or '${close}'`);
  }

  private string(): void {
    this.pos++;
    for (;;) {
      const ch = this.text[this.pos];
      if (ch === undefined) this.fail('unterminated string');
      if (ch === '"') return void this.pos++;
      if (ch === '\\') this.escape();
      else if (ch < ' ') this.fail('bad control character in string literal');
      else this.pos++;
    }
  }

  private escape(): void {
    ESCAPE.lastIndex = this.pos;
    if (!ESCAPE.test(this.text)) this.fail('bad escape sequence in string literal');
    this.pos = ESCAPE.lastIndex;
  }

  private number(): void {
    NUMBER.lastIndex = this.pos;
    if (!NUMBER.test(this.text)) this.fail('invalid number');
    this.pos = NUMBER.lastIndex;
  }

  private literal(word: string): void {
    if (!this.text.startsWith(word, this.pos)) this.fail(`unexpected token, expected ${word}`);
    this.pos += word.length;
  }
}
