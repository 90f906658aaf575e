// Measures Fila under hostile load, for RELIABILITY.md: bad requests and the 5xx they got, the
// peak memory under each flood, connections held, and stops and crashes under writes with the
// events lost. Every flood targets 127.0.0.0/8 only and is bounded in count and time.
//
//   cargo build --release && node bench/hostile.mjs            # FILA_BIN=target/release/fila
//   FILA_BIN=target/debug/fila node bench/hostile.mjs --quick  # smaller floods
//   node bench/hostile.mjs --only=idle                          # the steps whose name has "idle"
//
// Needs the npm packages of tests/protocol (`npm --prefix tests/protocol ci`). Prints a
// Markdown table on stdout; progress on stderr.

import http from 'node:http';
import net from 'node:net';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
process.env.FILA_BIN ??= path.join(root, 'target/release/fila');
const { startServer, setupClinic, sleep, memoryMiB } = await import('../tests/protocol/helpers.mjs');
const WebSocket = createRequire(path.join(root, 'tests/protocol/package.json'))('ws');

const quick = process.argv.includes('--quick');
const rows = [];
const log = (...a) => console.error('[hostile]', ...a);
const mib = (v) => `${v.toFixed(0)} MiB`;

/** One raw HTTP request from a chosen local address; resolves `{status, body, ms}` (status 0: no answer). */
function request(base, { method = 'GET', path: p = '/', headers = {}, body, from, timeout = 15_000 }) {
  const url = new URL(p, base);
  const started = performance.now();
  return new Promise((resolve) => {
    const req = http.request({
      host: url.hostname, port: url.port, path: url.pathname + url.search, method, headers,
      localAddress: from, agent: false, timeout,
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString(), ms: performance.now() - started }));
      res.on('error', () => resolve({ status: 0, body: '', ms: performance.now() - started }));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve({ status: 0, body: '', ms: performance.now() - started }));
    if (body !== undefined) req.write(body);
    req.end();
  });
}

const json = (value) => ({ headers: { 'content-type': 'application/json' }, body: typeof value === 'string' ? value : JSON.stringify(value) });

/** Samples the server's resident memory while `work` runs; answers the work's result and the peak. */
async function sampled(pid, work) {
  let peak = memoryMiB(pid).now;
  let running = true;
  const sampler = (async () => { while (running) { peak = Math.max(peak, memoryMiB(pid).now); await sleep(20); } })();
  try {
    const result = await work();
    return { result, peak: Math.max(peak, memoryMiB(pid).now) };
  } finally {
    running = false;
    await sampler;
  }
}

const count = (statuses) => statuses.reduce((m, s) => ({ ...m, [s]: (m[s] ?? 0) + 1 }), {});
const fivexx = (statuses, allowed = []) => statuses.filter((s) => s >= 500 && !allowed.includes(s)).length;

async function badRequests() {
  const server = await startServer();
  try {
    const clinic = await setupClinic(server);
    const auth = { authorization: `Bearer ${clinic.a.token}` };
    const appt = await clinic.appointment('10:00', '10:15');
    const long = 'x'.repeat(100_000);
    const cases = [
      () => ({ method: 'POST', path: '/api/patients', ...json('{"name":'), headers: { ...auth, 'content-type': 'application/json' } }),
      () => ({ method: 'POST', path: '/api/patients', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ name: long, cpf: '1', dateBirth: '2099-99-99' }) }),
      () => ({ method: 'PATCH', path: '/api/account', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ name: long }) }),
      () => ({ method: 'POST', path: '/api/appointments', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ patientId: 'x', procedures: [{ id: -1 }], date: '2025-02-30', startTime: '25:00' }) }),
      () => ({ method: 'PATCH', path: `/api/appointments/${appt.id}/status`, headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ action: 'teleport' }) }),
      () => ({ method: 'PATCH', path: `/api/appointments/${appt.id}/status`, headers: { ...auth, 'content-type': 'application/json' }, body: '{"action":"check-in\\u0000"}' }),
      () => ({ method: 'GET', path: '/api/appointments?date=2025-13-45&limit=-5&offset=abc', headers: auth }),
      () => ({ method: 'GET', path: '/api/appointments/99999999999999999999', headers: auth }),
      () => ({ method: 'GET', path: '/api/doctors', headers: { authorization: 'Bearer not.a.jwt' } }),
      () => ({ method: 'GET', path: '/api/doctors', headers: { authorization: 'BEARER ' } }),
      () => ({ method: 'POST', path: '/api/auth/login', ...json({ email: `${'e'.repeat(5000)}@x`, password: 1 }) }),
      () => ({ method: 'POST', path: '/api/auth/token', ...json({ apiKey: ['x'] }) }),
      () => ({ method: 'POST', path: '/api/procedures', headers: { ...auth, 'content-type': 'text/plain' }, body: 'name=x' }),
      () => ({ method: 'POST', path: '/api/procedures', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'x', price: 'NaN', pad: 'p'.repeat(300_000) }) }),
      () => ({ method: `M${'X'.repeat(500)}`, path: `/api/${'z'.repeat(900)}` }),
      () => ({ method: 'GET', path: '/api/events?since=-1', headers: auth }),
      () => ({ method: 'DELETE', path: '/api/api-keys/abc', headers: auth }),
      () => ({ method: 'GET', path: '/assets/index.js.map' }),
    ];
    const total = quick ? 720 : 3600;
    const statuses = [];
    for (let i = 0; i < total; i += 16) {
      const batch = Array.from({ length: 16 }, (_, j) => request(server.base, cases[(i + j) % cases.length]()));
      for (const r of await Promise.all(batch)) statuses.push(r.status);
    }
    const healthy = (await request(server.base, { path: '/healthz' })).status;
    rows.push(['Bad requests (18 kinds: malformed JSON, wrong types, 100 000-character and 300 KB fields, NUL, bad tokens, odd methods, source map)',
      `${statuses.length} sent; ${JSON.stringify(count(statuses))}`, `5xx: ${fivexx(statuses)}; /healthz after: ${healthy}`]);
  } finally {
    await server.stop();
  }
}

async function loginFlood() {
  const server = await startServer();
  try {
    const idle = memoryMiB(server.pid).now;
    const perRound = quick ? 150 : 300;
    const { result: statuses, peak } = await sampled(server.pid, async () => {
      const all = [];
      for (let round = 0; round < 3; round += 1) {
        const answers = await Promise.all(Array.from({ length: perRound }, (_, i) => request(server.base, {
          method: 'POST', path: '/api/auth/login', from: `127.0.1.${(i % 60) + 10}`,
          ...json({ email: `nobody${round}-${i}@flood.test`, password: 'x' }),
        })));
        all.push(...answers.map((a) => a.status));
      }
      return all;
    });
    await sleep(2000);
    const after = memoryMiB(server.pid).now;
    rows.push([`Login flood: ${perRound} concurrent logins with unknown emails from 60 addresses, 3 rounds`,
      `idle ${mib(idle)}, peak ${mib(peak)}, ${mib(after)} 2 s later`, `${JSON.stringify(count(statuses))}; 5xx other than 503 + Retry-After: ${fivexx(statuses, [503])}`]);
  } finally {
    await server.stop();
  }
}

function rawSocket(server) {
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/socket.io/?EIO=4&transport=websocket`);
  ws.closed = new Promise((resolve) => ws.on('close', (code) => resolve(code)));
  ws.on('error', () => {});
  return new Promise((resolve, reject) => { ws.once('message', () => resolve(ws)); ws.once('error', reject); });
}

async function websocketFlood() {
  const server = await startServer();
  try {
    const idle = memoryMiB(server.pid).now;
    const huge = Buffer.alloc(60 * 1024 * 1024, 'a');
    const { result: codes, peak } = await sampled(server.pid, async () => {
      const sockets = await Promise.all(Array.from({ length: 20 }, () => rawSocket(server)));
      for (const ws of sockets) ws.send(huge, { binary: false });
      return Promise.race([Promise.all(sockets.map((ws) => ws.closed)), sleep(30_000).then(() => ['still open'])]);
    });
    rows.push(['Websocket flood: 20 token-less websockets each sending one 60 MiB message',
      `idle ${mib(idle)}, peak ${mib(peak)}`, `all 20 closed by the server (codes ${[...new Set(codes)].join(', ')})`]);
  } finally {
    await server.stop();
  }
}

async function metricsText(base) {
  return (await request(base, { path: '/metrics' })).body;
}

async function idleConnections({ n, cap }) {
  const server = await startServer({ extraArgs: cap ? ['--max-connections', String(cap)] : [] });
  try {
    const idle = memoryMiB(server.pid).now;
    const sockets = [];
    const { peak, result } = await sampled(server.pid, async () => {
      for (let i = 0; i < n; i += 500) {
        await Promise.all(Array.from({ length: Math.min(500, n - i) }, () => new Promise((resolve) => {
          const s = net.connect({ host: '127.0.0.1', port: server.port }, resolve);
          s.on('error', resolve);
          s.on('close', () => { s.closedAt = Date.now(); });
          sockets.push(s);
        })));
      }
      await sleep(500);
      const health = [];
      for (let i = 0; i < 10; i += 1) health.push(await request(server.base, { path: '/healthz', timeout: 3000 }));
      const text = await metricsText(server.base);
      const held = /^fila_http_connections_open (\d+)/m.exec(text)?.[1];
      const refused = /^fila_http_connections_refused_total (\d+)/m.exec(text)?.[1];
      return { health, held, refused };
    });
    const started = Date.now();
    while (sockets.some((s) => !s.closedAt) && Date.now() - started < 20_000) await sleep(200);
    const open = sockets.filter((s) => !s.closedAt).length;
    const slowest = Math.max(...sockets.filter((s) => s.closedAt).map((s) => s.closedAt - started));
    for (const s of sockets) s.destroy();
    const ok = result.health.filter((h) => h.status === 200).length;
    const worst = Math.max(...result.health.map((h) => h.ms));
    rows.push([`Idle connections: ${n} TCP connections that send nothing (cap ${cap ?? 10_000} + 32 kept for operations)`,
      `idle ${mib(idle)}, peak ${mib(peak)}; ${result.held} held at once, ${result.refused} closed at once`,
      `/healthz ${ok}/10 answered (slowest ${worst.toFixed(0)} ms); the server closed the rest within ${(slowest / 1000).toFixed(1)} s (header timeout, or a newer connection taking the reserve); ${open} never reached it (listen backlog full during the burst)`]);
  } finally {
    await server.stop();
  }
}

async function halfSent() {
  const server = await startServer();
  try {
    const open = (bytes) => new Promise((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port: server.port }, () => { s.write(bytes); resolve(s); });
      s.opened = Date.now();
      s.on('data', (d) => { s.answer = (s.answer ?? '') + d; });
      s.on('close', () => { s.closedAt = Date.now(); });
      s.on('error', () => {});
    });
    const heads = await Promise.all(Array.from({ length: 100 }, () => open('GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ')));
    const bodies = await Promise.all(Array.from({ length: 100 }, () => open('POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"email":')));
    const started = Date.now();
    while ([...heads, ...bodies].some((s) => !s.closedAt) && Date.now() - started < 45_000) await sleep(200);
    const secs = (list) => Math.max(...list.map((s) => (s.closedAt ?? Infinity) - s.opened)) / 1000;
    const answered408 = bodies.filter((s) => (s.answer ?? '').startsWith('HTTP/1.1 408')).length;
    rows.push(['Half-sent requests: 100 with headers cut short, 100 with a body cut short (defaults)',
      `headers closed within ${secs(heads).toFixed(1)} s, bodies within ${secs(bodies).toFixed(1)} s`, `${answered408}/100 bodies answered 408 before the close`]);
    const stopStart = Date.now();
    const hanging = await open('POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{');
    const code = await server.terminate();
    rows.push(['SIGTERM with a half-sent request open', `exited in ${((Date.now() - stopStart) / 1000).toFixed(1)} s, code ${code}`, hanging.closedAt ? 'the client saw the close' : 'closed']);
  } finally {
    await server.stop();
  }
}

async function metricsCardinality() {
  const server = await startServer();
  try {
    const before = (await metricsText(server.base)).length;
    const idle = memoryMiB(server.pid).now;
    const n = quick ? 5000 : 20_000;
    const { peak, result: statuses } = await sampled(server.pid, async () => {
      const all = [];
      for (let i = 0; i < n; i += 50) {
        const batch = Array.from({ length: 50 }, (_, j) => request(server.base, {
          method: `M${(i + j).toString(36)}${'Q'.repeat(1000)}`, path: `/api/r${i + j}`,
        }));
        all.push(...(await Promise.all(batch)).map((r) => r.status));
      }
      return all;
    });
    const text = await metricsText(server.base);
    rows.push([`/metrics cardinality: ${n} requests with random 1000-character methods and paths`,
      `body ${before} → ${text.length} bytes; RSS idle ${mib(idle)}, peak ${mib(peak)}`, `5xx: ${fivexx(statuses)}`]);
  } finally {
    await server.stop();
  }
}

async function tokenFlood() {
  const server = await startServer();
  try {
    const clinic = await setupClinic(server);
    const auth = { authorization: `Bearer ${clinic.a.token}` };
    const p50 = async () => {
      const times = [];
      for (let i = 0; i < 60; i += 1) times.push((await request(server.base, { path: '/api/account', headers: auth })).ms);
      times.sort((a, b) => a - b);
      return times[30];
    };
    const quiet = await p50();
    let flooding = true;
    const statuses = [];
    const flood = Promise.all(Array.from({ length: 64 }, async (_, w) => {
      while (flooding) {
        const r = await request(server.base, { method: 'POST', path: '/api/auth/token', from: `127.0.2.${(w % 8) + 10}`, ...json({ apiKey: `fila_${Math.random().toString(36).slice(2)}` }) });
        statuses.push(r.status);
      }
    }));
    await sleep(1000);
    const loaded = await p50();
    flooding = false;
    await flood;
    rows.push(['API-key flood: 64 concurrent clients trading random keys from 8 addresses',
      `p50 of GET /api/account ${quiet.toFixed(1)} ms quiet, ${loaded.toFixed(1)} ms during the flood`, `${statuses.length} sent: ${JSON.stringify(count(statuses))}`]);
  } finally {
    await server.stop();
  }
}

async function stopsUnderWrites(kind, rounds) {
  let lostTotal = 0;
  let answered = 0;
  const codes = [];
  let panics = 0;
  for (let round = 0; round < rounds; round += 1) {
    const server = await startServer();
    const clinic = await setupClinic(server);
    const ids = [];
    for (let slot = 0; slot < 36; slot += 1) {
      const m = 8 * 60 + slot * 15;
      const at = (x) => `${String(Math.floor(x / 60)).padStart(2, '0')}:${String(x % 60).padStart(2, '0')}`;
      ids.push((await clinic.appointment(at(m), at(m + 15))).id);
    }
    const listener = await server.connect(clinic.a.token);
    const ok = new Set();
    let next = 0;
    const writer = async () => {
      while (next < ids.length) {
        const id = ids[next++];
        try { if ((await clinic.status(id, 'check-in')).status === 200) ok.add(id); } catch { return; }
      }
    };
    const writers = Promise.all([writer(), writer(), writer(), writer()]);
    while (ok.size < 6 + round) await sleep(2);
    if (kind === 'SIGTERM') codes.push(await server.terminate()); else { await server.crash(); codes.push('killed'); }
    await writers;
    listener.close();
    if (/panicked/.test(server.output())) panics += 1;
    const again = await startServer({ databaseUrl: server.databaseUrl });
    const token = await again.login(clinic.a.email, clinic.a.password);
    const events = [];
    for (;;) {
      const since = events.length ? events[events.length - 1].seq : 0;
      const page = (await again.api('GET', `/api/events?since=${since}&limit=100`, undefined, token)).body;
      if (!page.length) break;
      events.push(...page);
    }
    const logged = new Set(events.filter((e) => e.event === 'appointments.checkin').map((e) => e.data.id));
    lostTotal += [...ok].filter((id) => !logged.has(id)).length;
    answered += ok.size;
    await again.stop();
    await server.stop();
  }
  rows.push([`${kind} during a stream of check-ins (4 writers), ${rounds} rounds, restarted on the same database`,
    `exit: ${[...new Set(codes)].join(', ')}; panics: ${panics}`, `${answered} check-ins answered 200, events lost: ${lostTotal}`]);
}

const steps = [
  ['bad requests', badRequests], ['login flood', loginFlood], ['websocket flood', websocketFlood],
  ['idle connections', () => idleConnections({ n: quick ? 3000 : 12_000 })],
  ['idle connections over a lower cap', () => idleConnections({ n: quick ? 3000 : 5000, cap: 2000 })],
  ['half-sent requests', halfSent], ['metrics cardinality', metricsCardinality],
  ['API-key flood', tokenFlood], ['SIGTERM under writes', () => stopsUnderWrites('SIGTERM', quick ? 2 : 5)],
  ['SIGKILL under writes', () => stopsUnderWrites('SIGKILL', quick ? 1 : 3)],
];
const only = process.argv.find((a) => a.startsWith('--only='))?.slice(7);
for (const [name, run] of steps) {
  if (only && !name.includes(only)) continue;
  log(name);
  await run();
}
console.log(`Fila ${process.env.FILA_BIN}, ${new Date().toISOString().slice(0, 10)}\n`);
console.log('| attack | memory / time | answers |');
console.log('|---|---|---|');
for (const [a, b, c] of rows) console.log(`| ${a} | ${b} | ${c} |`);
process.exit(0);
