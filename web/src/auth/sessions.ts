// The two sessions of the app: staff log in with email and password; the TV panel trades an
// API key (stored in this browser by the master) for its token and re-trades it on its own.

import { ApiError, errorFromResponse } from '../api/errors';
import type { TokenAnswer } from '../api/types';
import { RenewError, Session } from './session';

const USER_TOKEN_KEY = 'fila.session';
const PANEL_TOKEN_KEY = 'fila.painel.session';
export const PANEL_API_KEY = 'fila.painel.apiKey';

async function postForToken(path: string, body: unknown, bearer: string | null): Promise<TokenAnswer> {
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

export function panelApiKey(): string | null {
  return localStorage.getItem(PANEL_API_KEY);
}

export function storePanelApiKey(key: string): void {
  localStorage.setItem(PANEL_API_KEY, key.trim());
  localStorage.removeItem(PANEL_KEY_REFUSED);
  localStorage.removeItem(PANEL_TOKEN_KEY);
}

export function forgetPanelApiKey(): void {
  localStorage.removeItem(PANEL_API_KEY);
  panelSession.clear();
}

/** Panel session: every renewal trades the stored API key again, so it never needs a person. */
/** A refused key (revoked, or from another server) is forgotten, so the panel asks for a new one. */
export const panelSession = new Session(PANEL_TOKEN_KEY, async () => {
  const apiKey = panelApiKey();
  if (!apiKey) throw new RenewError('no api key', 'rejected');
  try {
    return await postForToken('/api/auth/token', { apiKey }, null);
  } catch (err) {
    if (err instanceof RenewError && err.kind === 'rejected') {
      localStorage.removeItem(PANEL_API_KEY);
      localStorage.setItem(PANEL_KEY_REFUSED, '1');
    }
    throw err;
  }
});

/** Set when the stored key was refused; the setup form says so. */
export const PANEL_KEY_REFUSED = 'fila.painel.keyRefused';

/** Trades a key once, to check it before keeping it. */
export async function tradeApiKey(apiKey: string): Promise<TokenAnswer> {
  try {
    return await postForToken('/api/auth/token', { apiKey: apiKey.trim() }, null);
  } catch (err) {
    if (err instanceof RenewError && err.kind === 'offline') throw new ApiError(0, []);
    throw err;
  }
}
