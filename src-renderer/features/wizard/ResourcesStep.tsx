import { formatBytes } from '../../../src-shared/format';
import { DISK_NONE, LIMITS } from '../../../src-shared/limits';
import type { HostCapacity } from '../../../src-shared/sizing';
import { useAppStore } from '../../store/react';
import type { DraftJudgement } from '../../store/wizard-judge';
import { Field, shownNumber, typedNumber } from '../../components/Field';

// Step 2: name, CPUs, memory and disk. Each field is judged as it is typed (wizard-judge.ts,
// the engine's own rules) and says what is wrong under itself.

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

function diskHint(diskGiB: number, capacity: HostCapacity): string {
  if (diskGiB === DISK_NONE) return 'No disk: the VM starts from its CD and keeps nothing. Tools and live systems need none.';
  const free = capacity.diskFreeBytes !== null ? `${formatBytes(capacity.diskFreeBytes)} free where VMs are stored; ` : '';
  return `${free}the disk only takes what the guest writes. ${DISK_NONE} for no disk.`;
}

export function ResourcesStep({ judgement, capacity }: { judgement: DraftJudgement; capacity: HostCapacity }) {
  const draft = useAppStore((state) => state.draft);
  const setDraft = useAppStore((state) => state.setDraft);
  const { errors } = judgement;
  const maxCpus = capacity.cpuThreads || LIMITS.cpus.max;
  const maxMemoryMiB = capacity.memoryTotalBytes ? Math.floor(capacity.memoryTotalBytes / MiB) : LIMITS.memoryMiB.max;
  const maxDiskGiB = capacity.diskFreeBytes !== null ? Math.max(LIMITS.diskGiB.min, Math.floor(capacity.diskFreeBytes / GiB)) : LIMITS.diskGiB.max;
  return (
    <div className="wizard-step">
      <Field label="Name" error={errors.name}>
        {(id, describedBy) => <input id={id} type="text" value={draft.name} aria-describedby={describedBy} aria-invalid={Boolean(errors.name)} onChange={(event) => setDraft({ name: event.target.value, nameTouched: true })} />}
      </Field>
      {draft.isoInfo && <p className="field-hint">Suggested for {draft.isoInfo.os.name}; change what you like.</p>}
      <Field label="CPUs" hint={`This machine has ${capacity.cpuThreads || '?'} CPU threads.`} error={errors.cpus}>
        {(id, describedBy) => <input id={id} type="number" min={LIMITS.cpus.min} max={maxCpus} value={shownNumber(draft.cpus)} aria-describedby={describedBy} aria-invalid={Boolean(errors.cpus)} onChange={(event) => setDraft({ cpus: typedNumber(event.target.value) })} />}
      </Field>
      <Field
        label="Memory (MiB)"
        hint={`${formatBytes(draft.memoryMiB * MiB || 0)} · ${capacity.memoryAvailableBytes ? `${formatBytes(capacity.memoryAvailableBytes)} free of ${formatBytes(capacity.memoryTotalBytes)}` : 'free memory unknown'}`}
        error={errors.memoryMiB}
      >
        {(id, describedBy) => (
          <div className="range-field">
            <input id={id} type="number" min={LIMITS.memoryMiB.min} max={maxMemoryMiB} step={256} value={shownNumber(draft.memoryMiB)} aria-describedby={describedBy} aria-invalid={Boolean(errors.memoryMiB)} onChange={(event) => setDraft({ memoryMiB: typedNumber(event.target.value) })} />
            <input type="range" min={256} max={maxMemoryMiB} step={256} value={Math.min(draft.memoryMiB || 256, maxMemoryMiB)} aria-label="Memory" onChange={(event) => setDraft({ memoryMiB: Number(event.target.value) })} />
          </div>
        )}
      </Field>
      {draft.media !== 'disk' && (
        <Field label="Disk size (GiB)" hint={diskHint(draft.diskGiB, capacity)} error={errors.diskGiB}>
          {(id, describedBy) => <input id={id} type="number" min={DISK_NONE} max={maxDiskGiB} value={shownNumber(draft.diskGiB)} aria-describedby={describedBy} aria-invalid={Boolean(errors.diskGiB)} onChange={(event) => setDraft({ diskGiB: typedNumber(event.target.value) })} />}
        </Field>
      )}
      {judgement.warnings.map((warning) => (
        <p key={warning} className="warning-banner" role="status">
          {warning}
        </p>
      ))}
    </div>
  );
}
