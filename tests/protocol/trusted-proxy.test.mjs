// Fila behind a real nginx (tests/protocol/nginx.mjs) started with `--trusted-proxy
// 127.0.0.1/32`: the login limits count each forwarded client, not nginx; a status link made
// through nginx points at nginx; socket.io-client connects through it (polling, then the
// websocket upgrade). Without the flag every client behind nginx shares its address.
//
// Distinct clients are played by sending nginx an `X-Forwarded-For` of their own: nginx's
// `$proxy_add_x_forwarded_for` keeps it and appends 127.0.0.1 (the test's own address), so Fila
// reads `203.0.113.10, 127.0.0.1` from its trusted peer, skips 127.0.0.1 (trusted) and takes
// 203.0.113.10: what a chain of proxies looks like. (An outermost proxy facing untrusted
// clients should overwrite the header instead: docs/deployment.md.)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { io } from 'socket.io-client';
import { recordEvents, setupClinic, startServer, waitForEvent } from './helpers.mjs';
import { startNginx } from './nginx.mjs';

const PASSWORD = 'senha-do-dono-123';

async function behindNginx(t, extraArgs = ['--trusted-proxy', '127.0.0.1/32']) {
  const server = await startServer({ extraArgs });
  t.after(() => server.stop());
  const nginx = await startNginx(server.base);
  t.after(() => nginx.stop());
  return { server, nginx };
}

/** A login through nginx, as the client `forwardedFor` (none: nginx's own address). */
async function loginVia(nginx, forwardedFor, email, password) {
  const headers = { 'content-type': 'application/json' };
  if (forwardedFor) headers['x-forwarded-for'] = forwardedFor;
  const res = await fetch(`${nginx.base}/api/auth/login`, { method: 'POST', headers, body: JSON.stringify({ email, password }) });
  await res.arrayBuffer();
  return res.status;
}

test('behind nginx, one client guessing passwords locks out only itself', async (t) => {
  const { server, nginx } = await behindNginx(t);
  const owner = await server.createAccount({ name: 'Clínica', email: 'dono@clinica.example', password: PASSWORD });
  const statuses = [];
  for (let i = 0; i < 32; i++) statuses.push(await loginVia(nginx, '203.0.113.10', owner.email, `errada ${i}`));
  assert.deepEqual([...new Set(statuses)].sort(), [401, 429], `the guesser met the limit: ${statuses}`);
  assert.equal(statuses.at(-1), 429);
  assert.equal(await loginVia(nginx, '203.0.113.10', owner.email, PASSWORD), 429, 'the guesser is held, even with the right password');
  assert.equal(await loginVia(nginx, '203.0.113.20', owner.email, PASSWORD), 200, 'another client behind nginx logs in');
  assert.equal(await loginVia(nginx, undefined, owner.email, PASSWORD), 200, 'so does one at nginx\'s own address');
});

test('without --trusted-proxy every client behind nginx shares its address', async (t) => {
  const { server, nginx } = await behindNginx(t, []);
  const owner = await server.createAccount({ name: 'Clínica', email: 'dono@clinica.example', password: PASSWORD });
  for (let i = 0; i < 5; i++) assert.equal(await loginVia(nginx, '203.0.113.10', owner.email, `errada ${i}`), 401);
  assert.equal(await loginVia(nginx, '203.0.113.20', owner.email, PASSWORD), 429, 'the forwarded address is not believed');
});

test('a status link created through nginx carries nginx\'s host and port, and opens through it', async (t) => {
  const { server, nginx } = await behindNginx(t);
  const clinic = await setupClinic(server);
  const appointment = await clinic.appointment();
  const res = await fetch(`${nginx.base}/api/appointments/${appointment.id}/status-link`, {
    method: 'POST', headers: { authorization: `Bearer ${clinic.a.token}` },
  });
  assert.equal(res.status, 201);
  const link = await res.json();
  assert.ok(link.url.startsWith(`${nginx.base}/p/`), `${link.url} is on nginx (${nginx.base})`);
  const direct = await clinic.ok('POST', `/api/appointments/${appointment.id}/status-link`);
  assert.ok(direct.url.startsWith(`${server.base}/p/`), `${direct.url}: straight to Fila, its own address`);
  const page = await fetch(`${nginx.base}/api/public/status/${link.token}`);
  assert.equal(page.status, 200);
  assert.equal((await page.json()).firstName, 'João');
});

test('socket.io-client connects through nginx by polling and upgrades to a websocket', async (t) => {
  const { server, nginx } = await behindNginx(t);
  const clinic = await setupClinic(server);
  const socket = recordEvents(io(nginx.base, {
    path: '/socket.io/', transports: ['polling', 'websocket'], auth: { token: clinic.a.token },
    reconnection: false, forceNew: true, timeout: 5000,
  }));
  t.after(() => socket.close());
  await new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  });
  if (socket.io.engine.transport.name !== 'websocket') await once(socket.io.engine, 'upgrade');
  assert.equal(socket.io.engine.transport.name, 'websocket', 'upgraded through nginx');
  const appointment = await clinic.appointment();
  await clinic.ok('PATCH', `/api/appointments/${appointment.id}/status`, { action: 'check-in' });
  const [payload] = await waitForEvent(socket, 'appointments.checkin', 3000);
  assert.equal(payload.id, appointment.id);
});
