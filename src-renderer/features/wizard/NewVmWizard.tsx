import { useEffect, useId, useRef, type KeyboardEvent } from 'react';
import { useAppStore } from '../../store/react';
import { blockerOf, capacityOf, judgeDraft } from '../../store/wizard-judge';
import type { WizardStep } from '../../store/wizard-slice';
import { DevicesStep } from './DevicesStep';
import { MediaStep } from './MediaStep';
import { ResourcesStep } from './ResourcesStep';
import { ReviewStep } from './ReviewStep';

// The new-VM wizard: install media, OS and resources, devices, review. A modal dialog: the
// rest of the window is inert while it is open (App.tsx) and Tab cycles inside it; Escape
// asks before it throws away what was chosen. Next and Create stay disabled while anything
// is wrong, and the wrong thing is said in words.

const STEPS: { step: WizardStep; title: string }[] = [
  { step: 1, title: 'Install media' },
  { step: 2, title: 'OS and resources' },
  { step: 3, title: 'Devices' },
  { step: 4, title: 'Review' },
];

const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

/** What Tab can reach inside `root`, in order: shown elements, and of a radio group only its checked radio. */
function tabbables(root: HTMLElement): HTMLElement[] {
  return [...root.querySelectorAll<HTMLElement>(FOCUSABLE)].filter((element) => {
    if (element.getClientRects().length === 0) return false;
    if (element instanceof HTMLInputElement && element.type === 'radio' && !element.checked) {
      return root.querySelector(`input[type="radio"][name="${CSS.escape(element.name)}"]:checked`) === null;
    }
    return true;
  });
}

/** Keeps Tab and Shift+Tab inside the dialog: past the last element comes the first, and back. */
function trapTab(event: KeyboardEvent, root: HTMLElement | null): void {
  if (event.key !== 'Tab' || !root) return;
  const inside = tabbables(root);
  const first = inside[0];
  const last = inside.at(-1);
  if (!first || !last) return;
  const active = document.activeElement;
  if (event.shiftKey && (active === first || active === root || !root.contains(active))) {
    event.preventDefault();
    last.focus();
  } else if (!event.shiftKey && (active === last || !root.contains(active))) {
    event.preventDefault();
    first.focus();
  }
}

export function NewVmWizard() {
  const open = useAppStore((state) => state.wizardOpen);
  const step = useAppStore((state) => state.wizardStep);
  const draft = useAppStore((state) => state.draft);
  const media = useAppStore((state) => state.media);
  const creating = useAppStore((state) => state.creating);
  const createError = useAppStore((state) => state.createError);
  const hostReport = useAppStore((state) => state.hostReport);
  const progress = useAppStore((state) => state.progress);
  const preview = useAppStore((state) => state.preview);
  const previewError = useAppStore((state) => state.previewError);
  const confirmingDiscard = useAppStore((state) => state.confirmingDiscard);
  const closeWizard = useAppStore((state) => state.closeWizard);
  const requestCloseWizard = useAppStore((state) => state.requestCloseWizard);
  const keepEditing = useAppStore((state) => state.keepEditing);
  const goToStep = useAppStore((state) => state.goToStep);
  const createFromWizard = useAppStore((state) => state.createFromWizard);
  const dialog = useRef<HTMLDivElement>(null);
  const titleId = useId();

  // Focus goes back where it was (the button that opened the wizard) when it closes. Taken
  // before the next effect moves the focus into the dialog.
  useEffect(() => {
    if (!open) return;
    const before = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    return () => before?.focus();
  }, [open]);

  useEffect(() => {
    if (open && !confirmingDiscard) dialog.current?.focus();
  }, [open, step, confirmingDiscard]);

  if (!open) return null;
  const capacity = capacityOf(hostReport);
  const judgement = judgeDraft(draft, capacity, media.phase === 'ready');
  const blocker = blockerOf(step, judgement);
  const createProgress = creating && progress && progress.vm === draft.name.trim() ? progress : null;
  // Create waits for the engine's own verdict on the settings (previewVm), and takes no refusal.
  const createDisabled = creating || blocker !== null || preview === null || previewError !== null;

  return (
    <div className="wizard-backdrop">
      <div
        className="wizard"
        role="dialog"
        aria-modal="true"
        aria-labelledby={titleId}
        tabIndex={-1}
        ref={dialog}
        onKeyDown={(event) => {
          trapTab(event, dialog.current);
          if (event.key !== 'Escape') return;
          event.preventDefault();
          if (confirmingDiscard) keepEditing();
          else requestCloseWizard();
        }}
      >
        <header className="wizard-header">
          <h2 id={titleId}>New virtual machine</h2>
          <ol className="wizard-steps" aria-label="Steps">
            {STEPS.map((entry) => (
              <li key={entry.step} aria-current={entry.step === step ? 'step' : undefined} className={entry.step === step ? 'current' : entry.step < step ? 'done' : ''}>
                {entry.step}. {entry.title}
              </li>
            ))}
          </ol>
        </header>
        <div className="wizard-body">
          {step === 1 && <MediaStep />}
          {step === 2 && <ResourcesStep judgement={judgement} capacity={capacity} />}
          {step === 3 && <DevicesStep judgement={judgement} />}
          {step === 4 && <ReviewStep judgement={judgement} />}
        </div>
        {createError && (
          <p className="error-banner" role="alert">
            {createError}
          </p>
        )}
        {creating && (
          <div className="wizard-progress" role="status" aria-live="polite">
            <span>{createProgress ? `${createProgress.step}${createProgress.percent === null ? '…' : ` ${Math.round(createProgress.percent)} %`}` : 'Creating the VM…'}</span>
            <progress max={100} value={createProgress?.percent ?? undefined} aria-label="Creating the VM" />
          </div>
        )}
        {confirmingDiscard ? (
          <DiscardQuestion onKeep={keepEditing} onDiscard={closeWizard} />
        ) : (
          <footer className="wizard-footer">
            {blocker && <span className="wizard-blocker">{blocker}</span>}
            <button type="button" onClick={closeWizard} disabled={creating}>
              Cancel
            </button>
            {step > 1 && (
              <button type="button" onClick={() => goToStep((step - 1) as WizardStep)} disabled={creating}>
                Back
              </button>
            )}
            {step < 4 ? (
              <button type="button" className="primary" disabled={blocker !== null} onClick={() => goToStep((step + 1) as WizardStep)}>
                Next
              </button>
            ) : (
              <button type="button" className="primary" disabled={createDisabled} onClick={() => void createFromWizard()}>
                Create and start
              </button>
            )}
          </footer>
        )}
      </div>
    </div>
  );
}

/** Escape with something chosen or typed: asked in the wizard's own footer, Keep editing first. */
function DiscardQuestion({ onKeep, onDiscard }: { onKeep: () => void; onDiscard: () => void }) {
  const keep = useRef<HTMLButtonElement>(null);
  const titleId = useId();
  const textId = useId();
  useEffect(() => keep.current?.focus(), []);
  return (
    <div className="wizard-footer wizard-discard" role="alertdialog" aria-labelledby={titleId} aria-describedby={textId}>
      <span className="wizard-blocker">
        <strong id={titleId}>Discard this new VM?</strong> <span id={textId}>What you chose and typed will be lost.</span>
      </span>
      <button type="button" ref={keep} onClick={onKeep}>
        Keep editing
      </button>
      <button type="button" className="danger" onClick={onDiscard}>
        Discard
      </button>
    </div>
  );
}
