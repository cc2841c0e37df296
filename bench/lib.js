'use strict';
/**
 * Helpers shared by the bench/ scripts: child environment, process spawning, timing, quantiles
 * and a plain-text table printer. Plain CommonJS, no dependencies.
 */
const { spawnSync } = require('child_process');
const path = require('path');

const REPO = path.resolve(__dirname, '..');
/**
 * runts as its callers run it: the binary executed itself, so its shebang line (the building
 * node's path and the options src/cli/nodeFlags.ts gives it) is part of what is timed.
 */
const RUNTS = [path.join(REPO, 'dist', 'bundle', 'runts.js')];

/** Children run without NODE_EXTRA_CA_CERTS: it adds ~60 ms to every Node start. */
const CHILD_ENV = { ...process.env };
delete CHILD_ENV.NODE_EXTRA_CA_CERTS;

/** The value following `name` on the command line, if any. */
function argValue(name) {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** spawnSync with CHILD_ENV and utf8 output. */
function sh(argv, options = {}) {
  return spawnSync(argv[0], argv.slice(1), { env: CHILD_ENV, encoding: 'utf8', ...options });
}

/** Absolute path of a command on PATH, or undefined. */
function which(name) {
  const r = sh(['sh', '-c', `command -v ${name}`]);
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/**
 * Runs argv once and returns its wall time in ms; throws (with its stderr) unless it exits with
 * `expect` (default 0). stdout is discarded. `stderrFd`: write stderr to this fd instead of a
 * pipe — needed for commands that leave a process holding their stdio (`create` hands its stdio
 * to the container's init, so a piped stderr would not see EOF until the container exits).
 */
function timeArgv(name, argv, { expect = 0, stderrFd } = {}) {
  const t0 = process.hrtime.bigint();
  const r = sh(argv, { stdio: ['ignore', 'ignore', stderrFd ?? 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== expect) {
    const detail = stderrFd === undefined ? (r.stderr || '').trim() : '(stderr went to the given fd)';
    throw new Error(`${name}: exit ${r.status}${r.signal ? ` (${r.signal})` : ''} (expected ${expect}): ${detail}`);
  }
  return ms;
}

/** The q-quantile of an ascending array (nearest rank). */
function quantile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/** { median, p90, min, max } of unsorted samples. */
function stats(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  return { median: quantile(sorted, 0.5), p90: quantile(sorted, 0.9), min: sorted[0], max: sorted[sorted.length - 1] };
}

/** Prints rows (arrays of strings; the first is the header): first column left-aligned, the rest right-aligned. */
function printTable(rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i] ?? '').length)));
  for (const [i, row] of rows.entries()) {
    console.log(row.map((cell, j) => (j === 0 ? String(cell).padEnd(widths[j]) : String(cell ?? '').padStart(widths[j]))).join('  ').trimEnd());
    if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  }
}

module.exports = { REPO, RUNTS, CHILD_ENV, argValue, sh, which, timeArgv, quantile, stats, printTable };
