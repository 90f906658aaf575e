// The Socket.IO handshake (contract §5): the token in the Authorization header over websocket
// and polling, or in `auth: {token}`; refusals with the contract's messages; and the server
// sockets that live as long as their session (not their token's hour).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, forgeToken, jwtClaims, sleep, waitForDisconnect, waitForEvent, reconnect } from './helpers.mjs';

const ACCOUNT = { name: 'Clínica Alfa', email: 'recepcao@alfa.example.com', password: 'senha-alfa-123' };

async function serverWithLogin(t, options) {
  const server = await startServer(options);
  t.after(() => server.stop());
  const account = await server.createAccount(ACCOUNT);
  const token = await server.login(ACCOUNT.email, ACCOUNT.password);
  return { server, account, token };
}

/** Proves the socket sits in its account's room: a REST change reaches it. */
async function assertInRoom(server, socket, token, name) {
  const res = await server.api('POST', '/api/procedures', { name, price: '99.90' }, token);
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const doctor = await server.api('POST', '/api/doctors', { name: `Dr. ${name}`, procedureIds: [String(res.body.id)] }, token);
  assert.equal(doctor.status, 201, JSON.stringify(doctor.body));
  const [data, meta] = await waitForEvent(socket, 'doctors.created', 3000, (d) => d.id === doctor.body.id);
  assert.deepEqual(data, doctor.body);
  assert.ok(Number.isInteger(meta.seq));
}

test('the token is accepted in the Authorization header (websocket and polling) and in auth.token', async (t) => {
  const { server, token } = await serverWithLogin(t);
  const cases = [
    ['header over websocket', { via: 'header', transports: ['websocket'] }],
    ['header over polling', { via: 'header', transports: ['polling'] }],
    ['auth.token over websocket', { via: 'auth', transports: ['websocket'] }],
    ['auth.token with "Bearer " prefix', { via: 'auth', transports: ['websocket'], bearerPrefix: true }],
    ['auth.token over polling', { via: 'auth', transports: ['polling'] }],
  ];
  for (const [what, options] of cases) {
    const socket = await server.connect(token, options).catch((err) => assert.fail(`${what}: connect_error ${err.message}`));
    assert.ok(socket.connected, what);
    assert.equal(socket.io.engine.transport.name, options.transports[0], `${what}: transport`);
    await assertInRoom(server, socket, token, what);
    socket.close();
  }
});

test('a handshake without a token is refused with "missing token"', async (t) => {
  const { server } = await serverWithLogin(t);
  for (const transports of [['websocket'], ['polling']]) {
    const err = await server.connect(null, { via: 'none', transports }).then(() => null, (e) => e);
    assert.ok(err, `${transports}: connected without a token`);
    assert.equal(err.message, 'missing token', `${transports}`);
  }
  // An empty token is no token.
  const err = await server.connect('', { via: 'auth' }).then(() => null, (e) => e);
  assert.equal(err?.message, 'missing token');
});

test('a garbage or forged token is refused with "invalid token"', async (t) => {
  const { server, token } = await serverWithLogin(t);
  const claims = jwtClaims(token);
  const forged = forgeToken(claims); // same claims, another secret
  const tampered = `${token.split('.').slice(0, 2).join('.')}.${forged.split('.')[2]}`;
  for (const [what, bad, via] of [
    ['garbage in auth', 'not.a.jwt', 'auth'],
    ['garbage in header', 'garbage', 'header'],
    ['forged in auth', forged, 'auth'],
    ['forged in header', forged, 'header'],
    ['tampered signature', tampered, 'auth'],
  ]) {
    const err = await server.connect(bad, { via }).then(() => null, (e) => e);
    assert.ok(err, `${what}: connected`);
    assert.equal(err.message, 'invalid token', what);
  }
  // The real token still works on this server.
  const socket = await server.connect(token, { via: 'header' });
  assert.ok(socket.connected);
});

test('an expired token of an open session is accepted by the handshake (a socket lives as long as its session); REST refuses it with "jwt expired"', async (t) => {
  const { server, token } = await serverWithLogin(t, { tokenTtl: 1 });
  const { iat, exp } = jwtClaims(token);
  assert.equal(exp - iat, 1, 'exp - iat is the configured lifetime');
  // Expired once the clock is past `exp` (whole seconds, no leeway): at most ~2 s after login.
  await sleep(Math.max(0, (exp + 1) * 1000 + 150 - Date.now()));
  const rest = await server.api('GET', '/api/me', undefined, token);
  assert.deepEqual(rest.body, { statusCode: 401, message: 'jwt expired', error: 'Unauthorized', requestId: rest.headers.get('x-request-id') });
  const fresh = await server.login(ACCOUNT.email, ACCOUNT.password);
  for (const via of ['auth', 'header']) {
    const socket = await server.connect(token, { via }).catch((err) => assert.fail(`${via}: connect_error ${err.message}`));
    assert.ok(socket.connected, via);
    await assertInRoom(server, socket, fresh, `expired ${via}`);
    socket.close();
  }
});

test('a socket stays connected past its token\'s expiry, over websocket and polling, and keeps receiving its account\'s events (--token-ttl 2)', async (t) => {
  const { server, token } = await serverWithLogin(t, { tokenTtl: 2 });
  const viaAuth = await server.connect(token, { via: 'auth', transports: ['websocket'] });
  const viaHeader = await server.connect(token, { via: 'header', transports: ['polling'] });
  const gone = [];
  viaAuth.on('disconnect', (reason) => gone.push(reason));
  viaHeader.on('disconnect', (reason) => gone.push(reason));
  await sleep(Math.max(0, (jwtClaims(token).exp + 1) * 1000 + 300 - Date.now()));
  assert.deepEqual(gone, [], 'not disconnected at the token\'s expiry');
  const fresh = await server.login(ACCOUNT.email, ACCOUNT.password);
  await assertInRoom(server, viaAuth, fresh, 'websocket past expiry');
  await assertInRoom(server, viaHeader, fresh, 'polling past expiry');
});

test('ending the session ends its sockets for good: DISCONNECT, then its token is refused ("invalid token", and "jwt expired" once expired)', async (t) => {
  const { server, token } = await serverWithLogin(t, { tokenTtl: 2 });
  const socket = await server.connect(token, { via: 'auth' });
  const disconnected = waitForDisconnect(socket, 3000);
  assert.equal((await server.api('POST', '/api/auth/logout', undefined, token)).status, 204);
  assert.equal(await disconnected, 'io server disconnect', 'a final end is a Socket.IO DISCONNECT');
  const now = await reconnect(socket).then(() => 'connected', (e) => e.message);
  assert.equal(now, 'invalid token');
  await sleep(Math.max(0, (jwtClaims(token).exp + 1) * 1000 + 150 - Date.now()));
  const expired = await reconnect(socket).then(() => 'connected', (e) => e.message);
  assert.equal(expired, 'jwt expired', 'an expired token of an ended session (contract §5)');
});
