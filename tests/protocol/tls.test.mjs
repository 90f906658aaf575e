// Fila's own TLS (`--tls-cert`, `--tls-key`): https and socket.io-client over wss work with a
// self-signed certificate; after the files are replaced and SIGHUP is sent, a new connection
// gets the new certificate while the open socket stays connected and keeps receiving; a
// certificate that does not load is refused on SIGHUP and the previous one stays.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { io } from 'socket.io-client';
import { FILA_BIN, recordEvents, setupClinic, sleep, waitForEvent } from './helpers.mjs';
import { httpsRequest, selfSignedCertificate } from './nginx-tls.mjs';

const run = promisify(execFile);

/** `fila serve --tls-cert --tls-key` on a fresh database; a stand-in for helpers' server. */
async function startTlsServer(t, dir, { cert, key }, ca) {
  const databaseUrl = `sqlite://${path.join(dir, 'fila.db')}?mode=rwc`;
  const child = spawn(FILA_BIN, ['serve', '--listen', '127.0.0.1:0', '--database-url', databaseUrl, '--tls-cert', cert, '--tls-key', key],
    { cwd: dir, env: { ...process.env, RUST_LOG: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stderr.on('data', (chunk) => { output += chunk; });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  const base = await new Promise((resolve, reject) => {
    let stdout = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      const match = /Fila is running at (https:\/\/127\.0\.0\.1:\d+)/.exec(stdout);
      if (match) resolve(match[1]);
    });
    exited.then(({ code, signal }) => reject(new Error(`fila serve exited (${code ?? signal}):\n${stdout}${output}`)));
  });
  const server = {
    base,
    child,
    output: () => output,
    async createAccount({ name, email, password }) {
      const { stdout } = await run(FILA_BIN, ['accounts', 'create', '--name', name, '--email', email, '--password', password, '--database-url', databaseUrl]);
      return { ...JSON.parse(stdout.trim().split('\n').pop()), name, email, password };
    },
    async login(email, password) {
      const res = await server.api('POST', '/api/auth/login', { email, password });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body.accessToken;
    },
    api(method, urlPath, body, token) {
      const headers = token ? { authorization: `Bearer ${token}` } : {};
      return httpsRequest(base + urlPath, { method, headers, body, ca: ca() });
    },
  };
  return server;
}

test('Fila serves https and wss itself, and takes a new certificate on SIGHUP without dropping a socket', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'fila-tls-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const first = selfSignedCertificate(dir, 'first', 'first.fila.test');
  const second = selfSignedCertificate(dir, 'second', 'second.fila.test');
  const live = { cert: path.join(dir, 'live.pem'), key: path.join(dir, 'live-key.pem') };
  copyFileSync(first.cert, live.cert);
  copyFileSync(first.key, live.key);
  const ca = () => [readFileSync(first.cert), readFileSync(second.cert)];
  const server = await startTlsServer(t, dir, live, ca);
  const subject = async () => (await httpsRequest(`${server.base}/healthz`, { ca: ca() })).certificate.subject.CN;
  assert.equal(await subject(), 'first.fila.test');

  const clinic = await setupClinic(server);
  const index = await httpsRequest(`${server.base}/`, { ca: ca() });
  assert.equal(index.status, 200, 'the web app over https');
  const link = await server.api('POST', `/api/appointments/${(await clinic.appointment()).id}/status-link`, undefined, clinic.a.token);
  assert.ok(link.body.url.startsWith(`${server.base}/p/`), `a status link over Fila's TLS says https: ${link.body.url}`);

  const socket = recordEvents(io(server.base, { auth: { token: clinic.a.token }, ca: ca(), reconnection: false, forceNew: true }));
  t.after(() => socket.close());
  await new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  });
  if (socket.io.engine.transport.name !== 'websocket') await once(socket.io.engine, 'upgrade');
  assert.equal(socket.io.engine.transport.name, 'websocket', 'wss');
  const before = await clinic.appointment('10:00', '10:15');
  await clinic.ok('PATCH', `/api/appointments/${before.id}/status`, { action: 'check-in' });
  assert.equal((await waitForEvent(socket, 'appointments.checkin', 3000))[0].id, before.id);

  // A renewed certificate: the files replaced, then SIGHUP.
  copyFileSync(second.cert, live.cert);
  copyFileSync(second.key, live.key);
  server.child.kill('SIGHUP');
  let seen;
  for (let i = 0; i < 60 && seen !== 'second.fila.test'; i++) {
    seen = await subject();
    if (seen !== 'second.fila.test') await sleep(50);
  }
  assert.equal(seen, 'second.fila.test', 'a new connection gets the new certificate');
  assert.ok(socket.connected, 'the open socket stayed');
  const after = await clinic.appointment('11:00', '11:15');
  await clinic.ok('PATCH', `/api/appointments/${after.id}/status`, { action: 'check-in' });
  assert.equal((await waitForEvent(socket, 'appointments.checkin', 3000, (a) => a.id === after.id))[0].id, after.id);

  // A broken file: refused, logged, the last good certificate kept.
  writeFileSync(live.cert, 'not a certificate\n');
  server.child.kill('SIGHUP');
  for (let i = 0; i < 60 && !server.output().includes('TLS certificate not reloaded'); i++) await sleep(50);
  assert.match(server.output(), /TLS certificate not reloaded/);
  assert.equal(await subject(), 'second.fila.test');
  assert.equal(server.child.exitCode, null, 'still running');
});

test('--tls-cert without --tls-key, or a key of another certificate, stops the start with one line', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'fila-tls-'));
  try {
    const one = selfSignedCertificate(dir, 'one');
    const two = selfSignedCertificate(dir, 'two');
    const start = (args) => run(FILA_BIN, ['serve', '--listen', '127.0.0.1:0', '--database-url', `sqlite://${dir}/fila.db?mode=rwc`, ...args], { env: { ...process.env, RUST_LOG: 'off' } })
      .then(() => assert.fail('started'), (error) => error.stderr.trim());
    const alone = await start(['--tls-cert', one.cert]);
    assert.match(alone, /^fila: error: --tls-cert \(FILA_TLS_CERT\) and --tls-key \(FILA_TLS_KEY\) go together/);
    const mismatch = await start(['--tls-cert', one.cert, '--tls-key', two.key]);
    assert.match(mismatch, /^fila: error: --tls-key .*two-key\.pem does not go with --tls-cert/);
    assert.equal(mismatch.split('\n').length, 1, mismatch);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
