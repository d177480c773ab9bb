import { z } from 'zod';
import { numberProblem, type LimitName } from './limits';

// How a VM's network reaches this machine: port forwards on a NIC, and the one rule that
// says which of them is SSH. Everything that offers "SSH into the guest" asks here.

/** A number within its LIMITS entry, refused in the same words the wizard shows. */
export const limited = (name: LimitName) =>
  z.number().superRefine((value, context) => {
    const problem = numberProblem(name, value);
    if (problem) context.addIssue({ code: 'custom', message: problem });
  });

export const PortForward = z.strictObject({
  protocol: z.enum(['tcp', 'udp']).default('tcp'),
  hostAddress: z.union([z.literal('127.0.0.1'), z.literal('0.0.0.0')]).default('127.0.0.1'),
  hostPort: limited('hostPort'),
  guestPort: limited('guestPort'),
});
export type PortForward = z.infer<typeof PortForward>;
export type PortForwardInput = z.input<typeof PortForward>;

export const SSH_GUEST_PORT = 22;

/** SSH is the TCP forward to the guest's port 22: the first one, if a VM has several. */
export function isSshForward(forward: PortForwardInput): boolean {
  return (forward.protocol ?? 'tcp') === 'tcp' && forward.guestPort === SSH_GUEST_PORT;
}

/** The host port SSH reaches the guest on, looking through every NIC, or null. */
export function sshHostPort(nics: readonly { portForwards: readonly PortForwardInput[] }[]): number | null {
  for (const nic of nics) {
    const forward = nic.portForwards.find(isSshForward);
    if (forward) return forward.hostPort;
  }
  return null;
}

/** The forwards with SSH set to `hostPort` (or removed with null), every other forward kept as it was. */
export function withSshPort<T extends PortForwardInput>(forwards: readonly T[], hostPort: number | null): (T | PortForward)[] {
  const others = forwards.filter((forward) => !isSshForward(forward));
  if (hostPort === null) return others;
  return [...others, { protocol: 'tcp', hostAddress: '127.0.0.1', hostPort, guestPort: SSH_GUEST_PORT }];
}

/** "tcp:2222-22" or "udp:127.0.0.1:5353-53", as the CLI takes a forward; null when it is not one. */
export function parseForward(text: string): PortForwardInput | null {
  const match = /^(tcp|udp):(?:(127\.0\.0\.1|0\.0\.0\.0):)?(\d{1,5})-(\d{1,5})$/.exec(text.trim());
  if (!match) return null;
  return { protocol: match[1] as 'tcp' | 'udp', hostAddress: (match[2] ?? '127.0.0.1') as '127.0.0.1' | '0.0.0.0', hostPort: Number(match[3]), guestPort: Number(match[4]) };
}

export function formatForward(forward: PortForwardInput): string {
  const address = forward.hostAddress && forward.hostAddress !== '127.0.0.1' ? `${forward.hostAddress}:` : '';
  return `${forward.protocol ?? 'tcp'}:${address}${forward.hostPort}-${forward.guestPort}`;
}

/** Two forwards that would take the same port on this machine. */
export function clashingForward(forwards: readonly PortForwardInput[]): PortForwardInput | null {
  const seen = new Set<string>();
  for (const forward of forwards) {
    const key = `${forward.protocol ?? 'tcp'}:${forward.hostPort}`;
    if (seen.has(key)) return forward;
    seen.add(key);
  }
  return null;
}
