// The shipped recipe, contrib/nginx.conf, run by a real nginx (Debian's, from scripts/setup) as
// a child process in a temp dir: a self-signed certificate made with the openssl command, the
// file's placeholders (ports, certificate paths, the upstream) replaced and nothing else, and
// a main config of the test's own around it (temp paths, pid and logs in the temp dir). Only
// Node's own modules, so the browser suite uses it too.

import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { nginxMainConfig } from './nginx.mjs';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const RECIPE = path.join(repoRoot, 'contrib/nginx.conf');

const running = new Set();
process.on('exit', () => {
  for (const child of running) {
    try { child.kill('SIGKILL'); } catch { /* already gone */ }
  }
});

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function freePort() {
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

function nginxBinary() {
  for (const candidate of ['/usr/sbin/nginx', '/usr/bin/nginx']) {
    if (existsSync(candidate)) return candidate;
  }
  throw new Error('nginx is not installed (run scripts/setup)');
}

/**
 * One https request trusting `ca` (Node's fetch takes no CA of its own): answers `{status,
 * headers, body}` with the body parsed when it is JSON, and the server's certificate.
 */
export function httpsRequest(url, { method = 'GET', headers = {}, body, ca } = {}) {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(url, {
      method, ca, agent: false,
      headers: { ...headers, ...(payload ? { 'content-type': 'application/json' } : {}) },
    }, (res) => {
      const certificate = res.socket.getPeerCertificate?.();
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed = text;
        if ((res.headers['content-type'] ?? '').includes('json')) parsed = JSON.parse(text);
        resolve({ status: res.statusCode, headers: res.headers, body: parsed, certificate });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** A self-signed certificate for 127.0.0.1 and localhost: `{cert, key}` paths in `dir`. */
export function selfSignedCertificate(dir, name = 'cert', commonName = 'localhost') {
  const cert = path.join(dir, `${name}.pem`);
  const key = path.join(dir, `${name}-key.pem`);
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-keyout', key, '-out', cert,
    '-subj', `/CN=${commonName}`, '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
  ], { stdio: 'ignore' });
  return { cert, key };
}

/** Replaces `from` by `to` in `text`, failing when the recipe no longer has the placeholder. */
function substitute(text, from, to) {
  if (!text.includes(from)) throw new Error(`contrib/nginx.conf has no \`${from}\` any more: update the test`);
  return text.split(from).join(to);
}

/** contrib/nginx.conf with the test's ports, certificate and upstream. */
export function renderRecipe({ httpPort, httpsPort, cert, key, upstreamPort }) {
  let text = readFileSync(RECIPE, 'utf8');
  text = substitute(text, 'listen 80;', `listen 127.0.0.1:${httpPort};`);
  text = substitute(text, 'listen 443 ssl;', `listen 127.0.0.1:${httpsPort} ssl;`);
  text = substitute(text, '/etc/ssl/fila/fullchain.pem', cert);
  text = substitute(text, '/etc/ssl/fila/privkey.pem', key);
  text = substitute(text, 'server 127.0.0.1:3000;', `server 127.0.0.1:${upstreamPort};`);
  return text;
}

/**
 * Starts contrib/nginx.conf in front of Fila on 127.0.0.1:`upstreamPort`; resolves once
 * `https://127.0.0.1:PORT/healthz` answers 200 through it. Answers `{base, httpBase, port,
 * httpsPort, cert, stop()}`; `base` is the https address.
 */
export async function startTlsNginx(upstreamPort) {
  const prefix = mkdtempSync(path.join(tmpdir(), 'fila-nginx-tls-'));
  const [httpPort, httpsPort] = [await freePort(), await freePort()];
  const { cert, key } = selfSignedCertificate(prefix);
  writeFileSync(path.join(prefix, 'fila.conf'), renderRecipe({ httpPort, httpsPort, cert, key, upstreamPort }));
  const conf = path.join(prefix, 'nginx.conf');
  writeFileSync(conf, nginxMainConfig(prefix, `  include ${prefix}/fila.conf;`));
  const child = spawn(nginxBinary(), ['-e', path.join(prefix, 'error.log'), '-c', conf, '-p', prefix, '-g', 'daemon off;'],
    { stdio: ['ignore', 'ignore', 'pipe'] });
  running.add(child);
  let output = '';
  child.stderr.on('data', (chunk) => { output += chunk; });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => { running.delete(child); resolve({ code, signal }); }));
  let gone = null;
  exited.then((how) => { gone = how; });
  const log = () => {
    try { return readFileSync(path.join(prefix, 'error.log'), 'utf8'); } catch { return ''; }
  };
  const proxy = {
    base: `https://127.0.0.1:${httpsPort}`,
    httpBase: `http://127.0.0.1:${httpPort}`,
    httpsPort,
    cert,
    log,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(prefix, { recursive: true, force: true });
    },
  };
  for (let i = 0; i < 100 && !gone; i++) {
    try {
      const res = await httpsRequest(`${proxy.base}/healthz`, { ca: readFileSync(cert) });
      if (res.status === 200) return proxy;
    } catch { /* not listening yet */ }
    await sleep(50);
  }
  const why = gone ? `exited (${gone.code ?? gone.signal})` : 'did not answer within 5 s';
  const detail = `${output}${log()}`;
  await proxy.stop();
  throw new Error(`nginx ${why}:\n${detail}`);
}
