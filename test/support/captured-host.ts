import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { parseProcStatus } from '../../src-main/host/access';
import { localProbe, type HostProbe, type NodeInfo } from '../../src-main/host/probe';
import type { RunResult } from '../../src-main/util/run';

// A captured tree is another machine's files under <treeDir> (proc/cpuinfo, sys/module/...,
// etc/group, ...), read through the real localProbe. What git cannot hold is answered by
// <treeDir>/captured.json:
//
//   {
//     "about": "free text: which machine this is",
//     "env": { "PATH": "...", "USER": "alice", "HOME": "/home/alice" },
//     "nodes": {                      // stat() answers for these host paths; others: the real stat under treeDir
//       "/dev/kvm": { "kind": "char", "mode": "0660", "uid": 0, "gid": 107, "access": false },
//       "/usr/bin/qemu-img": { "kind": "file", "mode": "0755", "uid": 0, "gid": 0 }
//     },                              // access (canReadWrite) defaults to what mode, uid and gid grant
//                                     // the user in <treeDir>/proc/self/status, as the kernel would
//     "commands": {                   // key: program host path and arguments, joined by spaces
//       "/usr/bin/qemu-img --version": { "code": 0, "stdout": "qemu-img version 9.1.2\n", "stderr": "" }
//     },                              // a program run with arguments not listed here fails to spawn
//     "free_bytes": 442381631488      // freeBytes() for any path; null or absent: unknown
//   }

const Manifest = z.strictObject({
  about: z.string().optional(),
  env: z.record(z.string(), z.string()),
  nodes: z
    .record(
      z.string(),
      z.strictObject({
        kind: z.enum(['file', 'dir', 'char', 'block', 'link', 'other']),
        mode: z.string().regex(/^[0-7]{3,4}$/),
        uid: z.number().int(),
        gid: z.number().int(),
        access: z.boolean().optional(),
      }),
    )
    .default({}),
  commands: z.record(z.string(), z.strictObject({ code: z.number().int().nullable(), stdout: z.string(), stderr: z.string() })).default({}),
  free_bytes: z.number().int().nonnegative().nullable().default(null),
});

/** A HostProbe that answers from a captured tree of another machine instead of this one. */
export function capturedProbe(treeDir: string): HostProbe {
  const manifest = Manifest.parse(JSON.parse(readFileSync(path.join(treeDir, 'captured.json'), 'utf8')));
  const files = localProbe(treeDir, manifest.env);
  const declared = (hostPath: string): NodeInfo | null => {
    const node = manifest.nodes[hostPath];
    return node ? { kind: node.kind, mode: parseInt(node.mode, 8), uid: node.uid, gid: node.gid } : null;
  };
  return {
    ...files,
    async stat(hostPath) {
      return declared(hostPath) ?? files.stat(hostPath);
    },
    async canReadWrite(hostPath) {
      const node = declared(hostPath);
      if (!node) return files.canReadWrite(hostPath);
      const explicit = manifest.nodes[hostPath]?.access;
      if (explicit !== undefined) return explicit;
      const user = parseProcStatus((await files.readText('/proc/self/status')) ?? '');
      if (user.uid === 0) return true;
      const inGroup = node.gid === user.gid || user.groups.includes(node.gid);
      const bits = node.uid === user.uid ? node.mode >> 6 : inGroup ? node.mode >> 3 : node.mode;
      return (bits & 0o6) === 0o6;
    },
    async freeBytes() {
      return manifest.free_bytes;
    },
    async run(hostPath, args): Promise<RunResult> {
      const key = [hostPath, ...args].join(' ');
      const answer = manifest.commands[key];
      if (!answer) return { code: null, signal: null, stdout: '', stderr: '', spawnError: `not captured: ${key}`, timedOut: false };
      return { ...answer, signal: null, timedOut: false };
    },
  };
}
