// "Emit only after commit" and "never lost once committed", checked at the boundary between
// the database and the broadcast: a second process (standing in for another node, or for this
// node before a crash) writes an event row straight into the log inside an open transaction.
// Nothing may reach a socket while that transaction is open or after it rolls back; once it
// commits, the relay must broadcast it without being told.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { startServer, setupClinic, waitForEvent, expectNoEvent } from './helpers.mjs';

/**
 * Opens the server's SQLite file from Python's sqlite3 (no native npm module needed), begins a
 * write transaction and appends one `doctors.deleted` row for `accountId`; then waits for
 * `commit` or `rollback` on stdin. Prints `seq N` once the row is written.
 */
const WRITER = `
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=10, isolation_level=None)
account = int(sys.argv[2])
db.execute("BEGIN IMMEDIATE")
seq = db.execute("UPDATE accounts SET event_seq = event_seq + 1 WHERE id = ? RETURNING event_seq", (account,)).fetchone()[0]
db.execute("INSERT INTO events (account_id, seq, event, data, at) VALUES (?, ?, 'doctors.deleted', ?, 0)",
           (account, seq, '{"doctorId": %d}' % (900000 + seq)))
print("seq", seq, flush=True)
db.execute(sys.stdin.readline().strip().upper())
print("done", flush=True)
`;

function openWriter(server, accountId) {
  const file = server.databaseUrl.replace(/^sqlite:\/\//, '').replace(/\?.*$/, '');
  const child = spawn('python3', ['-c', WRITER, file, String(accountId)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = once(child, 'exit');
  const lines = [];
  child.stdout.setEncoding('utf8');
  // Whole lines only: a chunk may end in the middle of one ("seq" now, " 2\n" next).
  let partial = '';
  child.stdout.on('data', (chunk) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts.filter(Boolean));
  });
  const line = async (prefix) => {
    for (let i = 0; i < 200; i++) {
      const found = lines.find((l) => l.startsWith(prefix));
      if (found) return found;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`writer printed no '${prefix}' (got ${lines.join(' | ')})`);
  };
  return {
    async seq() { return Number((await line('seq')).split(' ')[1]); },
    async finish(word) { child.stdin.end(`${word}\n`); await line('done'); await exited; },
  };
}

async function clinicWithSocket(t) {
  const server = await startServer();
  t.after(() => server.stop());
  const c = await setupClinic(server);
  const socket = await server.connect(c.a.token);
  return { server, c, socket };
}

test('an event row is broadcast only once its transaction commits, and then without being told', async (t) => {
  const { server, c, socket } = await clinicWithSocket(t);
  const writer = openWriter(server, c.a.accountId);
  const seq = await writer.seq();
  await expectNoEvent(socket, 'doctors.deleted', 1500);
  await writer.finish('commit');
  const [data, meta] = await waitForEvent(socket, 'doctors.deleted', 3000);
  assert.deepEqual(data, { doctorId: 900000 + seq });
  assert.equal(meta.seq, seq);
});

test('an event row whose transaction rolls back is never broadcast', async (t) => {
  const { server, c, socket } = await clinicWithSocket(t);
  const writer = openWriter(server, c.a.accountId);
  await writer.seq();
  await writer.finish('rollback');
  await expectNoEvent(socket, 'doctors.deleted', 1500);
  const logged = await server.api('GET', '/api/events?since=0&limit=100', undefined, c.a.token);
  assert.equal(logged.status, 200);
  assert.deepEqual(logged.body.filter((e) => e.event === 'doctors.deleted'), []);
});

test('a change that fails (one unknown procedure) emits nothing and leaves no log row', async (t) => {
  const { server, c, socket } = await clinicWithSocket(t);
  const before = await c.lastSeq();
  const res = await server.api('POST', '/api/appointments', {
    patientId: c.patient.id, procedures: [{ id: c.procedure.id }, { id: 424242 }], doctorId: c.doctor.id,
    date: c.today, startTime: '09:00', endTime: '09:15',
  }, c.a.token);
  assert.equal(res.status, 404);
  await expectNoEvent(socket, '*', 800);
  assert.equal(await c.lastSeq(), before);
});
