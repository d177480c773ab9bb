import { CHECK_GROUP_TITLES, type HostCheck } from '../../../src-shared/host';
import { CopyButton } from '../../components/CopyButton';
import { StatusBadge } from '../../components/StatusBadge';
import { useAppStore } from '../../store/react';
import { countByStatus, groupChecks } from '../../store/selectors';

function CheckRow({ check }: { check: HostCheck }) {
  return (
    <li className={`check check-${check.status}`} data-check-id={check.id}>
      <StatusBadge status={check.status} />
      <div className="check-body">
        <p className="check-summary">{check.summary}</p>
        {check.detail && <p className="check-detail">{check.detail}</p>}
        {check.fix && (
          <div className="check-fix">
            <code>{check.fix}</code>
            <CopyButton text={check.fix} label={`Copy the command that fixes: ${check.summary}`} />
          </div>
        )}
      </div>
    </li>
  );
}

/** What this machine can do for VMs, grouped as a person thinks of it, with the fixes. */
export function HostScreen() {
  const report = useAppStore((state) => state.hostReport);
  const checking = useAppStore((state) => state.hostChecking);
  const error = useAppStore((state) => state.hostError);
  const checkHost = useAppStore((state) => state.checkHost);

  return (
    <section className="screen host-screen" aria-labelledby="host-title">
      <header className="screen-header">
        <h1 id="host-title">Host check</h1>
        <button type="button" onClick={() => void checkHost()} disabled={checking}>
          {checking ? 'Checking…' : 'Check again'}
        </button>
      </header>
      {error && (
        <p className="error-banner" role="alert">
          {error}
        </p>
      )}
      {!report && !error && <p aria-live="polite">Checking this machine…</p>}
      {report && (
        <>
          <div className={`verdict ${report.can_run_vms ? (report.accelerator === 'kvm' ? 'verdict-good' : 'verdict-slow') : 'verdict-bad'}`} role="status">
            <h2>
              {!report.can_run_vms
                ? 'This machine cannot run VMs yet'
                : report.accelerator === 'kvm'
                  ? 'VMs run with KVM (hardware virtualization)'
                  : 'VMs run with software emulation (TCG)'}
            </h2>
            <p className="accelerator-reason">{report.accelerator_reason}</p>
            <p className="verdict-counts">
              {(() => {
                const counts = countByStatus(report.checks);
                return `${counts.pass} OK, ${counts.warn} warnings, ${counts.fail} problems · ${report.distro.name} · checked ${new Date(report.checked_at).toLocaleTimeString()}`;
              })()}
            </p>
          </div>
          {groupChecks(report.checks).map(({ group, checks }) => (
            <section key={group} className="check-group" aria-labelledby={`group-${group}`} data-group={group}>
              <h2 id={`group-${group}`}>{CHECK_GROUP_TITLES[group]}</h2>
              <ul className="checks">
                {checks.map((check) => (
                  <CheckRow key={check.id} check={check} />
                ))}
              </ul>
            </section>
          ))}
        </>
      )}
    </section>
  );
}
