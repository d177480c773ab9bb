import { useEffect, useId, useRef, type ReactNode } from 'react';

/**
 * A question asked in place before something is undone for good: what, then the way back
 * (focused, so Enter never destroys by accident) or the act itself.
 */
export function ConfirmDialog({ title, confirmLabel, cancelLabel = 'Cancel', onCancel, onConfirm, children }: { title: ReactNode; confirmLabel: string; cancelLabel?: string; onCancel: () => void; onConfirm: () => void; children?: ReactNode }) {
  const titleId = useId();
  const cancel = useRef<HTMLButtonElement>(null);
  useEffect(() => cancel.current?.focus(), []);
  return (
    <div className="confirm" role="alertdialog" aria-labelledby={titleId}>
      <p id={titleId}>{title}</p>
      {children}
      <div className="confirm-actions">
        <button type="button" ref={cancel} onClick={onCancel}>
          {cancelLabel}
        </button>
        <button type="button" className="danger" onClick={onConfirm}>
          {confirmLabel}
        </button>
      </div>
    </div>
  );
}
