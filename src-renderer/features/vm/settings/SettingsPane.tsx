import { useEffect } from 'react';
import type { VmSummary } from '../../../../src-shared/vm';
import { mayChangeDevice } from '../../../../src-shared/vm-rules';
import { useAppStore } from '../../../store/react';
import { MediaControl } from '../MediaControl';
import { DiskList } from './DiskList';
import { MachineForm } from './MachineForm';
import { NicList } from './NicList';
import { RemoveDevice } from './RemoveDevice';

/**
 * A VM's settings: the machine, then its devices one list per kind. Each control asks the
 * engine's rules (src-shared/vm-rules.ts) whether it may act now, and says why not.
 */
export function SettingsPane({ vm }: { vm: VmSummary }) {
  const details = useAppStore((state) => state.vmDetails[vm.id]);
  const loadVmDetails = useAppStore((state) => state.loadVmDetails);
  const addDevice = useAppStore((state) => state.addDevice);
  const busy = useAppStore((state) => Boolean(state.vmBusy[vm.id]));
  const config = vm.config;
  const configKey = JSON.stringify(config?.devices ?? null);
  useEffect(() => {
    void loadVmDetails(vm.id);
  }, [loadVmDetails, vm.id, configKey]);
  if (!config) return <p>This VM's settings cannot be read{vm.broken ? `: ${vm.broken}` : '.'}</p>;
  const addCd = mayChangeDevice(vm, 'add', { kind: 'cdrom' });
  const addTpm = mayChangeDevice(vm, 'add', { kind: 'tpm' });
  return (
    <div className="settings-pane">
      <MachineForm key={vm.id} vm={vm} config={config} />
      <DiskList vm={vm} disks={config.devices.disks} details={details?.disks ?? []} />
      <section className="settings-section" aria-label="CD drives">
        <h3 className="pane-title">CD drives</h3>
        {config.devices.cdroms.length === 0 && <p className="field-hint">No CD drive.</p>}
        <ul className="device-list">
          {config.devices.cdroms.map((cd) => (
            <li key={cd.id} className="device-row" data-device={cd.id}>
              <MediaControl vm={vm} cd={cd} label={cd.id} />
              <RemoveDevice vm={vm} device={{ kind: 'cdrom', id: cd.id }} label={`CD drive ${cd.id}`} />
            </li>
          ))}
        </ul>
        <button type="button" disabled={busy || !addCd.ok} title={addCd.ok ? undefined : addCd.reason} onClick={() => void addDevice(vm.id, { kind: 'cdrom' })}>
          Add a CD drive
        </button>
      </section>
      <NicList key={configKey} vm={vm} nics={config.devices.nics} />
      <section className="settings-section" aria-label="TPM">
        <h3 className="pane-title">TPM</h3>
        {config.devices.tpm ? (
          <div className="device-row" data-device={config.devices.tpm.id}>
            <span>TPM 2.0 (its state stays in the VM folder)</span>
            <RemoveDevice vm={vm} device={{ kind: 'tpm', id: config.devices.tpm.id }} label="the TPM" />
          </div>
        ) : (
          <button type="button" disabled={busy || !addTpm.ok} title={addTpm.ok ? undefined : addTpm.reason} onClick={() => void addDevice(vm.id, { kind: 'tpm' })}>
            Add a TPM 2.0 (Windows 11 wants one)
          </button>
        )}
      </section>
      {details && (
        <p className="field-hint">
          The VM's folder is {details.dir}. Disks of deleted VMs, and removed disks kept, go to {details.keptDisksDir}.
        </p>
      )}
    </div>
  );
}
