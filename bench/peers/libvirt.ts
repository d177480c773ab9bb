import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runProgram, type RunResult } from '../../src-main/util/run';

// A libvirt session daemon of the bench's own (qemu:///session): libvirtd in the foreground
// with a private XDG_RUNTIME_DIR, HOME and config in a temp folder, no systemd, stopped at
// the end. A session daemon refuses to run as root (root's libvirtd is the system one, which
// wants the libvirt-qemu user of libvirt-daemon-system), so when the bench runs as root the
// daemon and its clients run as nobody, through setpriv; QEMU then runs as nobody too.

const URI = 'qemu:///session';
const NOBODY = 65534;

export function libvirtMissing(): string | null {
  const needed = ['/usr/sbin/libvirtd', '/usr/bin/virsh', '/usr/bin/virt-install'];
  if (process.getuid?.() === 0) needed.push('/usr/bin/setpriv');
  const missing = needed.filter((file) => !existsSync(file));
  return missing.length ? `libvirt is not installed here (missing ${missing.join(', ')}); run: bash scripts/setup-host.sh --bench` : null;
}

export interface LibvirtSession {
  /** A folder the daemon's user owns, for disks and serial sockets. */
  dir: string;
  daemonPid: number;
  /** The argv prefix that runs a program as the daemon's user (empty when not root). */
  asUser: string[];
  env: Record<string, string>;
  virsh(args: string[], timeoutMs?: number): Promise<RunResult>;
  /** virt-install --print-xml 1 (the install boot, CD first), then virsh define. */
  define(name: string, virtInstallArgs: string[]): Promise<string>;
  /** Pids of the supervision: libvirtd and the virtlogd it starts with the first domain. */
  supervisionPids(): Promise<number[]>;
  stop(): Promise<void>;
}

export async function startLibvirtSession(): Promise<LibvirtSession> {
  // Short: libvirt's guest-agent socket path under it must fit a unix socket's 107 bytes.
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'hbl-'));
  const asRoot = process.getuid?.() === 0;
  const asUser = asRoot ? ['/usr/bin/setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups'] : [];
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: path.join(root, 'home'),
    XDG_RUNTIME_DIR: path.join(root, 'run'),
    XDG_CONFIG_HOME: path.join(root, 'config'),
    XDG_CACHE_HOME: path.join(root, 'cache'),
    LANG: 'C.UTF-8',
  };
  for (const dir of [env.HOME, env.XDG_RUNTIME_DIR, env.XDG_CONFIG_HOME, env.XDG_CACHE_HOME, path.join(root, 'vms')]) {
    await fs.mkdir(dir as string, { recursive: true, mode: 0o700 });
  }
  if (asRoot) await chownTree(root, NOBODY);
  await fs.chmod(root, 0o700);

  const run = (argv: string[], timeoutMs = 60_000): Promise<RunResult> => {
    const [binary, ...args] = asUserArgv(asUser, argv);
    return runProgram(binary, args, { timeoutMs, env });
  };
  const [binary, ...args] = asUserArgv(asUser, ['/usr/sbin/libvirtd']);
  const daemon: ChildProcess = spawn(binary, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let daemonLog = '';
  daemon.stderr?.on('data', (chunk: Buffer) => void (daemonLog = (daemonLog + chunk.toString()).slice(-4000)));
  const socket = path.join(env.XDG_RUNTIME_DIR as string, 'libvirt', 'libvirt-sock');
  const deadline = Date.now() + 30_000;
  while (!existsSync(socket)) {
    if (daemon.exitCode !== null || Date.now() > deadline) throw new Error(`libvirtd (session) did not start: ${daemonLog}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const virsh = (virshArgs: string[], timeoutMs?: number): Promise<RunResult> => run(['/usr/bin/virsh', '-c', URI, ...virshArgs], timeoutMs);
  // The first call makes the daemon load the QEMU capabilities (a few seconds); not timed.
  const version = await virsh(['version']);
  if (version.code !== 0) throw new Error(`virsh cannot reach the session daemon: ${version.stderr}`);

  const supervisionPids = async (): Promise<number[]> => {
    const pids = [daemon.pid as number];
    const virtlogd = await fs.readFile(path.join(env.XDG_RUNTIME_DIR as string, 'libvirt', 'virtlogd.pid'), 'utf8').catch(() => '');
    if (/^\d+\s*$/.test(virtlogd)) pids.push(Number(virtlogd));
    return pids;
  };

  return {
    dir: path.join(root, 'vms'),
    daemonPid: daemon.pid as number,
    asUser,
    env,
    virsh,
    async define(name, virtInstallArgs) {
      const printed = await run(['/usr/bin/virt-install', '--connect', URI, '--name', name, '--virt-type', 'qemu', '--noautoconsole', '--print-xml', '1', ...virtInstallArgs]);
      if (printed.code !== 0) throw new Error(`virt-install --print-xml failed: ${printed.stderr}`);
      const xmlFile = path.join(root, 'vms', `${name}.xml`);
      await fs.writeFile(xmlFile, printed.stdout, { mode: 0o644 });
      if (asRoot) await fs.chown(xmlFile, NOBODY, NOBODY);
      const defined = await virsh(['define', xmlFile]);
      if (defined.code !== 0) throw new Error(`virsh define ${name} failed: ${defined.stderr}`);
      return printed.stdout;
    },
    supervisionPids,
    async stop() {
      const listed = await virsh(['list', '--all', '--name']);
      for (const name of listed.stdout.split('\n').map((line) => line.trim()).filter(Boolean)) {
        await virsh(['destroy', name]);
        await virsh(['undefine', name, '--nvram']);
      }
      const logd = (await supervisionPids()).slice(1);
      const exited = new Promise((resolve) => daemon.once('exit', resolve));
      daemon.kill('SIGTERM');
      await exited;
      for (const pid of logd) {
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          // already gone
        }
      }
      await fs.rm(root, { recursive: true, force: true });
    },
  };
}

/** argv run as the daemon's user: behind setpriv when the bench is root, as it is otherwise. */
export function asUserArgv(asUser: readonly string[], argv: readonly string[]): [string, ...string[]] {
  const all = [...asUser, ...argv];
  if (!all[0]) throw new Error('no program to run');
  return all as [string, ...string[]];
}

async function chownTree(dir: string, uid: number): Promise<void> {
  await fs.chown(dir, uid, uid);
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) await chownTree(path.join(dir, entry.name), uid);
    else await fs.chown(path.join(dir, entry.name), uid, uid);
  }
}
