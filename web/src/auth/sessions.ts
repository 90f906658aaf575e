// The staff session: staff log in with email and password and renew with their token. The
// unattended screens (TV panel, totem) have their own session in kioskSession.ts.

import { errorFromResponse } from '../api/errors';
import type { TokenAnswer } from '../api/types';
import { RenewError, Session } from './session';

const USER_TOKEN_KEY = 'fila.session';

/** POSTs for a token; a refusal (400/401/403) is `rejected`, anything else `offline`. */
export async function postForToken(path: string, body: unknown, bearer: string | null): Promise<TokenAnswer> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  let response: Response;
  try {
    response = await fetch(path, { method: 'POST', headers, body: JSON.stringify(body ?? {}) });
  } catch {
    throw new RenewError('offline', 'offline');
  }
  if (response.ok) return (await response.json()) as TokenAnswer;
  const error = await errorFromResponse(response);
  const refused = response.status === 400 || response.status === 401 || response.status === 403;
  throw new RenewError(error.message, refused ? 'rejected' : 'offline');
}

/** Staff session: renewed with `POST /api/auth/refresh`; a refusal means log in again. */
export const userSession = new Session(USER_TOKEN_KEY, async (current) => {
  if (!current) throw new RenewError('not logged in', 'rejected');
  return postForToken('/api/auth/refresh', {}, current);
});
