#!/usr/bin/env node
'use strict';
/**
 * The smallest linux.resources.memory.limit at which `run` of busybox `echo it works` still
 * works, for runts and Debian's runc, side by side. Usage: node bench/memory-floor.js (root;
 * needs dist/, build/ and fixtures/out/rootfs).
 */
const fs = require('fs');
const os = require('os');
const path = require('path');
const { REPO, RUNTS, sh, which, printTable } = require('./lib');

const LIMITS_KIB = [64, 96, 128, 160, 192, 256, 384, 512, 768, 1024, 2048, 4096, 8192, 16384];

function bundleWithLimit(limitBytes) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runts-memfloor-'));
  sh(['cp', '-a', path.join(REPO, 'fixtures', 'out', 'rootfs'), path.join(dir, 'rootfs')]);
  const spec = JSON.parse(sh([...RUNTS, 'spec', '--bundle', dir]).status === 0 ? fs.readFileSync(path.join(dir, 'config.json'), 'utf8') : '{}');
  spec.process.terminal = false;
  spec.process.args = ['echo', 'it works'];
  spec.linux.resources = { ...spec.linux.resources, memory: { limit: limitBytes } };
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(spec));
  return dir;
}

function works(runtime, limitKib) {
  const bundle = bundleWithLimit(limitKib * 1024);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'runts-memfloor-root-'));
  const id = `floor-${process.pid}-${limitKib}`;
  try {
    const r = sh([...runtime, '--root', root, 'run', '--bundle', bundle, id], { timeout: 30000 });
    return r.status === 0 && r.stdout.includes('it works');
  } finally {
    sh([...runtime, '--root', root, 'delete', '--force', id]);
    fs.rmSync(bundle, { recursive: true, force: true });
    fs.rmSync(root, { recursive: true, force: true });
  }
}

function floor(runtime) {
  for (const kib of LIMITS_KIB) if (works(runtime, kib)) return `${kib} KiB`;
  return `> ${LIMITS_KIB.at(-1)} KiB`;
}

const runc = which('runc');
printTable([
  ['runtime', 'smallest memory limit for `run echo`'],
  ['runts', floor(RUNTS)],
  ['runc', runc ? floor([runc]) : 'runc not installed'],
]);
