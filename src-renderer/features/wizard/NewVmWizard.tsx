import { useEffect, useId, useRef, type ReactNode } from 'react';
import { formatBytes, shellQuote } from '../../../src-shared/format';
import { checkSize, type HostCapacity } from '../../../src-shared/sizing';
import type { HostReport } from '../../../src-shared/host';
import { CopyButton } from '../../components/CopyButton';
import { OpenIsoButton } from '../../components/OpenIsoButton';
import { useAppStore } from '../../store/react';
import { osLabel, requestOf, type MediaKind, type WizardDraft, type WizardStep } from '../../store/wizard-slice';

// The new-VM wizard: install media, OS and resources, devices, review. At most four steps;
// every field is bounded by what this machine has, and Create shows its progress.

const STEPS: { step: WizardStep; title: string }[] = [
  { step: 1, title: 'Install media' },
  { step: 2, title: 'OS and resources' },
  { step: 3, title: 'Devices' },
  { step: 4, title: 'Review' },
];

function capacityOf(report: HostReport | null): HostCapacity {
  return {
    cpuThreads: report?.resources.cpu_threads ?? 0,
    memoryTotalBytes: report?.resources.memory_total_bytes ?? 0,
    memoryAvailableBytes: report?.resources.memory_available_bytes ?? 0,
    diskFreeBytes: report?.resources.disk_free_bytes ?? null,
  };
}

/** Why the person cannot go past a step yet, or null. */
function blockerOf(step: WizardStep, draft: WizardDraft, mediaReady: boolean, sizeErrors: Record<string, string | undefined>): string | null {
  if (step === 1) {
    if (draft.media === 'iso' && !mediaReady) return 'Choose an ISO image, or drop one on this window.';
    if (draft.media === 'disk' && !draft.diskPath.startsWith('/')) return "Give the disk image's full path.";
  }
  if (step === 2) {
    if (draft.name.trim() === '') return 'Give the VM a name.';
    const first = Object.values(sizeErrors).find(Boolean);
    if (first) return first;
  }
  return null;
}

export function NewVmWizard() {
  const open = useAppStore((state) => state.wizardOpen);
  const step = useAppStore((state) => state.wizardStep);
  const draft = useAppStore((state) => state.draft);
  const media = useAppStore((state) => state.media);
  const creating = useAppStore((state) => state.creating);
  const createError = useAppStore((state) => state.createError);
  const hostReport = useAppStore((state) => state.hostReport);
  const progress = useAppStore((state) => state.progress);
  const closeWizard = useAppStore((state) => state.closeWizard);
  const goToStep = useAppStore((state) => state.goToStep);
  const createFromWizard = useAppStore((state) => state.createFromWizard);
  const dialog = useRef<HTMLDivElement>(null);
  const titleId = useId();

  useEffect(() => {
    if (open) dialog.current?.focus();
  }, [open, step]);

  if (!open) return null;
  const verdict = checkSize({ cpus: draft.cpus, memoryMiB: draft.memoryMiB, diskGiB: draft.media === 'disk' ? 0 : draft.diskGiB }, capacityOf(hostReport));
  const blocker = blockerOf(step, draft, media.phase === 'ready', verdict.errors);
  const createProgress = creating && progress && progress.vm === draft.name.trim() ? progress : null;

  return (
    <div className="wizard-backdrop">
      <div
        className="wizard"
        role="dialog"
        aria-modal="true"
        aria-labelledby={titleId}
        tabIndex={-1}
        ref={dialog}
        onKeyDown={(event) => {
          if (event.key === 'Escape' && !creating) closeWizard();
        }}
      >
        <header className="wizard-header">
          <h2 id={titleId}>New virtual machine</h2>
          <ol className="wizard-steps" aria-label="Steps">
            {STEPS.map((entry) => (
              <li key={entry.step} aria-current={entry.step === step ? 'step' : undefined} className={entry.step === step ? 'current' : entry.step < step ? 'done' : ''}>
                {entry.step}. {entry.title}
              </li>
            ))}
          </ol>
        </header>
        <div className="wizard-body">
          {step === 1 && <MediaStep />}
          {step === 2 && <ResourcesStep errors={verdict.errors} warnings={verdict.warnings} capacity={capacityOf(hostReport)} />}
          {step === 3 && <DevicesStep />}
          {step === 4 && <ReviewStep />}
        </div>
        {createError && (
          <p className="error-banner" role="alert">
            {createError}
          </p>
        )}
        {creating && (
          <div className="wizard-progress" role="status" aria-live="polite">
            <span>{createProgress ? `${createProgress.step}${createProgress.percent === null ? '…' : ` ${Math.round(createProgress.percent)} %`}` : 'Creating the VM…'}</span>
            <progress max={100} value={createProgress?.percent ?? undefined} aria-label="Creating the VM" />
          </div>
        )}
        <footer className="wizard-footer">
          {blocker && step < 4 && <span className="wizard-blocker">{blocker}</span>}
          <button type="button" onClick={closeWizard} disabled={creating}>
            Cancel
          </button>
          {step > 1 && (
            <button type="button" onClick={() => goToStep((step - 1) as WizardStep)} disabled={creating}>
              Back
            </button>
          )}
          {step < 4 ? (
            <button type="button" className="primary" disabled={blocker !== null} onClick={() => goToStep((step + 1) as WizardStep)}>
              Next
            </button>
          ) : (
            <button type="button" className="primary" disabled={creating} onClick={() => void createFromWizard()}>
              Create and start
            </button>
          )}
        </footer>
      </div>
    </div>
  );
}

function Field({ label, hint, error, children }: { label: string; hint?: ReactNode; error?: string | undefined; children: (id: string, describedBy: string | undefined) => ReactNode }) {
  const id = useId();
  const noteId = `${id}-note`;
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {children(id, hint || error ? noteId : undefined)}
      {error ? (
        <span className="field-error" id={noteId} role="alert">
          {error}
        </span>
      ) : hint ? (
        <span className="field-hint" id={noteId}>
          {hint}
        </span>
      ) : null}
    </div>
  );
}

function MediaStep() {
  const draft = useAppStore((state) => state.draft);
  const media = useAppStore((state) => state.media);
  const setDraft = useAppStore((state) => state.setDraft);
  const chooseIsoPath = useAppStore((state) => state.chooseIsoPath);
  const kinds: { kind: MediaKind; label: string }[] = [
    { kind: 'iso', label: 'Install from an ISO image' },
    { kind: 'disk', label: 'Import an existing disk image' },
    { kind: 'empty', label: 'Empty (no install media)' },
  ];
  return (
    <div className="wizard-step">
      <fieldset className="choices">
        <legend>What should the VM start from?</legend>
        {kinds.map(({ kind, label }) => (
          <label key={kind}>
            <input type="radio" name="media" value={kind} checked={draft.media === kind} onChange={() => setDraft({ media: kind })} /> {label}
          </label>
        ))}
      </fieldset>
      {draft.media === 'iso' && (
        <>
          <div className="iso-choose">
            <OpenIsoButton label="Choose ISO…" />
            <span className="field-hint">or drop an ISO file anywhere on this window</span>
          </div>
          <Field label="Or type the ISO's path on this machine">
            {(id) => (
              <form
                className="inline-form"
                onSubmit={(event) => {
                  event.preventDefault();
                  if (draft.isoPath.trim()) void chooseIsoPath(draft.isoPath.trim());
                }}
              >
                <input id={id} type="text" value={draft.isoPath} placeholder="/home/you/Downloads/debian-12.iso" onChange={(event) => setDraft({ isoPath: event.target.value, isoInfo: null })} spellCheck={false} />
                <button type="submit">Use</button>
              </form>
            )}
          </Field>
          <MediaState />
          {media.phase === 'ready' && draft.isoInfo && <DetectedOs />}
        </>
      )}
      {draft.media === 'disk' && (
        <Field label="Disk image (qcow2, raw, vmdk, vdi or vhdx), full path" hint="It is copied into the library as qcow2; the original stays as it is.">
          {(id, describedBy) => <input id={id} type="text" value={draft.diskPath} aria-describedby={describedBy} placeholder="/home/you/appliance.vmdk" onChange={(event) => setDraft({ diskPath: event.target.value })} spellCheck={false} />}
        </Field>
      )}
      {draft.media === 'empty' && <p className="field-hint">The VM gets an empty disk and an empty CD drive; put an ISO in later from its screen.</p>}
    </div>
  );
}

function MediaState() {
  const media = useAppStore((state) => state.media);
  if (media.phase === 'sending') {
    return (
      <div className="media-state" role="status" aria-live="polite">
        <span>Sending {media.fileName} to Hangar… {Math.round((media.fraction ?? 0) * 100)} %</span>
        <progress max={1} value={media.fraction ?? 0} aria-label={`Sending ${media.fileName ?? 'the ISO'}`} />
      </div>
    );
  }
  if (media.phase === 'reading') {
    return (
      <p className="media-state" role="status" aria-live="polite">
        Reading {media.fileName ?? 'the ISO'}…
      </p>
    );
  }
  if (media.phase === 'failed') {
    return (
      <p className="error-banner" role="alert">
        {media.error}
      </p>
    );
  }
  return null;
}

function DetectedOs() {
  const info = useAppStore((state) => state.draft.isoInfo);
  if (!info) return null;
  return (
    <div className="detected-os" data-testid="detected-os">
      <p>
        <strong>Detected:</strong> <span className="detected-os-name">{osLabel(info)}</span>
      </p>
      <p className="field-hint">
        {info.path} · {formatBytes(info.sizeBytes)} · boots with {info.bootable && info.uefiBootable ? 'BIOS and UEFI' : info.uefiBootable ? 'UEFI' : info.bootable ? 'BIOS' : 'neither BIOS nor UEFI (it may not be an installer)'}
      </p>
      {info.evidence.length > 0 && <p className="field-hint">Found: {info.evidence.join('; ')}</p>}
    </div>
  );
}

function ResourcesStep({ errors, warnings, capacity }: { errors: Record<string, string | undefined>; warnings: string[]; capacity: HostCapacity }) {
  const draft = useAppStore((state) => state.draft);
  const setDraft = useAppStore((state) => state.setDraft);
  const maxCpus = capacity.cpuThreads || 64;
  const maxMemoryMiB = capacity.memoryTotalBytes ? Math.floor(capacity.memoryTotalBytes / 1024 ** 2) : 1024 * 1024;
  const maxDiskGiB = capacity.diskFreeBytes !== null ? Math.max(1, Math.floor(capacity.diskFreeBytes / 1024 ** 3)) : 64 * 1024;
  const number = (value: string): number => (value.trim() === '' ? Number.NaN : Number(value));
  return (
    <div className="wizard-step">
      <Field label="Name" error={draft.name.trim() === '' ? 'Give the VM a name.' : undefined}>
        {(id, describedBy) => <input id={id} type="text" value={draft.name} maxLength={100} aria-describedby={describedBy} onChange={(event) => setDraft({ name: event.target.value, nameTouched: true })} />}
      </Field>
      {draft.isoInfo && <p className="field-hint">Suggested for {draft.isoInfo.os.name}; change what you like.</p>}
      <Field label="CPUs" hint={`This machine has ${capacity.cpuThreads || '?'} CPU threads.`} error={errors.cpus}>
        {(id, describedBy) => <input id={id} type="number" min={1} max={maxCpus} value={Number.isNaN(draft.cpus) ? '' : draft.cpus} aria-describedby={describedBy} onChange={(event) => setDraft({ cpus: number(event.target.value) })} />}
      </Field>
      <Field
        label="Memory (MiB)"
        hint={`${formatBytes(draft.memoryMiB * 1024 ** 2 || 0)} · ${capacity.memoryAvailableBytes ? `${formatBytes(capacity.memoryAvailableBytes)} free of ${formatBytes(capacity.memoryTotalBytes)}` : 'free memory unknown'}`}
        error={errors.memoryMiB}
      >
        {(id, describedBy) => (
          <div className="range-field">
            <input id={id} type="number" min={64} max={maxMemoryMiB} step={256} value={Number.isNaN(draft.memoryMiB) ? '' : draft.memoryMiB} aria-describedby={describedBy} onChange={(event) => setDraft({ memoryMiB: number(event.target.value) })} />
            <input type="range" min={256} max={maxMemoryMiB} step={256} value={Math.min(draft.memoryMiB || 256, maxMemoryMiB)} aria-label="Memory" onChange={(event) => setDraft({ memoryMiB: Number(event.target.value) })} />
          </div>
        )}
      </Field>
      {draft.media !== 'disk' && (
        <Field label="Disk size (GiB)" hint={capacity.diskFreeBytes !== null ? `${formatBytes(capacity.diskFreeBytes)} free where VMs are stored; the disk only takes what the guest writes.` : undefined} error={errors.diskGiB}>
          {(id, describedBy) => <input id={id} type="number" min={1} max={maxDiskGiB} value={Number.isNaN(draft.diskGiB) ? '' : draft.diskGiB} aria-describedby={describedBy} onChange={(event) => setDraft({ diskGiB: number(event.target.value) })} />}
        </Field>
      )}
      {warnings.map((warning) => (
        <p key={warning} className="warning-banner" role="status">
          {warning}
        </p>
      ))}
    </div>
  );
}

function DevicesStep() {
  const draft = useAppStore((state) => state.draft);
  const setDraft = useAppStore((state) => state.setDraft);
  const windows = draft.isoInfo?.os.family === 'windows';
  return (
    <div className="wizard-step">
      <Field label="Disk bus" hint={windows && draft.diskBus !== 'virtio-blk' ? 'Windows installers have no virtio drivers of their own, so SATA until the virtio drivers ISO is attached.' : 'virtio-blk is the fastest; SATA and IDE are for OSes without virtio drivers.'}>
        {(id, describedBy) => (
          <select id={id} value={draft.diskBus} aria-describedby={describedBy} onChange={(event) => setDraft({ diskBus: event.target.value as WizardDraft['diskBus'] })}>
            <option value="virtio-blk">virtio-blk (fastest)</option>
            <option value="virtio-scsi">virtio-scsi</option>
            <option value="sata">SATA</option>
            <option value="ide">IDE</option>
          </select>
        )}
      </Field>
      <Field label="Network card" hint="Both use NAT: the VM reaches the network through this machine.">
        {(id, describedBy) => (
          <select id={id} value={draft.nicModel} aria-describedby={describedBy} onChange={(event) => setDraft({ nicModel: event.target.value as WizardDraft['nicModel'] })}>
            <option value="virtio-net">virtio-net (fastest)</option>
            <option value="e1000">Intel e1000 (works without drivers)</option>
          </select>
        )}
      </Field>
      <Field label="SSH from this machine (host port forwarded to the guest's port 22)" hint={draft.sshPort ? `ssh -p ${draft.sshPort} user@127.0.0.1 reaches the guest.` : 'Leave empty for none.'} error={draft.sshPort !== null && (draft.sshPort < 1024 || draft.sshPort > 65535) ? 'Choose a port from 1024 to 65535.' : undefined}>
        {(id, describedBy) => <input id={id} type="number" min={1024} max={65535} placeholder="e.g. 2222" value={draft.sshPort ?? ''} aria-describedby={describedBy} onChange={(event) => setDraft({ sshPort: event.target.value === '' ? null : Number(event.target.value) })} />}
      </Field>
      <fieldset className="choices">
        <legend>Firmware</legend>
        <label>
          <input type="radio" name="firmware" checked={draft.firmware === 'bios'} onChange={() => setDraft({ firmware: 'bios', tpm: false })} /> BIOS
        </label>
        <label>
          <input type="radio" name="firmware" checked={draft.firmware === 'uefi'} onChange={() => setDraft({ firmware: 'uefi' })} /> UEFI
        </label>
      </fieldset>
      <label className="checkbox">
        <input type="checkbox" checked={draft.tpm} disabled={draft.firmware !== 'uefi'} onChange={(event) => setDraft({ tpm: event.target.checked })} /> TPM 2.0 (Windows 11 needs it; UEFI only)
      </label>
    </div>
  );
}

function ReviewStep() {
  const draft = useAppStore((state) => state.draft);
  const preview = useAppStore((state) => state.preview);
  const previewError = useAppStore((state) => state.previewError);
  const request = requestOf(draft);
  const command = preview ? shellQuote(preview.argv) : null;
  return (
    <div className="wizard-step">
      <dl className="facts review">
        <dt>Name</dt>
        <dd>{draft.name}</dd>
        <dt>Starts from</dt>
        <dd>{request.iso ?? (request.importDisk ? `imported disk ${request.importDisk}` : 'nothing (empty)')}</dd>
        {draft.isoInfo && (
          <>
            <dt>OS</dt>
            <dd>{draft.isoInfo.os.name}</dd>
          </>
        )}
        <dt>CPUs and memory</dt>
        <dd>
          {draft.cpus} CPU · {formatBytes(draft.memoryMiB * 1024 ** 2)}
        </dd>
        <dt>Disk</dt>
        <dd>{draft.media === 'disk' ? `imported, on ${draft.diskBus}` : `${draft.diskGiB} GiB on ${draft.diskBus}`}</dd>
        <dt>Devices</dt>
        <dd>
          {draft.nicModel} with NAT{draft.sshPort ? `, SSH on 127.0.0.1:${draft.sshPort}` : ''} · {draft.firmware === 'uefi' ? 'UEFI' : 'BIOS'}
          {draft.tpm ? ' with TPM' : ''}
        </dd>
      </dl>
      {previewError && (
        <p className="error-banner" role="alert">
          {previewError}
        </p>
      )}
      {preview?.warnings.map((warning) => (
        <p key={warning} className="warning-banner" role="status">
          {warning}
        </p>
      ))}
      <h3 className="pane-title">QEMU command line</h3>
      {command ? (
        <div className="command-line">
          <code data-testid="qemu-command">{command}</code>
          <CopyButton text={command} label="Copy the QEMU command line" />
        </div>
      ) : (
        !previewError && <p aria-live="polite">Working out the command line…</p>
      )}
    </div>
  );
}
