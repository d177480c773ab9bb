import { useAppStore } from '../../store/react';
import type { DraftJudgement } from '../../store/wizard-judge';
import type { WizardDraft } from '../../store/wizard-slice';
import { Field, typedNumber } from '../../components/Field';

// Step 3: disk bus, network card, an SSH port forward and the firmware, with a warning when
// the chosen firmware cannot boot the ISO.

export function DevicesStep({ judgement }: { judgement: DraftJudgement }) {
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
      <Field label="SSH from this machine (host port forwarded to the guest's port 22)" hint={draft.sshPort ? `ssh -p ${draft.sshPort} user@127.0.0.1 reaches the guest.` : 'Leave empty for none.'} error={judgement.errors.sshPort}>
        {(id, describedBy) => (
          <input
            id={id}
            type="number"
            min={1}
            max={65535}
            placeholder="e.g. 2222"
            value={draft.sshPort === null || Number.isNaN(draft.sshPort) ? '' : draft.sshPort}
            aria-describedby={describedBy}
            aria-invalid={Boolean(judgement.errors.sshPort)}
            onChange={(event) => setDraft({ sshPort: event.target.value === '' ? null : typedNumber(event.target.value) })}
          />
        )}
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
      {judgement.firmware && (
        <p className="warning-banner" role="status" data-testid="firmware-warning">
          {judgement.firmware}
        </p>
      )}
      <label className="checkbox">
        <input type="checkbox" checked={draft.tpm} disabled={draft.firmware !== 'uefi'} onChange={(event) => setDraft({ tpm: event.target.checked })} /> TPM 2.0 (Windows 11 needs it; UEFI only)
      </label>
    </div>
  );
}
