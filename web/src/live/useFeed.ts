// React glue for Feed: one feed per screen, rebuilt when `key` changes (e.g. a new day).

import { useEffect, useRef } from 'react';
import type { ApiClient } from '../api/client';
import type { LiveEvent } from '../api/types';
import { Feed } from './feed';
import type { LiveSocket } from './socket';

export function useFeed(
  api: ApiClient | null,
  socket: LiveSocket | null,
  key: string,
  load: () => Promise<number | null>,
  apply: (event: LiveEvent) => void,
  onError?: (err: unknown) => void,
): void {
  // The latest callbacks, so the feed is not rebuilt on every render.
  const latest = useRef({ load, apply, onError });
  latest.current = { load, apply, onError };

  useEffect(() => {
    if (!api || !socket) return;
    const feed = new Feed({
      api,
      socket,
      load: () => latest.current.load(),
      apply: (event) => latest.current.apply(event),
      onError: (err) => latest.current.onError?.(err),
    });
    feed.start();
    return () => feed.stop();
  }, [api, socket, key]);
}
