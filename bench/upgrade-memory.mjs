import { once } from 'node:events';
// Server memory per connected socket by transport: websocket-only sessions against sessions
// that open by polling and upgrade (the socket.io-client default). Uses the protocol suite's
// helpers and its socket.io-client (npm --prefix tests/protocol ci):
//   FILA_BIN=target/release/fila N=1000 node bench/upgrade-memory.mjs
import { startServer, setupClinic, memoryMiB, sleep } from '../tests/protocol/helpers.mjs';
const N = Number(process.env.N ?? 1000);
for (const transports of [['websocket'], ['polling', 'websocket']]) {
  const server = await startServer();
  const c = await setupClinic(server);
  await sleep(500);
  const before = memoryMiB(server.pid).now;
  const sockets = [];
  for (let i = 0; i < N; i += 50) {
    const batch = await Promise.all(Array.from({ length: Math.min(50, N - i) }, () => server.connect(c.a.token, { transports })));
    for (const s of batch) if (s.io.engine.transport.name !== 'websocket') await once(s.io.engine, 'upgrade');
    sockets.push(...batch);
  }
  await sleep(2000);
  const after = memoryMiB(server.pid).now;
  console.log(`${transports.join('+')}: ${N} sockets, ${((after - before) * 1024 * 1024 / N / 1024).toFixed(1)} KB per socket`);
  await server.stop();
}
process.exit(0);
