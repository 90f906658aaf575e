// Several nodes sharing one database and one Redis (`--redis-url`): a change made through any
// node reaches the account's sockets on every node exactly once, never another account's; when
// the node that relays dies, another takes over.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { startServer, setupClinic, waitForEvent, expectNoEvent } from './helpers.mjs';

const freePort = () => new Promise((resolve, reject) => {
  const probe = createServer().listen(0, '127.0.0.1', () => {
    const { port } = probe.address();
    probe.close(() => resolve(port));
  });
  probe.on('error', reject);
});

/** A throwaway redis-server on a free loopback port; `stop()` ends it. */
async function startRedis() {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not start:\n${output}`)), 10_000);
    child.stdout.on('data', (chunk) => {
      output += chunk;
      if (output.includes('Ready to accept connections')) { clearTimeout(timer); resolve(); }
    });
    child.on('error', (error) => { clearTimeout(timer); reject(error); });
  });
  return { url: `redis://127.0.0.1:${port}`, stop: () => child.kill('SIGKILL') };
}

const ofId = (id) => (data) => data?.id === id;
const count = (socket, name, id) => socket.received.filter((e) => e.event === name && e.args[0]?.id === id).length;

test('two nodes on one Redis: each change reaches every socket of the account once, on both nodes', async (t) => {
  const redis = await startRedis();
  t.after(() => redis.stop());
  const one = await startServer({ extraArgs: ['--redis-url', redis.url] });
  t.after(() => one.stop());
  const two = await startServer({ databaseUrl: one.databaseUrl, extraArgs: ['--redis-url', redis.url] });
  t.after(() => two.stop());
  const c = await setupClinic(one);
  const onOne = await one.connect(c.a.token);
  const onTwo = await two.connect(c.a.token, { via: 'header', transports: ['polling'] });
  const otherAccount = await two.connect(c.b.token);

  const first = await c.appointment('09:00', '09:15');
  const second = await c.appointment('09:15', '09:30');
  const viaOne = await one.api('PATCH', `/api/appointments/${first.id}/status`, { action: 'check-in' }, c.a.token);
  const viaTwo = await two.api('PATCH', `/api/appointments/${second.id}/status`, { action: 'check-in' }, c.a.token);
  assert.equal(viaOne.status, 200);
  assert.equal(viaTwo.status, 200);

  for (const socket of [onOne, onTwo]) {
    const [a] = await waitForEvent(socket, 'appointments.checkin', 3000, ofId(first.id));
    const [b] = await waitForEvent(socket, 'appointments.checkin', 3000, ofId(second.id));
    assert.deepEqual(a, viaOne.body);
    assert.deepEqual(b, viaTwo.body);
  }
  await expectNoEvent(otherAccount, '*', 600);
  for (const socket of [onOne, onTwo]) {
    assert.equal(count(socket, 'appointments.checkin', first.id), 1);
    assert.equal(count(socket, 'appointments.checkin', second.id), 1);
    const seqs = socket.received.map((e) => e.args[1].seq);
    assert.deepEqual(seqs, [...seqs].sort((x, y) => x - y), 'events arrive in seq order');
    assert.equal(new Set(seqs).size, seqs.length, 'no seq twice');
  }
});

test('when the relaying node dies, the other node takes over and its sockets keep receiving', async (t) => {
  const redis = await startRedis();
  t.after(() => redis.stop());
  const one = await startServer({ extraArgs: ['--redis-url', redis.url] });
  t.after(() => one.stop());
  const c = await setupClinic(one);
  // The first node is up alone, so it holds the relay lease.
  const warm = await c.appointment('08:00', '08:15');
  const two = await startServer({ databaseUrl: one.databaseUrl, extraArgs: ['--redis-url', redis.url] });
  t.after(() => two.stop());
  const onTwo = await two.connect(c.a.token);
  await one.api('PATCH', `/api/appointments/${warm.id}/status`, { action: 'check-in' }, c.a.token);
  await waitForEvent(onTwo, 'appointments.checkin', 3000, ofId(warm.id));

  await one.crash();
  const booked = await two.api('POST', '/api/appointments', {
    patientId: c.patient.id, procedures: [{ id: c.procedure.id }], doctorId: c.doctor.id,
    date: c.today, startTime: '10:00', endTime: '10:15',
  }, c.a.token);
  assert.equal(booked.status, 201);
  const later = booked.body[0];
  const res = await two.api('PATCH', `/api/appointments/${later.id}/status`, { action: 'check-in' }, c.a.token);
  assert.equal(res.status, 200);
  const [data] = await waitForEvent(onTwo, 'appointments.checkin', 8000, ofId(later.id));
  assert.deepEqual(data, res.body);
});
