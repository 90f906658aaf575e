// A renewable access token kept in localStorage, so a reload or a new tab keeps the session.
//
// The token is renewed at 80% of its lifetime. The lifetime is measured on the browser's own
// clock from the moment the token arrived (exp - iat only gives its length), so a browser
// whose clock is off from the server's still renews on time. A timer fires at the renewal
// moment; a slow interval and the page's visibility/online events cover the cases where that
// timer was frozen (laptop or tablet asleep, background tab throttled).

import type { TokenAnswer } from '../api/types';
import { decodeClaims } from './jwt';

interface StoredToken {
  token: string;
  /** Browser time (ms) when the token was received. */
  obtainedAt: number;
  /** Lifetime in ms (exp - iat). */
  lifetimeMs: number;
}

/** Why a renewal failed: `rejected` means the server refused (log in again), `offline` means try later. */
export class RenewError extends Error {
  constructor(
    message: string,
    readonly kind: 'rejected' | 'offline',
  ) {
    super(message);
  }
}

export type Renewer = (currentToken: string | null) => Promise<TokenAnswer>;

const RENEW_AT = 0.8;
const WATCH_INTERVAL_MS = 15_000;

export class Session {
  private inflight: Promise<string | null> | null = null;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private watcher: ReturnType<typeof setInterval> | undefined;
  private listeners = new Set<() => void>();
  private started = false;

  constructor(
    private readonly storageKey: string,
    private readonly renewer: Renewer,
  ) {}

  /** The current token, read from storage so every tab uses the newest one. */
  token(): string | null {
    return this.read()?.token ?? null;
  }

  isLoggedIn(): boolean {
    const stored = this.read();
    return stored !== null && Date.now() < stored.obtainedAt + stored.lifetimeMs;
  }

  store(answer: TokenAnswer): void {
    const claims = decodeClaims(answer.accessToken);
    const seconds =
      claims?.exp && claims?.iat ? claims.exp - claims.iat : answer.expiresIn || 3600;
    const stored: StoredToken = {
      token: answer.accessToken,
      obtainedAt: Date.now(),
      lifetimeMs: seconds * 1000,
    };
    localStorage.setItem(this.storageKey, JSON.stringify(stored));
    this.schedule();
    this.emit();
  }

  clear(): void {
    localStorage.removeItem(this.storageKey);
    clearTimeout(this.timer);
    this.emit();
  }

  /**
   * Gets a fresh token. Concurrent callers share one request. A refusal clears the session
   * (listeners see it logged out); a network failure keeps the current token for a later try.
   */
  refresh(): Promise<string | null> {
    if (!this.inflight) {
      this.inflight = this.doRefresh().finally(() => {
        this.inflight = null;
      });
    }
    return this.inflight;
  }

  /** Renews only if the token is past its renewal moment (or missing). */
  async ensureFresh(): Promise<string | null> {
    const stored = this.read();
    if (stored && Date.now() < this.renewAt(stored)) return stored.token;
    return this.refresh();
  }

  /** Starts the renewal timers; idempotent. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.schedule();
    this.watcher = setInterval(() => void this.ensureFresh().catch(() => {}), WATCH_INTERVAL_MS);
    document.addEventListener('visibilitychange', this.onWake);
    window.addEventListener('online', this.onWake);
    window.addEventListener('focus', this.onWake);
    window.addEventListener('storage', this.onStorage);
  }

  stop(): void {
    this.started = false;
    clearTimeout(this.timer);
    clearInterval(this.watcher);
    document.removeEventListener('visibilitychange', this.onWake);
    window.removeEventListener('online', this.onWake);
    window.removeEventListener('focus', this.onWake);
    window.removeEventListener('storage', this.onStorage);
  }

  /** Called with no argument whenever the token changes or goes away. */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private async doRefresh(): Promise<string | null> {
    // Read from storage: another tab may have renewed already, and its token renews as well.
    const stored = this.read();
    try {
      const answer = await this.renewer(stored?.token ?? null);
      this.store(answer);
      return answer.accessToken;
    } catch (err) {
      if (err instanceof RenewError && err.kind === 'rejected') {
        this.clear();
        return null;
      }
      // Offline or server restarting: keep what we have; the watcher retries.
      return this.token();
    }
  }

  private schedule(): void {
    clearTimeout(this.timer);
    if (!this.started) return;
    const stored = this.read();
    if (!stored) return;
    const delay = Math.max(0, this.renewAt(stored) - Date.now());
    // setTimeout overflows past ~24.8 days; the watcher covers anything that long anyway.
    this.timer = setTimeout(() => void this.ensureFresh(), Math.min(delay, 2 ** 31 - 1));
  }

  private renewAt(stored: StoredToken): number {
    return stored.obtainedAt + stored.lifetimeMs * RENEW_AT;
  }

  private read(): StoredToken | null {
    const raw = localStorage.getItem(this.storageKey);
    if (!raw) return null;
    try {
      const parsed = JSON.parse(raw) as StoredToken;
      return typeof parsed.token === 'string' ? parsed : null;
    } catch {
      return null;
    }
  }

  private emit(): void {
    for (const listener of this.listeners) listener();
  }

  private onWake = (): void => {
    if (document.visibilityState === 'visible') void this.ensureFresh().catch(() => {});
  };

  private onStorage = (event: StorageEvent): void => {
    if (event.key !== this.storageKey) return;
    this.schedule();
    this.emit();
  };
}
