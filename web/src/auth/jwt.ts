// Reads the claims of a JWT without verifying it: the browser only needs `iat`/`exp`
// to know when to renew; the server is the one that checks the signature.

export interface Claims {
  sub?: string | number;
  accountId?: number;
  apiKeyId?: number | null;
  iat?: number;
  exp?: number;
}

export function decodeClaims(token: string): Claims | null {
  const part = token.split('.')[1];
  if (!part) return null;
  try {
    const base64 = part.replace(/-/g, '+').replace(/_/g, '/');
    const padded = base64 + '='.repeat((4 - (base64.length % 4)) % 4);
    const json = new TextDecoder().decode(Uint8Array.from(atob(padded), (c) => c.charCodeAt(0)));
    return JSON.parse(json) as Claims;
  } catch {
    return null;
  }
}
