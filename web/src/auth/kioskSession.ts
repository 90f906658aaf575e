// The session of an unattended screen (the TV panel, the self check-in totem): an API key kept
// in this browser (set up once by the master) and traded for a token with `POST
// /api/auth/token` whenever one is needed, so the screen never needs a person to log in again.
// One kind of kiosk per API key scope; each keeps its key and token under its own names.

import { ApiError } from '../api/errors';
import type { ApiKeyScope, TokenAnswer } from '../api/types';
import { RenewError, Session } from './session';
import { postForToken } from './sessions';

/** The scopes of the keys a kiosk runs on. */
export type KioskScope = Extract<ApiKeyScope, 'panel' | 'kiosk'>;

interface KioskStorage {
  apiKey: string;
  token: string;
  /** Set when the stored key was refused, so the setup form can say why it shows again. */
  refused?: string;
}

/** Where each kiosk keeps its key in localStorage; these names are what installed screens hold. */
export const KIOSK_STORAGE: Record<KioskScope, KioskStorage> = {
  panel: { apiKey: 'fila.painel.apiKey', token: 'fila.painel.session', refused: 'fila.painel.keyRefused' },
  kiosk: { apiKey: 'fila.totem.apiKey', token: 'fila.totem.session' },
};

/** Trades a key once, to check it before keeping it; a network failure is an `ApiError(0)`. */
export async function tradeApiKey(apiKey: string): Promise<TokenAnswer> {
  try {
    return await postForToken('/api/auth/token', { apiKey: apiKey.trim() }, null);
  } catch (err) {
    if (err instanceof RenewError && err.kind === 'offline') throw new ApiError(0, []);
    throw err;
  }
}

export class KioskSession {
  private readonly storage: KioskStorage;
  /** Every renewal trades the stored key again. A refused key (revoked, or from another server) is forgotten, so the setup form shows. */
  readonly session: Session;

  constructor(readonly scope: KioskScope) {
    this.storage = KIOSK_STORAGE[scope];
    this.session = new Session(this.storage.token, () => this.renew());
  }

  apiKey(): string | null {
    return localStorage.getItem(this.storage.apiKey);
  }

  /** Whether the last stored key was refused by the server (kept for the kiosks that say so). */
  wasRefused(): boolean {
    return this.storage.refused !== undefined && localStorage.getItem(this.storage.refused) !== null;
  }

  storeApiKey(key: string): void {
    localStorage.setItem(this.storage.apiKey, key.trim());
    if (this.storage.refused) localStorage.removeItem(this.storage.refused);
    localStorage.removeItem(this.storage.token);
  }

  forgetApiKey(): void {
    localStorage.removeItem(this.storage.apiKey);
    this.session.clear();
  }

  /** Checks a key by trading it, then keeps the key and the token it gave. */
  async activate(apiKey: string): Promise<void> {
    const answer = await tradeApiKey(apiKey);
    this.storeApiKey(apiKey);
    this.session.store(answer);
  }

  private async renew(): Promise<TokenAnswer> {
    const apiKey = this.apiKey();
    if (!apiKey) throw new RenewError('no api key', 'rejected');
    try {
      return await tradeApiKey(apiKey);
    } catch (err) {
      if (err instanceof RenewError) {
        localStorage.removeItem(this.storage.apiKey);
        if (this.storage.refused) localStorage.setItem(this.storage.refused, '1');
        throw err;
      }
      throw new RenewError('offline', 'offline');
    }
  }
}

/** The TV panel (/painel), on a `panel` key. */
export const panelKiosk = new KioskSession('panel');
/** The self check-in totem (/totem), on a `kiosk` key. */
export const totemKiosk = new KioskSession('kiosk');
