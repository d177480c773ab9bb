import type { HostProbe, NodeInfo } from './probe';

// Who we are and whether we may use a device node: the kernel decides by owner, group and
// mode (and ACLs, which only the kernel can answer for, so canReadWrite asks it).

export interface UserFacts {
  uid: number;
  gid: number;
  /** Supplementary groups of this process: what the current login session really has. */
  groups: number[];
}

export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

export interface DeviceFacts {
  path: string;
  node: NodeInfo | null;
  usable: boolean;
}

export function parseProcStatus(text: string): UserFacts {
  const field = (name: string): number[] => {
    const line = text.split('\n').find((candidate) => candidate.startsWith(`${name}:`));
    return line ? line.slice(name.length + 1).trim().split(/\s+/).filter(Boolean).map(Number) : [];
  };
  return { uid: field('Uid')[1] ?? field('Uid')[0] ?? -1, gid: field('Gid')[1] ?? field('Gid')[0] ?? -1, groups: field('Groups') };
}

export function parseGroupFile(text: string): GroupEntry[] {
  const groups: GroupEntry[] = [];
  for (const line of text.split('\n')) {
    const [name, , gid, members] = line.split(':');
    if (!name || gid === undefined || !/^\d+$/.test(gid)) continue;
    groups.push({ name, gid: Number(gid), members: (members ?? '').split(',').filter(Boolean) });
  }
  return groups;
}

/** The user name for a uid, from /etc/passwd. */
export function userNameFor(passwd: string, uid: number): string | null {
  for (const line of passwd.split('\n')) {
    const [name, , id] = line.split(':');
    if (name && id === String(uid)) return name;
  }
  return null;
}

export async function readUser(probe: HostProbe): Promise<UserFacts & { name: string | null; groupFile: GroupEntry[] }> {
  const status = parseProcStatus((await probe.readText('/proc/self/status')) ?? '');
  const name = userNameFor((await probe.readText('/etc/passwd')) ?? '', status.uid) ?? probe.env.USER ?? null;
  return { ...status, name, groupFile: parseGroupFile((await probe.readText('/etc/group')) ?? '') };
}

export async function readDevice(probe: HostProbe, path: string): Promise<DeviceFacts> {
  const node = await probe.stat(path);
  return { path, node, usable: node !== null && (await probe.canReadWrite(path)) };
}
