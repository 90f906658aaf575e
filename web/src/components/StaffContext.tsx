// What every staff screen needs: the API client, the shared socket, who is logged in, and
// the clinic's settings and clock ("today" and "now" come from the server, never the browser).

import { createContext, useContext } from 'react';
import type { ApiClient } from '../api/client';
import type { Account, Me } from '../api/types';
import type { LiveSocket } from '../live/socket';

export interface Staff {
  api: ApiClient;
  socket: LiveSocket;
  me: Me;
  account: Account;
  /** Server clock minus browser clock, in ms: add to Date.now() to get the server's now. */
  skewMs: number;
  /** Re-reads the account (after settings change). */
  reloadAccount: () => Promise<void>;
}

export const StaffContext = createContext<Staff | null>(null);

export function useStaff(): Staff {
  const staff = useContext(StaffContext);
  if (!staff) throw new Error('useStaff outside StaffShell');
  return staff;
}
