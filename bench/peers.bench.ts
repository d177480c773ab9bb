import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { runPaths } from '../src-main/qemu/argv';
import { IDLE_MS } from '../src-main/qemu/keeper/daemon';
import { runProgram } from '../src-main/util/run';
import type { HangarService } from '../src-main/api/service';
import { call, followConsole, makeSandbox, type Sandbox } from '../test/support/engine';
import { hangarBin } from '../test/support/paths';
import { ensureTestIso, TEST_GUEST_READY } from '../test/support/test-iso';
import { asUserArgv, libvirtMissing, startLibvirtSession, type LibvirtSession } from './peers/libvirt';
import { LEGACY_WHY, QUICKEMU_SOURCE, quickemuArgv, quickemuDiskArgs, quickemuSockets } from './peers/quickemu';
import { runQemuDirectly, type Sample } from './peers/qemu-direct';
import { connectWhenThere, memoryOf, watchForMarker } from './peers/serial-marker';
import { median, record } from './support';
import { freePort } from '../test/support/free-port';

// Hangar against its peers, on the same tiny guest (the test ISO, 256 MiB, 1 vCPU, an empty
// 1 GiB qcow2 disk, TCG), interleaved A B C D E in every round so the drift of this shared
// machine hits all alike. Per system and round:
//   start: the user's command (a whole process where there is one) -> QEMU running;
//   boot:  the same command -> TEST_GUEST_READY on the guest's serial port.
// Then the memory that supervising 10 running VMs costs: Hangar's keepers vs libvirt's
// session daemon (with the virtlogd it starts), QEMU processes excluded on both sides.

const SYSTEMS = ['qemu_by_hand', 'libvirt_debian11', 'libvirt_generic', 'quickemu', 'hangar_start'] as const;
type System = (typeof SYSTEMS)[number];
const HOW_MEASURED: Record<System, string> = {
  qemu_by_hand: "Hangar's own argv (getVm) spawned by the bench: spawn -> QMP query-status running; the bench connects the serial socket first, as the keeper does (wait=on)",
  libvirt_debian11: 'virt-install --osinfo debian11 --print-xml 1, virsh define once; start = `virsh start` process until it exits 0 (libvirt returns once QEMU runs; `virsh domstate` is then checked, untimed); boot reads the <serial type=unix> socket',
  libvirt_generic: 'as libvirt_debian11 with virt-install --osinfo generic',
  quickemu: 'the recorded quickemu argv (bench/peers/quickemu.ts) spawned directly: spawn -> QMP query-status running; boot reads its -serial unix socket',
  hangar_start: '`node bin/hangar.js start peer` (the built CLI, a fresh process, sandbox HANGAR_HOME/HANGAR_RUNTIME_DIR) until it exits 0; boot through the keeper\'s console (attachConsole), the live view a user has',
};
const CPUS = 1;
const MIN_ROUNDS = 5;
const MAX_ROUNDS = 10;
/** More rounds (up to MAX_ROUNDS) only while the rounds so far say they fit in this. */
const ROUND_BUDGET_MS = 9 * 60_000;
const MEMORY_VMS = 10;

type Runner = () => Promise<Sample>;

let sandbox: Sandbox;
let service: HangarService;
let iso: string;
let libvirt: LibvirtSession | null = null;
let libvirtWhyNot: string | null = null;
let libvirtFresh: Awaited<ReturnType<typeof memoryOf>> | null = null;
/** Both tests' figures, written together under `peers` (each test writes what it has so far). */
const figures: Record<string, unknown> = {};

beforeAll(async () => {
  iso = await ensureTestIso();
  sandbox = await makeSandbox('hangar-peers-');
  service = sandbox.service();
  libvirtWhyNot = libvirtMissing();
  if (!libvirtWhyNot) {
    libvirt = await startLibvirtSession().catch((error: unknown) => {
      libvirtWhyNot = `the libvirt session daemon did not start: ${String(error)}`;
      return null;
    });
    if (libvirt) libvirtFresh = await memoryOf(await libvirt.supervisionPids());
  }
  if (libvirtWhyNot) console.log(`peers: libvirt columns skipped: ${libvirtWhyNot}`);
});
afterAll(async () => {
  await libvirt?.stop();
  await sandbox?.cleanup();
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function hangarRunner(): Promise<{ runner: Runner; argv: string[] }> {
  await call(service, 'createVm', { name: 'Peer', iso, memoryMiB: 256, cpus: CPUS, diskGiB: 1 });
  const { argv } = await call(service, 'getVm', { vm: 'peer' });
  const runner: Runner = async () => {
    const began = performance.now();
    const result = await runProgram(process.execPath, [hangarBin, 'start', 'peer'], { env: sandbox.env, timeoutMs: 120_000 });
    const startMs = performance.now() - began;
    if (result.code !== 0) throw new Error(`hangar start failed: ${result.stderr}`);
    const viewer = await followConsole(service, 'peer');
    const inScrollback = viewer.text().includes(TEST_GUEST_READY);
    await viewer.waitFor(new RegExp(TEST_GUEST_READY), 120_000);
    const bootMs = performance.now() - began;
    viewer.stop();
    if (inScrollback) throw new Error('The marker was already in the scrollback when the bench attached: boot time unknown');
    const { summary } = await call(service, 'getVm', { vm: 'peer' });
    if (summary.state !== 'running') throw new Error(`hangar start returned but the VM is ${summary.state}`);
    await call(service, 'stopVm', { vm: 'peer', force: true, waitSeconds: 30 });
    return { startMs, bootMs };
  };
  return { runner, argv: argv as string[] };
}

function byHandRunner(argv: string[]): Runner {
  const run = runPaths(path.join(sandbox.root, 'run', 'peer'));
  return async () => {
    await fs.mkdir(run.runDir, { recursive: true, mode: 0o700 });
    const sample = await runQemuDirectly(argv, { serial: run.serialSocket, qmp: run.qmpSocket });
    await fs.rm(run.runDir, { recursive: true, force: true });
    return sample;
  };
}

async function quickemuRunner(): Promise<{ runner: Runner; argv: string[] }> {
  const vmDir = path.join(sandbox.root, 'quickemu', 'peer');
  await fs.mkdir(vmDir, { recursive: true, mode: 0o700 });
  const disk = path.join(vmDir, 'disk.qcow2');
  const made = await runProgram('qemu-img', quickemuDiskArgs(disk, '1G'));
  if (made.code !== 0) throw new Error(`qemu-img create failed: ${made.stderr}`);
  const paths = { vmDir, name: 'peer', iso, disk, sshPort: await freePort(), memory: '256M', cpus: CPUS };
  const argv = quickemuArgv(paths);
  const sockets = quickemuSockets(paths);
  const runner: Runner = async () => {
    const sample = await runQemuDirectly(argv, sockets);
    for (const socket of Object.values(sockets)) await fs.rm(socket, { force: true });
    return sample;
  };
  return { runner, argv };
}

async function libvirtRunner(session: LibvirtSession, name: string, osinfo: string): Promise<{ runner: Runner; xml: string }> {
  const disk = path.join(session.dir, `${name}.qcow2`);
  const serial = path.join(session.dir, `${name}.serial`);
  const [binary, ...args] = asUserArgv(session.asUser, ['qemu-img', 'create', '-q', '-f', 'qcow2', disk, '1G']);
  const made = await runProgram(binary, args);
  if (made.code !== 0) throw new Error(`qemu-img create failed: ${made.stderr}`);
  const xml = await session.define(name, ['--osinfo', osinfo, '--memory', '256', '--vcpus', String(CPUS), '--cdrom', iso, '--disk', `path=${disk},format=qcow2`, '--graphics', 'vnc,listen=socket', '--serial', `unix,path=${serial},mode=bind`]);
  const runner: Runner = async () => {
    const began = performance.now();
    const started = await session.virsh(['start', name]);
    const startMs = performance.now() - began;
    if (started.code !== 0) throw new Error(`virsh start ${name} failed: ${started.stderr}`);
    const watch = watchForMarker(await connectWhenThere(serial), TEST_GUEST_READY);
    const state = await session.virsh(['domstate', name]);
    if (state.stdout.trim() !== 'running') throw new Error(`virsh start returned but ${name} is ${state.stdout.trim()}`);
    const bootMs = (await watch.seen) - began;
    watch.stop();
    const destroyed = await session.virsh(['destroy', name]);
    if (destroyed.code !== 0) throw new Error(`virsh destroy ${name} failed: ${destroyed.stderr}`);
    return { startMs, bootMs };
  };
  return { runner, xml };
}

const round1 = (value: number): number => Math.round(value);
const ratio = (a: number, b: number): number => Number((a / b).toFixed(2));

describe('peer benchmarks', () => {
  it('start and boot: QEMU by hand, libvirt (debian11, generic), quickemu, hangar start', async () => {
    const hangar = await hangarRunner();
    const quickemu = await quickemuRunner();
    const runners: Partial<Record<System, Runner>> = {
      qemu_by_hand: byHandRunner(hangar.argv),
      quickemu: quickemu.runner,
      hangar_start: hangar.runner,
    };
    const xml: Record<string, string> = {};
    if (libvirt) {
      const debian = await libvirtRunner(libvirt, 'peer-debian11', 'debian11');
      const generic = await libvirtRunner(libvirt, 'peer-generic', 'generic');
      runners.libvirt_debian11 = debian.runner;
      runners.libvirt_generic = generic.runner;
      xml.libvirt_debian11 = debian.xml;
      xml.libvirt_generic = generic.xml;
    }
    const present = SYSTEMS.filter((system) => runners[system]);
    const samples: Record<string, Sample[]> = Object.fromEntries(present.map((system) => [system, []]));
    const loadBefore = os.loadavg();
    const began = performance.now();
    let rounds = 0;
    while (rounds < MIN_ROUNDS || (rounds < MAX_ROUNDS && ((performance.now() - began) / rounds) * (rounds + 1) < ROUND_BUDGET_MS)) {
      for (const system of present) {
        samples[system]?.push(await (runners[system] as Runner)());
        await sleep(200); // the previous QEMU's exit settles
      }
      rounds++;
      console.log(`peers: round ${rounds}: ${present.map((system) => `${system} ${round1(samples[system]?.at(-1)?.startMs ?? 0)}/${round1(samples[system]?.at(-1)?.bootMs ?? 0)} ms`).join(', ')}`);
    }

    const series = (system: System, key: keyof Sample): number[] => (samples[system] ?? []).map((sample) => sample[key]);
    const perRoundRatio = (a: System, b: System, key: keyof Sample): number[] | null =>
      samples[a] && samples[b] ? series(a, key).map((value, index) => ratio(value, series(b, key)[index] as number)) : null;
    const systems: Record<string, unknown> = {};
    for (const system of SYSTEMS) {
      if (!samples[system]) {
        systems[system] = { skipped: libvirtWhyNot };
        continue;
      }
      const start = series(system, 'startMs');
      const boot = series(system, 'bootMs');
      const startRatios = perRoundRatio(system, 'qemu_by_hand', 'startMs') as number[];
      const bootRatios = perRoundRatio(system, 'qemu_by_hand', 'bootMs') as number[];
      systems[system] = {
        how: HOW_MEASURED[system],
        start_ms_median: round1(median(start)),
        boot_ms_median: round1(median(boot)),
        start_ms: start.map(round1),
        boot_ms: boot.map(round1),
        start_ratio_to_by_hand_per_round: startRatios,
        boot_ratio_to_by_hand_per_round: bootRatios,
        start_ratio_to_by_hand_median: median(startRatios),
        boot_ratio_to_by_hand_median: median(bootRatios),
        // How noisy this machine was for this system: the spread of its rounds.
        boot_spread_percent: Number((((Math.max(...boot) - Math.min(...boot)) / median(boot)) * 100).toFixed(1)),
      };
    }
    const hangarVsVirsh = libvirt
      ? {
          start_ratio_per_round: perRoundRatio('hangar_start', 'libvirt_debian11', 'startMs'),
          boot_ratio_per_round: perRoundRatio('hangar_start', 'libvirt_debian11', 'bootMs'),
          start_ratio_median: median(perRoundRatio('hangar_start', 'libvirt_debian11', 'startMs') as number[]),
          boot_ratio_median: median(perRoundRatio('hangar_start', 'libvirt_debian11', 'bootMs') as number[]),
        }
      : { skipped: libvirtWhyNot };
    const bestPeerBoot = Math.min(...(['libvirt_debian11', 'libvirt_generic', 'quickemu'] as const).filter((system) => samples[system]).map((system) => median(series(system, 'bootMs'))));
    const table = SYSTEMS.map((system) => {
      const s = systems[system] as { start_ms_median?: number; boot_ms_median?: number };
      return `${system.padEnd(18)} start ${String(s.start_ms_median ?? '-').padStart(6)} ms  boot ${String(s.boot_ms_median ?? '-').padStart(6)} ms`;
    });
    console.log(`\npeers (${rounds} rounds, medians):\n${table.join('\n')}`);
    Object.assign(figures, {
      guest: { iso: path.basename(iso), memory_mib: 256, cpus: CPUS, disk: 'empty 1 GiB qcow2', accel: 'tcg', marker: TEST_GUEST_READY },
      rounds,
      order: present,
      load_average_before: loadBefore.map((value) => Number(value.toFixed(2))),
      load_average_after: os.loadavg().map((value) => Number(value.toFixed(2))),
      systems,
      hangar_vs_virsh_debian11: hangarVsVirsh,
      hangar_boot_ratio_to_best_peer: Number((median(series('hangar_start', 'bootMs')) / bestPeerBoot).toFixed(2)),
      argv: { qemu_by_hand: hangar.argv, quickemu: quickemu.argv },
      libvirt_xml: xml,
      quickemu_source: { ...QUICKEMU_SOURCE, boot_legacy_because: LEGACY_WHY },
      libvirt: libvirt ? { uri: 'qemu:///session', daemon: 'libvirtd (started by the bench, private XDG dirs, no systemd)', runs_as: libvirt.asUser.length ? 'nobody (setpriv: a session daemon cannot run as root)' : 'this user' } : { skipped: libvirtWhyNot },
    });
    await record('peers', figures);
  });

  it(`supervision memory: ${MEMORY_VMS} running VMs, Hangar's keeper and holders vs libvirt's session daemon`, async () => {
    // Hangar: one keeper for all VMs and a holder per running VM, nothing resident without VMs.
    const ids: string[] = [];
    for (let index = 0; index < MEMORY_VMS; index++) {
      const vm = await call(service, 'createVm', { name: `Mem ${index}`, iso: null, memoryMiB: 128, cpus: 1, diskGiB: 0 });
      ids.push(vm.id);
    }
    for (const vm of ids) await call(service, 'startVm', { vm });
    await sleep(3000);
    const holderPids = await Promise.all(ids.map(async (id) => Number((await fs.readFile(path.join(sandbox.root, 'run', id, 'holder.pid'), 'utf8')).trim())));
    const keeperPid = Number((await fs.readFile(path.join(sandbox.root, 'run', 'keeper.pid'), 'utf8')).trim());
    const hangar10 = await memoryOf([keeperPid, ...holderPids]);
    const keeperAlone = await memoryOf([keeperPid]);
    const holders = await memoryOf(holderPids);
    // With no Hangar window or command connected the keeper ends (keeper/daemon.ts): the holders alone keep the VMs.
    service.close();
    const keeperGone = Date.now();
    while (existsSync(`/proc/${keeperPid}`) && Date.now() - keeperGone < IDLE_MS + 20_000) await sleep(250);
    const unwatched = await memoryOf(holderPids);
    service = sandbox.service();
    for (const vm of ids) await call(service, 'stopVm', { vm, force: true, waitSeconds: 30 });
    if (hangar10.processes !== MEMORY_VMS + 1) throw new Error(`expected a keeper and ${MEMORY_VMS} holders, found ${hangar10.processes} processes`);

    let libvirtFigures: Record<string, unknown> = { skipped: libvirtWhyNot };
    if (libvirt) {
      const warm0 = await memoryOf(await libvirt.supervisionPids());
      const names: string[] = [];
      for (let index = 0; index < MEMORY_VMS; index++) {
        const name = `mem-${index}`;
        await libvirt.define(name, ['--osinfo', 'debian11', '--memory', '128', '--vcpus', '1', '--import', '--disk', 'none', '--graphics', 'vnc,listen=socket']);
        const started = await libvirt.virsh(['start', name]);
        if (started.code !== 0) throw new Error(`virsh start ${name} failed: ${started.stderr}`);
        names.push(name);
      }
      await sleep(3000);
      const libvirtPids = await libvirt.supervisionPids();
      const libvirt10 = await memoryOf(libvirtPids);
      // libvirtd alone, without the virtlogd that keeps its consoles' logs (which Hangar's holders do).
      const libvirtd10 = await memoryOf(libvirtPids.slice(0, 1));
      for (const name of names) await libvirt.virsh(['destroy', name]);
      libvirtFigures = {
        processes: 'libvirtd + the virtlogd it starts with the first domain',
        fresh_0_vms: libvirtFresh,
        after_start_rounds_0_vms: warm0,
        with_10_vms: libvirt10,
        libvirtd_alone_with_10_vms: libvirtd10,
      };
      const rssRatio = ratio(hangar10.rssMiB, libvirt10.rssMiB);
      const pssRatio = ratio(hangar10.pssMiB, libvirt10.pssMiB);
      libvirtFigures.hangar_to_libvirt_rss_ratio_10_vms = rssRatio;
      libvirtFigures.hangar_to_libvirt_pss_ratio_10_vms = pssRatio;
      libvirtFigures.hangar_no_hangar_process_connected_to_libvirt_rss_ratio_10_vms = ratio(unwatched.rssMiB, libvirt10.rssMiB);
      libvirtFigures.hangar_to_libvirtd_alone_rss_ratio_10_vms = ratio(hangar10.rssMiB, libvirtd10.rssMiB);
      libvirtFigures.hangar_no_hangar_process_connected_to_libvirtd_alone_rss_ratio_10_vms = ratio(unwatched.rssMiB, libvirtd10.rssMiB);
    }
    figures.supervision_memory = {
      vms: MEMORY_VMS,
      guest: '128 MiB, 1 vCPU, no disk, no ISO (only needs to run)',
      qemu_excluded: true,
      hangar: { processes: 'one keeper (Node) for all VMs + one holder (C) per VM; the keeper ends 10 s after no Hangar process is connected', zero_vms: { rssMiB: 0, pssMiB: 0, processes: 0 }, with_10_vms: hangar10, keeper: keeperAlone, holders, with_10_vms_no_hangar_process_connected: unwatched },
      libvirt: libvirtFigures,
    };
    await record('peers', figures);
  });
});
