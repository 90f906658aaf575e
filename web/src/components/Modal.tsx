// A modal dialog: keeps the keyboard focus inside while open (Tab and Shift+Tab cycle), closes
// on Escape or a click on the backdrop through `onClose` (which may ask before closing), and
// gives the focus back to what had it before — or, when that element is gone (its row changed),
// to the page's heading — when it closes. Dialogs stack: only the top one reacts to keys.

import { useEffect, useId, useRef, useState, type ReactNode } from 'react';

const FOCUSABLE =
  'a[href], button:not([disabled]), input:not([disabled]):not([type="hidden"]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

const stack: HTMLElement[] = [];

export function Modal({
  title,
  onClose,
  children,
  wide,
  role = 'dialog',
  testId,
}: {
  title: string;
  onClose: () => void;
  children: ReactNode;
  wide?: boolean;
  role?: 'dialog' | 'alertdialog';
  testId?: string;
}) {
  const ref = useRef<HTMLDivElement>(null);
  const titleId = useId();
  const onCloseRef = useRef(onClose);
  onCloseRef.current = onClose;
  // Read while rendering, before an autoFocus field inside takes the focus.
  const [opener] = useState(() => (document.activeElement instanceof HTMLElement ? document.activeElement : null));

  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    stack.push(dialog);
    // Focus the first field (or autofocus target) unless something inside already has it.
    if (!dialog.contains(document.activeElement)) {
      const auto = dialog.querySelector<HTMLElement>('[autofocus], [data-autofocus]');
      const first = auto ?? dialog.querySelector<HTMLElement>(`.modal-body ${FOCUSABLE}`) ?? dialog;
      first.focus();
    }
    const onKey = (e: KeyboardEvent) => {
      if (stack[stack.length - 1] !== dialog) return;
      if (e.key === 'Escape') {
        e.preventDefault();
        onCloseRef.current();
        return;
      }
      if (e.key !== 'Tab') return;
      const items = [...dialog.querySelectorAll<HTMLElement>(FOCUSABLE)].filter((el) => el.offsetParent !== null);
      if (items.length === 0) {
        e.preventDefault();
        dialog.focus();
        return;
      }
      const first = items[0];
      const last = items[items.length - 1];
      const active = document.activeElement;
      if (e.shiftKey && (active === first || !dialog.contains(active))) {
        e.preventDefault();
        last.focus();
      } else if (!e.shiftKey && (active === last || !dialog.contains(active))) {
        e.preventDefault();
        first.focus();
      }
    };
    // Focus that wanders out (a click on the backdrop) comes back in.
    const onFocusIn = (e: FocusEvent) => {
      if (stack[stack.length - 1] !== dialog) return;
      if (e.target instanceof Node && !dialog.contains(e.target)) dialog.focus();
    };
    document.addEventListener('keydown', onKey);
    document.addEventListener('focusin', onFocusIn);
    return () => {
      document.removeEventListener('keydown', onKey);
      document.removeEventListener('focusin', onFocusIn);
      const at = stack.indexOf(dialog);
      if (at >= 0) stack.splice(at, 1);
      // After React has committed the change that closed us, the opener may be gone.
      setTimeout(() => {
        // Someone (the dialog below this one, or the page) already placed the focus.
        const active = document.activeElement;
        if (active && active !== document.body && active.isConnected) return;
        if (opener && opener.isConnected && !opener.hasAttribute('disabled')) opener.focus();
        else document.querySelector<HTMLElement>('main h1')?.focus();
      }, 0);
    };
  }, [opener]);

  return (
    <div className="modal-backdrop" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <div
        ref={ref}
        className={`modal ${wide ? 'modal-wide' : ''}`}
        role={role}
        aria-modal="true"
        aria-labelledby={titleId}
        tabIndex={-1}
        data-testid={testId}
      >
        <header className="modal-head">
          <h2 id={titleId}>{title}</h2>
          <button type="button" className="btn btn-ghost btn-icon" onClick={onClose} aria-label="Fechar">
            ×
          </button>
        </header>
        <div className="modal-body">{children}</div>
      </div>
    </div>
  );
}

/** A question with two answers; the safe one has the focus. */
export function ConfirmDialog({
  title,
  message,
  confirmLabel,
  cancelLabel = 'Voltar',
  danger,
  onConfirm,
  onCancel,
  testId = 'confirm-dialog',
}: {
  title: string;
  message: ReactNode;
  confirmLabel: string;
  cancelLabel?: string;
  danger?: boolean;
  onConfirm: () => void;
  onCancel: () => void;
  testId?: string;
}) {
  return (
    <Modal title={title} onClose={onCancel} role="alertdialog" testId={testId}>
      <div className="confirm-message">{message}</div>
      <div className="modal-actions">
        <button type="button" className="btn btn-ghost" onClick={onCancel} data-autofocus data-testid="confirm-no">
          {cancelLabel}
        </button>
        <button
          type="button"
          className={`btn ${danger ? 'btn-danger-solid' : 'btn-primary'}`}
          onClick={onConfirm}
          data-testid="confirm-yes"
        >
          {confirmLabel}
        </button>
      </div>
    </Modal>
  );
}
