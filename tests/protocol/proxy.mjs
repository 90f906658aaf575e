// A TCP proxy on loopback that stands for the network between a client and Fila: `cut()`
// drops every connection and refuses new ones (a network outage), `heal()` lets them in again,
// `target(port)` sends new connections to another server (a load balancer after a node died).

import { createServer, connect } from 'node:net';

export async function startProxy(targetPort) {
  let port = targetPort;
  let down = false;
  const open = new Set();
  const server = createServer((client) => {
    if (down) { client.destroy(); return; }
    const upstream = connect(port, '127.0.0.1');
    const pair = { client, upstream };
    open.add(pair);
    const close = () => { client.destroy(); upstream.destroy(); open.delete(pair); };
    client.on('error', close);
    upstream.on('error', close);
    client.on('close', close);
    upstream.on('close', close);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const proxy = {
    url: `http://127.0.0.1:${server.address().port}`,
    /** Drops every open connection and refuses new ones until `heal()`. */
    cut() {
      down = true;
      for (const { client, upstream } of open) { client.destroy(); upstream.destroy(); }
      open.clear();
    },
    heal() { down = false; },
    /** New connections go to `newPort`; open ones are dropped. */
    target(newPort) {
      port = newPort;
      for (const { client, upstream } of open) { client.destroy(); upstream.destroy(); }
      open.clear();
    },
    close() {
      proxy.cut();
      return new Promise((resolve) => server.close(resolve));
    },
  };
  return proxy;
}
