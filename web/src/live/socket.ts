// One Socket.IO connection per session, shared by every screen of the tab.
//
// The token goes in the handshake's `auth`. Three ways the token can go stale, and what we do:
// - it is renewed while connected: a new socket is opened with the fresh token and the old one
//   closed once the new one is in (make-before-break; events seen on both are dropped by seq);
// - the server disconnects at expiry (`io server disconnect`), which socket.io-client never
//   retries by itself: renew, then `connect()`;
// - the handshake is refused (`jwt expired` / `invalid token`): renew, then retry with backoff.
// Network drops are retried by socket.io-client itself.

import { io, type Socket } from 'socket.io-client';
import type { LiveEvent } from '../api/types';
import type { Session } from '../auth/session';

export type LiveStatus = 'connecting' | 'live' | 'reconnecting' | 'offline';

const AUTH_ERRORS = ['jwt expired', 'invalid token', 'missing token'];

export class LiveSocket {
  private current: Socket | null = null;
  private sockets = new Set<Socket>();
  private tokenOf = new WeakMap<Socket, string>();
  private eventListeners = new Set<(event: LiveEvent) => void>();
  private connectListeners = new Set<() => void>();
  private statusListeners = new Set<(status: LiveStatus) => void>();
  private unsubscribeSession: (() => void) | null = null;
  private authBackoffMs = 250;
  status: LiveStatus = 'connecting';

  constructor(private readonly session: Session) {}

  start(): void {
    if (this.current) return;
    this.current = this.open();
    this.unsubscribeSession = this.session.subscribe(this.onTokenChange);
  }

  close(): void {
    this.unsubscribeSession?.();
    this.unsubscribeSession = null;
    for (const socket of this.sockets) socket.disconnect();
    this.sockets.clear();
    this.current = null;
    this.setStatus('offline');
  }

  /** Every server event, as `{seq, event, data, at}`. */
  onEvent(listener: (event: LiveEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  /** Each time a connection is (re)established: the moment to fetch what was missed. */
  onConnect(listener: () => void): () => void {
    this.connectListeners.add(listener);
    return () => this.connectListeners.delete(listener);
  }

  onStatus(listener: (status: LiveStatus) => void): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  private open(): Socket {
    const socket = io({
      auth: (cb) => {
        const token = this.session.token() ?? '';
        this.tokenOf.set(socket, token);
        cb({ token });
      },
      transports: ['websocket', 'polling'],
      forceNew: true,
    });
    this.sockets.add(socket);

    socket.onAny((event: string, data: unknown, meta?: { seq?: number; at?: string }) => {
      if (!this.sockets.has(socket)) return;
      const seq = typeof meta?.seq === 'number' ? meta.seq : null;
      const live: LiveEvent = { seq, event, data, at: meta?.at };
      for (const listener of this.eventListeners) listener(live);
    });
    socket.on('connect', () => {
      if (socket !== this.current) return;
      this.authBackoffMs = 250;
      this.setStatus('live');
      for (const listener of this.connectListeners) listener();
    });
    socket.on('disconnect', (reason) => {
      if (socket !== this.current) return;
      this.setStatus('reconnecting');
      if (reason === 'io server disconnect') void this.reauthenticate(socket);
    });
    socket.on('connect_error', (err: Error) => {
      if (socket !== this.current) return;
      this.setStatus('reconnecting');
      const authProblem = AUTH_ERRORS.includes(err.message);
      if (authProblem || !socket.active) void this.reauthenticate(socket);
    });
    return socket;
  }

  private async reauthenticate(socket: Socket): Promise<void> {
    const delay = this.authBackoffMs;
    this.authBackoffMs = Math.min(this.authBackoffMs * 2, 30_000);
    const token = await this.session.refresh();
    if (!token || socket !== this.current) return;
    setTimeout(() => {
      if (socket === this.current && !socket.connected && !socket.active) socket.connect();
    }, delay);
  }

  private onTokenChange = (): void => {
    const token = this.session.token();
    const current = this.current;
    if (!token || !current) return;
    if (!current.connected || this.tokenOf.get(current) === token) return;
    this.handover(current);
  };

  /** Opens a socket with the fresh token and retires `old` once the new one is connected. */
  private handover(old: Socket): void {
    const fresh = this.open();
    this.current = fresh;
    fresh.once('connect', () => {
      this.sockets.delete(old);
      old.disconnect();
    });
  }

  private setStatus(status: LiveStatus): void {
    if (this.status === status) return;
    this.status = status;
    for (const listener of this.statusListeners) listener(status);
  }
}
