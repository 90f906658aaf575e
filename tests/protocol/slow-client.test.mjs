// A slow or dead client must not slow anyone else down: a client that completes the Socket.IO
// handshake and then never reads (a frozen tablet, a dead TCP peer) fills its own buffers;
// the broadcasts to it fail fast and its transport is closed (a stock client reconnects and
// recovers what it missed), while every other socket keeps receiving each event at once and
// the node's delivery keeps going.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { startServer, setupClinic, waitForEvent } from './helpers.mjs';

/**
 * A websocket client in Python's standard library with a tiny receive buffer: it upgrades,
 * joins with the token (`40{"token":...}`), prints `joined`, then never reads again.
 */
const DEAD_CLIENT = `
import base64, json, os, socket, sys, time
port, token = int(sys.argv[1]), sys.argv[2]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(("127.0.0.1", port))
key = base64.b64encode(os.urandom(16)).decode()
s.sendall(("GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\n"
           "Upgrade: websocket\\r\\nConnection: Upgrade\\r\\nSec-WebSocket-Key: %s\\r\\n"
           "Sec-WebSocket-Version: 13\\r\\n\\r\\n" % key).encode())
buf = b""
while b"\\r\\n\\r\\n" not in buf:
    buf += s.recv(1)
def frame(text):
    data, mask = text.encode(), os.urandom(4)
    head = bytes([0x81, 0x80 | len(data)]) if len(data) < 126 else bytes([0x81, 0xFE]) + len(data).to_bytes(2, "big")
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data))
s.recv(512)  # the Engine.IO open packet
s.sendall(frame("40" + json.dumps({"token": token})))
time.sleep(0.3)
print("joined", flush=True)
sys.stdin.read()  # hold the connection, reading nothing, until told to go
`;

test('a client that stops reading is skipped; everyone else gets every event at once', async (t) => {
  const server = await startServer();
  t.after(() => server.stop());
  const c = await setupClinic(server);
  const dead = spawn('python3', ['-c', DEAD_CLIENT, String(server.port), c.a.token], { stdio: ['pipe', 'pipe', 'inherit'] });
  const deadExited = once(dead, 'exit');
  t.after(async () => { dead.stdin.end(); await deadExited; });
  await new Promise((resolve, reject) => {
    dead.stdout.on('data', (chunk) => { if (String(chunk).includes('joined')) resolve(); });
    dead.on('exit', () => reject(new Error('the dead client exited early')));
  });
  const healthy = await server.connect(c.a.token);
  const metrics = await (await fetch(`${server.base}/metrics`)).text();
  assert.match(metrics, /fila_sockets_connected 2\b/, 'the dead client joined');

  // Large payloads (2000 characters of notes) fill the dead client's buffers quickly.
  const appointment = await c.appointment('09:00', '09:15');
  const notes = 'x'.repeat(1990);
  const EDITS = 1500;
  const seqs = [];
  for (let i = 0; i < EDITS; i++) {
    const res = await server.api('PATCH', `/api/appointments/${appointment.id}`, { notes: `${i} ${notes}`.slice(0, 2000) }, c.a.token);
    assert.equal(res.status, 200);
  }
  const sentAll = Date.now();
  const [, lastMeta] = await waitForEvent(healthy, 'appointments.updated', 3000, (data) => data.notes?.startsWith(`${EDITS - 1} `));
  assert.ok(Date.now() - sentAll < 1000, `the last event reached the healthy socket ${Date.now() - sentAll} ms after the last change`);

  for (const entry of healthy.received.filter((e) => e.event === 'appointments.updated')) seqs.push(entry.args[1].seq);
  assert.equal(seqs.length, EDITS, 'the healthy socket got every update');
  assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), 'in seq order');
  assert.equal(new Set(seqs).size, EDITS, 'each once');
  assert.equal(lastMeta.seq, seqs.at(-1));
  assert.match(server.output(), /some sockets missed a broadcast/, 'the dead client was skipped, not waited for');
  // Its transport was closed on the first packet it could not take (a stock client would
  // reconnect and recover what it missed); a peer that reads nothing is dropped within 5 s.
  let connected;
  for (let i = 0; i < 80; i++) {
    connected = /fila_sockets_connected (\d+)/.exec(await (await fetch(`${server.base}/metrics`)).text())?.[1];
    if (connected === '1') break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.equal(connected, '1', 'the socket that could not keep up was closed');
  assert.ok(healthy.connected, 'the healthy socket stays');
});
