import { formatBytes } from '../../../src-shared/format';
import { bootsWith } from '../../../src-shared/os';
import { osTitle } from '../../../src-shared/vm-naming';
import { OpenIsoButton } from '../../components/OpenIsoButton';
import { useAppStore } from '../../store/react';
import type { MediaKind } from '../../store/wizard-slice';
import { Field } from '../../components/Field';

// Step 1: what the VM starts from. An ISO (dropped, chosen or typed), a disk image to
// import, or nothing; a sending on its way can be stopped here.

const KINDS: { kind: MediaKind; label: string }[] = [
  { kind: 'iso', label: 'Install from an ISO image' },
  { kind: 'disk', label: 'Import an existing disk image' },
  { kind: 'empty', label: 'Empty (no install media)' },
];

export function MediaStep() {
  const draft = useAppStore((state) => state.draft);
  const media = useAppStore((state) => state.media);
  const setDraft = useAppStore((state) => state.setDraft);
  const chooseIsoPath = useAppStore((state) => state.chooseIsoPath);
  return (
    <div className="wizard-step">
      <fieldset className="choices">
        <legend>What should the VM start from?</legend>
        {KINDS.map(({ kind, label }) => (
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
  const stopSending = useAppStore((state) => state.stopSending);
  if (media.phase === 'sending') {
    const name = media.fileName ?? 'the ISO';
    return (
      <div className="media-state" role="status" aria-live="polite">
        <span>
          Sending {name} to Hangar… {Math.round((media.fraction ?? 0) * 100)} %
        </span>
        <div className="media-sending">
          <progress max={1} value={media.fraction ?? 0} aria-label={`Sending ${name}`} />
          <button type="button" onClick={stopSending}>
            Stop sending
          </button>
        </div>
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
  if (media.phase === 'stopped') {
    return (
      <p className="media-state" role="status">
        {media.error}
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
  const boots = bootsWith(info);
  return (
    <div className="detected-os" data-testid="detected-os">
      <p>
        <strong>Detected:</strong> <span className="detected-os-name">{osTitle(info.os)}</span>
      </p>
      {info.os.family === 'tool' && <p className="field-hint">A tool that starts from its CD and works in memory: it needs no disk and little memory.</p>}
      <p className="field-hint">
        {info.path} · {formatBytes(info.sizeBytes)} · boots with {boots ?? 'neither BIOS nor UEFI (it may not be an installer)'}
      </p>
      {info.evidence.length > 0 && <p className="field-hint">Found: {info.evidence.join('; ')}</p>}
    </div>
  );
}
