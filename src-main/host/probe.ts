import { constants, promises as fs } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { runProgram, type RunOptions, type RunResult } from '../util/run';

// Everything the host check learns about the machine goes through this interface, with
// host paths relative to a root. The real probe reads the live system (root '/'); unit
// tests read captured trees of other machines (an Intel host, an AMD host, ...).

export type NodeKind = 'file' | 'dir' | 'char' | 'block' | 'link' | 'other';

export interface NodeInfo {
  kind: NodeKind;
  mode: number;
  uid: number;
  gid: number;
}

export interface HostProbe {
  readonly root: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readText(hostPath: string): Promise<string | null>;
  /** Reads a gzip-compressed text file such as /proc/config.gz. */
  readGzipText(hostPath: string): Promise<string | null>;
  list(hostPath: string): Promise<string[] | null>;
  stat(hostPath: string): Promise<NodeInfo | null>;
  /** Whether this process may read and write the node; asks the kernel, so ACLs count. */
  canReadWrite(hostPath: string): Promise<boolean>;
  /** Free bytes on the file system holding hostPath, or of its nearest existing parent. */
  freeBytes(hostPath: string): Promise<number | null>;
  run(hostPath: string, args: readonly string[], options?: RunOptions): Promise<RunResult>;
}

function kindOf(stats: import('node:fs').Stats): NodeKind {
  if (stats.isFile()) return 'file';
  if (stats.isDirectory()) return 'dir';
  if (stats.isCharacterDevice()) return 'char';
  if (stats.isBlockDevice()) return 'block';
  if (stats.isSymbolicLink()) return 'link';
  return 'other';
}

export function localProbe(root = '/', env: Record<string, string | undefined> = process.env): HostProbe {
  const at = (hostPath: string): string => path.join(root, hostPath);
  return {
    root,
    env,
    async readText(hostPath) {
      try {
        return await fs.readFile(at(hostPath), 'utf8');
      } catch {
        return null;
      }
    },
    async readGzipText(hostPath) {
      try {
        return gunzipSync(await fs.readFile(at(hostPath))).toString('utf8');
      } catch {
        return null;
      }
    },
    async list(hostPath) {
      try {
        return (await fs.readdir(at(hostPath))).sort();
      } catch {
        return null;
      }
    },
    async stat(hostPath) {
      try {
        const stats = await fs.stat(at(hostPath));
        return { kind: kindOf(stats), mode: stats.mode & 0o7777, uid: stats.uid, gid: stats.gid };
      } catch {
        return null;
      }
    },
    async canReadWrite(hostPath) {
      try {
        await fs.access(at(hostPath), constants.R_OK | constants.W_OK);
        return true;
      } catch {
        return false;
      }
    },
    async freeBytes(hostPath) {
      let dir = at(hostPath);
      for (;;) {
        try {
          const stats = await fs.statfs(dir);
          return Number(stats.bavail) * Number(stats.bsize);
        } catch {
          const parent = path.dirname(dir);
          if (parent === dir) return null;
          dir = parent;
        }
      }
    },
    run(hostPath, args, options) {
      return runProgram(at(hostPath), args, options);
    },
  };
}
