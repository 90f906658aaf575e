// Starts real `fila serve` processes for a test: a fresh SQLite file in a temp dir, a free
// port, the web app embedded in the binary (started as the README starts it: no `--web-dir`),
// and helpers to talk to the REST API the way an integration would.

import { spawn, execFile } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const FILA_BIN = path.resolve(repoRoot, process.env.FILA_BIN ?? 'target/debug/fila');
/** The web app's build: the binary must embed this one (`cargo build` after `scripts/build-web`). */
const WEB_INDEX = path.join(repoRoot, 'web/dist/index.html');

const run = promisify(execFile);

export async function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** A fresh database in its own temp dir; `cleanup()` removes it. */
export function freshDatabase() {
  if (!existsSync(FILA_BIN)) throw new Error(`FILA_BIN: ${FILA_BIN} not found (scripts/build-web, then cargo build)`);
  const dir = mkdtempSync(path.join(tmpdir(), 'fila-browser-'));
  // `mode=rwc` lets SQLite create the file (without it a fresh path fails to open).
  const url = `sqlite://${path.join(dir, 'fila.db')}?mode=rwc`;
  return { dir, url, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** `fila accounts create`: returns {accountId, userId}. */
export async function createAccount(databaseUrl, { name, email, password }) {
  const { stdout } = await run(FILA_BIN, [
    'accounts', 'create', '--name', name, '--email', email, '--password', password, '--database-url', databaseUrl,
  ], { env: serverEnv() });
  const line = stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  return JSON.parse(line);
}

function serverEnv(extra = {}) {
  // FILA_WEB_DIR would make the server serve a folder: the tests run the shipping configuration.
  const { FILA_WEB_DIR: _folder, ...env } = process.env;
  return { ...env, RUST_LOG: process.env.RUST_LOG ?? 'warn', ...extra };
}

/**
 * Fails unless `GET /` answers the web app embedded in the binary, and the same build as
 * `web/dist` when there is one: an API-only binary (built before `scripts/build-web`) or one
 * built before the last web build would test another program than the one in the tree.
 */
async function assertServesWebApp(base) {
  const res = await fetch(`${base}/`);
  const body = await res.text();
  const html = res.status === 200 && (res.headers.get('content-type') ?? '').startsWith('text/html')
    && body.includes('<div id="root">') && /src="\/assets\/index-[^"]+\.js"/.test(body);
  if (!html) {
    throw new Error(`${FILA_BIN} does not serve the web app at / (${res.status}): it was built without it; `
      + 'run scripts/build-web, then cargo build');
  }
  if (existsSync(WEB_INDEX) && readFileSync(WEB_INDEX, 'utf8') !== body) {
    throw new Error(`${FILA_BIN} embeds another build of the web app than web/dist: rebuild it (cargo build)`);
  }
}

/**
 * Runs `fila serve` until `stop()`. `port` may be given to restart on the same address.
 * Resolves once /readyz answers 200.
 */
export async function startServer({ databaseUrl, port, tokenTtl, extraArgs = [] }) {
  port ??= await freePort();
  const args = ['serve', '--listen', `127.0.0.1:${port}`, '--database-url', databaseUrl, ...extraArgs];
  if (tokenTtl) args.push('--token-ttl', String(tokenTtl));
  const child = spawn(FILA_BIN, args, { env: serverEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise((resolve) => child.on('exit', resolve));
  const base = `http://127.0.0.1:${port}`;

  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`fila serve exited (${child.exitCode}):\n${output}`);
    try {
      const res = await fetch(`${base}/readyz`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`fila serve not ready after 15 s:\n${output}`);
    }
    await sleep(50);
  }
  await assertServesWebApp(base).catch(async (error) => {
    child.kill('SIGKILL');
    await exited;
    throw error;
  });

  return {
    base,
    port,
    output: () => output,
    /** SIGKILL by default: the test is about surviving a crash, not a polite shutdown. */
    async stop(signal = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A REST client for one account, as a test's stand-in for another screen or an integration. */
export class Api {
  constructor(base, token) {
    this.base = base;
    this.token = token;
  }

  static async login(base, email, password) {
    const answer = await request(base, null, 'POST', '/api/auth/login', { email, password });
    return new Api(base, answer.body.accessToken);
  }

  withBase(base) {
    return new Api(base, this.token);
  }

  async call(method, path, body) {
    const res = await request(this.base, this.token, method, path, body);
    if (res.status >= 400) throw new Error(`${method} ${path} → ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  }

  get(path) { return this.call('GET', path); }
  post(path, body) { return this.call('POST', path, body); }
  patch(path, body) { return this.call('PATCH', path, body); }

  status(id, action, extra = {}) {
    return this.patch(`/api/appointments/${id}/status`, { action, ...extra });
  }
}

export async function request(base, token, method, path, body) {
  const headers = { Accept: 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = text;
  }
  return { status: res.status, body: parsed, headers: res.headers };
}
