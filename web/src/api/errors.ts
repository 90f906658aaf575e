// The API answers errors in the NestJS shape {statusCode, message, error}; `message` may be
// an array for validation failures. Staff read Portuguese, so known cases get a plain sentence.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly details: string[],
  ) {
    super(friendlyMessage(status, details));
  }
}

const KNOWN: Record<string, string> = {
  'jwt expired': 'Sua sessão expirou. Entre novamente.',
  'invalid token': 'Sessão inválida. Entre novamente.',
  'missing token': 'Sessão ausente. Entre novamente.',
  'invalid credentials': 'E-mail ou senha incorretos.',
};

/** Validation messages the server writes in English, said in Portuguese. */
const PATTERNS: Array<[RegExp, string]> = [
  [/valid cpf/i, 'CPF inválido: use 123.456.789-09 ou 11 dígitos.'],
  [/email or password|credentials/i, 'E-mail ou senha incorretos.'],
  [/cannot move an appointment/i, 'Esta mudança de situação não é permitida agora.'],
  [/hh:mm/i, 'Horário inválido (use HH:mm).'],
  [/yyyy-mm-dd/i, 'Data inválida.'],
];

function translate(detail: string): string {
  return KNOWN[detail.toLowerCase()] ?? PATTERNS.find(([re]) => re.test(detail))?.[1] ?? detail;
}

function friendlyMessage(status: number, details: string[]): string {
  const known = details.map((d) => KNOWN[d.toLowerCase()]).find(Boolean);
  if (known) return known;
  const detail = [...new Set(details.map(translate))].join('; ');
  switch (status) {
    case 0:
      return 'Sem conexão com o servidor. Verifique a rede e tente de novo.';
    case 400:
      return detail ? `Dados inválidos: ${detail}` : 'Dados inválidos.';
    case 401:
      return 'Sessão expirada. Entre novamente.';
    case 403:
      return 'Você não tem permissão para esta ação.';
    case 404:
      return 'Registro não encontrado (pode ter sido removido).';
    case 409:
      return detail || 'Esta mudança não é permitida no estado atual.';
    case 410:
      return 'Histórico indisponível; recarregando.';
    case 413:
      return 'Dados grandes demais.';
    case 429:
      return 'Muitas requisições. Aguarde alguns segundos e tente de novo.';
    default:
      return detail || `Erro no servidor (${status}). Tente de novo.`;
  }
}

export async function errorFromResponse(response: Response): Promise<ApiError> {
  let details: string[] = [];
  try {
    const body = (await response.json()) as { message?: unknown };
    if (Array.isArray(body.message)) details = body.message.map(String);
    else if (typeof body.message === 'string') details = [body.message];
  } catch {
    // Not JSON (a proxy error page, say): the status alone has to do.
  }
  return new ApiError(response.status, details);
}

/** A message fit for a toast from anything a request may throw. */
export function describeError(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  if (err instanceof TypeError) return new ApiError(0, []).message;
  return err instanceof Error ? err.message : String(err);
}
