import { formatBytes, shellQuote } from '../../../src-shared/format';
import { DISK_NONE } from '../../../src-shared/limits';
import { CopyButton } from '../../components/CopyButton';
import { useAppStore } from '../../store/react';
import type { DraftJudgement } from '../../store/wizard-judge';
import { requestOf } from '../../store/wizard-slice';

// Step 4: what will be made, the engine's own verdict on it (previewVm: its refusal as a
// sentence, its warnings) and the exact QEMU command line.

export function ReviewStep({ judgement }: { judgement: DraftJudgement }) {
  const draft = useAppStore((state) => state.draft);
  const preview = useAppStore((state) => state.preview);
  const previewError = useAppStore((state) => state.previewError);
  const request = requestOf(draft);
  const command = preview ? shellQuote(preview.argv) : null;
  const disk = draft.media === 'disk' ? `imported, on ${draft.diskBus}` : draft.diskGiB === DISK_NONE ? 'No disk' : `${draft.diskGiB} GiB on ${draft.diskBus}`;
  return (
    <div className="wizard-step">
      <dl className="facts review">
        <dt>Name</dt>
        <dd>{draft.name}</dd>
        <dt>Starts from</dt>
        <dd>{request.iso ?? (request.importDisk ? `imported disk ${request.importDisk}` : 'nothing (empty)')}</dd>
        {draft.isoInfo && draft.media === 'iso' && (
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
        <dd>{disk}</dd>
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
      {judgement.firmware && (
        <p className="warning-banner" role="status">
          {judgement.firmware}
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
