// What an operator watches: `GET /metrics` of the real binary after real traffic (REST calls,
// an error, stock socket.io-client sockets on both transports, an event, a recovery) passes
// `promtool check metrics` and has every family the alerts and the Grafana dashboard use; the
// access log has one line per request (JSON with `--log-format json`, plain text in a file).

import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, openSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { io } from 'socket.io-client';
import { startServer, setupClinic, waitForEvent, sleep, FILA_BIN } from './helpers.mjs';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const DASHBOARD = path.join(repoRoot, 'contrib/grafana/fila-dashboard.json');

/** `promtool check metrics` on `text` (Debian's prometheus package; scripts/setup installs it). */
function promtool(text) {
  try {
    execFileSync('promtool', ['check', 'metrics'], { input: text, stdio: ['pipe', 'pipe', 'pipe'] });
    return { code: 0, output: '' };
  } catch (error) {
    if (error.code === 'ENOENT') throw new Error('promtool not found: run scripts/setup (Debian package prometheus)');
    return { code: error.status, output: `${error.stdout}${error.stderr}` };
  }
}

/** The value of the one sample `series` (name and labels as written), or undefined. */
function sample(text, series) {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** The families of a text exposition (their `# TYPE` names). */
function families(text) {
  return new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]));
}

async function scrape(server) {
  const res = await fetch(`${server.base}/metrics`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
  return res.text();
}

async function until(what, check, ms = 10_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

test('after real traffic /metrics passes promtool and has every family an alert or the dashboard reads', async (t) => {
  const server = await startServer();
  t.after(() => server.stop());
  const c = await setupClinic(server);
  const ws = await server.connect(c.a.token, { transports: ['websocket'] });
  const polling = await server.connect(c.a.token, { transports: ['polling'] });
  // A stock client with recovery and reconnection, whose transport is cut under it.
  const recovering = io(server.base, { auth: { token: c.a.token }, transports: ['websocket'], reconnectionDelay: 100 });
  t.after(() => recovering.close());
  const connects = [];
  recovering.on('connect', () => connects.push(recovering.recovered));
  await until('the recovering socket', () => connects.length === 1);

  const created = waitForEvent(ws, 'appointments.created');
  await c.appointment('10:00', '10:15');
  await created;
  const missing = await server.api('GET', '/api/doctors/999999', undefined, c.a.token);
  assert.equal(missing.status, 404);
  recovering.io.engine.close();
  await until('the recovery', () => connects.length === 2);
  assert.equal(connects[1], true, 'the cut socket recovered');

  const text = await until('the gauges', async () => {
    const body = await scrape(server);
    return sample(body, 'fila_sockets_by_transport{transport="websocket"}') === 2 ? body : undefined;
  });
  const lint = promtool(text);
  assert.equal(lint.code, 0, `promtool check metrics:\n${lint.output}`);
  assert.ok(!text.includes('# EOF'));

  assert.equal(sample(text, 'fila_sockets_by_transport{transport="polling"}'), 1);
  assert.equal(sample(text, 'fila_sockets_connected'), 3);
  assert.ok(sample(text, 'fila_events_emitted_total{event="appointments.created"}') >= 1, 'the event emitted');
  assert.ok(sample(text, 'fila_event_delivery_lag_seconds_count') >= 1, 'its delivery lag');
  assert.ok(sample(text, 'fila_socket_recoveries_total{result="recovered"}') >= 1, 'the recovery');
  assert.ok(sample(text, 'fila_http_requests_total{method="GET",route="/api/doctors/{id}",status="404"}') >= 1);
  assert.ok(sample(text, 'fila_http_request_duration_seconds_count{method="GET",route="/api/doctors/{id}"}') >= 1);
  assert.match(text, /^fila_http_request_duration_seconds_bucket\{le="0.005",method="POST",route="\/api\/appointments"\} \d+$/m);
  assert.ok(!/route="\/api\/doctors\/999999"/.test(text), 'routes are templates, never raw paths');
  assert.equal(sample(text, 'fila_db_errors_total{kind="connection"}'), 0);
  assert.ok(sample(text, 'fila_db_acquire_wait_seconds_count{pool="main"}') > 0);
  assert.ok(sample(text, 'fila_db_acquire_wait_seconds_count{pool="writer"}') > 0, 'SQLite writes wait for the writer');
  assert.ok(sample(text, 'fila_db_pool_max_connections{pool="main"}') > 0);
  assert.equal(sample(text, 'fila_event_log_oldest_unread_age_seconds'), 0, 'this node is caught up');
  assert.equal(sample(text, 'fila_event_log_unread_rows'), 0);
  const lastRead = sample(text, 'fila_event_log_last_read_timestamp_seconds');
  assert.ok(Math.abs(Date.now() / 1000 - lastRead) < 30, `last read ${lastRead}`);
  const version = /^version = "([^"]+)"/m.exec(readFileSync(path.join(repoRoot, 'Cargo.toml'), 'utf8'))[1];
  assert.equal(sample(text, `fila_build_info{version="${version}"}`), 1);
  assert.ok(sample(text, 'process_resident_memory_bytes') > 1e6);
  assert.ok(sample(text, 'process_open_fds') > 0);
  assert.ok(sample(text, 'process_cpu_seconds_total') > 0);
  assert.ok(Math.abs(sample(text, 'process_start_time_seconds') - Date.now() / 1000) < 600);

  // Every metric the dashboard queries is in the scrape.
  const known = families(text);
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8'));
  const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((target) => target.expr));
  assert.ok(exprs.length >= 15, 'the dashboard has its panels');
  for (const expr of exprs) {
    for (const [name] of expr.matchAll(/\b(?:fila|process)_[a-z_]+/g)) {
      const family = known.has(name) ? name : name.replace(/_(bucket|sum|count)$/, '');
      assert.ok(known.has(family), `the dashboard's ${name} (in ${expr}) is not exposed`);
    }
  }
  ws.close();
  polling.close();
});

test('--log-format json writes one access line per request, whose request_id is the error body\'s requestId', async (t) => {
  const before = process.env.RUST_LOG;
  process.env.RUST_LOG = 'info';
  t.after(() => { if (before === undefined) delete process.env.RUST_LOG; else process.env.RUST_LOG = before; });
  const server = await startServer({ extraArgs: ['--log-format', 'json', '--trusted-proxy', '127.0.0.1'] });
  t.after(() => server.stop());
  const c = await setupClinic(server);

  const calls = [
    { path: '/api/doctors/999999', token: c.a.token, headers: { 'x-forwarded-for': '203.0.113.9' } },
    { path: '/api/doctors', token: 'not-a-token', headers: { 'x-request-id': 'desk-7.call_42' } },
    { path: '/api/doctors', token: c.a.token, headers: { 'x-request-id': 'bad id with spaces' } },
  ];
  const answers = [];
  for (const call of calls) {
    const res = await fetch(`${server.base}${call.path}`, { headers: { authorization: `Bearer ${call.token}`, ...call.headers } });
    const body = await res.json();
    answers.push({ status: res.status, id: res.headers.get('x-request-id'), body });
  }
  assert.equal(answers[0].status, 404);
  assert.deepEqual(Object.keys(answers[0].body), ['statusCode', 'message', 'error', 'requestId']);
  assert.equal(answers[0].body.requestId, answers[0].id, 'the error body carries the X-Request-Id');
  assert.match(answers[0].id, /^[0-9a-f]{16}$/);
  assert.equal(answers[1].status, 401);
  assert.equal(answers[1].id, 'desk-7.call_42', 'a sane incoming id is kept');
  assert.equal(answers[1].body.requestId, 'desk-7.call_42');
  assert.equal(answers[2].status, 200);
  assert.notEqual(answers[2].id, 'bad id with spaces', 'an odd incoming id is replaced');

  await sleep(200);
  const lines = server.output().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
  const access = lines.filter((l) => l.target === 'fila::access');
  const of = (id) => access.filter((l) => l.request_id === id);
  for (const answer of answers) assert.equal(of(answer.id).length, 1, `one access line for ${answer.id}`);

  const [missing] = of(answers[0].id);
  assert.equal(missing.level, 'INFO');
  assert.equal(missing.method, 'GET');
  assert.equal(missing.route, '/api/doctors/{id}');
  assert.equal(missing.status, 404);
  assert.equal(typeof missing.duration_ms, 'number');
  assert.equal(missing.client, '203.0.113.9', 'the client the trusted proxy forwarded');
  assert.equal(missing.account_id, c.a.accountId);
  assert.equal(missing.span.account_id, c.a.accountId, 'the request span carries the account');
  assert.equal(missing.span.request_id, answers[0].id);
  const [refused] = of('desk-7.call_42');
  assert.equal(refused.status, 401);
  assert.equal(refused.client, '127.0.0.1');
  assert.equal(refused.account_id, undefined, 'no account for a refused token');
  // Every log line is JSON (none in colour); the clinic's set-up calls have their lines too.
  const logLines = server.output().split('\n').filter((l) => l.includes('"level"'));
  assert.ok(logLines.every((l) => l.startsWith('{') && l.endsWith('}')), 'one JSON object per line');
  assert.ok(!server.output().includes('\u001b['), 'no ANSI escapes');
  const logins = access.filter((l) => l.route === '/api/auth/login');
  assert.equal(logins.length, 2, 'both logins of the set-up');
  assert.ok(logins.every((l) => l.method === 'POST' && l.status === 200 && l.account_id === undefined));
});

test('text logs written to a file have no colour codes, and one access line per request', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'fila-logs-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const logFile = path.join(dir, 'fila.log');
  const fd = openSync(logFile, 'w');
  const { FILA_WEB_DIR: _folder, ...env } = process.env;
  const child = spawn(FILA_BIN, ['serve', '--listen', '127.0.0.1:0', '--database-url', `sqlite://${path.join(dir, 'fila.db')}?mode=rwc`], {
    cwd: dir, env: { ...env, RUST_LOG: 'info', FILA_LOG_FORMAT: 'text' }, stdio: ['ignore', 'pipe', fd],
  });
  closeSync(fd);
  const exited = new Promise((resolve) => child.on('exit', resolve));
  t.after(async () => { child.kill('SIGTERM'); await exited; });
  let out = '';
  const base = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no address printed: ${out}`)), 15_000);
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const match = /Fila is running at (http:\/\/\S+)/.exec(out);
      if (match) { clearTimeout(timer); resolve(match[1]); }
    });
  });
  const ids = [];
  for (let i = 0; i < 5; i += 1) {
    const res = await fetch(`${base}/api/nothing-here-${i}`);
    assert.equal(res.status, 404);
    ids.push(res.headers.get('x-request-id'));
  }
  await sleep(200);
  const log = readFileSync(logFile);
  assert.ok(log.length > 0, 'something was logged');
  assert.ok(!log.includes(0x1b), 'no ESC byte in the file');
  const text = log.toString('utf8');
  for (const id of ids) {
    const lines = text.split('\n').filter((l) => l.includes('fila::access') && l.includes(`request_id=${id}`));
    assert.equal(lines.length, 1, `one access line for ${id}:\n${text}`);
    assert.match(lines[0], /method=GET route=\/api\/\{\*rest\} status=404 duration_ms=[\d.]+ client=127\.0\.0\.1/);
  }
});
