// The first test of any transport change: socket.io-client as an integration writes it, with
// its default options (`io(url, { auth: { token } })`: polling first, then the upgrade to a
// websocket), and a polling-only client, against the binary started as the README starts it
// (the web app embedded, no `--web-dir`). Polling once failed in exactly that configuration
// while every test that started the server with `--web-dir` passed. The last test keeps
// `--web-dir` itself working: it serves the folder's index.html, and polling works beside it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { io } from 'socket.io-client';
import {
  startServer, setupClinic, waitForEvent, recordEvents, assertMeta, STATUS,
} from './helpers.mjs';

/** Resolves once `socket` is connected; rejects with its `connect_error`, or after `ms`. */
function connected(socket, ms = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not connected within ${ms} ms`)), ms);
    socket.once('connect', () => { clearTimeout(timer); resolve(); });
    socket.once('connect_error', (err) => { clearTimeout(timer); reject(err); });
  });
}

/** Checks an appointment in through REST; resolves with the PATCH's answer (the payload). */
async function checkIn(c) {
  const appointment = await c.appointment('09:00', '09:15');
  const res = await c.status(appointment.id, 'check-in');
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body;
}

/** The `appointments.checkin` of `expected` on `socket`: the payload, then `{seq, at}`. */
async function assertCheckinReceived(socket, expected) {
  const [data, meta] = await waitForEvent(socket, 'appointments.checkin', 5000, (d) => d?.id === expected.id);
  assert.deepEqual(data, expected, 'the payload is the appointment the PATCH returned');
  assert.deepEqual(data.status, STATUS.CHECKIN);
  assertMeta(meta);
}

test('socket.io-client with default options starts on polling, upgrades to websocket and gets appointments.checkin', async (t) => {
  const server = await startServer();
  t.after(() => server.stop());
  const c = await setupClinic(server);

  const socket = recordEvents(io(server.base, { auth: { token: c.a.token } }));
  t.after(() => socket.close());
  // The engine exists from io() on; its first transport is the one the handshake used.
  const { engine } = socket.io;
  const opened = once(socket.io, 'open').then(() => engine.transport.name);
  const upgraded = once(engine, 'upgrade', { signal: AbortSignal.timeout(5000) });

  await connected(socket);
  assert.equal(await opened, 'polling', 'the session opened by polling');
  await upgraded.catch(() => assert.fail('no upgrade to websocket within 5 s'));
  assert.equal(socket.io.engine.transport.name, 'websocket', 'then upgraded to a websocket');

  const expected = await checkIn(c);
  await assertCheckinReceived(socket, expected);
  assert.ok(socket.connected);
});

test('a polling-only socket.io-client gets appointments.checkin from the embedded-web-app binary', async (t) => {
  const server = await startServer();
  t.after(() => server.stop());
  const c = await setupClinic(server);

  const socket = await server.connect(c.a.token, { via: 'auth', transports: ['polling'] });
  const expected = await checkIn(c);
  await assertCheckinReceived(socket, expected);
  // A second event on the same session: the long-poll goes on after the first answer.
  const res = await c.status(expected.id, 'em atendimento');
  assert.equal(res.status, 200, JSON.stringify(res.body));
  await waitForEvent(socket, 'appointments.serving', 5000, (d) => d?.id === expected.id);
  assert.equal(socket.io.engine.transport.name, 'polling', 'still polling');
});

test('--web-dir serves the folder\'s index.html, and polling works with it', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'fila-web-dir-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const index = '<!doctype html><title>from --web-dir</title><p id="folder">served from the folder</p>\n';
  writeFileSync(path.join(dir, 'index.html'), index);

  const server = await startServer({ extraArgs: ['--web-dir', dir] });
  t.after(() => server.stop());
  for (const route of ['/', '/fila']) {
    const res = await fetch(server.base + route);
    assert.equal(res.status, 200, route);
    assert.equal(await res.text(), index, `${route} is the folder's index.html`);
  }

  const c = await setupClinic(server);
  const socket = await server.connect(c.a.token, { via: 'auth', transports: ['polling'] });
  const expected = await checkIn(c);
  await assertCheckinReceived(socket, expected);
  assert.equal(socket.io.engine.transport.name, 'polling');
});
