// Short-lived messages in a corner: errors from the API and confirmations of actions.

import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from 'react';

type Tone = 'error' | 'success' | 'info';
/** A button in the toast, e.g. "Ver o dia" after a booking. */
export interface ToastAction {
  label: string;
  run: () => void;
}

interface Toast {
  id: number;
  text: string;
  tone: Tone;
  action?: ToastAction;
}

interface ToastApi {
  show: (text: string, tone?: Tone, action?: ToastAction) => void;
}

const ToastContext = createContext<ToastApi>({ show: () => {} });

let nextId = 1;

export function ToastProvider({ children }: { children: ReactNode }) {
  const [toasts, setToasts] = useState<Toast[]>([]);

  const dismiss = useCallback((id: number) => setToasts((all) => all.filter((t) => t.id !== id)), []);

  const show = useCallback(
    (text: string, tone: Tone = 'info', action?: ToastAction) => {
      const id = nextId++;
      setToasts((all) => [...all.filter((t) => t.text !== text), { id, text, tone, action }].slice(-4));
      setTimeout(() => dismiss(id), tone === 'error' || action ? 8000 : 3500);
    },
    [dismiss],
  );

  const api = useMemo(() => ({ show }), [show]);

  return (
    <ToastContext.Provider value={api}>
      {children}
      <div className="toasts" role="status" aria-live="polite">
        {toasts.map((t) => (
          <div key={t.id} className={`toast toast-${t.tone}`} data-testid="toast">
            <span onClick={() => dismiss(t.id)}>{t.text}</span>
            {t.action && (
              <button
                type="button"
                className="toast-action"
                onClick={() => {
                  dismiss(t.id);
                  t.action?.run();
                }}
              >
                {t.action.label}
              </button>
            )}
          </div>
        ))}
      </div>
    </ToastContext.Provider>
  );
}

export function useToast(): ToastApi {
  return useContext(ToastContext);
}
