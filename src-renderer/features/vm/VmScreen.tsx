import { useState } from 'react';
import { formatBytes } from '../../../src-shared/format';
import { OsIcon } from '../../components/OsIcon';
import { VmStateBadge } from '../../components/VmStateBadge';
import { useAppStore } from '../../store/react';
import { MediaControl } from './MediaControl';
import { VmTabs } from './VmTabs';

/** One VM: its state, its controls, its CD drive, and its panes (console, screen, settings). */
export function VmScreen() {
  const id = useAppStore((state) => state.selectedVm);
  const vm = useAppStore((state) => (id ? state.vms[id] : undefined));
  const busy = useAppStore((state) => (id ? Boolean(state.vmBusy[id]) : false));
  const error = useAppStore((state) => (id ? state.vmErrors[id] : undefined));
  const runVmAction = useAppStore((state) => state.runVmAction);
  const stopVm = useAppStore((state) => state.stopVm);
  const deleteVm = useAppStore((state) => state.deleteVm);
  const showScreen = useAppStore((state) => state.showScreen);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [keepDisks, setKeepDisks] = useState(true);

  if (!id || !vm) {
    return (
      <section className="screen">
        <p>This VM no longer exists.</p>
        <button type="button" onClick={() => showScreen('library')}>
          Back to the library
        </button>
      </section>
    );
  }
  const live = vm.state === 'running' || vm.state === 'paused' || vm.state === 'shutting-down';
  return (
    <section className="screen vm-screen" aria-labelledby="vm-title">
      <header className="screen-header">
        <h1 id="vm-title">
          <OsIcon os={vm.config?.os} /> {vm.name}
        </h1>
        <VmStateBadge state={vm.state} broken={vm.broken !== null} />
      </header>
      {vm.broken && (
        <p className="error-banner" role="alert">
          This VM cannot be loaded: {vm.broken}
        </p>
      )}
      {vm.problem && (
        <div className="problem" role="alert">
          <p>{vm.problem.message}</p>
          {vm.problem.log.length > 0 && <pre className="problem-log">{vm.problem.log.join('\n')}</pre>}
        </div>
      )}
      {error && (
        <p className="error-banner" role="alert">
          {error}
        </p>
      )}
      {vm.config && (
        <p className="vm-facts">
          {vm.config.cpus} CPU · {formatBytes(vm.config.memoryMiB * 1024 ** 2)} · {vm.config.firmware === 'uefi' ? 'UEFI' : 'BIOS'}
          {vm.accelerator ? ` · ${vm.accelerator === 'kvm' ? 'KVM' : 'software emulation'}` : ''}
        </p>
      )}
      {!vm.broken && (
        <div className="vm-controls" role="toolbar" aria-label="VM controls">
          {!live && (
            <button type="button" disabled={busy || vm.state === 'starting'} onClick={() => void runVmAction(vm.id, 'startVm')}>
              {vm.state === 'saved' ? 'Resume' : 'Start'}
            </button>
          )}
          {vm.state === 'saved' && (
            <button type="button" disabled={busy} onClick={() => void stopVm(vm.id, true)} title="Forget the saved state: the VM boots afresh next time">
              Discard saved state
            </button>
          )}
          {live && (
            <button type="button" disabled={busy || vm.state === 'shutting-down'} onClick={() => void stopVm(vm.id, false)}>
              Shut down
            </button>
          )}
          {live && (
            <button type="button" disabled={busy && vm.state !== 'shutting-down'} onClick={() => void stopVm(vm.id, true)}>
              Force off
            </button>
          )}
          {(vm.state === 'running' || vm.state === 'paused') && (
            <button type="button" disabled={busy} onClick={() => void runVmAction(vm.id, 'saveVm')} title="Save its memory to disk and stop it; Resume continues where it was">
              Save state
            </button>
          )}
          {vm.state === 'running' && (
            <button type="button" disabled={busy} onClick={() => void runVmAction(vm.id, 'pauseVm')}>
              Pause
            </button>
          )}
          {vm.state === 'paused' && (
            <button type="button" disabled={busy} onClick={() => void runVmAction(vm.id, 'resumeVm')}>
              Resume
            </button>
          )}
          {live && (
            <button type="button" disabled={busy} onClick={() => void runVmAction(vm.id, 'resetVm')}>
              Reset
            </button>
          )}
          {!live && (
            <button type="button" className="danger" disabled={busy} onClick={() => setConfirmDelete(true)}>
              Delete…
            </button>
          )}
        </div>
      )}
      {vm.config && !vm.broken && <MediaControl vm={vm} />}
      {confirmDelete && (
        <div className="confirm" role="alertdialog" aria-labelledby="delete-title">
          <p id="delete-title">Delete “{vm.name}”?</p>
          <label>
            <input type="checkbox" checked={keepDisks} onChange={(event) => setKeepDisks(event.target.checked)} /> Keep its disk images
          </label>
          <div className="confirm-actions">
            <button type="button" onClick={() => setConfirmDelete(false)}>
              Cancel
            </button>
            <button
              type="button"
              className="danger"
              onClick={() => {
                setConfirmDelete(false);
                void deleteVm(vm.id, keepDisks).then(() => showScreen('library'));
              }}
            >
              Delete
            </button>
          </div>
        </div>
      )}
      <VmTabs vm={vm} />
    </section>
  );
}
