import { formatBytes } from '../../../src-shared/format';
import type { VmSummary } from '../../../src-shared/vm';
import { OpenIsoButton } from '../../components/OpenIsoButton';
import { OsIcon } from '../../components/OsIcon';
import { VirtualList } from '../../components/VirtualList';
import { VmControlButtons } from '../../components/VmControlButtons';
import { VmStateBadge } from '../../components/VmStateBadge';
import { VmThumbnail } from '../../components/VmThumbnail';
import { useAppStore } from '../../store/react';
import { sortedVms } from '../../store/selectors';

function VmRow({ vm }: { vm: VmSummary }) {
  const openVm = useAppStore((state) => state.openVm);
  const error = useAppStore((state) => state.vmErrors[vm.id]);
  const facts = vm.broken ? vm.broken : vm.config ? `${vm.config.machine.cpus} CPU · ${formatBytes(vm.config.machine.memoryMiB * 1024 ** 2)}` : '';
  return (
    <div className="vm-row" data-vm-id={vm.id}>
      <OsIcon os={vm.config?.os} />
      <VmThumbnail vm={vm} />
      <div className="vm-row-text">
        <button type="button" className="vm-row-open" onClick={() => openVm(vm.id)} aria-label={`Open ${vm.name}`} title={vm.name}>
          <span className="vm-row-name">{vm.name}</span>
          {!error && <span className="vm-row-facts">{facts}</span>}
        </button>
        {/* What went wrong with the last action started here or on the VM page, as the VM page says it. */}
        {error && (
          <p className="vm-row-error" role="alert" title={error}>
            {error}
          </p>
        )}
      </div>
      <VmStateBadge state={vm.state} broken={vm.broken !== null} />
      {!vm.broken && <VmControlButtons vm={vm} inRow />}
    </div>
  );
}

/** The VM library: every VM with its live state, and the way in for new ones. */
export function LibraryScreen() {
  const vms = useAppStore((state) => state.vms);
  const loaded = useAppStore((state) => state.vmsLoaded);
  const error = useAppStore((state) => state.vmsError);
  const openWizard = useAppStore((state) => state.openWizard);
  const list = sortedVms(vms);
  return (
    <section className="screen library-screen" aria-labelledby="library-title">
      <header className="screen-header">
        <h1 id="library-title">Virtual machines</h1>
        <div className="header-actions">
          <OpenIsoButton />
          <button type="button" className="primary" onClick={openWizard}>
            New VM…
          </button>
        </div>
      </header>
      {error && (
        <p className="error-banner" role="alert">
          {error}
        </p>
      )}
      {!loaded ? (
        <p aria-live="polite">Loading the library…</p>
      ) : list.length === 0 ? (
        <div className="empty-library" data-testid="library-empty">
          <p className="empty-title">No virtual machines yet</p>
          <p>Drop an ISO anywhere on this window to create one, or choose it:</p>
          <OpenIsoButton className="primary" />
        </div>
      ) : (
        <VirtualList items={list} rowHeight={64} label="Virtual machines" renderRow={(vm) => <VmRow vm={vm} />} />
      )}
    </section>
  );
}
