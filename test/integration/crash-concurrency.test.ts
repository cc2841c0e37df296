/**
 * 8 workers running full lifecycles on one --root at once, each also contending for one shared
 * id: no spurious error, every state JSON valid, nothing left.
 */
import t from 'tap';
import { spawn } from 'child_process';
import fs = require('fs');
import os = require('os');
import path = require('path');
import { CLI, scratchDir, type Result } from '../helpers/runts';
import { crashBundles, leftovers } from '../helpers/crash';

const WORKERS = 8;
/** One cycle in CI keeps the file inside a minute and a half on a loaded 2-core machine. */
const CYCLES = Number(process.env.CRASH_CYCLES ?? 1);
const root = scratchDir('concurrency-root');
const prefix = `runts-conc${process.pid}-`;
const marker = String(7_300_000 + (process.pid % 1_000_000));
const { bundle, bundleFor } = crashBundles(t, { root, prefix, marker, cgroupsPath: (id) => `/${prefix}${id}` });

/**
 * runts without blocking the event loop, so the workers run side by side. Output goes to files:
 * a created container inherits runts' stdio and would hold a pipe open for its whole life.
 */
function runtsAsync(args: string[]): Promise<Result> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runts-conc-out-'));
  const out = fs.openSync(path.join(dir, 'out'), 'w+');
  const err = fs.openSync(path.join(dir, 'err'), 'w+');
  return new Promise((resolve) => {
    const env = { ...process.env };
    delete env.NODE_EXTRA_CA_CERTS;
    const child = spawn(process.execPath, [CLI, '--root', root, ...args], { env, stdio: ['ignore', out, err] });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      fs.closeSync(out);
      fs.closeSync(err);
      const result = { code: code ?? 128 + (signal ? os.constants.signals[signal] : 0), stdout: fs.readFileSync(path.join(dir, 'out'), 'utf8'), stderr: fs.readFileSync(path.join(dir, 'err'), 'utf8') };
      fs.rmSync(dir, { recursive: true, force: true });
      resolve(result);
    });
  });
}

t.test(`${WORKERS} workers × ${CYCLES} lifecycles on one root, contending for one id`, async (t) => {
  const errors: string[] = [];
  let commands = 0;
  let sharedWins = 0;
  let sharedLosses = 0;
  const run = async (args: string[], accept: (r: Result) => boolean = (r) => r.code === 0): Promise<Result> => {
    commands++;
    const r = await runtsAsync(args);
    if (!accept(r)) errors.push(`${args.join(' ')}: exit ${r.code}: ${r.stderr.trim()}`);
    return r;
  };
  const stateOf = async (id: string, gone: boolean): Promise<string | undefined> => {
    const r = await run(['state', id], (r) => r.code === 0 || (gone && /container does not exist/.test(r.stderr)));
    if (r.code !== 0) return undefined;
    try {
      return (JSON.parse(r.stdout) as { status: string }).status;
    } catch {
      errors.push(`state ${id}: invalid JSON: ${r.stdout}`);
      return undefined;
    }
  };
  // containerd's order: create, start, state, kill, delete --force (the kill races the delete).
  const lifecycle = async (id: string) => {
    await run(['start', id]);
    if ((await stateOf(id, false)) !== 'running') errors.push(`${id}: not running after start`);
    await run(['kill', id, 'KILL']);
    await run(['delete', '--force', id]);
  };
  const worker = async (w: number) => {
    for (let c = 0; c < CYCLES; c++) {
      const own = `w${w}c${c}`;
      if ((await run(['create', '--bundle', bundleFor(own), own])).code === 0) await lifecycle(own);
      const shared = await run(['create', '--bundle', bundleFor('shared'), 'shared'], (r) => r.code === 0 || /container with given ID already exists/.test(r.stderr));
      if (shared.code === 0) {
        sharedWins++;
        await lifecycle('shared');
      } else {
        sharedLosses++;
        await stateOf('shared', true);
      }
    }
    // Half the workers list while the others still create and delete (list reads every container).
    if (w % 2 === 1) return;
    const list = await run(['list', '--format', 'json']);
    try {
      JSON.parse(list.stdout);
    } catch {
      errors.push(`list: invalid JSON: ${list.stdout}`);
    }
    if (list.stderr !== '') errors.push(`list warned: ${list.stderr.trim()}`);
  };
  await Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
  t.comment(`${commands} commands, shared id won ${sharedWins} times and refused ${sharedLosses} times`);
  t.same(errors, [], `0 spurious errors in ${commands} commands`);
  t.ok(sharedWins >= 1, 'the shared id was created');
  t.same(leftovers({ root, bundle, cgroupPrefix: prefix, marker }), [], 'nothing left');
});
