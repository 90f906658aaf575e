// A real `fila serve` for the document tests: the binary as users run it (no `--web-dir`), on a
// fresh SQLite file and a free port, with one account created by `fila accounts create`.

import { spawn, execFile } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '../..');
export const FILA_BIN = path.resolve(repoRoot, process.env.FILA_BIN ?? 'target/debug/fila');

const run = promisify(execFile);
const env = () => ({ ...process.env, RUST_LOG: process.env.RUST_LOG ?? 'warn' });

/**
 * Starts the server and creates an account; resolves with `{base, account, get(path), stop()}`
 * once it printed `Fila is running at http://127.0.0.1:PORT`.
 */
export async function startServer() {
  if (!existsSync(FILA_BIN)) throw new Error(`FILA_BIN ${FILA_BIN} not found: build the server first`);
  const dir = mkdtempSync(path.join(tmpdir(), 'fila-openapi-'));
  const databaseUrl = `sqlite://${path.join(dir, 'fila.db')}?mode=rwc`;
  const child = spawn(FILA_BIN, ['serve', '--listen', '127.0.0.1:0', '--database-url', databaseUrl],
    { cwd: dir, env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  let output = '';
  const base = await new Promise((resolve, reject) => {
    const fail = (error) => { clearTimeout(timer); child.kill('SIGKILL'); reject(error); };
    const timer = setTimeout(() => fail(new Error(`fila serve printed no address within 15 s:\n${output}`)), 15_000);
    child.stdout.on('data', (chunk) => {
      output += chunk;
      const match = /Fila is running at (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match) { clearTimeout(timer); resolve(match[1]); }
    });
    child.stderr.on('data', (chunk) => { output += chunk; });
    child.on('error', fail);
    exited.then((code) => fail(new Error(`fila serve exited (${code}):\n${output}`)));
  });
  const email = 'recepcao@clinica.test';
  const password = 'senha-da-recepcao';
  const { stdout } = await run(FILA_BIN, ['accounts', 'create', '--name', 'Clínica OpenAPI', '--email', email,
    '--password', password, '--database-url', databaseUrl], { env: env() });
  const created = JSON.parse(stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop());
  return {
    base,
    account: { ...created, email, password },
    /** `GET path` parsed as JSON; throws unless 200. */
    async get(urlPath) {
      const res = await fetch(base + urlPath);
      if (res.status !== 200) throw new Error(`GET ${urlPath}: ${res.status} ${await res.text()}`);
      return res.json();
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
