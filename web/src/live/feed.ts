// Keeps one screen's list in step with the server, without gaps or duplicates.
//
// The list is loaded with its `X-Event-Seq` (the seq it already reflects). Live events with
// `seq <= lastSeq` are ignored; a jump (`seq > lastSeq + 1`) or a reconnect fetches the missed
// rows from `GET /api/events?since=lastSeq` until none are left, and applies them in order.
// If the server no longer keeps that far back (410) the list is simply reloaded. Everything
// runs through one promise chain, so events are applied one at a time, in order.

import type { ApiClient } from '../api/client';
import { ApiError } from '../api/errors';
import type { LiveEvent } from '../api/types';
import type { LiveSocket } from './socket';

const PAGE = 100;
const RETRY_MS = 2_000;

export interface FeedOptions {
  api: ApiClient;
  socket: LiveSocket;
  /** Loads the whole list and returns the seq it reflects (null if the server did not say). */
  load: () => Promise<number | null>;
  /** Applies one event to the list; must be harmless when repeated. */
  apply: (event: LiveEvent) => void;
  onError?: (err: unknown) => void;
}

export class Feed {
  private lastSeq: number | null = null;
  private loaded = false;
  private chain: Promise<void> = Promise.resolve();
  private stopped = false;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private unsubscribers: Array<() => void> = [];

  constructor(private readonly options: FeedOptions) {}

  start(): void {
    const { socket } = this.options;
    // Subscribe before loading, so nothing emitted during the load is missed.
    this.unsubscribers.push(socket.onEvent((event) => this.enqueue(() => this.handle(event))));
    this.unsubscribers.push(socket.onConnect(() => this.enqueue(() => this.catchUp())));
    this.reload();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    for (const unsubscribe of this.unsubscribers) unsubscribe();
    this.unsubscribers = [];
  }

  /** Loads the list again from scratch (e.g. the clinic's day changed). */
  reload(): void {
    this.enqueue(() => this.load());
  }

  private enqueue(task: () => Promise<void>): void {
    this.chain = this.chain.then(async () => {
      if (this.stopped) return;
      try {
        await task();
      } catch (err) {
        this.options.onError?.(err);
        this.scheduleRetry();
      }
    });
  }

  private scheduleRetry(): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(
      () => this.enqueue(() => (this.loaded ? this.catchUp() : this.load())),
      RETRY_MS,
    );
  }

  private async load(): Promise<void> {
    this.loaded = false;
    this.lastSeq = await this.options.load();
    this.loaded = true;
  }

  private async handle(event: LiveEvent): Promise<void> {
    if (!this.loaded) return; // a load is pending or being retried; it will include this.
    if (event.seq === null || this.lastSeq === null) {
      // Without sequence numbers there is nothing to order by: apply as it comes.
      this.options.apply(event);
      return;
    }
    if (event.seq <= this.lastSeq) return;
    if (event.seq > this.lastSeq + 1) {
      // A gap: the missed events come from the log, and this one with them.
      await this.catchUp();
      if (event.seq <= (this.lastSeq ?? 0)) return;
    }
    this.options.apply(event);
    this.lastSeq = event.seq;
  }

  private async catchUp(): Promise<void> {
    if (!this.loaded || this.lastSeq === null) {
      await this.load();
      return;
    }
    for (;;) {
      let rows: LiveEvent[];
      try {
        rows = (await this.options.api.get<LiveEvent[]>(
          `/api/events?since=${this.lastSeq}&limit=${PAGE}`,
        )).data;
      } catch (err) {
        if (err instanceof ApiError && err.status === 410) {
          await this.load();
          return;
        }
        throw err;
      }
      const fresh = rows
        .filter((row) => typeof row.seq === 'number' && row.seq > (this.lastSeq ?? 0))
        .sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0));
      if (fresh.length === 0) return;
      for (const row of fresh) {
        this.options.apply(row);
        this.lastSeq = row.seq;
      }
    }
  }
}
