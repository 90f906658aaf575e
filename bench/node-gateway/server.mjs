// The Node.js Socket.IO gateway that Fila replaces: the opponent of the fan-out benchmark.
//
//   node server.mjs --port 4000 --secret SECRET [--host 127.0.0.1]
//   (or PORT, HOST, JWT_SECRET in the environment)
//
// - Socket.IO v4 on /socket.io/, websocket and polling, the same ping and payload settings
//   as Fila's gateway (src/realtime/mod.rs).
// - Handshake: an HS256 JWT from `auth.token` or the `Authorization` header (`Bearer `
//   optional); refused with `missing token`, `invalid token` or `jwt expired`.
// - The socket joins `orders.account.{accountId}`.
// - `POST /broadcast` `{accountId, event, data, seq}` emits `(data, {seq, at})` to that room
//   (what Fila's relay does after a commit) and answers 204. Without `seq`, the gateway
//   numbers the account's broadcasts itself in the order they reach it (as Fila's event log
//   numbers commits): the benchmark's burst mode fires many at once.
// - `GET /stats` answers `{"rss": bytes, "sockets": n}` (process RSS).
import http from 'node:http';
import { Server } from 'socket.io';
import jwt from 'jsonwebtoken';

function arg(name, env, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  if (i >= 0 && i + 1 < process.argv.length) return process.argv[i + 1];
  return process.env[env] ?? fallback;
}

const port = Number(arg('port', 'PORT', '4000'));
const host = arg('host', 'HOST', '127.0.0.1');
const secret = arg('secret', 'JWT_SECRET', undefined);
if (!secret) {
  console.error('usage: node server.mjs --port PORT --secret JWT_SECRET');
  process.exit(2);
}

const room = (accountId) => `orders.account.${accountId}`;
const lastSeq = new Map(); // accountId → the last seq emitted
const MAX_BODY = 1024 * 1024;

const httpServer = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/stats') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ rss: process.memoryUsage.rss(), sockets: io.engine.clientsCount }));
    return;
  }
  if (req.method === 'POST' && req.url === '/broadcast') {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > MAX_BODY) req.destroy();
      else chunks.push(c);
    });
    req.on('end', () => {
      let body;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        res.writeHead(400).end('bad json');
        return;
      }
      const { accountId, event, data } = body;
      let { seq } = body;
      if (accountId == null || typeof event !== 'string' || !(seq == null || Number.isInteger(seq))) {
        res.writeHead(400).end('need accountId, event, data, and an integer seq or none');
        return;
      }
      if (seq == null) seq = (lastSeq.get(accountId) ?? 0) + 1;
      lastSeq.set(accountId, Math.max(seq, lastSeq.get(accountId) ?? 0));
      io.to(room(accountId)).emit(event, data, { seq, at: new Date().toISOString() });
      res.writeHead(204).end();
    });
    return;
  }
  // Anything else that is not Socket.IO (socket.io handles /socket.io/ itself).
  if (!req.url.startsWith('/socket.io/')) res.writeHead(404).end();
});

const io = new Server(httpServer, {
  pingInterval: 20_000,
  pingTimeout: 20_000,
  maxHttpBufferSize: 16 * 1024,
  cors: { origin: true },
});

io.use((socket, next) => {
  const header = socket.handshake.headers.authorization;
  let token = header || socket.handshake.auth?.token;
  if (typeof token === 'string') token = token.replace(/^Bearer /i, '').trim();
  if (!token) return next(new Error('missing token'));
  try {
    const claims = jwt.verify(token, secret, { algorithms: ['HS256'] });
    if (claims.accountId == null) return next(new Error('invalid token'));
    socket.data.accountId = claims.accountId;
    return next();
  } catch (e) {
    return next(new Error(e instanceof jwt.TokenExpiredError ? 'jwt expired' : 'invalid token'));
  }
});

io.on('connection', (socket) => {
  socket.join(room(socket.data.accountId));
});

httpServer.listen(port, host, () => {
  console.log(JSON.stringify({ listening: `${host}:${port}`, pid: process.pid }));
});

const stop = () => {
  io.close();
  httpServer.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
