// The cluster benchmark's load tool: Socket.IO clients (the real socket.io-client) spread over
// Fila nodes that share one PostgreSQL, changes made through each node in turn.
//
//   node cluster.mjs --urls http://127.0.0.1:A,http://127.0.0.1:B,... --email E --password P
//                    [--clients-per-node N] [--changes M] [--kill-pid PID --kill-index I]
//                    [--label NAME]
//
// 1. Latency: M status changes, one at a time, each through node `k % nodes`; for each, the
//    time from just before the PATCH to the receipt of its event at the last of all clients.
//    Reported by the node that took the change (p50 / p99 / max, ms). Every client must get
//    every `seq` exactly once, in order, or the run fails.
// 2. Recovery (with --kill-pid): changes keep coming every 50 ms through the surviving nodes;
//    the node at --kill-index is SIGKILLed. Its clients reconnect to the next node and fill
//    their gap from GET /api/events, as the web app does. Recovery time of a client: from the
//    kill until it is connected to a live node and has every event acknowledged before it
//    reconnected. Reported p50 / max over the killed node's clients, and checked: every
//    client ends with every acknowledged event.
//
// Loopback only; bounded by --time-limit (seconds, default 300).

import { io } from 'socket.io-client';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, arg, i, all) => (arg.startsWith('--') ? [...pairs, [arg.slice(2), all[i + 1]]] : pairs), []),
);
const urls = (args.urls ?? '').split(',').filter(Boolean);
if (urls.length === 0 || urls.some((u) => !/^http:\/\/(127\.0\.0\.1|localhost):\d+$/.test(u))) {
  console.error('cluster.mjs: --urls must list loopback http://127.0.0.1:PORT addresses');
  process.exit(2);
}
const perNode = Number(args['clients-per-node'] ?? 100);
const changes = Number(args.changes ?? 100);
const label = args.label ?? `${urls.length} node(s)`;
const killPid = args['kill-pid'] ? Number(args['kill-pid']) : null;
const killIndex = Number(args['kill-index'] ?? urls.length - 1);
const timeLimit = Number(args['time-limit'] ?? 300) * 1000;
setTimeout(() => { console.error(`[${label}] time limit exceeded`); process.exit(1); }, timeLimit).unref();

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (msg) => console.error(`[${label}] ${msg}`);

async function api(base, method, path, body, token) {
  const headers = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let parsed;
  try { parsed = text ? JSON.parse(text) : undefined; } catch { parsed = text; }
  return { status: res.status, body: parsed };
}

async function ok(base, method, path, body, token) {
  const res = await api(base, method, path, body, token);
  if (res.status >= 300) throw new Error(`${method} ${path} → ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** One screen: a socket on some node, following the account's `seq`. */
class Client {
  constructor(id, node, token, since) {
    Object.assign(this, { id, node, token, last: since });
    this.seen = new Map(); // seq → receipt time (ms, performance.now())
    this.live = [];
    this.waiters = [];
    this.down = new Set();
  }

  connect(nodeIndex) {
    return new Promise((resolve, reject) => {
      const socket = io(urls[nodeIndex], { transports: ['websocket'], reconnection: false, forceNew: true, auth: { token: this.token }, timeout: 5000 });
      socket.once('connect', () => { this.socket = socket; this.node = nodeIndex; resolve(); });
      socket.once('connect_error', (err) => { socket.close(); reject(err); });
      socket.onAny((event, data, meta) => {
        const at = performance.now();
        this.live.push(meta.seq);
        if (!this.seen.has(meta.seq)) this.seen.set(meta.seq, at);
        for (const w of [...this.waiters]) w();
      });
      socket.on('disconnect', () => { if (this.onDrop) this.onDrop(); });
    });
  }

  /** The highest `seq` up to which nothing is missing. */
  contiguous() {
    let seq = this.last;
    while (this.seen.has(seq + 1)) seq += 1;
    this.last = seq;
    return seq;
  }

  async fill() {
    for (;;) {
      const since = this.contiguous();
      const res = await api(urls[this.node], 'GET', `/api/events?since=${since}&limit=100`, undefined, this.token).catch(() => ({ status: 0 }));
      if (res.status !== 200) { await sleep(50); continue; }
      const now = performance.now();
      for (const e of res.body) if (!this.seen.has(e.seq)) this.seen.set(e.seq, now);
      if (res.body.length < 100) return;
    }
  }
}

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
const fmt = (values) => {
  const s = [...values].sort((a, b) => a - b);
  return `${percentile(s, 50).toFixed(1)} / ${percentile(s, 99).toFixed(1)} / ${s.at(-1).toFixed(1)}`;
};

async function main() {
  const login = await ok(urls[0], 'POST', '/api/auth/login', { email: args.email, password: args.password });
  const token = login.accessToken;
  const today = (await ok(urls[0], 'GET', '/api/account', undefined, token)).today;
  const procedure = await ok(urls[0], 'POST', '/api/procedures', { name: 'Ultrassom: Tireoide', price: 100 }, token);
  const doctor = await ok(urls[0], 'POST', '/api/doctors', {
    name: `Dr. Bench ${Date.now()}`, procedureIds: [procedure.id], startTime: '00:00', endTime: '23:45', intervalMinutes: 15,
    workingDays: ['Segunda, Terca, Quarta, Quinta, Sexta, Sabado, Domingo'],
  }, token);
  const patient = await ok(urls[0], 'POST', '/api/patients', { name: 'João Silva', phone: '(81) 99999-9999', dateBirth: '1980-05-17', cpf: '529.982.247-25' }, token);
  const appointments = [];
  // Half a slot per measured change, and 40 more for the stream around the kill (4 s).
  const slots = Math.ceil(changes / 2) + (killPid === null ? 0 : 40);
  if (slots > 90) throw new Error('--changes must be at most 100');
  for (let i = 0; i < slots; i++) {
    const minutes = (i % 90) * 15;
    const at = (m) => `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
    const created = await ok(urls[0], 'POST', '/api/appointments', {
      patientId: patient.id, procedures: [{ id: procedure.id }], doctorId: doctor.id, date: today, startTime: at(minutes), endTime: at(minutes + 15),
    }, token);
    appointments.push(created[0].id);
  }
  const since = (await ok(urls[0], 'GET', '/api/account', undefined, token)).lastSeq;

  // Clients: `perNode` on every node.
  const clients = [];
  for (let n = 0; n < urls.length; n++) {
    for (let i = 0; i < perNode; i++) {
      const client = new Client(clients.length, n, token, since);
      await client.connect(n);
      clients.push(client);
    }
  }
  log(`${clients.length} clients connected over ${urls.length} node(s)`);
  await sleep(500);

  // 1. Latency by the node that took the change.
  const byNode = urls.map(() => []);
  let seq = since;
  const action = (k) => (k % 2 === 0 ? 'check-in' : 'agendado');
  for (let k = 0; k < changes; k++) {
    const node = k % urls.length;
    seq += 1;
    const t0 = performance.now();
    const res = await api(urls[node], 'PATCH', `/api/appointments/${appointments[Math.floor(k / 2)]}/status`, { action: action(k) }, token);
    if (res.status !== 200) throw new Error(`change ${k} through node ${node}: ${res.status}`);
    const deadline = Date.now() + 10_000;
    while (clients.some((c) => !c.seen.has(seq))) {
      if (Date.now() > deadline) throw new Error(`LOST: seq ${seq} reached ${clients.filter((c) => c.seen.has(seq)).length} of ${clients.length} clients`);
      await new Promise((resolve) => {
        const timer = setTimeout(done, 20);
        const waiters = clients.map((c) => c.waiters);
        function done() { clearTimeout(timer); waiters.forEach((w) => { const i = w.indexOf(done); if (i >= 0) w.splice(i, 1); }); resolve(); }
        waiters.forEach((w) => w.push(done));
      });
    }
    const last = Math.max(...clients.map((c) => c.seen.get(seq)));
    byNode[node].push(last - t0);
  }
  await sleep(300);
  for (const c of clients) {
    const expected = Array.from({ length: changes }, (_, i) => since + 1 + i);
    if (JSON.stringify(c.live) !== JSON.stringify(expected)) throw new Error(`client ${c.id}: live seqs are not each once in order`);
  }
  const rows = byNode.map((values, node) => `| ${label} | ${node + 1} | ${urls.length * perNode} | ${values.length} | ${fmt(values)} |`);
  console.log(rows.join('\n'));

  if (killPid === null) { clients.forEach((c) => c.socket.close()); return; }

  // 2. Recovery after SIGKILL of one node, under a stream of changes.
  const victims = clients.filter((c) => c.node === killIndex);
  const alive = urls.map((_, i) => i).filter((i) => i !== killIndex);
  let killedAt = null;
  let acknowledged = seq;
  const recovered = new Map();
  for (const c of victims) {
    c.onDrop = async () => {
      const dropAt = performance.now();
      for (let attempt = 0; ; attempt++) {
        const target = alive[(c.id + attempt) % alive.length];
        try { await c.connect(target); break; } catch { await sleep(20); }
      }
      const needed = acknowledged;
      await c.fill();
      while (c.contiguous() < needed) { await sleep(5); await c.fill(); }
      recovered.set(c.id, { since: performance.now() - (killedAt ?? dropAt) });
    };
  }
  let k = changes;
  let streaming = true;
  const stream = (async () => {
    while (streaming && k < 2 * slots) {
      const node = alive[k % alive.length];
      const res = await api(urls[node], 'PATCH', `/api/appointments/${appointments[Math.floor(k / 2)]}/status`, { action: action(k) }, token);
      if (res.status === 200) acknowledged += 1; // one event per change
      k += 1;
      await sleep(50);
    }
  })();
  await sleep(300);
  killedAt = performance.now();
  process.kill(killPid, 'SIGKILL');
  const deadline = Date.now() + 30_000;
  while (recovered.size < victims.length) {
    if (Date.now() > deadline) throw new Error(`only ${recovered.size} of ${victims.length} clients recovered within 30 s`);
    await sleep(10);
  }
  await sleep(300);
  streaming = false;
  await stream;
  const finalSeq = (await ok(urls[alive[0]], 'GET', '/api/account', undefined, token)).lastSeq;
  for (const c of clients) {
    if (c.node === killIndex) throw new Error(`client ${c.id} is still on the killed node`);
    const deadline2 = Date.now() + 10_000;
    while (c.contiguous() < finalSeq) {
      if (Date.now() > deadline2) throw new Error(`client ${c.id} is behind: ${c.contiguous()} of ${finalSeq}`);
      await sleep(20);
      if (c.contiguous() < finalSeq) await c.fill();
    }
  }
  const times = [...recovered.values()].map((r) => r.since);
  console.log(`RECOVERY | ${label} | killed node ${killIndex + 1} | ${victims.length} clients moved | recovery p50 / max ${fmt(times).split(' / ').filter((_, i) => i !== 1).join(' / ')} ms | every client has all ${finalSeq - since} events`);
  clients.forEach((c) => c.socket?.close());
}

main().then(() => process.exit(0), (err) => { console.error(`[${label}] FAILED: ${err.message}`); process.exit(1); });
