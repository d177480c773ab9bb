import { useState } from 'react';
import { bootOrderOf } from '../../../../src-shared/devices';
import { DISK_NONE } from '../../../../src-shared/limits';
import { checkSize } from '../../../../src-shared/sizing';
import { VmName, type AcceleratorChoice, type Firmware, type VmConfig, type VmSummary } from '../../../../src-shared/vm';
import { mayI } from '../../../../src-shared/vm-rules';
import { Field, typedNumber } from '../../../components/Field';
import { useAppStore } from '../../../store/react';

// The machine itself: name, CPUs, memory, firmware, accelerator, and which device it boots
// from first. Numbers are kept as typed, so a wrong one stays on screen with what is wrong
// with it; every rule is the engine's own (src-shared), judged as the person types.

interface Form {
  name: string;
  cpus: string;
  memoryMiB: string;
  firmware: Firmware;
  accelerator: AcceleratorChoice;
  bootFirst: string;
}

function formOf(config: VmConfig): Form {
  return {
    name: config.name,
    cpus: String(config.machine.cpus),
    memoryMiB: String(config.machine.memoryMiB),
    firmware: config.machine.firmware,
    accelerator: config.machine.accelerator,
    bootFirst: bootOrderOf(config.devices)[0] ?? '',
  };
}

/** What each device is, for the boot menu: "disk0 (disk)", "cd0 (CD: debian.iso)". */
function bootChoices(config: VmConfig): { id: string; label: string }[] {
  return [
    ...config.devices.disks.map((disk) => ({ id: disk.id, label: `${disk.id} (disk)` })),
    ...config.devices.cdroms.map((cd) => ({ id: cd.id, label: `${cd.id} (CD${cd.iso ? `: ${cd.iso.split('/').pop() ?? ''}` : ', empty'})` })),
  ];
}

export function MachineForm({ vm, config }: { vm: VmSummary; config: VmConfig }) {
  const updateVm = useAppStore((state) => state.updateVm);
  const busy = useAppStore((state) => Boolean(state.vmBusy[vm.id]));
  const host = useAppStore((state) => state.hostReport?.resources);
  const [form, setForm] = useState<Form>(() => formOf(config));
  const [saved, setSaved] = useState(false);
  // The definition changed (saved here, or elsewhere): show it as it is now, unless the person
  // is in the middle of changing it (React's way of following a prop, during render).
  const current = formOf(config);
  const currentKey = JSON.stringify(current);
  const [shownKey, setShownKey] = useState(currentKey);
  if (shownKey !== currentKey) {
    setShownKey(currentKey);
    if (JSON.stringify(form) === shownKey) setForm(current);
  }
  const shown = JSON.parse(shownKey) as Form;
  const change = (part: Partial<Form>): void => {
    setForm({ ...form, ...part });
    setSaved(false);
  };
  const rename = mayI('rename', vm);
  const edit = mayI('editMachine', vm);
  const verdict = checkSize(
    { cpus: typedNumber(form.cpus), memoryMiB: typedNumber(form.memoryMiB), diskGiB: DISK_NONE },
    { cpuThreads: host?.cpu_threads ?? 0, memoryTotalBytes: host?.memory_total_bytes ?? 0, memoryAvailableBytes: host?.memory_available_bytes ?? 0, diskFreeBytes: null },
  );
  const problems = {
    name: VmName.safeParse(form.name).error?.issues[0]?.message,
    cpus: verdict.errors.cpus,
    memoryMiB: verdict.errors.memoryMiB,
  };
  const wrong = Object.values(problems).some(Boolean);
  const original = shown;
  const machineChanged = (['cpus', 'memoryMiB', 'firmware', 'accelerator', 'bootFirst'] as const).some((key) => form[key] !== original[key]);
  const nameChanged = form.name !== original.name;
  const blocked = (nameChanged && !rename.ok) || (machineChanged && !edit.ok);
  const blockedWhy = !edit.ok && machineChanged ? edit.reason : !rename.ok && nameChanged ? rename.reason : null;

  const save = (): void => {
    const order = bootOrderOf(config.devices);
    const bootOrder = form.bootFirst ? [form.bootFirst, ...order.filter((id) => id !== form.bootFirst)] : order;
    void updateVm(vm.id, {
      ...(nameChanged ? { name: form.name } : {}),
      ...(machineChanged
        ? { cpus: typedNumber(form.cpus), memoryMiB: typedNumber(form.memoryMiB), firmware: form.firmware, accelerator: form.accelerator, bootOrder }
        : {}),
    }).then((ok) => setSaved(ok));
  };

  return (
    <form
      className="settings-section"
      aria-label="Machine"
      // The browser's own checks would refuse in other words (or refuse what the engine takes).
      noValidate
      onSubmit={(event) => {
        event.preventDefault();
        if (!wrong && !blocked) save();
      }}
    >
      <h3 className="pane-title">Machine</h3>
      {!edit.ok && <p className="field-hint">{edit.reason}</p>}
      <fieldset disabled={busy} className="settings-grid">
        <Field label="Name" error={problems.name}>
          {(id, describedBy) => <input id={id} type="text" value={form.name} disabled={!rename.ok} aria-invalid={Boolean(problems.name)} aria-describedby={describedBy} onChange={(event) => change({ name: event.target.value })} />}
        </Field>
        <Field label="CPUs" error={problems.cpus}>
          {(id, describedBy) => <input id={id} type="number" step={1} value={form.cpus} disabled={!edit.ok} aria-invalid={Boolean(problems.cpus)} aria-describedby={describedBy} onChange={(event) => change({ cpus: event.target.value })} />}
        </Field>
        <Field label="Memory (MiB)" error={problems.memoryMiB}>
          {(id, describedBy) => <input id={id} type="number" step={1} value={form.memoryMiB} disabled={!edit.ok} aria-invalid={Boolean(problems.memoryMiB)} aria-describedby={describedBy} onChange={(event) => change({ memoryMiB: event.target.value })} />}
        </Field>
        <Field label="Firmware">
          {(id) => (
            <select id={id} value={form.firmware} disabled={!edit.ok} onChange={(event) => change({ firmware: event.target.value as Firmware })}>
              <option value="bios">BIOS</option>
              <option value="uefi">UEFI</option>
            </select>
          )}
        </Field>
        <Field label="Accelerator" hint="Automatic uses KVM where this machine can, else software emulation.">
          {(id, describedBy) => (
            <select id={id} value={form.accelerator} disabled={!edit.ok} aria-describedby={describedBy} onChange={(event) => change({ accelerator: event.target.value as AcceleratorChoice })}>
              <option value="auto">Automatic</option>
              <option value="kvm">KVM</option>
              <option value="tcg">Software emulation</option>
            </select>
          )}
        </Field>
        <Field label="Boot first from">
          {(id) => (
            <select id={id} value={form.bootFirst} disabled={!edit.ok} onChange={(event) => change({ bootFirst: event.target.value })}>
              {bootChoices(config).map((choice) => (
                <option key={choice.id} value={choice.id}>
                  {choice.label}
                </option>
              ))}
            </select>
          )}
        </Field>
      </fieldset>
      <div className="form-actions">
        <button type="submit" className="primary" disabled={wrong || blocked || busy || (!nameChanged && !machineChanged)} title={blockedWhy ?? undefined}>
          Save machine settings
        </button>
        <button type="button" onClick={() => setForm(current)}>
          Undo changes
        </button>
        {saved && !wrong && (
          <span className="field-hint" role="status">
            Saved.
          </span>
        )}
      </div>
    </form>
  );
}
