// Finding a patient by what the receptionist types: a name (or part of it), a CPF, or a phone.

import type { ApiClient } from '../api/client';
import type { Patient } from '../api/types';
import { cpfDigits, formatCpf, isValidCpf } from './cpf';

export async function searchPatients(api: ApiClient, typed: string, limit = 20): Promise<Patient[]> {
  const q = typed.trim();
  if (/\p{L}/u.test(q)) {
    return (await api.get<Patient[]>(`/api/patients?name=${encodeURIComponent(q)}&limit=${limit}`)).data;
  }
  const digits = cpfDigits(q);
  if (digits.length === 11 && isValidCpf(digits)) {
    const byCpf = await findAllByCpf(api, q);
    if (byCpf.length > 0) return byCpf;
  }
  // Part of a phone number, as typed ("99999-0000", "(81) 9999").
  return (await api.get<Patient[]>(`/api/patients?phone=${encodeURIComponent(q)}&limit=${limit}`)).data;
}

export async function findAllByCpf(api: ApiClient, typed: string): Promise<Patient[]> {
  const variants = [...new Set([formatCpf(typed), cpfDigits(typed)])];
  for (const cpf of variants) {
    const { data } = await api.get<Patient[]>(`/api/patients?cpf=${encodeURIComponent(cpf)}&limit=10`);
    if (data.length > 0) return data;
  }
  return [];
}

export async function findByCpf(api: ApiClient, typed: string): Promise<Patient | null> {
  try {
    const found = await findAllByCpf(api, typed);
    return found.find((p) => cpfDigits(p.cpf ?? '') === cpfDigits(typed)) ?? null;
  } catch {
    return null;
  }
}
