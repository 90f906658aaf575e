import { useEffect, useState, useSyncExternalStore } from 'react';
import type { LiveSocket, LiveStatus } from '../live/socket';
import type { Session } from '../auth/session';

/** The current time, re-rendering every `intervalMs`. */
export function useNow(intervalMs = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(timer);
  }, [intervalMs]);
  return now;
}

/** Re-renders when the session's token appears, changes or goes away. */
export function useSessionToken(session: Session): string | null {
  return useSyncExternalStore(
    (onChange) => session.subscribe(onChange),
    () => session.token(),
  );
}

export function useLiveStatus(socket: LiveSocket | null): LiveStatus {
  const [status, setStatus] = useState<LiveStatus>(socket?.status ?? 'connecting');
  useEffect(() => {
    if (!socket) return;
    setStatus(socket.status);
    return socket.onStatus(setStatus);
  }, [socket]);
  return status;
}

/** "Fila · Agenda do dia" in the tab, so several open tabs can be told apart. */
export function usePageTitle(title: string): void {
  useEffect(() => {
    document.title = `${title} · Fila`;
  }, [title]);
}
