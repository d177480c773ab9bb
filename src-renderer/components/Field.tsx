import { useId, type ReactNode } from 'react';

/**
 * One labelled field of a form: its control, and under it either what is wrong (an alert,
 * read out as it appears) or a hint. The control gets the note as its description.
 */
export function Field({ label, hint, error, children }: { label: string; hint?: ReactNode; error?: string | undefined; children: (id: string, describedBy: string | undefined) => ReactNode }) {
  const id = useId();
  const noteId = `${id}-note`;
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {children(id, hint || error ? noteId : undefined)}
      {error ? (
        <span className="field-error" id={noteId} role="alert">
          {error}
        </span>
      ) : hint ? (
        <span className="field-hint" id={noteId}>
          {hint}
        </span>
      ) : null}
    </div>
  );
}

/** What a number field holds: NaN when it is empty or unreadable, which the rules then name. */
export function typedNumber(value: string): number {
  return value.trim() === '' ? Number.NaN : Number(value);
}

/** A number for a number field: empty for NaN, so the person sees what they typed. */
export function shownNumber(value: number): number | string {
  return Number.isNaN(value) ? '' : value;
}
