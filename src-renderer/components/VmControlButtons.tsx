import type { VmSummary } from '../../src-shared/vm';
import { useAppStore } from '../store/react';
import { vmControls, type VmCommand } from '../store/vm-controls';

/**
 * A VM's buttons for its state (store/vm-controls.ts says which): all of them on the VM
 * page, the row's few in the library, where each names its VM for screen readers.
 */
export function VmControlButtons({ vm, inRow = false, onDelete }: { vm: VmSummary; inRow?: boolean; onDelete?: () => void }) {
  const busy = useAppStore((state) => Boolean(state.vmBusy[vm.id]));
  const shutdownIgnored = useAppStore((state) => Boolean(state.vmShutdownIgnored[vm.id]));
  const runVmAction = useAppStore((state) => state.runVmAction);
  const stopVm = useAppStore((state) => state.stopVm);
  const run = (command: VmCommand): void => {
    if (command.kind === 'action') void runVmAction(vm.id, command.action);
    else if (command.kind === 'stop') void stopVm(vm.id, command.force);
    else onDelete?.();
  };
  const controls = vmControls(vm, { busy, shutdownIgnored }).filter((control) => (inRow ? control.inRow : control.command.kind !== 'delete' || onDelete));
  return (
    <>
      {controls.map((control) => (
        <button
          key={control.label}
          type="button"
          className={control.danger ? 'danger' : undefined}
          disabled={!control.enabled}
          title={control.title}
          aria-label={inRow ? `${control.label} ${vm.name}` : undefined}
          onClick={() => run(control.command)}
        >
          {control.label}
        </button>
      ))}
    </>
  );
}
