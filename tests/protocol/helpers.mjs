// Helpers for the Socket.IO protocol tests: a real `fila serve` on a fresh SQLite file and a
// free port, started as the README starts it (the web app embedded in the binary, no
// `--web-dir`), a tiny REST client, Socket.IO clients (the real `socket.io-client` v4) that record
// every event they receive, and the contract's payload checks.

import { spawn, execFile, execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { createServer as createNetServer } from 'node:net';
import { createHmac } from 'node:crypto';
import { mkdtempSync, mkdirSync, readdirSync, rmSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import assert from 'node:assert/strict';
import { io } from 'socket.io-client';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const FILA_BIN = path.resolve(repoRoot, process.env.FILA_BIN ?? 'target/debug/fila');

const run = promisify(execFile);
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Timestamps: UTC, milliseconds, `Z`. */
export const TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** The status catalogue (contract §3). */
export const STATUS = {
  AGENDADO: { id: 1, name: 'Agendado', color: '#6c757d' },
  CHECKIN: { id: 2, name: 'Check-in', color: '#17a2b8' },
  EM_ATENDIMENTO: { id: 3, name: 'Em atendimento', color: '#ffc107' },
  FINALIZADO: { id: 4, name: 'Finalizado', color: '#28a745' },
  CANCELADO: { id: 5, name: 'Cancelado', color: '#dc3545' },
};

// Servers still running when the process exits (a crashed test) are killed here.
const running = new Set();
process.on('exit', () => {
  for (const child of running) {
    try { child.kill('SIGKILL'); } catch { /* already gone */ }
  }
});

function serverEnv() {
  // FILA_WEB_DIR would make the server serve a folder: the tests run the shipping configuration.
  const { FILA_WEB_DIR: _folder, ...env } = process.env;
  return { ...env, RUST_LOG: process.env.RUST_LOG ?? 'warn' };
}

/**
 * Fails unless `GET /` answers the built web app's `index.html` (its root element and its
 * hashed bundle): a binary built before `scripts/build-web` serves only the API, and a test run
 * on it would not be the program users run.
 */
export async function assertServesWebApp(base, what = `${FILA_BIN}`) {
  const res = await fetch(`${base}/`);
  const body = await res.text();
  const html = res.status === 200 && (res.headers.get('content-type') ?? '').startsWith('text/html')
    && body.includes('<div id="root">') && /src="\/assets\/index-[^"]+\.js"/.test(body);
  if (!html) {
    throw new Error(`${what} does not serve the web app at / (${res.status} ${res.headers.get('content-type')}): `
      + 'run scripts/build-web, then rebuild the binary, so it embeds web/dist');
  }
  return body;
}

/**
 * Starts `fila serve --listen 127.0.0.1:0` on a fresh SQLite file (or on `databaseUrl`, to
 * share one database between nodes); resolves once it printed
 * `Fila is running at http://127.0.0.1:PORT` and serves its embedded web app at `/` (unless
 * `extraArgs` has `--web-dir`). Call `stop()` (closes this server's sockets, kills
 * the process, removes the temp dir); tests register it with `t.after`.
 */
export async function startServer({ tokenTtl, demo = false, extraArgs = [], databaseUrl: shared } = {}) {
  if (!existsSync(FILA_BIN)) throw new Error(`FILA_BIN ${FILA_BIN} not found: build the server first`);
  const dir = mkdtempSync(path.join(tmpdir(), 'fila-protocol-'));
  const databaseUrl = shared ?? `sqlite://${path.join(dir, 'fila.db')}?mode=rwc`;
  const args = ['serve', '--listen', '127.0.0.1:0', '--database-url', databaseUrl, ...extraArgs];
  if (tokenTtl !== undefined) args.push('--token-ttl', String(tokenTtl));
  if (demo) args.push('--demo');
  const child = spawn(FILA_BIN, args, { cwd: dir, env: serverEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let output = '';
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => { running.delete(child); resolve({ code, signal }); }));

  const base = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`fila serve printed no address within 15 s:\n${output}`)), 15_000);
    const fail = (error) => { clearTimeout(timer); child.kill('SIGKILL'); reject(error); };
    child.stdout.on('data', (chunk) => {
      output += chunk;
      const match = /Fila is running at (http:\/\/127\.0\.0\.1:(\d+))/.exec(output);
      if (match) { clearTimeout(timer); resolve(match[1]); }
    });
    child.stderr.on('data', (chunk) => { output += chunk; });
    child.on('error', fail);
    exited.then(({ code, signal }) => fail(new Error(`fila serve exited (${code ?? signal}):\n${output}`)));
  });
  if (!extraArgs.includes('--web-dir')) {
    await assertServesWebApp(base).catch(async (error) => {
      child.kill('SIGKILL');
      await exited;
      rmSync(dir, { recursive: true, force: true });
      throw error;
    });
  }

  const sockets = new Set();
  const server = {
    base,
    port: Number(new URL(base).port),
    pid: child.pid,
    databaseUrl,
    output: () => output,

    /** `fila accounts create` on this server's database (SQLite WAL: fine while it runs). */
    async createAccount({ name, email, password }) {
      const { stdout } = await run(FILA_BIN, ['accounts', 'create', '--name', name, '--email', email, '--password', password, '--database-url', databaseUrl], { env: serverEnv() });
      const line = stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
      return { ...JSON.parse(line), name, email, password };
    },

    /** `POST /api/auth/login` → the access token (throws unless 200). */
    async login(email, password) {
      const res = await server.api('POST', '/api/auth/login', { email, password });
      assert.equal(res.status, 200, `login ${email}: ${res.status} ${JSON.stringify(res.body)}`);
      assert.equal(res.body.tokenType, 'Bearer');
      return res.body.accessToken;
    },

    /** One REST call: `{status, headers, body}` (body parsed as JSON when it is JSON). */
    async api(method, urlPath, body, token) {
      const headers = {};
      if (body !== undefined) headers['content-type'] = 'application/json';
      if (token) headers.authorization = `Bearer ${token}`;
      const res = await fetch(base + urlPath, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      const text = await res.text();
      let parsed = text;
      try { parsed = text ? JSON.parse(text) : undefined; } catch { /* not JSON */ }
      return { status: res.status, headers: res.headers, body: parsed };
    },

    /**
     * A Socket.IO client that records every event it receives (`socket.received`,
     * `[{event, args}]`, from the moment it is created). Resolves once connected; rejects with
     * the `connect_error` Error. `via`: 'header' (Authorization: Bearer), 'auth'
     * (`auth: {token}`), 'status' (a patient's `auth: {statusToken}`) or 'none'. No automatic reconnection: tests reconnect by hand.
     */
    connect(token, { via = 'auth', transports = ['websocket'], bearerPrefix = false } = {}) {
      const socket = openSocket(base, token, { via, transports, bearerPrefix });
      sockets.add(socket);
      return new Promise((resolve, reject) => {
        const onConnect = () => { socket.off('connect_error', onError); resolve(socket); };
        const onError = (err) => { socket.off('connect', onConnect); socket.close(); reject(err); };
        socket.once('connect', onConnect);
        socket.once('connect_error', onError);
      });
    },

    /** Asks the process to stop (SIGTERM) and waits for it to exit; its sockets stay open on
     *  the client side. Resolves with the exit code. `stop()` still cleans up. */
    async terminate() {
      child.kill('SIGTERM');
      return (await exited).code;
    },

    /** Kills the process at once (SIGKILL), as a crash would; `stop()` still cleans up. */
    async crash() {
      child.kill('SIGKILL');
      await exited;
    },

    async stop() {
      for (const socket of sockets) socket.close();
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return server;
}

function openSocket(base, token, { via, transports, bearerPrefix }) {
  const value = bearerPrefix ? `Bearer ${token}` : token;
  const options = { path: '/socket.io/', transports, reconnection: false, forceNew: true, timeout: 5000 };
  if (via === 'header') options.extraHeaders = { Authorization: `Bearer ${token}` };
  else if (via === 'auth') options.auth = { token: value };
  else if (via === 'status') options.auth = { statusToken: token };
  else if (via !== 'none') throw new Error(`via: ${via}`);
  return recordEvents(io(base, options));
}

/**
 * Makes `socket` (a socket.io-client socket) record every event it receives from now on
 * (`socket.received`, `[{event, args}]`), for `waitForEvent` and `expectNoEvent`.
 */
export function recordEvents(socket) {
  socket.received = [];
  socket.waiters = [];
  socket.onAny((event, ...args) => {
    const entry = { event, args, taken: false, at: Date.now() };
    socket.received.push(entry);
    for (const waiter of [...socket.waiters]) waiter(entry);
  });
  return socket;
}

/**
 * Resolves with the arguments of the first not yet awaited `name` event (already received or
 * still to come) whose arguments satisfy `match`; rejects after `timeoutMs`.
 */
export function waitForEvent(socket, name, timeoutMs = 3000, match = () => true) {
  const fits = (entry) => !entry.taken && entry.event === name && match(...entry.args);
  const found = socket.received.find(fits);
  if (found) { found.taken = true; return Promise.resolve(found.args); }
  return new Promise((resolve, reject) => {
    const waiter = (entry) => {
      if (!fits(entry)) return;
      entry.taken = true;
      done();
      resolve(entry.args);
    };
    const timer = setTimeout(() => {
      done();
      const seen = socket.received.map((e) => e.event).join(', ') || 'nothing';
      reject(new Error(`no '${name}' event within ${timeoutMs} ms (socket received: ${seen})`));
    }, timeoutMs);
    const done = () => { clearTimeout(timer); socket.waiters.splice(socket.waiters.indexOf(waiter), 1); };
    socket.waiters.push(waiter);
  });
}

/** Asserts that no `name` event (any event when `name` is '*') arrives within `ms`. */
export async function expectNoEvent(socket, name, ms = 400) {
  const before = socket.received.length;
  await sleep(ms);
  const arrived = socket.received.slice(before).filter((e) => name === '*' || e.event === name);
  assert.deepEqual(arrived.map((e) => e.event), [], `expected no '${name}' event within ${ms} ms`);
}

/** Resolves with the reason of the socket's next `disconnect`; rejects after `timeoutMs`. */
export function waitForDisconnect(socket, timeoutMs) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { socket.off('disconnect', on); reject(new Error(`not disconnected within ${timeoutMs} ms`)); }, timeoutMs);
    const on = (reason) => { clearTimeout(timer); resolve(reason); };
    socket.once('disconnect', on);
  });
}

/** Reconnects a disconnected socket (optionally with a new `auth.token`); resolves once connected. */
export function reconnect(socket, token) {
  if (token !== undefined) socket.auth = { token };
  return new Promise((resolve, reject) => {
    const onConnect = () => { socket.off('connect_error', onError); resolve(socket); };
    const onError = (err) => { socket.off('connect', onConnect); reject(err); };
    socket.once('connect', onConnect);
    socket.once('connect_error', onError);
    socket.connect();
  });
}

/* The writer below stands in for another node: it writes an event row straight into the
   server's SQLite log inside a transaction it holds open. */

/**
 * Opens the server's SQLite file from Python's sqlite3 (no native npm module needed), begins a
 * write transaction and appends one `doctors.deleted` row for `accountId`; then waits for
 * `commit` or `rollback` on stdin. Prints `seq N` once the row is written.
 */
const WRITER = `
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=10, isolation_level=None)
account = int(sys.argv[2])
db.execute("BEGIN IMMEDIATE")
seq = db.execute("UPDATE accounts SET event_seq = event_seq + 1 WHERE id = ? RETURNING event_seq", (account,)).fetchone()[0]
db.execute("INSERT INTO events (account_id, seq, event, data, at) VALUES (?, ?, 'doctors.deleted', ?, 0)",
           (account, seq, '{"doctorId": %d}' % (900000 + seq)))
print("seq", seq, flush=True)
db.execute(sys.stdin.readline().strip().upper())
print("done", flush=True)
`;

export function openWriter(server, accountId) {
  const file = server.databaseUrl.replace(/^sqlite:\/\//, '').replace(/\?.*$/, '');
  const child = spawn('python3', ['-c', WRITER, file, String(accountId)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = once(child, 'exit');
  const lines = [];
  child.stdout.setEncoding('utf8');
  // Whole lines only: an unbuffered Python writes `seq` and ` 2\n` as two chunks.
  let partial = '';
  child.stdout.on('data', (chunk) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop();
    lines.push(...parts.filter(Boolean));
  });
  const line = async (prefix) => {
    for (let i = 0; i < 200; i++) {
      const found = lines.find((l) => l.startsWith(prefix));
      if (found) return found;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`writer printed no '${prefix}' (got ${lines.join(' | ')})`);
  };
  return {
    async seq() { return Number((await line('seq')).split(' ')[1]); },
    async finish(word) { child.stdin.end(`${word}\n`); await line('done'); await exited; },
  };
}

/** Peak and current resident memory of a process in MiB, from `/proc/PID/status`. */
export function memoryMiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name) => Number((new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status) ?? [0, 0])[1]) / 1024;
  return { peak: field('VmHWM'), now: field('VmRSS') };
}

/** The claims of a JWT, unverified. */
export function jwtClaims(token) {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'));
}

/** An HS256 JWT with the server's claim shape, signed with a secret the server does not have. */
export function forgeToken(claims, secret = 'not-the-server-secret') {
  const enc = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const head = `${enc({ typ: 'JWT', alg: 'HS256' })}.${enc(claims)}`;
  return `${head}.${createHmac('sha256', secret).update(head).digest('base64url')}`;
}

/**
 * Two accounts on one server: A with a procedure, a doctor and a patient; B empty.
 * `appointment(startTime, endTime)` creates one A appointment for today through REST.
 */
export async function setupClinic(server) {
  const accountA = await server.createAccount({ name: 'Clínica Alfa', email: 'recepcao@alfa.example.com', password: 'senha-alfa-123' });
  const accountB = await server.createAccount({ name: 'Clínica Beta', email: 'recepcao@beta.example.com', password: 'senha-beta-123' });
  const tokenA = await server.login(accountA.email, accountA.password);
  const tokenB = await server.login(accountB.email, accountB.password);
  const ok = async (method, urlPath, body, expected = [200, 201]) => {
    const res = await server.api(method, urlPath, body, tokenA);
    assert.ok(expected.includes(res.status), `${method} ${urlPath} → ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  };
  const { today } = await ok('GET', '/api/account');
  assert.match(today, /^\d{4}-\d\d-\d\d$/);
  const procedure = await ok('POST', '/api/procedures', { name: 'Ultrassom: Tireoide', price: 100 });
  const doctor = await ok('POST', '/api/doctors', {
    name: 'Dr. Victor', procedureIds: [procedure.id], startTime: '08:00', endTime: '18:00', intervalMinutes: 15,
    workingDays: ['Segunda, Terca, Quarta, Quinta, Sexta, Sabado, Domingo'],
  });
  const patient = await ok('POST', '/api/patients', { name: 'João Silva', phone: '(81) 99999-9999', dateBirth: '1980-05-17', cpf: '529.982.247-25' });
  return {
    a: { ...accountA, token: tokenA },
    b: { ...accountB, token: tokenB },
    today, procedure, doctor, patient, ok,
    async appointment(startTime = '09:00', endTime = '09:15') {
      const created = await ok('POST', '/api/appointments', {
        patientId: patient.id, procedures: [{ id: procedure.id }], doctorId: doctor.id, date: today, startTime, endTime,
      }, [201]);
      assert.equal(created.length, 1);
      return created[0];
    },
    /** `PATCH /api/appointments/{id}/status` as A; answers the response. */
    status(id, action, token = tokenA) {
      return server.api('PATCH', `/api/appointments/${id}/status`, { action }, token);
    },
    async lastSeq() {
      return (await ok('GET', '/api/account')).lastSeq;
    },
  };
}

const isInt = (v) => Number.isInteger(v);
const isTimestamp = (v) => typeof v === 'string' && TIMESTAMP.test(v);

/** Asserts that `obj` has every key of `required` and no key outside `required` ∪ `added`. */
function assertKeys(obj, required, added, where) {
  assert.ok(obj && typeof obj === 'object' && !Array.isArray(obj), `${where} must be an object: ${JSON.stringify(obj)}`);
  const keys = Object.keys(obj);
  for (const key of required) assert.ok(keys.includes(key), `${where}.${key} missing (keys: ${keys.join(',')})`);
  const unexpected = keys.filter((k) => !required.includes(k) && !added.includes(k));
  assert.deepEqual(unexpected, [], `${where} has fields neither in the contract nor in docs/api-additions.md`);
}

/**
 * The Appointment payload of contract §4 (AppointmentResponseDto): every documented field with
 * its type and format; extra fields only those docs/api-additions.md adds.
 */
export function assertAppointmentPayload(a, { date, status } = {}) {
  assertKeys(a, ['id', 'date', 'startTime', 'endTime', 'notes', 'accountId', 'createdAt', 'updatedAt', 'deletedAt', 'doctor', 'patient', 'status', 'appointmentProcedures'],
    ['priority', 'checkedInAt', 'calledAt'], 'appointment');
  assert.ok(isInt(a.id), 'id is an integer');
  assert.match(a.date, /^\d{4}-\d\d-\d\dT00:00:00\.000Z$/, 'date is the day at midnight UTC');
  if (date) assert.equal(a.date, `${date}T00:00:00.000Z`);
  assert.match(a.startTime, /^\d\d:\d\d$/);
  assert.match(a.endTime, /^\d\d:\d\d$/);
  assert.ok(a.notes === null || typeof a.notes === 'string', 'notes is a string or null');
  assert.ok(isInt(a.accountId), 'accountId is an integer');
  assert.ok(isTimestamp(a.createdAt), `createdAt ${a.createdAt}`);
  assert.ok(isTimestamp(a.updatedAt), `updatedAt ${a.updatedAt}`);
  assert.ok(a.deletedAt === null || isTimestamp(a.deletedAt), `deletedAt ${a.deletedAt}`);

  assertKeys(a.doctor, ['id', 'name'], ['room'], 'doctor');
  assert.ok(isInt(a.doctor.id));
  assert.equal(typeof a.doctor.name, 'string');

  assertKeys(a.patient, ['id', 'name', 'contact'], ['dateBirth'], 'patient');
  assert.ok(isInt(a.patient.id));
  assert.equal(typeof a.patient.name, 'string');
  assertKeys(a.patient.contact, ['phone'], [], 'patient.contact');
  assert.ok(a.patient.contact.phone === null || typeof a.patient.contact.phone === 'string');

  assertKeys(a.status, ['id', 'name', 'color'], [], 'status');
  if (status) assert.deepEqual(a.status, status);

  assertKeys(a.appointmentProcedures, ['procedure'], [], 'appointmentProcedures');
  const p = a.appointmentProcedures.procedure;
  assertKeys(p, ['id', 'name', 'price'], [], 'appointmentProcedures.procedure');
  assert.ok(isInt(p.id));
  assert.equal(typeof p.name, 'string');
  assert.equal(typeof p.price, 'string', 'price is a decimal string');
  assert.match(p.price, /^\d+(\.\d+)?$/);

  // The additions, when present, have their documented types.
  if ('checkedInAt' in a) assert.ok(a.checkedInAt === null || isTimestamp(a.checkedInAt));
  if ('calledAt' in a) assert.ok(a.calledAt === null || isTimestamp(a.calledAt));
}

/** The second argument of every broadcast: exactly `{seq, at}`. */
export function assertMeta(meta) {
  assertKeys(meta, ['seq', 'at'], [], 'meta');
  assert.ok(isInt(meta.seq) && meta.seq > 0, `seq ${meta.seq} is a positive integer`);
  assert.ok(isTimestamp(meta.at), `at ${meta.at}`);
}

/**
 * A throwaway PostgreSQL server (as `scripts/with-postgres` starts one: its own folder, trust
 * authentication, loopback only, a free port), for tests that stop and start the database.
 * `stop()` stops it (fast shutdown, as an outage would look to the nodes), `start()` starts it
 * again on the same port, `destroy()` stops it and removes its folder.
 */
export async function startPostgres() {
  const versions = existsSync('/usr/lib/postgresql') ? readdirSync('/usr/lib/postgresql').sort() : [];
  const bin = versions.map((v) => `/usr/lib/postgresql/${v}/bin`).filter((d) => existsSync(`${d}/initdb`)).pop();
  if (!bin) throw new Error('PostgreSQL is not installed (run scripts/setup)');
  const asRoot = process.getuid?.() === 0;
  const pg = (tool, args) => asRoot
    ? run('runuser', ['-u', 'postgres', '--', `${bin}/${tool}`, ...args])
    : run(`${bin}/${tool}`, args);
  const root = mkdtempSync(path.join('/tmp', 'fila-pg-'));
  const data = path.join(root, 'data');
  const sock = path.join(root, 'sock');
  mkdirSync(data, { mode: 0o700 });
  mkdirSync(sock);
  if (asRoot) await run('chown', ['-R', 'postgres:', root]);
  await pg('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C.UTF-8']);
  const port = await freePort();
  const options = `-p ${port} -k ${sock} -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off`;
  const log = path.join(root, 'server.log');
  const server = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    running: false,
    async start() {
      await pg('pg_ctl', ['-D', data, '-l', log, '-w', '-t', '30', '-o', options, 'start']);
      server.running = true;
    },
    async stop() {
      await pg('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
      server.running = false;
    },
    stopNow() {
      const args = ['-D', data, '-m', 'immediate', 'stop'];
      try {
        if (asRoot) execFileSync('runuser', ['-u', 'postgres', '--', `${bin}/pg_ctl`, ...args], { stdio: 'ignore' });
        else execFileSync(`${bin}/pg_ctl`, args, { stdio: 'ignore' });
      } catch { /* already stopped */ }
    },
    async destroy() {
      if (server.running) await server.stop().catch(() => {});
      rmSync(root, { recursive: true, force: true });
    },
  };
  postgresServers.add(server);
  await server.start();
  return server;
}

// PostgreSQL servers still running when the process exits (a crashed test) are stopped here.
const postgresServers = new Set();
process.on('exit', () => {
  for (const server of postgresServers) {
    if (server.running) server.stopNow();
  }
});

/** A free TCP port on loopback. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createNetServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
    probe.on('error', reject);
  });
}
