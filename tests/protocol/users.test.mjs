// A deactivated staff user is cut off at once: their socket is disconnected, their token
// refused by REST, and a new socket refused; the master's socket stays.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, waitForDisconnect } from './helpers.mjs';

test("deactivating a user disconnects their socket and refuses their token at once; the master's socket stays", async (t) => {
  const server = await startServer();
  t.after(() => server.stop());
  const master = await server.createAccount({ name: 'Clínica Gama', email: 'master@gama.example.com', password: 'senha-gama-123' });
  const masterToken = await server.login(master.email, master.password);
  const created = await server.api('POST', '/api/users', { name: 'Ana', email: 'ana@gama.example.com', password: 'senha-ana-123', isMaster: false }, masterToken);
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const staffToken = await server.login('ana@gama.example.com', 'senha-ana-123');

  const staffSocket = await server.connect(staffToken);
  const masterSocket = await server.connect(masterToken);

  const started = Date.now();
  const gone = waitForDisconnect(staffSocket, 5000);
  const answer = await server.api('PATCH', `/api/users/${created.body.id}`, { active: false }, masterToken);
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  await gone;
  const ms = Date.now() - started;
  assert.ok(ms < 2000, `the socket was cut after ${ms} ms`);
  assert.ok(masterSocket.connected, "the master's socket stays");

  const rest = await server.api('GET', '/api/doctors', undefined, staffToken);
  assert.equal(rest.status, 401);
  await assert.rejects(server.connect(staffToken), 'a new socket with the old token is refused');
});
