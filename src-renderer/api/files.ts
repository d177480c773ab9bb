import { HangarError } from '../../src-shared/errors';

// How a file the person dropped or picked becomes a path the engine can use. The desktop
// app asks Electron where the file is; a browser cannot say, so its bytes are sent to
// `hangar web`, which keeps them in the library's isos/ folder.

export interface IsoPath {
  path: string;
  /** Stored just now for this request (not found in place, not an identical ISO kept earlier): removable if unused. */
  fresh: boolean;
}

export interface FileDoor {
  /** True when files are sent (browser) rather than named in place (desktop app). */
  uploads: boolean;
  /** The file as a path on the engine's machine; an aborted signal stops a sending, which then keeps nothing. */
  isoPath(file: File, onProgress: (fraction: number) => void, signal?: AbortSignal): Promise<IsoPath>;
}

export function bridgeFileDoor(pathForFile: (file: File) => string): FileDoor {
  return {
    uploads: false,
    async isoPath(file) {
      const found = pathForFile(file);
      if (!found) throw new HangarError('NOT_AN_ISO', `Hangar cannot tell where "${file.name}" is on this machine. Choose it with Open ISO… instead.`);
      return { path: found, fresh: false };
    },
  };
}

export function uploadFileDoor(origin: string): FileDoor {
  return {
    uploads: true,
    isoPath: (file, onProgress, signal) =>
      new Promise<IsoPath>((resolve, reject) => {
        if (signal?.aborted) return reject(stopped(file));
        // XMLHttpRequest, not fetch: only it reports upload progress.
        const request = new XMLHttpRequest();
        // abort() closes the connection mid-body; the web host then removes the partial file.
        signal?.addEventListener('abort', () => request.abort(), { once: true });
        request.addEventListener('abort', () => reject(stopped(file)));
        request.open('PUT', `${origin}/upload/iso?name=${encodeURIComponent(file.name)}`);
        request.setRequestHeader('Content-Type', 'application/octet-stream');
        request.upload.addEventListener('progress', (event) => {
          if (event.lengthComputable) onProgress(event.loaded / event.total);
        });
        request.addEventListener('load', () => {
          let body: { ok?: boolean; value?: { path?: unknown; reused?: unknown }; error?: { code?: unknown; message?: unknown } } = {};
          try {
            body = JSON.parse(request.responseText) as typeof body;
          } catch {
            // answered below
          }
          if (body.ok && typeof body.value?.path === 'string') resolve({ path: body.value.path, fresh: body.value.reused === false });
          else reject(new HangarError(typeof body.error?.code === 'string' ? (body.error.code as HangarError['code']) : 'INTERNAL', typeof body.error?.message === 'string' ? body.error.message : `Sending "${file.name}" to Hangar failed (HTTP ${request.status}).`));
        });
        request.addEventListener('error', () => reject(new HangarError('DISCONNECTED', `Sending "${file.name}" to Hangar failed: the connection was lost. Check that "hangar web" is still running.`)));
        request.send(file);
      }),
  };
}

/** A sending the person stopped: the web host removed what had arrived. */
function stopped(file: File): HangarError {
  return new HangarError('DISCONNECTED', `Sending “${file.name}” was stopped; nothing was kept.`);
}

/** "CD001" at byte 32769 marks an ISO 9660 image; checked here so a wrong file is refused before any upload. */
const MAGIC_OFFSET = 0x8001;

/** Why a dropped item cannot be an ISO, in words, or null when it looks like one. */
export async function whyNotAnIso(file: File, isFolder: boolean): Promise<string | null> {
  if (isFolder) return `“${file.name}” is a folder. Drop the .iso file itself.`;
  const notIso = `“${file.name}” is not an ISO image (a CD or DVD image file). Hangar creates VMs from .iso files, such as the installers Linux distributions offer for download.`;
  if (file.size < MAGIC_OFFSET + 5) return notIso;
  let magic: string;
  try {
    magic = new TextDecoder('latin1').decode(await file.slice(MAGIC_OFFSET, MAGIC_OFFSET + 5).arrayBuffer());
  } catch {
    return `“${file.name}” could not be read. It may be a folder, or you may not be allowed to read it.`;
  }
  return magic === 'CD001' ? null : notIso;
}
