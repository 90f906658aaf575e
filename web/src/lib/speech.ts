// Spoken calls on the TV through the browser's speechSynthesis, in Brazilian Portuguese.
// The settings (on/off, voice, volume) are kept in this browser.

const ON_KEY = 'fila.painel.speech';
const VOICE_KEY = 'fila.painel.voice';
const VOLUME_KEY = 'fila.painel.volume';

export interface SpeechSettings {
  on: boolean;
  /** A voice's `voiceURI`, or '' for the browser's pt-BR default. */
  voice: string;
  /** 0 to 1. */
  volume: number;
}

export function speechAvailable(): boolean {
  return typeof window !== 'undefined' && 'speechSynthesis' in window && typeof SpeechSynthesisUtterance !== 'undefined';
}

export function loadSpeechSettings(): SpeechSettings {
  const volume = Number(localStorage.getItem(VOLUME_KEY) ?? '1');
  return {
    on: localStorage.getItem(ON_KEY) !== '0',
    voice: localStorage.getItem(VOICE_KEY) ?? '',
    volume: Number.isFinite(volume) ? Math.min(1, Math.max(0, volume)) : 1,
  };
}

export function saveSpeechSettings(settings: SpeechSettings): void {
  localStorage.setItem(ON_KEY, settings.on ? '1' : '0');
  localStorage.setItem(VOICE_KEY, settings.voice);
  localStorage.setItem(VOLUME_KEY, String(settings.volume));
}

/** The Portuguese voices first (pt-BR before other pt), then the rest. */
export function portugueseVoices(): SpeechSynthesisVoice[] {
  if (!speechAvailable()) return [];
  const rank = (v: SpeechSynthesisVoice) => (/^pt[-_]BR/i.test(v.lang) ? 0 : /^pt/i.test(v.lang) ? 1 : 2);
  return [...window.speechSynthesis.getVoices()].sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name));
}

/** Says `text` with the settings (queued after anything being said). */
export function speak(text: string, settings: SpeechSettings): void {
  if (!speechAvailable() || !settings.on || !text) return;
  const utterance = new SpeechSynthesisUtterance(text);
  utterance.lang = 'pt-BR';
  utterance.volume = settings.volume;
  utterance.rate = 0.95;
  const voices = window.speechSynthesis.getVoices();
  const voice = voices.find((v) => v.voiceURI === settings.voice) ?? voices.find((v) => /^pt[-_]BR/i.test(v.lang));
  if (voice) utterance.voice = voice;
  window.speechSynthesis.speak(utterance);
}
