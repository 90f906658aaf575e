// Both ways a client's session can be carried get every event once and in order:
// a session opened as a websocket (written to directly by the broadcasting task) and a session
// opened by polling that upgrades to a websocket (the socket.io-client default), with events
// small and large enough to need a 16-bit websocket length, sent one by one and in a burst.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { startServer, setupClinic, waitForEvent, sleep } from './helpers.mjs';

const seqsOf = (socket) => socket.received
  .filter((e) => e.event === 'appointments.updated')
  .map((e) => e.args[1].seq);

test('websocket-only and polling-then-upgraded sessions get every event once, in order', async (t) => {
  const server = await startServer();
  t.after(() => server.stop());
  const c = await setupClinic(server);

  const direct = await server.connect(c.a.token, { transports: ['websocket'] });
  const upgrading = await server.connect(c.a.token, { transports: ['polling', 'websocket'] });
  if (upgrading.io.engine.transport.name !== 'websocket') await once(upgrading.io.engine, 'upgrade');
  assert.equal(direct.io.engine.transport.name, 'websocket');
  assert.equal(upgrading.io.engine.transport.name, 'websocket', 'the polling session upgraded');

  const appointment = await c.appointment('09:00', '09:15');
  const EDITS = 30;
  // One by one, then a burst of concurrent changes; notes from 10 to 2000 characters.
  for (let i = 0; i < EDITS / 2; i++) {
    const res = await server.api('PATCH', `/api/appointments/${appointment.id}`, { notes: `${i} ${'n'.repeat(10 + i * 65)}`.slice(0, 2000) }, c.a.token);
    assert.equal(res.status, 200, JSON.stringify(res.body));
  }
  const burst = [];
  for (let i = EDITS / 2; i < EDITS; i++) {
    burst.push(server.api('PATCH', `/api/appointments/${appointment.id}`, { notes: `${i} ${'n'.repeat(10 + i * 65)}`.slice(0, 2000) }, c.a.token));
  }
  for (const res of await Promise.all(burst)) assert.equal(res.status, 200, JSON.stringify(res.body));

  const { body: log } = await server.api('GET', `/api/events?since=0&limit=100`, undefined, c.a.token);
  const expected = log
    .filter((e) => e.event === 'appointments.updated')
    .map((e) => e.seq);
  assert.equal(expected.length, EDITS, 'every change is in the log');
  const last = expected.at(-1);
  for (const [name, socket] of [['websocket', direct], ['upgraded', upgrading]]) {
    await waitForEvent(socket, 'appointments.updated', 5000, (_data, meta) => meta?.seq === last);
    await sleep(200);
    assert.deepEqual(seqsOf(socket), expected, `${name}: every update once, in seq order`);
    const notes = socket.received.filter((e) => e.event === 'appointments.updated').map((e) => e.args[0].notes);
    assert.ok(notes.some((n) => n.length > 1000), `${name}: large events arrive whole`);
  }
});
