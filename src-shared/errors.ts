import { z } from 'zod';

// Errors cross every door as plain data: a stable code for programs and a sentence for people.
export const ErrorCode = z.enum([
  'BAD_REQUEST', // a message that does not match the contract
  'UNKNOWN_METHOD',
  'UNAUTHORIZED',
  'DISCONNECTED', // the client lost its connection to the door
  'HOST_CHECK_FAILED',
  'VM_NOT_FOUND',
  'VM_NAME_INVALID',
  'VM_NAME_TAKEN',
  'VM_BROKEN', // its vm.json cannot be read; the file is left as it is
  'VM_BUSY', // another process is changing or running it
  'VM_NOT_RUNNING',
  'VM_RUNNING',
  'ISO_NOT_FOUND',
  'NOT_AN_ISO', // a file that is not an ISO 9660 image, or a folder
  'ISO_UNREADABLE', // an ISO we may not read, or one that is damaged
  'DISK_NOT_FOUND',
  'DISK_EXISTS',
  'DISK_FAILED',
  'NOT_A_DISK_IMAGE', // a folder, device, pipe or file that is no disk image Hangar imports
  'UNSAFE_DISK_IMAGE', // an image that names other files (backing file, external data, VMDK extents): importing would copy them
  'FILE_IN_USE', // a kept file something still uses (an ISO in a VM's CD drive)
  'NO_SPACE',
  'BAD_SETTINGS',
  'QEMU_FAILED',
  'TIMEOUT',
  'TERMINAL_NOT_FOUND',
  'TERMINAL_FAILED', // a terminal's program could not start (no shell, no ssh, no node-pty)
  'TOO_MANY_TERMINALS',
  'NO_PERMISSION',
  'INTERNAL',
]);
export type ErrorCode = z.infer<typeof ErrorCode>;

export const ErrorInfo = z.strictObject({
  code: ErrorCode,
  message: z.string(),
});
export type ErrorInfo = z.infer<typeof ErrorInfo>;

export class HangarError extends Error {
  override readonly name = 'HangarError';
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }

  toInfo(): ErrorInfo {
    return { code: this.code, message: this.message };
  }

  static fromInfo(info: ErrorInfo): HangarError {
    return new HangarError(info.code, info.message);
  }
}
