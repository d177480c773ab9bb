import { useState } from 'react';
import { formatBytes } from '../../../src-shared/format';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { OsIcon } from '../../components/OsIcon';
import { VmControlButtons } from '../../components/VmControlButtons';
import { VmStateBadge } from '../../components/VmStateBadge';
import { useAppStore } from '../../store/react';
import { MediaControl } from './MediaControl';
import { VmTabs } from './VmTabs';

/** One VM: its state, its controls, its CD drive, and its panes (console, screen, settings). */
export function VmScreen() {
  const id = useAppStore((state) => state.selectedVm);
  const vm = useAppStore((state) => (id ? state.vms[id] : undefined));
  const error = useAppStore((state) => (id ? state.vmErrors[id] : undefined));
  const deleteVm = useAppStore((state) => state.deleteVm);
  const showScreen = useAppStore((state) => state.showScreen);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const details = useAppStore((state) => (id ? state.vmDetails[id] : undefined));
  const loadVmDetails = useAppStore((state) => state.loadVmDetails);
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
  return (
    <section className="screen vm-screen" aria-labelledby="vm-title">
      <header className="screen-header">
        <h1 id="vm-title" title={vm.name}>
          <OsIcon os={vm.config?.os} /> <span className="vm-title-name">{vm.name}</span>
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
          {vm.config.machine.cpus} CPU · {formatBytes(vm.config.machine.memoryMiB * 1024 ** 2)} · {vm.config.machine.firmware === 'uefi' ? 'UEFI' : 'BIOS'}
          {vm.accelerator ? ` · ${vm.accelerator === 'kvm' ? 'KVM' : 'software emulation'}` : ''}
        </p>
      )}
      {!vm.broken && (
        <div className="vm-controls" role="toolbar" aria-label="VM controls">
          <VmControlButtons
            vm={vm}
            onDelete={() => {
              setConfirmDelete(true);
              void loadVmDetails(vm.id);
            }}
          />
        </div>
      )}
      {vm.config && !vm.broken && vm.config.devices.cdroms.map((cd, index) => <MediaControl key={cd.id} vm={vm} cd={cd} label={index === 0 ? 'CD drive' : `CD drive ${index + 1}`} />)}
      {confirmDelete && (
        <ConfirmDialog
          title={`Delete “${vm.name}”?`}
          confirmLabel="Delete"
          onCancel={() => setConfirmDelete(false)}
          onConfirm={() => {
            setConfirmDelete(false);
            void deleteVm(vm.id, keepDisks).then(() => showScreen('library'));
          }}
        >
          <label>
            <input type="checkbox" checked={keepDisks} onChange={(event) => setKeepDisks(event.target.checked)} /> Keep its disk images
          </label>
          <p className="field-hint" data-testid="kept-disks-where">
            {keepDisks
              ? `They go to ${details ? `${details.keptDisksDir}/${vm.id}/` : 'the kept disks'}, listed under Storage, where you can remove them later.`
              : 'Its disks are deleted with it.'}
            {details?.disks.some((disk) => disk.external) ? ' Disks kept outside its folder stay where they are, either way.' : ''}
          </p>
        </ConfirmDialog>
      )}
      <VmTabs vm={vm} />
    </section>
  );
}
