// "Emit only after commit" and "never lost once committed", checked at the boundary between
// the database and the broadcast: a second process (standing in for another node, or for this
// node before a crash) writes an event row straight into the log inside an open transaction.
// Nothing may reach a socket while that transaction is open or after it rolls back; once it
// commits, the node's delivery must emit it without being told (its safety-net poll).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, setupClinic, waitForEvent, expectNoEvent, openWriter } from './helpers.mjs';

async function clinicWithSocket(t) {
  const server = await startServer();
  t.after(() => server.stop());
  const c = await setupClinic(server);
  const socket = await server.connect(c.a.token);
  return { server, c, socket };
}

test('an event row is broadcast only once its transaction commits, and then without being told', async (t) => {
  const { server, c, socket } = await clinicWithSocket(t);
  const writer = openWriter(server, c.a.accountId);
  const seq = await writer.seq();
  await expectNoEvent(socket, 'doctors.deleted', 1500);
  await writer.finish('commit');
  const [data, meta] = await waitForEvent(socket, 'doctors.deleted', 3000);
  assert.deepEqual(data, { doctorId: 900000 + seq });
  assert.equal(meta.seq, seq);
});

test('an event row whose transaction rolls back is never broadcast', async (t) => {
  const { server, c, socket } = await clinicWithSocket(t);
  const writer = openWriter(server, c.a.accountId);
  await writer.seq();
  await writer.finish('rollback');
  await expectNoEvent(socket, 'doctors.deleted', 1500);
  const logged = await server.api('GET', '/api/events?since=0&limit=100', undefined, c.a.token);
  assert.equal(logged.status, 200);
  assert.deepEqual(logged.body.filter((e) => e.event === 'doctors.deleted'), []);
});

test('a change that fails (one unknown procedure) emits nothing and leaves no log row', async (t) => {
  const { server, c, socket } = await clinicWithSocket(t);
  const before = await c.lastSeq();
  const res = await server.api('POST', '/api/appointments', {
    patientId: c.patient.id, procedures: [{ id: c.procedure.id }, { id: 424242 }], doctorId: c.doctor.id,
    date: c.today, startTime: '09:00', endTime: '09:15',
  }, c.a.token);
  assert.equal(res.status, 404);
  await expectNoEvent(socket, '*', 800);
  assert.equal(await c.lastSeq(), before);
});
