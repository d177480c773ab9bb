import { useState } from 'react';
import { DISK_NONE, LIMITS, numberProblem } from '../../../src-shared/limits';
import { checkSize } from '../../../src-shared/sizing';
import { VmName, type VmChanges, type VmSummary } from '../../../src-shared/vm';
import { useAppStore } from '../../store/react';

// Numbers are kept as typed, so a wrong one stays on screen with what is wrong with it.
type Form = Required<Pick<VmChanges, 'name' | 'firmware' | 'tpm' | 'diskBus' | 'nicModel' | 'bootFrom'>> & { cpus: string; memoryMiB: string; sshPort: string };
type Problems = Record<'name' | 'cpus' | 'memoryMiB' | 'sshPort', string | null>;

function formOf(vm: VmSummary): Form | null {
  const config = vm.config;
  if (!config) return null;
  const ssh = config.nic.portForwards.find((forward) => forward.guestPort === 22 && forward.protocol === 'tcp');
  return {
    name: config.name,
    cpus: String(config.cpus),
    memoryMiB: String(config.memoryMiB),
    firmware: config.firmware,
    tpm: config.tpm,
    diskBus: config.disks[0]?.bus ?? 'virtio-blk',
    nicModel: config.nic.model,
    bootFrom: config.bootFrom,
    sshPort: ssh ? String(ssh.hostPort) : '',
  };
}

/** An empty or unreadable field is NaN, which the rules name as "give a number". */
const typed = (text: string): number => (text.trim() === '' ? NaN : Number(text));

const FIELD_IDS: Record<keyof Problems, string> = { name: 'settings-name', cpus: 'settings-cpus', memoryMiB: 'settings-memory', sshPort: 'settings-ssh' };

/** What is wrong with a field, beside it (the field points at it for screen readers). */
function ErrorFor({ field, problems }: { field: keyof Problems; problems: Problems }) {
  const problem = problems[field];
  if (!problem) return null;
  return (
    <span id={`${FIELD_IDS[field]}-error`} className="field-error settings-error">
      {problem}
    </span>
  );
}

const judged = (field: keyof Problems, problems: Problems) => ({
  id: FIELD_IDS[field],
  'aria-invalid': problems[field] !== null,
  'aria-describedby': problems[field] ? `${FIELD_IDS[field]}-error` : undefined,
});

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
  // The engine's own rules (src-shared), judged as the person types: nothing is refused here that it takes.
  const verdict = checkSize(
    { cpus: typed(form.cpus), memoryMiB: typed(form.memoryMiB), diskGiB: DISK_NONE },
    { cpuThreads: host?.cpu_threads ?? 0, memoryTotalBytes: host?.memory_total_bytes ?? 0, memoryAvailableBytes: host?.memory_available_bytes ?? 0, diskFreeBytes: null },
  );
  const problems: Problems = {
    name: VmName.safeParse(form.name).error?.issues[0]?.message ?? null,
    cpus: verdict.errors.cpus ?? null,
    memoryMiB: verdict.errors.memoryMiB ?? null,
    sshPort: form.sshPort.trim() === '' ? null : numberProblem('hostPort', typed(form.sshPort)),
  };
  const wrong = Object.values(problems).some((problem) => problem !== null);
  const otherForwards = vm.config.nic.portForwards.filter((forward) => !(forward.guestPort === 22 && forward.protocol === 'tcp'));
  return (
    <form
      className="settings-form"
      aria-label="VM settings"
      // The browser's own checks would refuse in other words (or refuse what the engine takes).
      noValidate
      onSubmit={(event) => {
        event.preventDefault();
        if (wrong) return;
        const { sshPort, cpus, memoryMiB, ...rest } = form;
        const portForwards = [...otherForwards, ...(sshPort.trim() ? [{ protocol: 'tcp' as const, hostAddress: '127.0.0.1' as const, hostPort: typed(sshPort), guestPort: 22 }] : [])];
        void updateVm(vm.id, { ...rest, cpus: typed(cpus), memoryMiB: typed(memoryMiB), portForwards }).then((ok) => setSaved(ok));
      }}
    >
      {!stopped && <p className="field-hint form-actions">Shut the VM down to change its settings.</p>}
      <fieldset disabled={!stopped || busy} style={{ display: 'contents' }}>
        <label htmlFor="settings-name">Name</label>
        <input {...judged('name', problems)} type="text" value={form.name} onChange={(event) => change({ name: event.target.value })} />
        <ErrorFor field="name" problems={problems} />
        <label htmlFor="settings-cpus">CPUs</label>
        <input {...judged('cpus', problems)} type="number" min={LIMITS.cpus.min} max={LIMITS.cpus.max} step={1} value={form.cpus} onChange={(event) => change({ cpus: event.target.value })} />
        <ErrorFor field="cpus" problems={problems} />
        <label htmlFor="settings-memory">Memory (MiB)</label>
        <input {...judged('memoryMiB', problems)} type="number" min={LIMITS.memoryMiB.min} max={LIMITS.memoryMiB.max} step={1} value={form.memoryMiB} onChange={(event) => change({ memoryMiB: event.target.value })} />
        <ErrorFor field="memoryMiB" problems={problems} />
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
        <input {...judged('sshPort', problems)} type="number" min={LIMITS.hostPort.min} max={LIMITS.hostPort.max} step={1} placeholder="none" value={form.sshPort} onChange={(event) => change({ sshPort: event.target.value })} />
        <ErrorFor field="sshPort" problems={problems} />
        <label htmlFor="settings-boot">Boot from</label>
        <select id="settings-boot" value={form.bootFrom} onChange={(event) => change({ bootFrom: event.target.value as Form['bootFrom'] })}>
          <option value="cdrom">the CD (to install)</option>
          <option value="disk">the disk (installed)</option>
        </select>
        <div className="form-actions">
          <button type="submit" className="primary" disabled={wrong}>
            Save settings
          </button>
          <button type="button" onClick={() => setForm(formOf(vm))}>
            Undo changes
          </button>
          {saved && !wrong && (
            <span className="field-hint" role="status">
              Saved.
            </span>
          )}
        </div>
      </fieldset>
    </form>
  );
}
