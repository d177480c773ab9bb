import { useState } from 'react';
import { checkSize } from '../../../src-shared/sizing';
import type { VmChanges, VmSummary } from '../../../src-shared/vm';
import { useAppStore } from '../../store/react';

type Form = Required<Pick<VmChanges, 'name' | 'cpus' | 'memoryMiB' | 'firmware' | 'tpm' | 'diskBus' | 'nicModel' | 'bootFrom'>> & { sshPort: number | null };

function formOf(vm: VmSummary): Form | null {
  const config = vm.config;
  if (!config) return null;
  const ssh = config.nic.portForwards.find((forward) => forward.guestPort === 22 && forward.protocol === 'tcp');
  return {
    name: config.name,
    cpus: config.cpus,
    memoryMiB: config.memoryMiB,
    firmware: config.firmware,
    tpm: config.tpm,
    diskBus: config.disks[0]?.bus ?? 'virtio-blk',
    nicModel: config.nic.model,
    bootFrom: config.bootFrom,
    sshPort: ssh?.hostPort ?? null,
  };
}

/** A stopped VM's settings, edited in place; a running VM shows them read-only. */
export function SettingsPane({ vm }: { vm: VmSummary }) {
  const updateVm = useAppStore((state) => state.updateVm);
  const busy = useAppStore((state) => Boolean(state.vmBusy[vm.id]));
  const host = useAppStore((state) => state.hostReport?.resources);
  const [form, setForm] = useState<Form | null>(() => formOf(vm));
  const [saved, setSaved] = useState(false);
  if (!form || !vm.config) return <p>This VM's settings cannot be read.</p>;
  const stopped = vm.state === 'stopped' || vm.state === 'crashed';
  const change = (part: Partial<Form>): void => {
    setForm({ ...form, ...part });
    setSaved(false);
  };
  const verdict = checkSize(
    { cpus: form.cpus, memoryMiB: form.memoryMiB, diskGiB: 0 },
    { cpuThreads: host?.cpu_threads ?? 0, memoryTotalBytes: host?.memory_total_bytes ?? 0, memoryAvailableBytes: host?.memory_available_bytes ?? 0, diskFreeBytes: null },
  );
  const problem = verdict.errors.cpus ?? verdict.errors.memoryMiB ?? (form.name.trim() === '' ? 'Give the VM a name.' : null);
  const otherForwards = vm.config.nic.portForwards.filter((forward) => !(forward.guestPort === 22 && forward.protocol === 'tcp'));
  return (
    <form
      className="settings-form"
      aria-label="VM settings"
      onSubmit={(event) => {
        event.preventDefault();
        const { sshPort, ...rest } = form;
        const portForwards = [...otherForwards, ...(sshPort ? [{ protocol: 'tcp' as const, hostAddress: '127.0.0.1' as const, hostPort: sshPort, guestPort: 22 }] : [])];
        void updateVm(vm.id, { ...rest, portForwards }).then((ok) => setSaved(ok));
      }}
    >
      {!stopped && <p className="field-hint form-actions">Shut the VM down to change its settings.</p>}
      <fieldset disabled={!stopped || busy} style={{ display: 'contents' }}>
        <label htmlFor="settings-name">Name</label>
        <input id="settings-name" type="text" maxLength={100} value={form.name} onChange={(event) => change({ name: event.target.value })} />
        <label htmlFor="settings-cpus">CPUs</label>
        <input id="settings-cpus" type="number" min={1} max={host?.cpu_threads || 256} value={form.cpus} onChange={(event) => change({ cpus: Number(event.target.value) })} />
        <label htmlFor="settings-memory">Memory (MiB)</label>
        <input id="settings-memory" type="number" min={64} step={256} value={form.memoryMiB} onChange={(event) => change({ memoryMiB: Number(event.target.value) })} />
        <label htmlFor="settings-firmware">Firmware</label>
        <select id="settings-firmware" value={form.firmware} onChange={(event) => change({ firmware: event.target.value as Form['firmware'], tpm: event.target.value === 'uefi' && form.tpm })}>
          <option value="bios">BIOS</option>
          <option value="uefi">UEFI</option>
        </select>
        <label htmlFor="settings-tpm">TPM 2.0</label>
        <input id="settings-tpm" type="checkbox" checked={form.tpm} disabled={form.firmware !== 'uefi'} onChange={(event) => change({ tpm: event.target.checked })} />
        <label htmlFor="settings-bus">Disk bus</label>
        <select id="settings-bus" value={form.diskBus} onChange={(event) => change({ diskBus: event.target.value as Form['diskBus'] })}>
          <option value="virtio-blk">virtio-blk</option>
          <option value="virtio-scsi">virtio-scsi</option>
          <option value="sata">SATA</option>
          <option value="ide">IDE</option>
        </select>
        <label htmlFor="settings-nic">Network card</label>
        <select id="settings-nic" value={form.nicModel} onChange={(event) => change({ nicModel: event.target.value as Form['nicModel'] })}>
          <option value="virtio-net">virtio-net</option>
          <option value="e1000">Intel e1000</option>
        </select>
        <label htmlFor="settings-ssh">SSH port on this machine</label>
        <input id="settings-ssh" type="number" min={1024} max={65535} placeholder="none" value={form.sshPort ?? ''} onChange={(event) => change({ sshPort: event.target.value === '' ? null : Number(event.target.value) })} />
        <label htmlFor="settings-boot">Boot from</label>
        <select id="settings-boot" value={form.bootFrom} onChange={(event) => change({ bootFrom: event.target.value as Form['bootFrom'] })}>
          <option value="cdrom">the CD (to install)</option>
          <option value="disk">the disk (installed)</option>
        </select>
        <div className="form-actions">
          <button type="submit" className="primary" disabled={problem !== null}>
            Save settings
          </button>
          <button type="button" onClick={() => setForm(formOf(vm))}>
            Undo changes
          </button>
          {problem && <span className="field-error">{problem}</span>}
          {saved && !problem && (
            <span className="field-hint" role="status">
              Saved.
            </span>
          )}
        </div>
      </fieldset>
    </form>
  );
}
