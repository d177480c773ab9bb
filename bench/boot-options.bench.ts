import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { runPaths } from '../src-main/qemu/argv';
import type { HangarService } from '../src-main/api/service';
import { call, makeSandbox, type Sandbox } from '../test/support/engine';
import { ensureTestIso } from '../test/support/test-iso';
import { runQemuDirectly, type Sample } from './peers/qemu-direct';
import { median, record } from './support';

// Where boot time goes in Hangar's QEMU command line: Hangar's own argv (the same guest as
// bench/peers.bench.ts: test ISO, 256 MiB, 1 vCPU, empty 1 GiB disk, TCG) against variants
// that change one option each (and one pair of them), run by hand, interleaved per round. Only what is measured to
// help should change in src-main/qemu/argv.ts; this bench does not change it.

/** HANGAR_BENCH_ROUNDS=3 for a quicker look on a busy machine. */
const ROUNDS = Number(process.env.HANGAR_BENCH_ROUNDS ?? 5);
type Transform = (argv: string[]) => string[];

/** Replaces the value after `flag` (its first occurrence). */
const setOption = (flag: string, value: string): Transform => (argv) => {
  const index = argv.indexOf(flag);
  if (index === -1) throw new Error(`no ${flag} in the argv`);
  return [...argv.slice(0, index + 1), value, ...argv.slice(index + 2)];
};
/** Drops `-device {json}` (and its blockdev/netdev partners stay) whose driver matches. */
const dropDevice = (driver: string): Transform => (argv) => {
  const out: string[] = [];
  for (let index = 0; index < argv.length; index++) {
    if (argv[index] === '-device' && (JSON.parse(argv[index + 1] ?? '{}') as { driver?: string }).driver === driver) {
      index++;
      continue;
    }
    out.push(argv[index] as string);
  }
  return out;
};
/** Edits the JSON of `-device` entries whose driver matches. */
const editDevice = (driver: string, edit: (device: Record<string, unknown>) => Record<string, unknown>): Transform => (argv) =>
  argv.map((arg, index) => {
    if (argv[index - 1] !== '-device' || !arg.startsWith('{')) return arg;
    const device = JSON.parse(arg) as Record<string, unknown>;
    return device.driver === driver ? JSON.stringify(edit(device)) : arg;
  });
const dropNetwork: Transform = (argv) => {
  const out = dropDevice('virtio-net-pci')(argv);
  const index = out.indexOf('-netdev');
  return index === -1 ? out : [...out.slice(0, index), ...out.slice(index + 2)];
};
const machine = (value: string): Transform => setOption('-machine', value);
const pipe = (...steps: Transform[]): Transform => (argv) => steps.reduce((acc, step) => step(acc), argv);

const VARIANTS: Record<string, Transform> = {
  hangar: (argv) => argv,
  'machine q35,smm=off': machine('q35,accel=tcg,smm=off'),
  'machine q35,hpet=off': machine('q35,accel=tcg,hpet=off'),
  'accel tcg,thread=single': pipe(machine('q35'), (argv) => [...argv, '-accel', 'tcg,thread=single']),
  'accel tcg,tb-size=512 (quickemu)': pipe(machine('q35'), (argv) => [...argv, '-accel', 'tcg,tb-size=512,thread=multi']),
  'cpu qemu64 (no extra flags)': setOption('-cpu', 'qemu64'),
  'cpu max': setOption('-cpu', 'max'),
  'smp 2 (Hangar default on 2 cores)': setOption('-smp', '2,sockets=1,cores=2,threads=1'),
  'CD on virtio-scsi': pipe(
    // The controller goes before the CD that sits on it, in a slot Hangar's argv leaves free.
    (argv) => [...argv.slice(0, argv.indexOf('-blockdev')), '-device', JSON.stringify({ driver: 'virtio-scsi-pci', id: 'scsi0', addr: '0x1e' }), ...argv.slice(argv.indexOf('-blockdev'))],
    editDevice('ide-cd', (device) => ({ ...device, driver: 'scsi-cd', bus: 'scsi0.0' })),
  ),
  'machine pc (i440fx), CD on IDE': pipe(
    machine('pc,accel=tcg'),
    dropDevice('pcie-root-port'),
    // i440fx has its own devices at slot 1; let QEMU place everything.
    (argv) => argv.map((arg, index) => (argv[index - 1] === '-device' && arg.startsWith('{') ? JSON.stringify({ ...(JSON.parse(arg) as object), addr: undefined }) : arg)),
    editDevice('ide-cd', (device) => ({ ...device, bus: 'ide.1' })),
  ),
  'nic without option ROM (romfile="")': editDevice('virtio-net-pci', (device) => ({ ...device, romfile: '' })),
  'no nic': dropNetwork,
  'no USB (xhci, tablet)': pipe(dropDevice('usb-tablet'), dropDevice('qemu-xhci')),
  'hpet=off and nic without option ROM': pipe(
    machine('q35,accel=tcg,hpet=off'),
    editDevice('virtio-net-pci', (device) => ({ ...device, romfile: '' })),
  ),
};

/** HANGAR_BENCH_VARIANTS='hpet,option ROM' runs only the variants whose names contain one of these (and Hangar's argv). */
const chosen = (name: string): boolean => {
  const wanted = process.env.HANGAR_BENCH_VARIANTS?.split(',').map((word) => word.trim()).filter(Boolean);
  return name === 'hangar' || !wanted?.length || wanted.some((word) => name.includes(word));
};
const RUN = Object.fromEntries(Object.entries(VARIANTS).filter(([name]) => chosen(name)));
/** A boot takes ~17 s here: a minute each is room for a slow machine, whatever the rounds and variants (the default 15 min is not). */
const TIMEOUT_MS = ROUNDS * Object.keys(RUN).length * 60_000;

let sandbox: Sandbox;
let service: HangarService;

beforeAll(async () => {
  sandbox = await makeSandbox('hangar-bootopt-');
  service = sandbox.service();
});
afterAll(async () => {
  await sandbox.cleanup();
});

describe('boot options', () => {
  it("Hangar's argv vs one-option variants, by hand: command -> guest marker", async () => {
    const iso = await ensureTestIso();
    await call(service, 'createVm', { name: 'Options', iso, memoryMiB: 256, cpus: 1, diskGiB: 1 });
    const { argv } = await call(service, 'getVm', { vm: 'options' });
    const run = runPaths(path.join(sandbox.root, 'run', 'options'));
    const samples: Record<string, Sample[]> = Object.fromEntries(Object.keys(RUN).map((name) => [name, []]));
    const loadBefore = os.loadavg();
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, transform] of Object.entries(RUN)) {
        await fs.mkdir(run.runDir, { recursive: true, mode: 0o700 });
        samples[name]?.push(await runQemuDirectly(transform(argv as string[]), { serial: run.serialSocket, qmp: run.qmpSocket }));
        await fs.rm(run.runDir, { recursive: true, force: true });
      }
    }
    const boots = (name: string): number[] => (samples[name] ?? []).map((sample) => sample.bootMs);
    const variants = Object.fromEntries(
      Object.entries(RUN).map(([name, transform]) => {
        const perRound = boots(name).map((boot, index) => Number((boot / (boots('hangar')[index] as number)).toFixed(3)));
        return [
          name,
          {
            boot_ms_median: Math.round(median(boots(name))),
            boot_ratio_to_hangar_median: median(perRound),
            boot_ratio_to_hangar_per_round: perRound,
            boot_ms: boots(name).map(Math.round),
            changed_argv: transform(argv as string[]).filter((arg) => !(argv as string[]).includes(arg)),
          },
        ];
      }),
    );
    await record('boot_options', {
      guest: 'test ISO, 256 MiB, 1 vCPU, empty 1 GiB qcow2, TCG; each variant changes one thing (or the pair it names) in Hangar\'s argv',
      rounds: ROUNDS,
      load_average_before: loadBefore.map((value) => Number(value.toFixed(2))),
      load_average_after: os.loadavg().map((value) => Number(value.toFixed(2))),
      variants,
    });
  }, TIMEOUT_MS);
});
