// "Ao vivo" when the socket is connected. A reconnect that lasts a blink (token handover,
// server restart) should not alarm anyone, so the warning shows only after a few seconds.

import { useEffect, useState } from 'react';
import type { LiveStatus } from '../live/socket';

const GRACE_MS = 3000;

export function LiveBadge({ status }: { status: LiveStatus }) {
  const [shown, setShown] = useState<LiveStatus>(status);
  useEffect(() => {
    if (status === 'live') {
      setShown('live');
      return;
    }
    const timer = setTimeout(() => setShown(status), GRACE_MS);
    return () => clearTimeout(timer);
  }, [status]);

  const label = shown === 'live' ? 'Ao vivo' : shown === 'connecting' ? 'Conectando…' : 'Reconectando…';
  return (
    <span className={`live live-${shown === 'live' ? 'on' : 'off'}`} data-testid="live-status" data-status={status}>
      <span className="dot" aria-hidden />
      {label}
    </span>
  );
}
