// The totem's session: like the TV panel's, an API key kept in this browser and traded again
// for a token whenever one is needed, so the totem runs unattended.

import { RenewError, Session } from './session';
import { tradeApiKey } from './sessions';

const TOTEM_TOKEN_KEY = 'fila.totem.session';
export const TOTEM_API_KEY = 'fila.totem.apiKey';

export function totemApiKey(): string | null {
  return localStorage.getItem(TOTEM_API_KEY);
}

export function storeTotemApiKey(key: string): void {
  localStorage.setItem(TOTEM_API_KEY, key.trim());
  localStorage.removeItem(TOTEM_TOKEN_KEY);
}

export function forgetTotemApiKey(): void {
  localStorage.removeItem(TOTEM_API_KEY);
  totemSession.clear();
}

export const totemSession = new Session(TOTEM_TOKEN_KEY, async () => {
  const apiKey = totemApiKey();
  if (!apiKey) throw new RenewError('no api key', 'rejected');
  try {
    return await tradeApiKey(apiKey);
  } catch (err) {
    if (err instanceof RenewError) {
      // Refused (revoked, or from another server): forget it, so the setup form shows.
      localStorage.removeItem(TOTEM_API_KEY);
      throw err;
    }
    throw new RenewError('offline', 'offline');
  }
});
