import { z } from 'zod';
import { AppInfo } from './app';
import { HostReport } from './host';

// The one list of what a client may ask and what it may hear. Every door (Electron IPC,
// the web host's WebSocket, the CLI) serves exactly these methods, checked by a test.

interface MethodSpec {
  input: z.ZodType;
  output: z.ZodType;
  /** One line for help texts and docs. */
  summary: string;
}

export const methods = {
  getAppInfo: {
    input: z.strictObject({}),
    output: AppInfo,
    summary: 'Name, version and which front door the client came through.',
  },
  checkHost: {
    input: z.strictObject({}),
    output: HostReport,
    summary: 'Check whether this machine can run VMs, with KVM or by software emulation, and how to fix what is missing.',
  },
} as const satisfies Record<string, MethodSpec>;

export const events = {
  /** A new host report, after any client asked for a check. */
  hostChecked: HostReport,
} as const satisfies Record<string, z.ZodType>;

export type Methods = typeof methods;
export type MethodName = keyof Methods;
export type MethodInput<M extends MethodName> = z.input<Methods[M]['input']>;
export type MethodOutput<M extends MethodName> = z.output<Methods[M]['output']>;

export type EventName = keyof typeof events;
export type EventPayload<E extends EventName> = z.output<(typeof events)[E]>;

/** What every door offers, in the same shape: one async function per contract method. */
export type HangarApi = {
  [M in MethodName]: (input: MethodInput<M>) => Promise<MethodOutput<M>>;
};

export const methodNames = Object.keys(methods) as MethodName[];
export const eventNames = Object.keys(events) as EventName[];

export function isMethodName(name: string): name is MethodName {
  return Object.hasOwn(methods, name);
}

export function isEventName(name: string): name is EventName {
  return Object.hasOwn(events, name);
}
