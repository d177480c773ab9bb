import { formatBytes } from '../../../src-shared/format';
import { useAppStore } from '../../store/react';

/** The first thing a person sees: can this machine run VMs, and with how much room. */
export function OverviewScreen() {
  const report = useAppStore((state) => state.hostReport);
  const showScreen = useAppStore((state) => state.showScreen);
  return (
    <section className="screen overview-screen" aria-labelledby="overview-title">
      <header className="screen-header">
        <h1 id="overview-title">This machine</h1>
      </header>
      {!report ? (
        <p aria-live="polite">Checking this machine…</p>
      ) : (
        <dl className="facts">
          <dt>Virtual machines</dt>
          <dd>{report.can_run_vms ? (report.accelerator === 'kvm' ? 'Run with KVM' : 'Run with software emulation (slower)') : 'Cannot run yet'}</dd>
          <dt>QEMU</dt>
          <dd>{report.qemu_version ?? 'Not installed'}</dd>
          <dt>CPU threads</dt>
          <dd>{report.resources.cpu_threads}</dd>
          <dt>Memory available</dt>
          <dd>
            {formatBytes(report.resources.memory_available_bytes)} of {formatBytes(report.resources.memory_total_bytes)}
          </dd>
          <dt>Free space for VMs</dt>
          <dd>{report.resources.disk_free_bytes === null ? 'Unknown' : formatBytes(report.resources.disk_free_bytes)}</dd>
        </dl>
      )}
      <button type="button" onClick={() => showScreen('host')}>
        See the full host check
      </button>
    </section>
  );
}
