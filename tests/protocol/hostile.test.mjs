// The gateway and the process under hostile load, each test written as the attack: oversized
// websocket messages before any token, sockets that connect and drop by the hundred, and a
// SIGTERM in the middle of a stream of writes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import net from 'node:net';
import { startServer, setupClinic, sleep, memoryMiB, openWriter } from './helpers.mjs';

const MAX_PAYLOAD = 16 * 1024;

/** A raw Engine.IO websocket (no Socket.IO client); resolves once the `0{...}` open packet came. */
function rawSocket(server) {
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/socket.io/?EIO=4&transport=websocket`);
  ws.closed = new Promise((resolve) => ws.on('close', (code) => resolve(code)));
  ws.on('error', () => {});
  return new Promise((resolve, reject) => {
    ws.once('message', (data) => {
      const text = data.toString();
      if (text.startsWith('0')) resolve(ws);
      else reject(new Error(`expected the open packet, got ${text}`));
    });
    ws.once('error', reject);
  });
}

async function metricsText(server) {
  return (await fetch(`${server.base}/metrics`)).text();
}

test('20 token-less websockets sending 60 MiB each are cut at the advertised maxPayload', async (t) => {
  const server = await startServer();
  t.after(() => server.stop());
  const open = await (await fetch(`${server.base}/socket.io/?EIO=4&transport=polling`)).text();
  assert.match(open, new RegExp(`"maxPayload":${MAX_PAYLOAD}`), 'the handshake advertises the limit');
  const idle = memoryMiB(server.pid);

  const huge = Buffer.alloc(60 * 1024 * 1024, 'a');
  const sockets = await Promise.all(Array.from({ length: 20 }, () => rawSocket(server)));
  for (const ws of sockets) ws.send(huge, { binary: false });
  const codes = await Promise.race([
    Promise.all(sockets.map((ws) => ws.closed)),
    sleep(20_000).then(() => { throw new Error('the server kept reading the oversized messages'); }),
  ]);
  // Closed by the server: 1009 (message too big), or the connection dropped (1005, 1006).
  for (const code of codes) assert.ok([1009, 1005, 1006].includes(code), `close code ${code}`);

  // The same limit holds for a message split in frames each under the limit.
  const fragmented = await rawSocket(server);
  const piece = Buffer.alloc(8 * 1024, 'b');
  for (let i = 0; i < 8 && fragmented.readyState === WebSocket.OPEN; i += 1) {
    fragmented.send(piece, { binary: false, fin: false });
  }
  if (fragmented.readyState === WebSocket.OPEN) fragmented.send(piece, { binary: false, fin: true });
  const fragmentedCode = await Promise.race([fragmented.closed, sleep(5000).then(() => 'open')]);
  assert.notEqual(fragmentedCode, 'open', 'a 72 KiB message in 8 KiB frames is refused too');

  const after = memoryMiB(server.pid);
  const grew = after.peak - idle.now;
  console.log(`oversized websocket messages: idle ${idle.now.toFixed(1)} MiB, peak ${after.peak.toFixed(1)} MiB (+${grew.toFixed(1)})`);
  assert.ok(grew < 32, `the server grew by ${grew.toFixed(1)} MiB reading 20 × 60 MiB messages`);

  // A well-behaved client still connects.
  const small = await rawSocket(server);
  small.close();
});

test('a websocket that floods pings and never reads the pongs is cut off; the server stays small', async (t) => {
  const server = await startServer();
  t.after(() => server.stop());
  const clinic = await setupClinic(server);
  const idle = memoryMiB(server.pid);
  const ws = await rawSocket(server);
  ws._socket.pause(); // reads nothing from now on: every pong stays with the server
  const payload = Buffer.alloc(125, 'p');
  let sent = 0;
  let cut = false;
  ws.closed.then(() => { cut = true; });
  // Up to 64 MiB of pings, 1 MiB at a time, until the server cuts the connection.
  while (!cut && sent < 64 * 1024 * 1024) {
    await new Promise((resolve) => {
      for (let i = 0; i < 8192 && ws.readyState === ws.OPEN; i += 1) ws.ping(payload);
      sent += 8192 * 127;
      if (ws._socket.writableLength > 0) ws._socket.once('drain', resolve); else setImmediate(resolve);
      setTimeout(resolve, 200);
    });
  }
  const closed = await Promise.race([ws.closed.then(() => true), sleep(15000).then(() => false)]);
  assert.ok(closed, `the server kept a connection that read none of its pongs (${(sent / 1048576).toFixed(0)} MiB of pings sent)`);
  const after = memoryMiB(server.pid);
  const grew = after.peak - idle.now;
  console.log(`ping flood: ${(sent / 1048576).toFixed(1)} MiB of pings, server peak +${grew.toFixed(1)} MiB`);
  assert.ok(grew < 32, `the server grew by ${grew.toFixed(1)} MiB holding pongs`);

  // Everyone else is served as before.
  const screen = await server.connect(clinic.a.token);
  assert.ok(screen.connected);
  screen.close();
});

test('hundreds of sockets that connect and drop leave fila_sockets_connected at the truth', async (t) => {
  const server = await startServer();
  t.after(() => server.stop());
  const clinic = await setupClinic(server);
  const token = clinic.a.token;
  const connectAndDrop = async (i) => {
    const ws = await rawSocket(server);
    ws.send(`40${JSON.stringify({ token })}`);
    if (i % 3 === 0) {
      ws.terminate(); // gone before the server answered the connect
      return;
    }
    await new Promise((resolve) => ws.once('message', resolve));
    if (i % 3 === 1) ws.terminate(); // gone without a word
    else ws.close(); // a clean close
  };
  for (let round = 0; round < 6; round += 1) {
    await Promise.all(Array.from({ length: 50 }, (_, i) => connectAndDrop(round * 50 + i)));
  }
  const stays = await server.connect(token);
  let text = '';
  for (let i = 0; i < 50; i += 1) {
    text = await metricsText(server);
    if (/^fila_sockets_connected 1$/m.test(text)) break;
    await sleep(100);
  }
  assert.match(text, /^fila_sockets_connected 1$/m, 'one socket is connected, after 300 came and went');
  stays.close();
  for (let i = 0; i < 50; i += 1) {
    text = await metricsText(server);
    if (/^fila_sockets_connected 0$/m.test(text)) break;
    await sleep(100);
  }
  assert.match(text, /^fila_sockets_connected 0$/m);
});

test('SIGTERM during a stream of check-ins exits cleanly, without a panic, and loses no event', async (t) => {
  const server = await startServer();
  const clinic = await setupClinic(server);
  const ids = [];
  for (let slot = 0; slot < 36; slot += 1) {
    const minutes = 8 * 60 + slot * 15;
    const at = (m) => `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
    ids.push((await clinic.appointment(at(minutes), at(minutes + 15))).id);
  }
  const listener = await server.connect(clinic.a.token);
  const checkedIn = new Set();
  const refused = [];
  let next = 0;
  const writer = async () => {
    while (next < ids.length) {
      const id = ids[next];
      next += 1;
      try {
        const res = await clinic.status(id, 'check-in');
        if (res.status === 200) checkedIn.add(id);
        else refused.push(res.status);
      } catch {
        return; // the server went away mid-request: that write may or may not have landed
      }
    }
  };
  const writers = Promise.all([writer(), writer(), writer()]);
  while (checkedIn.size < 8) await sleep(5);
  const code = await server.terminate();
  await writers;
  listener.close();
  const output = server.output();
  assert.equal(code, 0, `exit code ${code}:\n${output}`);
  assert.doesNotMatch(output, /panicked/, output);
  assert.ok(refused.every((s) => s === 503), `refusals: ${refused}`);

  // The same database (the first server's folder goes once both are stopped).
  const again = await startServer({ databaseUrl: server.databaseUrl });
  t.after(async () => { await again.stop(); await server.stop(); });
  const token = await again.login(clinic.a.email, clinic.a.password);
  const events = [];
  for (;;) {
    const since = events.length ? events[events.length - 1].seq : 0;
    const page = (await again.api('GET', `/api/events?since=${since}&limit=100`, undefined, token)).body;
    assert.ok(Array.isArray(page), JSON.stringify(page));
    if (page.length === 0) break;
    events.push(...page);
  }
  const logged = new Set(events.filter((e) => e.event === 'appointments.checkin').map((e) => e.data.id));
  const lost = [...checkedIn].filter((id) => !logged.has(id));
  console.log(`SIGTERM under writes: ${checkedIn.size} check-ins answered 200, ${lost.length} lost, exit code ${code}`);
  assert.deepEqual(lost, [], 'every check-in answered 200 is in the event log');
});

test('a row committed while a stop drains is not emitted into the closed gateway, and stays in the log for the next start', async (t) => {
  const server = await startServer();
  const clinic = await setupClinic(server);
  const listener = await server.connect(clinic.a.token);
  // Another node's write, held open across the stop.
  const writer = openWriter(server, clinic.a.accountId);
  const seq = await writer.seq();
  // A client that never finishes its request keeps the stop draining (up to --shutdown-timeout).
  const hanging = net.connect({ host: '127.0.0.1', port: server.port });
  hanging.on('error', () => {});
  hanging.write('POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{');
  await sleep(200);
  const exit = server.terminate();
  await sleep(300);
  await writer.finish('commit'); // committed after the sockets were closed
  const code = await exit;
  hanging.destroy();
  listener.close();
  const output = server.output();
  assert.equal(code, 0, `exit code ${code}:\n${output}`);
  assert.doesNotMatch(output, /panicked/, output);

  const again = await startServer({ databaseUrl: server.databaseUrl });
  t.after(async () => { await again.stop(); await server.stop(); });
  const token = await again.login(clinic.a.email, clinic.a.password);
  const logged = (await again.api('GET', `/api/events?since=${seq - 1}&limit=10`, undefined, token)).body;
  assert.deepEqual(logged.map((e) => [e.seq, e.event]), [[seq, 'doctors.deleted']], 'the row is in the log');
  // Nothing was emitted for it (the sockets were closed first); a client reconnecting to any
  // node reads it from the log above, as after every reconnect.
  assert.doesNotMatch(output, /namespace not found/, output);
});
