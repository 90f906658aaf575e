// A status move button. Moves that cost the patient something (Desfazer, Cancelar, Faltou,
// Finalizar) ask inline, saying what happens — a second click on "Sim" — instead of a browser
// dialog, which is easy to dismiss by accident on a tablet. "Não" has the focus.

import { useState } from 'react';
import type { Move } from '../lib/status';

export function MoveButton({ move, disabled, onRun }: { move: Move; disabled?: boolean; onRun: () => void }) {
  const [asking, setAsking] = useState(false);
  if (asking) {
    return (
      <span className="ask" role="group" aria-label={`${move.label}?`}>
        <span className="ask-text">{move.confirm}</span>
        <button className="btn btn-small btn-danger" onClick={() => { setAsking(false); onRun(); }}>
          Sim
        </button>
        <button className="btn btn-small btn-ghost" onClick={() => setAsking(false)} autoFocus>
          Não
        </button>
      </span>
    );
  }
  return (
    <button
      className={`btn btn-small btn-${move.tone}`}
      disabled={disabled}
      data-action={move.label}
      onClick={() => (move.confirm ? setAsking(true) : onRun())}
    >
      {move.label}
    </button>
  );
}
