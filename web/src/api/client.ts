// Fetch wrapper bound to a Session: adds the Bearer token, and on a 401 renews the token once
// and retries; if the server still says 401 the session is cleared (the app then shows the
// login, or the panel re-trades its API key).

import type { Session } from '../auth/session';
import { ApiError, errorFromResponse } from './errors';

export interface ApiResult<T> {
  data: T;
  /** The `X-Event-Seq` header: the account's latest event seq when the list was read. */
  seq: number | null;
}

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

export class ApiClient {
  constructor(private readonly session: Session) {}

  get<T>(path: string): Promise<ApiResult<T>> {
    return this.request<T>('GET', path);
  }

  post<T>(path: string, body?: unknown): Promise<ApiResult<T>> {
    return this.request<T>('POST', path, body);
  }

  patch<T>(path: string, body?: unknown): Promise<ApiResult<T>> {
    return this.request<T>('PATCH', path, body);
  }

  delete<T>(path: string): Promise<ApiResult<T>> {
    return this.request<T>('DELETE', path);
  }

  /** A GET answered as text, e.g. a report as CSV (`Accept: text/csv`). */
  async text(path: string, accept = 'text/csv'): Promise<string> {
    let token = this.session.token() ?? (await this.session.refresh());
    const get = (t: string | null) =>
      fetch(path, {
        headers: { Accept: accept, ...(t ? { Authorization: `Bearer ${t}` } : {}) },
        cache: 'no-store',
      }).catch(() => {
        throw new ApiError(0, []);
      });
    let response = await get(token);
    if (response.status === 401) {
      token = await this.session.refresh();
      if (token) response = await get(token);
    }
    if (!response.ok) throw await errorFromResponse(response);
    return response.text();
  }

  async request<T>(method: Method, path: string, body?: unknown): Promise<ApiResult<T>> {
    let token = this.session.token() ?? (await this.session.refresh());
    let response = await send(method, path, body, token);
    if (response.status === 401) {
      token = await this.session.refresh();
      if (token) response = await send(method, path, body, token);
      if (response.status === 401) this.session.clear();
    }
    if (!response.ok) throw await errorFromResponse(response);
    return { data: await readBody<T>(response), seq: readSeq(response) };
  }
}

/** A request without a session (login, token trade). */
export async function publicPost<T>(path: string, body: unknown): Promise<T> {
  const response = await send('POST', path, body, null);
  if (!response.ok) throw await errorFromResponse(response);
  return readBody<T>(response);
}

async function send(
  method: Method,
  path: string,
  body: unknown,
  token: string | null,
): Promise<Response> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  try {
    return await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(0, []);
  }
}

async function readBody<T>(response: Response): Promise<T> {
  const text = await response.text();
  return (text ? JSON.parse(text) : null) as T;
}

function readSeq(response: Response): number | null {
  const raw = response.headers.get('X-Event-Seq');
  if (raw === null || raw.trim() === '') return null;
  const seq = Number(raw);
  return Number.isFinite(seq) ? seq : null;
}
