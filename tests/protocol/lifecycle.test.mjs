// A node that is told to stop (SIGTERM) closes its sockets so that clients reconnect and exits
// promptly; a node started next on the same database delivers at once (there is no lease to
// wait for).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer, setupClinic, waitForEvent, waitForDisconnect } from './helpers.mjs';

test('SIGTERM closes the sockets and exits within seconds; the next node delivers at once', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'fila-lifecycle-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const databaseUrl = `sqlite://${path.join(dir, 'fila.db')}`;
  const first = await startServer({ databaseUrl });
  t.after(() => first.stop());
  const c = await setupClinic(first);
  const socket = await first.connect(c.a.token);
  const disconnected = waitForDisconnect(socket, 5000);
  const started = Date.now();
  const code = await first.terminate();
  assert.equal(code, 0, 'a clean exit');
  assert.ok(Date.now() - started < 3000, `took ${Date.now() - started} ms to stop`);
  // A closed transport (not an 'io server disconnect') makes socket.io clients reconnect by
  // themselves, to the restarted node or another one.
  assert.equal(await disconnected, 'transport close');

  const second = await startServer({ databaseUrl });
  t.after(() => second.stop());
  const listener = await second.connect(c.a.token);
  const appointment = await second.api('POST', '/api/appointments', {
    patientId: c.patient.id, procedures: [{ id: c.procedure.id }], doctorId: c.doctor.id,
    date: c.today, startTime: '11:00', endTime: '11:15',
  }, c.a.token);
  assert.equal(appointment.status, 201);
  const sent = Date.now();
  await waitForEvent(listener, 'appointments.created', 1500);
  assert.ok(Date.now() - sent < 1500);
});
