// python-socketio 5.x as an integration writes it (python/stock_client.py): the library's
// default options, one static token, automatic reconnection. python-socketio implements no
// connection state recovery (no pid, no offset), so Fila resumes it on the node its session's
// socket left (README, *Connection state recovery*): through a network cut, its token's expiry
// and a storage outage it stays live and misses nothing; after its node restarts it comes back
// by itself and gets every later event.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, startPostgres, setupClinic, sleep } from './helpers.mjs';
import { startProxy } from './proxy.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const PYTHON = path.resolve(here, '../..', process.env.FILA_PYTHON ?? 'target/python/bin/python');
const CLIENT = path.join(here, 'python/stock_client.py');

function pythonStock(t, url, token) {
  if (!existsSync(PYTHON)) throw new Error(`${PYTHON} not found: run scripts/setup`);
  const child = spawn(PYTHON, ['-u', CLIENT, url, token], { stdio: ['pipe', 'pipe', 'pipe'] });
  const client = { connects: 0, disconnects: [], checkins: [], stderr: '' };
  let partial = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop();
    for (const line of parts.filter(Boolean).map((p) => JSON.parse(p))) {
      if ('connected' in line) client.connects += 1;
      if ('disconnected' in line) client.disconnects.push(line.disconnected);
      if ('checkin' in line) client.checkins.push({ id: line.checkin, seq: line.seq });
    }
  });
  child.stderr.on('data', (chunk) => { client.stderr += chunk; });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.stdin.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
  });
  return client;
}

async function until(what, check, client, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(client)}`);
    await sleep(50);
  }
}

async function book(c, count) {
  const booked = [];
  const hhmm = (m) => `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
  for (let i = 0; i < count; i++) booked.push(await c.appointment(hhmm(7 * 60 + i * 5), hhmm(7 * 60 + i * 5 + 5)));
  return booked;
}

function assertAllOnceInOrder(client, booked) {
  const ids = client.checkins.map((e) => e.id);
  assert.deepEqual([...ids].sort((a, b) => a - b), booked.map((a) => a.id).sort((a, b) => a - b), `check-ins: ${ids}`);
  const seqs = client.checkins.map((e) => e.seq);
  assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), 'in seq order');
}

test('python-socketio with default options: a network cut, then its token\'s expiry and another cut; it misses nothing', async (t) => {
  const server = await startServer({ tokenTtl: 3 });
  t.after(() => server.stop());
  const c = await setupClinic(server);
  const booked = await book(c, 8);
  const proxy = await startProxy(server.port);
  t.after(() => proxy.close());
  const client = pythonStock(t, proxy.url, c.a.token);
  await until('connect', () => client.connects === 1, client);
  const desk = {
    status: async (id, action) => server.api('PATCH', `/api/appointments/${id}/status`, { action }, await server.login(c.a.email, c.a.password)),
  };
  const checkIn = async (a) => assert.equal((await desk.status(a.id, 'check-in')).status, 200);
  await checkIn(booked[0]);
  await until('the first check-in', () => client.checkins.length === 1, client);
  proxy.cut();
  for (const a of booked.slice(1, 3)) await checkIn(a);
  await sleep(1500);
  proxy.heal();
  await until('the reconnection', () => client.connects === 2, client);
  await checkIn(booked[3]);
  await until('the check-ins of the cut', () => client.checkins.length === 4, client);
  // Past the token's expiry: still connected, then a second cut; it comes back with the
  // expired token of its open session.
  await sleep(3500);
  assert.equal(client.connects, 2, 'not disconnected at the token\'s expiry');
  await checkIn(booked[4]);
  await until('a check-in past the expiry', () => client.checkins.length === 5, client);
  proxy.cut();
  for (const a of booked.slice(5, 7)) await checkIn(a);
  await sleep(1500);
  proxy.heal();
  await until('the reconnection with the expired token', () => client.connects === 3, client);
  await checkIn(booked[7]);
  await until('every check-in', () => client.checkins.length === booked.length, client);
  await sleep(300);
  assertAllOnceInOrder(client, booked);
});

test('python-socketio through a 15 s storage outage: its node closes the transport, it comes back by itself and misses nothing', async (t) => {
  const db = await startPostgres();
  t.after(() => db.destroy());
  const server = await startServer({ databaseUrl: db.url });
  t.after(() => server.stop());
  const c = await setupClinic(server);
  const booked = await book(c, 3);
  const client = pythonStock(t, server.base, c.a.token);
  await until('connect', () => client.connects === 1, client);
  assert.equal((await c.status(booked[0].id, 'check-in')).status, 200);
  await until('the first check-in', () => client.checkins.length === 1, client);
  await db.stop();
  await until('the transport closed', () => client.disconnects.length === 1, client, 12_000);
  await sleep(10_000);
  await db.start();
  await until('back', () => client.connects === 2, client, 30_000);
  for (const a of booked.slice(1)) assert.equal((await c.status(a.id, 'check-in')).status, 200);
  await until('every check-in', () => client.checkins.length === booked.length, client);
  assertAllOnceInOrder(client, booked);
});

test('python-socketio after its node restarts: it comes back by itself to the new process and gets every later event', async (t) => {
  const first = await startServer();
  const c = await setupClinic(first);
  const booked = await book(c, 2);
  const proxy = await startProxy(first.port);
  t.after(() => proxy.close());
  const client = pythonStock(t, proxy.url, c.a.token);
  await until('connect', () => client.connects === 1, client);
  assert.equal((await c.status(booked[0].id, 'check-in')).status, 200);
  await until('the first check-in', () => client.checkins.length === 1, client);
  proxy.cut();
  assert.equal(await first.terminate(), 0);
  t.after(() => first.stop());
  const second = await startServer({ databaseUrl: first.databaseUrl });
  t.after(() => second.stop());
  proxy.target(second.port);
  proxy.heal();
  await until('back on the new process', () => client.connects === 2, client, 30_000);
  const res = await second.api('PATCH', `/api/appointments/${booked[1].id}/status`, { action: 'check-in' }, c.a.token);
  assert.equal(res.status, 200);
  await until('the later check-in', () => client.checkins.length === 2, client);
  assertAllOnceInOrder(client, booked);
});
