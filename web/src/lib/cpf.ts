// CPF (Brazilian taxpayer id): 11 digits, the last two are check digits (mod 11).

export function cpfDigits(input: string): string {
  return input.replace(/\D/g, '');
}

/** Accepts `123.456.789-09` or 11 bare digits with valid check digits. */
export function isValidCpf(input: string): boolean {
  const trimmed = input.trim();
  if (!/^(\d{3}\.\d{3}\.\d{3}-\d{2}|\d{11})$/.test(trimmed)) return false;
  const digits = cpfDigits(trimmed);
  if (/^(\d)\1{10}$/.test(digits)) return false; // 000.000.000-00 and friends pass the maths
  return checkDigit(digits, 9) === Number(digits[9]) && checkDigit(digits, 10) === Number(digits[10]);
}

function checkDigit(digits: string, length: number): number {
  let sum = 0;
  for (let i = 0; i < length; i++) sum += Number(digits[i]) * (length + 1 - i);
  const rest = (sum * 10) % 11;
  return rest === 10 ? 0 : rest;
}

/** Formats as the user types: 12345678909 → 123.456.789-09. */
export function formatCpf(input: string): string {
  const d = cpfDigits(input).slice(0, 11);
  if (d.length <= 3) return d;
  if (d.length <= 6) return `${d.slice(0, 3)}.${d.slice(3)}`;
  if (d.length <= 9) return `${d.slice(0, 3)}.${d.slice(3, 6)}.${d.slice(6)}`;
  return `${d.slice(0, 3)}.${d.slice(3, 6)}.${d.slice(6, 9)}-${d.slice(9)}`;
}
