// Another stock client than socket.io-client: python-socketio 5.x (python/client.py, from the
// virtual environment scripts/setup makes in target/python), with `auth={'token': ...}`,
// over polling only and over websocket only, against the binary started as the README starts
// it. It gets the check-in broadcast with the appointment as the first argument and `{seq, at}`
// as the second (later arguments are not this test's business).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, setupClinic, assertMeta, STATUS } from './helpers.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const PYTHON = path.resolve(here, '../..', process.env.FILA_PYTHON ?? 'target/python/bin/python');
const CLIENT = path.join(here, 'python/client.py');

/**
 * Starts python/client.py; `next(match)` resolves with its next printed JSON line that
 * `match` accepts (rejects after `ms`), `close()` ends it.
 */
function pythonClient(t, url, token, transport) {
  if (!existsSync(PYTHON)) {
    throw new Error(`${PYTHON} not found: run scripts/setup (it installs python-socketio into target/python)`);
  }
  const child = spawn(PYTHON, ['-u', CLIENT, url, token, transport], { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines = [];
  const waiters = new Set();
  let stderr = '';
  let partial = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop();
    for (const part of parts.filter(Boolean)) {
      lines.push(JSON.parse(part));
      for (const waiter of [...waiters]) waiter();
    }
  });
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  const close = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.stdin.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
  };
  t.after(close);
  let seen = 0;
  return {
    lines,
    next(match, ms = 10_000) {
      return new Promise((resolve, reject) => {
        const look = () => {
          while (seen < lines.length) {
            const line = lines[seen++];
            if (match(line)) { done(); resolve(line); return; }
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`python client: no awaited line within ${ms} ms; printed ${JSON.stringify(lines)}\n${stderr}`));
        }, ms);
        const done = () => { clearTimeout(timer); waiters.delete(look); };
        waiters.add(look);
        look();
      });
    },
    close,
  };
}

for (const transport of ['polling', 'websocket']) {
  test(`python-socketio over ${transport} connects with auth.token and gets appointments.checkin with {seq, at}`, async (t) => {
    const server = await startServer();
    t.after(() => server.stop());
    const c = await setupClinic(server);

    const client = pythonClient(t, server.base, c.a.token, transport);
    const first = await client.next((l) => 'connected' in l || 'connect_error' in l || 'connect_failed' in l);
    assert.deepEqual(first, { connected: transport }, `connected over ${transport}`);

    const appointment = await c.appointment('09:00', '09:15');
    const res = await c.status(appointment.id, 'check-in');
    assert.equal(res.status, 200, JSON.stringify(res.body));

    const got = await client.next((l) => l.event === 'appointments.checkin' && l.args[0]?.id === appointment.id);
    const [data, meta] = got.args;
    assert.deepEqual(data, res.body, 'the payload is the appointment the PATCH returned');
    assert.deepEqual(data.status, STATUS.CHECKIN);
    assertMeta(meta);
    assert.ok(!client.lines.some((l) => 'disconnected' in l), 'still connected');
  });
}
