// How the waiting room hears and sees a patient's name: the first name and the initial of the
// family name, e.g. "José Carlos de Oliveira Filho" → "José O.". The initial skips the
// generational suffixes (Filho, Júnior, Neto, Sobrinho) and the particles (de, da, do, dos,
// das, e), which are not what a family is called by.

const SUFFIXES = new Set(['filho', 'filha', 'junior', 'jr', 'neto', 'neta', 'sobrinho', 'sobrinha']);
const PARTICLES = new Set(['de', 'da', 'do', 'dos', 'das', 'e', 'di', 'du', "d'"]);

function bare(word: string): string {
  return word
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/\.$/, '')
    .toLocaleLowerCase('pt-BR');
}

/** "Valentina Alves" → "Valentina A."; a single name stays as it is; empty → "—". */
export function callName(fullName: string | null | undefined): string {
  const parts = (fullName ?? '').trim().split(/\s+/).filter(Boolean);
  if (parts.length === 0) return '—';
  const first = parts[0];
  for (let i = parts.length - 1; i > 0; i--) {
    const word = bare(parts[i]);
    if (SUFFIXES.has(word) || PARTICLES.has(word)) continue;
    return `${first} ${parts[i][0].toLocaleUpperCase('pt-BR')}.`;
  }
  return first;
}

/** What the TV says for a call: "Valentina A., Sala 1" (the doctor's name when no room). */
export function spokenCall(fullName: string | null | undefined, room?: string | null, doctor?: string | null): string {
  const where = room?.trim() || doctor?.trim() || '';
  return where ? `${callName(fullName)}, ${where}` : callName(fullName);
}
