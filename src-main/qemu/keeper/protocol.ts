import path from 'node:path';
import { z } from 'zod';
import { Accelerator } from '../../../src-shared/host';
import { VmId, VmProblem, VmState } from '../../../src-shared/vm';

// The keeper is a small process that is QEMU's parent for the VM's whole life, detached
// from whichever front door started it. It owns the QMP and serial connections (QEMU
// serves each to one client at a time) and shares them with every Hangar process through
// two sockets of its own in the VM's private run folder:
//   control.sock  JSON lines: hello, state changes, QMP events, QMP commands and replies
//   console.sock  raw bytes: a 4-byte big-endian length and that much scrollback, then
//                 the live serial stream; bytes written go to the guest
// Everything that crosses these sockets or the launch file is validated here.

export const LaunchSpec = z.strictObject({
  vmId: VmId,
  vmName: z.string(),
  vmDir: z.string().refine((dir) => path.isAbsolute(dir)),
  runDir: z.string().refine((dir) => path.isAbsolute(dir)),
  qemuBinary: z.string().refine((file) => path.isAbsolute(file)),
  argv: z.array(z.string()),
  accelerator: Accelerator,
  swtpm: z.strictObject({ binary: z.string(), stateDir: z.string(), socket: z.string() }).nullable(),
});
export type LaunchSpec = z.infer<typeof LaunchSpec>;

export const keeperFiles = (runDir: string) => ({
  launch: path.join(runDir, 'launch.json'),
  keeperPid: path.join(runDir, 'keeper.pid'),
  control: path.join(runDir, 'control.sock'),
  console: path.join(runDir, 'console.sock'),
});

/** Written to the VM folder when QEMU ends: how the last run finished, kept across restarts. */
export const LastRun = z.strictObject({
  state: z.enum(['stopped', 'crashed']),
  problem: VmProblem.nullable(),
  endedAt: z.string(),
  exitCode: z.number().int().nullable(),
  signal: z.string().nullable(),
});
export type LastRun = z.infer<typeof LastRun>;
export const LAST_RUN_FILE = 'last-run.json';

/** The keeper's first line on its stdout, read by the process that started it. */
export const StartReport = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('ready'), keeperPid: z.number().int(), qemuPid: z.number().int() }),
  z.strictObject({ type: z.literal('failed'), code: z.string(), message: z.string(), log: z.array(z.string()) }),
]);
export type StartReport = z.infer<typeof StartReport>;

export const KeeperHello = z.strictObject({
  type: z.literal('hello'),
  vmId: VmId,
  keeperPid: z.number().int(),
  qemuPid: z.number().int(),
  state: VmState,
  problem: VmProblem.nullable(),
  startedAt: z.string(),
  accelerator: Accelerator,
  argv: z.array(z.string()),
});
export type KeeperHello = z.infer<typeof KeeperHello>;

export const KeeperMessage = z.discriminatedUnion('type', [
  KeeperHello,
  z.strictObject({ type: z.literal('state'), state: VmState, problem: VmProblem.nullable() }),
  z.strictObject({ type: z.literal('event'), event: z.string(), data: z.record(z.string(), z.unknown()).optional() }),
  z.strictObject({
    type: z.literal('reply'),
    id: z.number().int(),
    ok: z.boolean(),
    value: z.unknown().optional(),
    error: z.strictObject({ qmpClass: z.string(), message: z.string() }).optional(),
  }),
]);
export type KeeperMessage = z.infer<typeof KeeperMessage>;

/** The QMP commands other processes may send through the keeper: what the engine needs, nothing more. */
export const ALLOWED_QMP = ['query-status', 'system_powerdown', 'system_reset', 'stop', 'cont', 'quit', 'eject', 'blockdev-change-medium', 'screendump', 'query-block'] as const;

export const KeeperRequest = z.strictObject({
  type: z.literal('qmp'),
  id: z.number().int().nonnegative(),
  execute: z.enum(ALLOWED_QMP),
  arguments: z.record(z.string(), z.unknown()).optional(),
});
export type KeeperRequest = z.infer<typeof KeeperRequest>;
