import fetch from "node-fetch";
import { WebSocket } from "ws";
import chai from "chai";
import chaiString from "chai-string";

chai.use(chaiString);

// Fila: the suite is written for a browser too (index.html), where each WebSocket event is a
// task of its own: a listener added after `await waitFor(socket, "open")` gets the next
// message. `ws` emits the events of one TCP read one after another in the same tick, so with a
// server that writes its handshake right behind the 101 response (engineioxide's direct
// writes do) the test would listen too late. Here an event that comes in the same tick as the
// previous one waits for a task of its own; a lone event is emitted at once, as before.
const TASKED = new Set(["open", "message", "close"]);

class BrowserLikeWebSocket extends WebSocket {
  #pending = [];
  #busy = false;

  emit(event, ...args) {
    if (!TASKED.has(event)) return super.emit(event, ...args);
    if (this.#busy) {
      this.#pending.push([event, args]);
      return true;
    }
    this.#busy = true;
    super.emit(event, ...args);
    setImmediate(() => this.#next());
    return true;
  }

  #next() {
    const item = this.#pending.shift();
    if (!item) {
      this.#busy = false;
      return;
    }
    super.emit(item[0], ...item[1]);
    setImmediate(() => this.#next());
  }
}

globalThis.fetch = fetch;
globalThis.WebSocket = BrowserLikeWebSocket;
globalThis.chai = chai;
