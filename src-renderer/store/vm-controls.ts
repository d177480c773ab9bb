import { hasConsole, mayI, type VmAction as RuleAction, type VmFacts } from '../../src-shared/vm-rules';

// Which buttons a VM offers in its state, and which of them its library row shows as well:
// one table for the VM page and the library. Whether a button may be pressed is the shared
// rule's answer (src-shared/vm-rules.ts), the same the engine gives, with its reason on hover.

/** The store's actions a button can run on a VM. */
export type VmAction = 'startVm' | 'pauseVm' | 'resumeVm' | 'resetVm' | 'saveVm';

export type VmCommand = { kind: 'action'; action: VmAction } | { kind: 'stop'; force: boolean } | { kind: 'delete' };

export interface VmControl {
  label: string;
  command: VmCommand;
  /** The rule the engine applies to it. */
  rule: RuleAction;
  enabled: boolean;
  /** A longer explanation, shown on hover: what it does, or why it cannot be pressed now. */
  title?: string;
  danger?: boolean;
  /** Offered in the library row too, not only on the VM page. */
  inRow: boolean;
}

export interface VmControlContext {
  /** An action on the VM is on its way. */
  busy: boolean;
  /** The guest ignored the last press of its power button. */
  shutdownIgnored: boolean;
}

type Offer = Omit<VmControl, 'enabled'>;

/** The buttons shown for a state; which are enabled, the rules say. */
function offers(vm: VmFacts, shutdownIgnored: boolean): Offer[] {
  const { state } = vm;
  if (!hasConsole(state)) {
    return [
      { label: state === 'saved' ? 'Resume' : 'Start', command: { kind: 'action', action: 'startVm' }, rule: 'start', inRow: true },
      ...(state === 'saved' || vm.savedState ? [{ label: 'Discard saved state', command: { kind: 'stop', force: true } as const, rule: 'discardSavedState' as const, title: 'Forget the saved state: the VM boots afresh next time', inRow: false }] : []),
      { label: 'Delete…', command: { kind: 'delete' }, rule: 'delete', danger: true, inRow: false },
    ];
  }
  const shuttingDown = state === 'shutting-down';
  return [
    { label: 'Shut down', command: { kind: 'stop', force: false }, rule: 'shutDown', inRow: true },
    { label: 'Force off', command: { kind: 'stop', force: true }, rule: 'forceOff', inRow: shuttingDown || shutdownIgnored || vm.orphaned },
    ...(shuttingDown
      ? []
      : [
          { label: 'Save state', command: { kind: 'action', action: 'saveVm' } as const, rule: 'save' as const, title: 'Save its memory to disk and stop it; Resume continues where it was', inRow: false },
          state === 'running'
            ? { label: 'Pause', command: { kind: 'action', action: 'pauseVm' } as const, rule: 'pause' as const, inRow: false }
            : { label: 'Resume', command: { kind: 'action', action: 'resumeVm' } as const, rule: 'resume' as const, inRow: false },
        ]),
    { label: 'Reset', command: { kind: 'action', action: 'resetVm' }, rule: 'reset', inRow: false },
  ];
}

export function vmControls(vm: VmFacts, { busy, shutdownIgnored }: VmControlContext): VmControl[] {
  return offers(vm, shutdownIgnored).map((offer) => {
    const verdict = mayI(offer.rule, vm);
    // While the guest is asked to power off (the shutdown call is busy waiting) force off is the way out.
    const waitsForIt = offer.rule === 'forceOff' && vm.state === 'shutting-down';
    return { ...offer, enabled: verdict.ok && (!busy || waitsForIt), ...(verdict.ok ? {} : { title: verdict.reason }) };
  });
}
