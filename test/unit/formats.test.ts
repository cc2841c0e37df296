import t from 'tap';
import { goJson, idMapText, parseGoDecimal, parseGoIntBase0, utcDateTime, GO_INT_BASE0 } from '../../src/base/formats';

t.test('goJson writes what JSON.stringify writes, with Go escapes and bigints', async (t) => {
  const samples: unknown[] = [
    { ociVersion: '1.0.2', id: 'c1', status: 'running', pid: 42, bundle: '/b', annotations: {}, list: [], nested: { a: [1, 'x', null, true] } },
    [], {}, 'plain', 0, -0, 1.5, 1e21, null, [undefined, () => 1], { skipped: undefined, kept: false }, { when: new Date(0) },
  ];
  for (const value of samples) {
    t.equal(goJson(value), JSON.stringify(value), JSON.stringify(value));
    t.equal(goJson(value, 2), JSON.stringify(value, null, 2), `${JSON.stringify(value)}, indented`);
  }
  t.equal(goJson({ s: '<a&b>\u2028' }), '{"s":"\\u003ca\\u0026b\\u003e\\u2028"}');
  t.equal(goJson({ '<k>': 1 }), '{"\\u003ck\\u003e":1}', 'keys are escaped too');
  t.equal(goJson({ limit: (1n << 64n) - 1n }), '{"limit":18446744073709551615}');
});

t.test('Go integers: base 0 for flags, base 10 with runc wording for update', async (t) => {
  for (const [text, value] of [['10', 10], ['0x1f', 31], ['010', 8], ['0o10', 8], ['0b11', 3], ['-0x10', -16]] as const) {
    t.ok(GO_INT_BASE0.test(text), text);
    t.equal(parseGoIntBase0(text), value, text);
  }
  t.notOk(GO_INT_BASE0.test('1e3'));
  t.equal(parseGoDecimal('cpu-quota', '-5', true), -5);
  t.throws(() => parseGoDecimal('cpu-period', '-5', false), { message: 'invalid value for cpu-period: strconv.ParseUint: parsing "-5": invalid syntax' });
});

t.test('id maps are /proc lines', async (t) => {
  t.equal(idMapText([{ containerID: 0, hostID: 1000, size: 1 }, { containerID: 1, hostID: 100000, size: 65536 }]), '0 1000 1\n1 100000 65536\n');
  t.equal(idMapText(undefined), '');
});

t.test('utcDateTime writes what Date#toISOString writes, to the second', async (t) => {
  const iso = (seconds: number): string => new Date(seconds * 1000).toISOString().slice(0, 19);
  const edges = [0, 59, 86399, 86400, 951782400 /* 2000-02-29 */, 951868800, 4107542400 /* 2100-03-01 */, 1796290108, 253402300799 /* 9999-12-31T23:59:59 */];
  for (const seconds of edges) t.equal(utcDateTime(seconds), iso(seconds), `${seconds}`);
  let mismatches = 0;
  for (let i = 0; i < 20000; i++) {
    const seconds = Math.floor(Math.random() * 253402300800);
    if (utcDateTime(seconds) !== iso(seconds)) mismatches++;
  }
  t.equal(mismatches, 0, '20000 random seconds up to the year 9999');
  // Every day boundary of four leap cycles around 2000 (a 400-year leap day) and 2100 (none).
  for (const start of [946684800, 4102444800]) {
    let dayMismatches = 0;
    for (let day = -800; day < 800; day++) if (utcDateTime(start + day * 86400 - 1) !== iso(start + day * 86400 - 1)) dayMismatches++;
    t.equal(dayMismatches, 0, `day ends around ${iso(start)}`);
  }
});
