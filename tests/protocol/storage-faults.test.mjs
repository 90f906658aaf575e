// Storage faults: `fila serve` on a small tmpfs (mounted here, so the test runs as root, as CI
// does). The disk fills while clients write: every write answers 507 with `Retry-After` in the
// contract's error shape, never a 500; `/readyz` answers 503; reads still answer. Once space is
// freed the same process takes writes again within seconds and `/readyz` is 200, and every
// write it acknowledged is there, with its event, before and after a restart.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, statSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { startServer, setupClinic, sleep } from './helpers.mjs';

const NOTES = 'n'.repeat(2000);

function requireRoot() {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    throw new Error('storage-faults.test.mjs mounts a tmpfs and must run as root (CI does): run it with sudo');
  }
}

/** Mounts a tmpfs of `size` on a fresh directory; answers the directory. */
function mountTmpfs(size) {
  const dir = mkdtempSync('/tmp/fila-storage-');
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]);
  return dir;
}

function unmount(dir) {
  try { execFileSync('umount', ['-l', dir]); } catch { /* not mounted */ }
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Fills the file system of `dir` with one file until it is full, then gives `room` bytes back;
 * answers the file's path.
 */
function fillDisk(dir, room) {
  const file = path.join(dir, 'filler');
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(16 * 1024);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (error) {
    if (error.code !== 'ENOSPC') throw error;
  } finally {
    closeSync(fd);
  }
  truncateSync(file, Math.max(0, statSync(file).size - room));
  return file;
}

function assertStorageFault(res, status, what) {
  assert.equal(res.status, status, `${what}: ${res.status} ${JSON.stringify(res.body)}`);
  assert.equal(res.headers.get('retry-after'), '5', `${what}: Retry-After`);
  assert.equal(res.body.statusCode, status);
  assert.equal(typeof res.body.message, 'string');
  assert.equal(res.body.error, status === 507 ? 'Insufficient Storage' : 'Service Unavailable');
  assert.deepEqual(Object.keys(res.body).sort(), ['error', 'message', 'requestId', 'statusCode']);
  assert.equal(res.body.requestId, res.headers.get('x-request-id'), `${what}: requestId`);
}

async function waitReady(server, ms) {
  const started = Date.now();
  for (;;) {
    const res = await server.api('GET', '/readyz');
    if (res.status === 200) return Date.now() - started;
    if (Date.now() - started > ms) assert.fail(`/readyz still ${res.status} ${JSON.stringify(res.body)} after ${ms} ms`);
    await sleep(100);
  }
}

/** Every acknowledged appointment can be read, and the log holds its creation event. */
async function assertAllThere(server, token, acked) {
  for (const id of acked) {
    const res = await server.api('GET', `/api/appointments/${id}`, undefined, token);
    assert.equal(res.status, 200, `acknowledged appointment ${id}: ${res.status}`);
  }
  const created = new Set();
  for (let since = 0; ;) {
    const res = await server.api('GET', `/api/events?since=${since}&limit=100`, undefined, token);
    assert.equal(res.status, 200, `events since ${since}: ${res.status}`);
    if (res.body.length === 0) break;
    for (const e of res.body) {
      if (e.event === 'appointments.created') created.add(e.data.id);
    }
    since = res.body[res.body.length - 1].seq;
  }
  const missing = acked.filter((id) => !created.has(id));
  assert.deepEqual(missing, [], 'acknowledged appointments without their creation event');
}

test('a full disk answers 507 with Retry-After (never 500), /readyz 503; freed, the same process heals and nothing acknowledged is lost', async (t) => {
  requireRoot();
  const dir = mountTmpfs('4m');
  const servers = [];
  t.after(async () => {
    for (const server of servers) await server.stop();
    unmount(dir);
  });
  const databaseUrl = `sqlite://${path.join(dir, 'fila.db')}?mode=rwc`;
  const server = await startServer({ databaseUrl });
  servers.push(server);
  const c = await setupClinic(server);
  const token = c.a.token;
  const socket = await server.connect(token);
  const create = () => server.api('POST', '/api/appointments', {
    patientId: c.patient.id, procedures: [{ id: c.procedure.id }], doctorId: c.doctor.id,
    date: c.today, startTime: '09:00', endTime: '09:15', notes: NOTES,
  }, token);

  const acked = [];
  for (let i = 0; i < 10; i++) {
    const res = await create();
    assert.equal(res.status, 201, `before the fault: ${res.status} ${JSON.stringify(res.body)}`);
    acked.push(res.body[0].id);
  }

  // Some room is left, so the disk fills while writes succeed.
  const filler = fillDisk(dir, 1024 * 1024);
  const before = acked.length;
  let failure;
  for (let i = 0; i < 3000 && !failure; i++) {
    const res = await create();
    if (res.status === 201) acked.push(res.body[0].id);
    else failure = res;
  }
  assert.ok(failure, 'the disk never filled');
  assert.ok(acked.length >= before + 10, `writes acknowledged while the disk filled: ${acked.length - before}`);
  assertStorageFault(failure, 507, 'the first failed write');

  // While full: writes keep failing cleanly (a status move included), reads answer.
  const statuses = [];
  for (let i = 0; i < 30; i++) {
    const res = i % 2 ? await create() : await c.status(acked[(i / 2) % 10], 'check-in');
    statuses.push(res.status);
    assert.notEqual(res.status, 500, `a write while the disk is full answered 500: ${JSON.stringify(res.body)}`);
    if (res.status === 201) acked.push(res.body[0].id);
    else if (res.status !== 200) assertStorageFault(res, 507, 'a write while the disk is full');
  }
  assert.ok(statuses.filter((s) => s === 507).length >= 25, `writes while full: ${statuses.join(',')}`);
  const ready = await server.api('GET', '/readyz');
  assert.equal(ready.status, 503, `/readyz while the disk is full: ${JSON.stringify(ready.body)}`);
  assert.equal(ready.body.storage, 'full');
  // The refused writes are counted for the IT team's alerts.
  const scrape = await (await fetch(`${server.base}/metrics`)).text();
  const counted = scrape.match(/^fila_db_errors_total\{kind="storage"\} (\d+)/m);
  assert.ok(counted && Number(counted[1]) >= 25, `storage errors in /metrics: ${counted?.[0]}`);
  const read = await server.api('GET', `/api/appointments/${acked[0]}`, undefined, token);
  assert.equal(read.status, 200, 'reads answer while the disk is full');

  rmSync(filler);
  const healedIn = await waitReady(server, 10_000);
  console.log(`healed ${healedIn} ms after the space was freed; ${acked.length} writes acknowledged`);
  for (let i = 0; i < 5; i++) {
    const res = await create();
    assert.equal(res.status, 201, `after healing: ${res.status} ${JSON.stringify(res.body)}`);
    acked.push(res.body[0].id);
  }
  const moved = await c.status(acked[acked.length - 1], 'check-in');
  assert.equal(moved.status, 200, `a status move after healing: ${moved.status} ${JSON.stringify(moved.body)}`);
  await assertAllThere(server, token, acked);
  // The socket open throughout got every acknowledged creation, in order, with no gap in `seq`.
  const started = Date.now();
  const delivered = () => socket.received.filter((e) => e.event === 'appointments.created');
  while (delivered().length < acked.length && Date.now() - started < 5000) await sleep(50);
  assert.deepEqual(delivered().map((e) => e.args[0].id), acked, 'creations delivered to the socket');
  const seqs = socket.received.map((e) => e.args[1]?.seq).filter(Number.isInteger);
  seqs.forEach((seq, i) => i === 0 || assert.equal(seq, seqs[i - 1] + 1, `seq after ${seqs[i - 1]}`));
  assert.doesNotMatch(server.output(), /non-zero transaction depth|InvalidSavePointStatement/);
  if (process.env.SHOW_LOG) console.log(server.output());

  // And after a restart on the same file.
  await server.stop();
  servers.length = 0;
  const again = await startServer({ databaseUrl });
  servers.push(again);
  const token2 = await again.login(c.a.email, c.a.password);
  await assertAllThere(again, token2, acked);
});

/**
 * Mounts a fresh 16 MiB ext4 image (a loop device) with `errors=remount-ro`; answers
 * `{dir, readOnly(), cleanup()}`. `readOnly()` makes the kernel turn it read-only under the open
 * files, as after a disk error (ext4's `trigger_fs_error`): a plain `mount -o remount,ro` is
 * refused while a file is open for writing. ext4 keeps such a file system read-only until it is
 * unmounted, so this fault is only seen, not healed, here.
 */
function mountExt4() {
  const image = mkdtempSync('/tmp/fila-ext4-');
  const file = path.join(image, 'disk.img');
  const dir = path.join(image, 'mnt');
  execFileSync('truncate', ['-s', '16M', file]);
  execFileSync('mkfs.ext4', ['-q', '-F', file]);
  execFileSync('mkdir', [dir]);
  let loop;
  try {
    loop = execFileSync('losetup', ['-f', '--show', file]).toString().trim();
  } catch (error) {
    rmSync(image, { recursive: true, force: true });
    throw new Error(`the read-only case needs a loop device (losetup -f): ${error.message}`);
  }
  execFileSync('mount', ['-o', 'errors=remount-ro', loop, dir]);
  return {
    dir,
    readOnly() {
      writeFileSync(`/sys/fs/ext4/${path.basename(loop)}/trigger_fs_error`, 'storage-faults test\n');
    },
    cleanup() {
      try { execFileSync('umount', [dir]); } catch { execFileSync('umount', ['-l', dir]); }
      try { execFileSync('losetup', ['-d', loop]); } catch { /* already detached */ }
      rmSync(image, { recursive: true, force: true });
    },
  };
}

test('a file system turned read-only under the server answers 503 with Retry-After (never 500) and /readyz 503; reads still answer', async (t) => {
  requireRoot();
  const disk = mountExt4();
  let server;
  t.after(async () => {
    if (server) await server.stop();
    disk.cleanup();
  });
  server = await startServer({ databaseUrl: `sqlite://${path.join(disk.dir, 'fila.db')}?mode=rwc` });
  const c = await setupClinic(server);
  const token = c.a.token;
  const first = await c.appointment();

  disk.readOnly();
  const statuses = [];
  for (let i = 0; i < 20; i++) {
    const res = i % 2
      ? await server.api('POST', '/api/patients', { name: `Paciente ${i}`, phone: '(81) 98888-7777', dateBirth: '1990-01-01' }, token)
      : await c.status(first.id, 'check-in');
    statuses.push(res.status);
    assert.notEqual(res.status, 500, `a write on a read-only file system answered 500: ${JSON.stringify(res.body)}`);
    assertStorageFault(res, 503, 'a write on a read-only file system');
  }
  const ready = await server.api('GET', '/readyz');
  assert.equal(ready.status, 503, `/readyz on a read-only file system: ${JSON.stringify(ready.body)}`);
  assert.ok(['read-only', 'failing'].includes(ready.body.storage), JSON.stringify(ready.body));
  const read = await server.api('GET', `/api/appointments/${first.id}`, undefined, token);
  assert.equal(read.status, 200, 'reads answer on a read-only file system');
  if (process.env.SHOW_LOG) console.log(server.output());
});
