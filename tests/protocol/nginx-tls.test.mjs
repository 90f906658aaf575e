// The shipped nginx recipe (contrib/nginx.conf, tests/protocol/nginx-tls.mjs) in front of Fila
// started as the recipe says (`--trusted-proxy 127.0.0.1/32`), with a self-signed certificate:
// socket.io-client with its default options connects over https and upgrades to a websocket,
// a status link made through nginx says https and nginx's host and port, and plain http
// redirects to https.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { io } from 'socket.io-client';
import { recordEvents, setupClinic, startServer, waitForEvent } from './helpers.mjs';
import { httpsRequest, startTlsNginx } from './nginx-tls.mjs';

async function behindTlsNginx(t) {
  const server = await startServer({ extraArgs: ['--trusted-proxy', '127.0.0.1/32'] });
  t.after(() => server.stop());
  const nginx = await startTlsNginx(Number(new URL(server.base).port));
  t.after(() => nginx.stop());
  return { server, nginx, ca: readFileSync(nginx.cert) };
}

test('socket.io-client with its defaults connects through the TLS recipe and upgrades to a websocket', async (t) => {
  const { server, nginx, ca } = await behindTlsNginx(t);
  const clinic = await setupClinic(server);
  const socket = recordEvents(io(nginx.base, { auth: { token: clinic.a.token }, ca, reconnection: false, forceNew: true }));
  t.after(() => socket.close());
  await new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  });
  if (socket.io.engine.transport.name !== 'websocket') await once(socket.io.engine, 'upgrade');
  assert.equal(socket.io.engine.transport.name, 'websocket', 'upgraded through nginx over TLS');
  const appointment = await clinic.appointment();
  const checkIn = await httpsRequest(`${nginx.base}/api/appointments/${appointment.id}/status`, {
    method: 'PATCH', headers: { authorization: `Bearer ${clinic.a.token}` }, body: { action: 'check-in' }, ca,
  });
  assert.equal(checkIn.status, 200, JSON.stringify(checkIn.body));
  const [payload] = await waitForEvent(socket, 'appointments.checkin', 3000);
  assert.equal(payload.id, appointment.id);
});

test('a status link made through the TLS recipe says https and nginx\'s host and port', async (t) => {
  const { server, nginx, ca } = await behindTlsNginx(t);
  const clinic = await setupClinic(server);
  const appointment = await clinic.appointment();
  const res = await httpsRequest(`${nginx.base}/api/appointments/${appointment.id}/status-link`, {
    method: 'POST', headers: { authorization: `Bearer ${clinic.a.token}` }, ca,
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  assert.ok(res.body.url.startsWith(`https://127.0.0.1:${nginx.httpsPort}/p/`), `${res.body.url} is on ${nginx.base}`);
  const page = await httpsRequest(`${nginx.base}/api/public/status/${res.body.token}`, { ca });
  assert.equal(page.status, 200);
  assert.equal(page.body.firstName, 'João');
});

test('plain http redirects to https, and the certificate nginx presents is the one it was given', async (t) => {
  const { nginx, ca } = await behindTlsNginx(t);
  const res = await fetch(`${nginx.httpBase}/entrar?x=1`, { redirect: 'manual' });
  assert.equal(res.status, 301);
  assert.equal(res.headers.get('location'), 'https://127.0.0.1/entrar?x=1');
  const health = await httpsRequest(`${nginx.base}/healthz`, { ca });
  assert.equal(health.status, 200);
  assert.equal(health.certificate.subject.CN, 'localhost');
  assert.match(health.headers['strict-transport-security'] ?? '', /max-age=/);
  await assert.rejects(httpsRequest(`${nginx.base}/healthz`), /self.signed|unable to verify/i, 'without the CA the certificate is refused');
});
