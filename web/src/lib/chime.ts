// A two-note chime made with the Web Audio API (no audio file to ship or load).
// Browsers only let audio start after a user gesture; `unlock()` is called from one.

let context: AudioContext | null = null;

function audio(): AudioContext | null {
  if (context) return context;
  const Ctor = window.AudioContext ?? (window as unknown as { webkitAudioContext?: typeof AudioContext }).webkitAudioContext;
  if (!Ctor) return null;
  context = new Ctor();
  return context;
}

/** True when the browser still blocks sound until someone touches the page. */
export function soundBlocked(): boolean {
  const ctx = audio();
  return ctx !== null && ctx.state !== 'running';
}

export async function unlockSound(): Promise<void> {
  const ctx = audio();
  if (ctx && ctx.state !== 'running') await ctx.resume().catch(() => {});
}

export function playChime(): void {
  const ctx = audio();
  if (!ctx) return;
  if (ctx.state !== 'running') void ctx.resume().catch(() => {});
  const start = ctx.currentTime + 0.05;
  // A falling major third (E5 → C5), soft attack and long decay: noticeable, not alarming.
  tone(ctx, 659.25, start, 1.2);
  tone(ctx, 523.25, start + 0.45, 1.6);
}

function tone(ctx: AudioContext, frequency: number, at: number, duration: number): void {
  const osc = ctx.createOscillator();
  const gain = ctx.createGain();
  osc.type = 'sine';
  osc.frequency.setValueAtTime(frequency, at);
  gain.gain.setValueAtTime(0.0001, at);
  gain.gain.exponentialRampToValueAtTime(0.35, at + 0.03);
  gain.gain.exponentialRampToValueAtTime(0.0001, at + duration);
  osc.connect(gain).connect(ctx.destination);
  osc.start(at);
  osc.stop(at + duration + 0.05);
}
