// A real nginx (Debian's `nginx` package, installed by scripts/setup) in front of a test
// server, run as a child process with a config of its own in a temp dir: never the system
// service, never /etc/nginx. It forwards the way docs/deployment.md says: X-Forwarded-For
// (`$proxy_add_x_forwarded_for`: what the client sent, then the client's address),
// X-Forwarded-Proto, X-Forwarded-Host (`$http_host`, which keeps the port; `$host` drops it)
// and the websocket upgrade. `Host` is left as nginx sends it (the upstream's address), so a
// status link can only name nginx through X-Forwarded-Host.

import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, sleep } from './helpers.mjs';

const running = new Set();
process.on('exit', () => {
  for (const child of running) {
    try { child.kill('SIGKILL'); } catch { /* already gone */ }
  }
});

/** The nginx binary, or a clear error naming scripts/setup. */
function nginxBinary() {
  for (const candidate of ['/usr/sbin/nginx', '/usr/bin/nginx']) {
    if (existsSync(candidate)) return candidate;
  }
  try {
    return execFileSync('sh', ['-c', 'command -v nginx'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('nginx is not installed (run scripts/setup)');
  }
}

/**
 * The main nginx configuration of a test instance under `prefix` (its logs, pid and temp
 * folders there), with `http` (the servers) inside its `http { }` block.
 */
export function nginxMainConfig(prefix, http) {
  // As root, the workers would switch to an unprivileged user that cannot use the temp dir.
  const user = process.getuid?.() === 0 ? 'user root root;' : '';
  return `
${user}
worker_processes 1;
error_log ${prefix}/error.log warn;
pid ${prefix}/nginx.pid;
events { worker_connections 512; }
http {
  access_log off;
  client_body_temp_path ${prefix}/client_body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
${http}
}
`;
}

function config({ prefix, port, upstream }) {
  return nginxMainConfig(prefix, `
  map $http_upgrade $connection_upgrade {
    default upgrade;
    '' close;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass ${upstream};
      proxy_http_version 1.1;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $http_host;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_read_timeout 75s;
      proxy_buffering off;
    }
  }`);
}

/**
 * Starts nginx on a free 127.0.0.1 port in front of `upstream` (`http://127.0.0.1:PORT`);
 * resolves once it answers `/healthz` through to the upstream. `stop()` ends it (SIGTERM) and
 * removes its folder.
 */
export async function startNginx(upstream) {
  const bin = nginxBinary();
  const prefix = mkdtempSync(path.join(tmpdir(), 'fila-nginx-'));
  const port = await freePort();
  const conf = path.join(prefix, 'nginx.conf');
  writeFileSync(conf, config({ prefix, port, upstream }));
  const child = spawn(bin, ['-e', path.join(prefix, 'error.log'), '-c', conf, '-p', prefix, '-g', 'daemon off;'],
    { stdio: ['ignore', 'ignore', 'pipe'] });
  running.add(child);
  let output = '';
  child.stderr.on('data', (chunk) => { output += chunk; });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => { running.delete(child); resolve({ code, signal }); }));
  const base = `http://127.0.0.1:${port}`;
  const log = () => {
    try { return readFileSync(path.join(prefix, 'error.log'), 'utf8'); } catch { return ''; }
  };
  const proxy = {
    base,
    port,
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
  let gone = null;
  exited.then((how) => { gone = how; });
  for (let i = 0; i < 100; i++) {
    if (gone) break;
    try {
      const res = await fetch(`${base}/healthz`);
      if (res.status === 200) return proxy;
    } catch { /* not listening yet */ }
    await sleep(50);
  }
  const why = gone ? `exited (${gone.code ?? gone.signal})` : 'did not answer within 5 s';
  const detail = `${output}${log()}`;
  await proxy.stop();
  throw new Error(`nginx ${why}:\n${detail}`);
}
