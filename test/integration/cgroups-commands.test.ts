/**
 * update, pause, resume, ps and events through the compiled CLI, before real containers:
 * a `sleep` stands in for the container's init, joined to a cgroup made by the driver, and a
 * state.json written the way create writes it. Everything is removed at the end.
 */
import { spawn, spawnSync, type ChildProcess } from 'child_process';
import fs = require('fs');
import os = require('os');
import path = require('path');
import t from 'tap';
import { openCgroup, waitEmpty, type Cgroup } from '../../src/cgroups';
import { probeHierarchy } from '../../src/cgroups/path';
import { pidStartTime, type ContainerRecord } from '../../src/state/store';
import { CLI } from '../helpers/runts';

const h = probeHierarchy();
const skip = process.getuid?.() !== 0 ? 'needs root' : h.mode === 'v2' ? 'pure v2 host: covered by the container tests' : false;
const BASE = `runts-test3-${process.pid}`;

function env(): NodeJS.ProcessEnv {
  const e = { ...process.env };
  delete e.NODE_EXTRA_CA_CERTS;
  return e;
}

interface Fixture {
  root: string;
  id: string;
  cg: Cgroup;
  init: ChildProcess;
  cli(args: string[], input?: string): { code: number; stdout: string; stderr: string };
  record(): ContainerRecord;
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}

function procState(pid: number): string {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
}

function fixture(t: { teardown(fn: () => void | Promise<void>): void }, name: string): Fixture {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'runts-cgcmd-'));
  const id = `${name}-${process.pid}`;
  const cg = openCgroup({ id, cgroupsPath: `/${BASE}/${id}`, systemd: false, resources: { memory: { limit: 64 << 20, swap: 64 << 20 }, pids: { limit: 50 } } });
  const init = spawn('sleep', ['60'], { stdio: 'ignore' });
  t.teardown(async () => {
    try {
      if (cg.isFrozen()) cg.thaw();
    } catch {
      // ignore
    }
    init.kill('SIGKILL');
    for (const pid of cg.pids()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    await exited(init);
    waitEmpty(cg, 5000);
    cg.destroy();
    fs.rmSync(root, { recursive: true, force: true });
  });
  cg.create();
  cg.join(init.pid!);
  const record: ContainerRecord & { cgroupCreated: string[] } = {
    ociVersion: '1.0.2',
    id,
    pid: init.pid!,
    pidStartTime: pidStartTime(init.pid!),
    bundle: root,
    rootfs: '/',
    created: new Date().toISOString(),
    annotations: {},
    config: { ociVersion: '1.0.2', root: { path: '/' }, linux: { resources: { memory: { limit: 64 << 20 } } } },
    cgroupPaths: cg.paths,
    cgroupCreated: cg.created,
  };
  fs.mkdirSync(path.join(root, id));
  fs.writeFileSync(path.join(root, id, 'state.json'), JSON.stringify(record));
  return {
    root, id, cg, init,
    cli(args, input) {
      const r = spawnSync(process.execPath, [CLI, '--root', root, ...args], { encoding: 'utf8', env: env(), input: input ?? '' });
      return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
    },
    record: () => JSON.parse(fs.readFileSync(path.join(root, id, 'state.json'), 'utf8')) as ContainerRecord,
  };
}

const read = (dir: string, file: string): string => fs.readFileSync(path.join(dir, file), 'utf8').trim();

t.test('cgroup commands', { skip }, async (t) => {
  t.test('pause and resume', async (t) => {
    const f = fixture(t, 'pause');
    let r = f.cli(['pause', f.id]);
    t.equal(r.code, 0, r.stderr);
    t.equal(read(f.cg.paths.freezer, 'freezer.state'), 'FROZEN');
    t.match(procState(f.init.pid!), /^[DT]$/);
    r = f.cli(['pause', f.id]);
    t.equal(r.code, 1);
    t.match(r.stderr, /container not running/);
    r = f.cli(['resume', f.id]);
    t.equal(r.code, 0, r.stderr);
    t.equal(read(f.cg.paths.freezer, 'freezer.state'), 'THAWED');
    t.match(procState(f.init.pid!), /^[SR]$/);
    r = f.cli(['resume', f.id]);
    t.equal(r.code, 1);
    t.match(r.stderr, /container not paused/);
  });

  t.test('ps', async (t) => {
    const f = fixture(t, 'ps');
    let r = f.cli(['ps', '--format', 'json', f.id]);
    t.equal(r.code, 0, r.stderr);
    t.equal(r.stdout, `[${f.init.pid}]\n`);
    r = f.cli(['ps', f.id]);
    t.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    t.match(lines[0], /^UID\s+PID\s+PPID/);
    t.equal(lines.length, 2);
    t.match(lines[1], new RegExp(`^\\S+\\s+${f.init.pid}\\s.*sleep 60$`));
    r = f.cli(['ps', f.id, '-o', 'pid,comm']);
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, new RegExp(`^\\s*PID COMMAND\\n\\s*${f.init.pid} sleep\\n$`));
    r = f.cli(['ps', '--format', 'yaml', f.id]);
    t.equal(r.code, 1);
    t.match(r.stderr, /invalid format option/);
  });

  t.test('update: flags, JSON from stdin, refused values, state kept true', async (t) => {
    const f = fixture(t, 'update');
    let r = f.cli(['update', '--memory', '50M', '--memory-swap', '100M', '--pids-limit', '20', '--cpu-share', '512', '--cpu-quota', '20000', '--cpu-period', '100000', f.id]);
    t.equal(r.code, 0, r.stderr);
    t.equal(read(f.cg.paths.memory, 'memory.limit_in_bytes'), String(50 << 20));
    t.equal(read(f.cg.paths.memory, 'memory.memsw.limit_in_bytes'), String(100 << 20));
    t.equal(read(f.cg.paths.pids, 'pids.max'), '20');
    t.equal(read(f.cg.paths.cpu, 'cpu.shares'), '512');
    t.equal(read(f.cg.paths.cpu, 'cpu.cfs_quota_us'), '20000');
    t.same(f.record().config.linux?.resources?.memory, { limit: 50 << 20, swap: 100 << 20 }, 'stored config follows');

    r = f.cli(['update', '-r', '-', f.id], JSON.stringify({ pids: { limit: 30 }, cpu: { cpus: '0' }, hugepageLimits: [] }));
    t.equal(r.code, 0, r.stderr);
    t.equal(read(f.cg.paths.pids, 'pids.max'), '30');
    t.equal(read(f.cg.paths.cpuset, 'cpuset.cpus'), '0');
    t.match(r.stderr, /update ignores hugepageLimits/);

    r = f.cli(['update', '-r', '-', f.id], '{"pids": {"limit": "many"}}');
    t.equal(r.code, 1);
    t.equal(r.stderr.trim().split('\n').length, 1, 'one line');
    t.equal(read(f.cg.paths.pids, 'pids.max'), '30', 'nothing applied');

    r = f.cli(['update', '--memory', 'abc', f.id]);
    t.equal(r.code, 1);
    t.match(r.stderr, /invalid value for memory: invalid size: 'abc'/);

    r = f.cli(['update', '--pids-limit', '40', '--cpuset-cpus', '99', f.id]);
    t.equal(r.code, 1);
    t.match(r.stderr, /failed to write \\?"99\\?": write \/sys\/fs\/cgroup\/cpuset\/.*cpuset.cpus: (invalid argument|numerical result out of range)/);
    t.equal(read(f.cg.paths.pids, 'pids.max'), '30', 'nothing half-applied');
    t.same(f.record().config.linux?.resources?.pids, { limit: 30 });

    r = f.cli(['update', '--pids-limit', '5', 'no-such-container']);
    t.equal(r.code, 1);
    t.match(r.stderr, /container does not exist/);
  });

  t.test('events --stats, the stream, oom events', async (t) => {
    const f = fixture(t, 'events');
    let r = f.cli(['events', '--stats', f.id]);
    t.equal(r.code, 0, r.stderr);
    const event = JSON.parse(r.stdout);
    t.same(Object.keys(event), ['type', 'id', 'data']);
    t.equal(event.type, 'stats');
    t.equal(event.id, f.id);
    t.equal(event.data.memory.usage.limit, 64 << 20);
    t.equal(event.data.pids.limit, 50);

    const stream = spawn(process.execPath, [CLI, '--root', f.root, 'events', '--interval', '200ms', f.id], { env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    stream.stdout.on('data', (d) => (out += d));
    t.teardown(() => stream.kill('SIGKILL'));
    const until = async (pred: () => boolean, ms: number): Promise<boolean> => {
      for (const end = Date.now() + ms; Date.now() < end; ) {
        if (pred()) return true;
        await new Promise((res) => setTimeout(res, 20));
      }
      return pred();
    };
    t.ok(await until(() => out.split('\n').filter((l) => l.includes('"type":"stats"')).length >= 2, 5000), 'stats every interval');
    // Something in the container allocates past the limit.
    const dirs = Object.entries(f.cg.paths).filter(([c]) => c !== '').map(([, d]) => d);
    const hog = spawn('/bin/sh', ['-c', `${dirs.map((d) => `echo $$ > ${d}/cgroup.procs`).join(' && ')} || exit 99\nexec ${process.execPath} -e "const b = []; for (;;) b.push(Buffer.alloc(16 << 20, 1))"`], { stdio: 'ignore' });
    await exited(hog);
    t.ok(await until(() => out.includes(`{"type":"oom","id":"${f.id}"}`), 3000), 'oom event');
    f.init.kill('SIGKILL');
    await exited(f.init);
    const done = await until(() => stream.exitCode !== null, 3000);
    t.ok(done, 'the stream ends when the container stops');
    t.equal(stream.exitCode, 0);

    r = f.cli(['events', '--stats', f.id]);
    t.equal(r.code, 1);
    t.match(r.stderr, new RegExp(`container with id ${f.id} is not running`));
    r = f.cli(['update', '--pids-limit', '5', f.id]);
    t.equal(r.code, 1);
    t.match(r.stderr, /container not running/);
    r = f.cli(['pause', f.id]);
    t.equal(r.code, 1);
    t.match(r.stderr, /container not running/);
  });

  t.test('nothing left', async (t) => {
    for (const m of new Set([...h.v1.values()].map((x) => x.mountpoint))) t.notOk(fs.existsSync(path.join(m, BASE)), m);
  });
});
