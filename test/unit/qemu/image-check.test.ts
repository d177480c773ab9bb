import { describe, expect, it } from 'vitest';
import { judgeImageInfo, probeFormat, qcow2References } from '../../../src-main/qemu/image-check';
import { HangarError } from '../../../src-shared/errors';

// The pure halves of the import check: which format a file's bytes declare, what a qcow2
// header says about other files, and the verdict on qemu-img's JSON (shapes as qemu-img 7.2
// prints them for images the integration tests build).

const bytes = (text: string, length = 512): Buffer => Buffer.concat([Buffer.from(text, 'latin1'), Buffer.alloc(Math.max(0, length - text.length))]);
const none = Buffer.alloc(0);

function vdiHead(): Buffer {
  const head = bytes('<<< Oracle VM VirtualBox Disk Image >>>\n');
  head.writeUInt32LE(0xbeda107f, 0x40);
  return head;
}

function qcow2Head(options: { version?: number; backingOffset?: bigint; backingLength?: number; incompatible?: bigint } = {}): Buffer {
  const head = bytes('QFI\xfb', 112);
  head.writeUInt32BE(options.version ?? 3, 4);
  head.writeBigUInt64BE(options.backingOffset ?? 0n, 8);
  head.writeUInt32BE(options.backingLength ?? 0, 16);
  head.writeBigUInt64BE(options.incompatible ?? 0n, 72);
  return head;
}

describe('probeFormat', () => {
  it.each([
    ['qcow2', qcow2Head(), none, { kind: 'image', format: 'qcow2' }],
    ['sparse VMDK', bytes('KDMV\x01\x00\x00\x00'), none, { kind: 'image', format: 'vmdk' }],
    ['VHDX', bytes('vhdxfile'), none, { kind: 'image', format: 'vhdx' }],
    ['dynamic VHD', bytes('conectix'), none, { kind: 'image', format: 'vpc' }],
    ['fixed VHD (footer at the end only)', bytes('\0\0\0\0'), bytes('conectix'), { kind: 'image', format: 'vpc' }],
    ['VDI', vdiHead(), none, { kind: 'image', format: 'vdi' }],
    ['VMDK descriptor', bytes('# Disk DescriptorFile\nversion=1\n'), none, { kind: 'vmdk-descriptor' }],
    ['VMDK descriptor without its title, as qemu reads one', bytes('# made by hand\n\n  \nversion=1\r\nCID=fffffffe\n'), none, { kind: 'vmdk-descriptor' }],
    ['a text file', bytes('my-laptop\n', 10), bytes('my-laptop\n', 10), { kind: 'unknown' }],
    ['a text file with a version line later on', bytes('hello\nversion=1\n'), none, { kind: 'unknown' }],
    ['zeros (a raw disk)', Buffer.alloc(4096), Buffer.alloc(512), { kind: 'unknown' }],
    ['a QED image (not imported)', bytes('QED\0'), none, { kind: 'unknown' }],
    ['a file shorter than any signature', Buffer.from('Q'), Buffer.from('Q'), { kind: 'unknown' }],
  ])('%s', (_name, head, tail, expected) => {
    expect(probeFormat(head, tail)).toEqual(expected);
  });
});

describe('qcow2References', () => {
  it('finds nothing in a standalone image', () => {
    expect(qcow2References(qcow2Head())).toEqual({ backing: null, externalData: false });
  });

  it('finds the backing file name by its offset and length', () => {
    expect(qcow2References(qcow2Head({ backingOffset: 0x200n, backingLength: 24 }))).toEqual({ backing: { offset: 0x200, length: 24 }, externalData: false });
  });

  it('finds a backing file in a version 2 image too', () => {
    expect(qcow2References(qcow2Head({ version: 2, backingOffset: 72n, backingLength: 9 })).backing).toEqual({ offset: 72, length: 9 });
  });

  it('finds an external data file by its incompatible feature bit (bit 2), among others', () => {
    expect(qcow2References(qcow2Head({ incompatible: 0b101n })).externalData).toBe(true);
    expect(qcow2References(qcow2Head({ incompatible: 0b011n })).externalData).toBe(false);
  });

  it('reads no feature bits from a version 2 header, which has none', () => {
    expect(qcow2References(qcow2Head({ version: 2, incompatible: 4n })).externalData).toBe(false);
  });
});

describe('judgeImageInfo', () => {
  const image = { path: '/home/ada/images/disk.qcow2', format: 'qcow2' as const };
  const standalone = { 'virtual-size': 1048576, filename: image.path, format: 'qcow2', 'actual-size': 200704, 'format-specific': { type: 'qcow2', data: { compat: '1.1', corrupt: false } } };

  function refusal(raw: unknown, checked: { path: string; format: 'qcow2' | 'vmdk' | 'raw' } = image): HangarError {
    try {
      judgeImageInfo(raw, checked);
    } catch (error) {
      expect(error).toBeInstanceOf(HangarError);
      return error as HangarError;
    }
    throw new Error('judgeImageInfo accepted the image');
  }

  it('passes a standalone image, with its sizes', () => {
    expect(judgeImageInfo(standalone, image)).toEqual({ virtualSize: 1048576, actualSize: 200704 });
  });

  it('refuses a backing file, naming it', () => {
    const error = refusal({ ...standalone, 'backing-filename': '/home/ada/.ssh/id_ed25519', 'full-backing-filename': '/home/ada/.ssh/id_ed25519', 'backing-filename-format': 'raw' });
    expect(error.code).toBe('UNSAFE_DISK_IMAGE');
    expect(error.message).toBe(
      '/home/ada/images/disk.qcow2 is a qcow2 image that reads another file (its backing file /home/ada/.ssh/id_ed25519), so importing it would copy that file into the VM. Hangar imports only images that hold all their data themselves. If you made this image and trust the files it names, make a standalone copy with qemu-img convert and import that.',
    );
  });

  it('refuses a backing file given only by its relative name', () => {
    expect(refusal({ ...standalone, 'backing-filename': 'base.qcow2' }).message).toContain('(its backing file base.qcow2)');
  });

  it('refuses an external data file', () => {
    const error = refusal({ ...standalone, 'format-specific': { type: 'qcow2', data: { compat: '1.1', 'data-file': '/etc/shadow', 'data-file-raw': true } } });
    expect(error.code).toBe('UNSAFE_DISK_IMAGE');
    expect(error.message).toContain('reads its data from another file (an external data file, /etc/shadow), so importing it would copy that file into the VM.');
  });

  it('passes a VMDK whose only extent is the image itself, as qemu-img names it', () => {
    const vmdk = { path: '/images/appliance.vmdk', format: 'vmdk' as const };
    const info = { format: 'vmdk', 'virtual-size': 1048576, 'format-specific': { type: 'vmdk', data: { 'create-type': 'monolithicSparse', extents: [{ filename: '/images/appliance.vmdk', format: '' }] } } };
    expect(judgeImageInfo(info, vmdk)).toEqual({ virtualSize: 1048576, actualSize: 0 });
    const relative = { ...info, 'format-specific': { type: 'vmdk', data: { extents: [{ filename: 'appliance.vmdk' }] } } };
    expect(judgeImageInfo(relative, vmdk).virtualSize).toBe(1048576);
  });

  it('refuses a VMDK with any other extent, naming them all', () => {
    const vmdk = { path: '/images/appliance.vmdk', format: 'vmdk' as const };
    const info = { format: 'vmdk', 'virtual-size': 2097152, 'format-specific': { type: 'vmdk', data: { extents: [{ filename: '/images/appliance.vmdk' }, { filename: '/home/ada/.ssh/id_ed25519', format: 'FLAT' }, { filename: 'appliance-s002.vmdk' }] } } };
    const error = refusal(info, vmdk);
    expect(error.code).toBe('UNSAFE_DISK_IMAGE');
    expect(error.message).toContain('/images/appliance.vmdk is a VMDK image that reads its data from other files (/home/ada/.ssh/id_ed25519, appliance-s002.vmdk), so importing it would copy those files into the VM.');
  });

  it('refuses a format other than the one asked for', () => {
    const error = refusal({ ...standalone, format: 'raw' });
    expect(error.code).toBe('NOT_A_DISK_IMAGE');
    expect(error.message).toBe('/home/ada/images/disk.qcow2 was read by qemu-img as raw, not as the qcow2 image it looks like, so Hangar does not import it.');
  });

  it('refuses an answer it cannot read', () => {
    expect(refusal(null).code).toBe('DISK_FAILED');
    expect(refusal({ format: 'qcow2' }).message).toBe("qemu-img's description of /home/ada/images/disk.qcow2 is not what Hangar expects, so Hangar does not import it.");
  });

  it('keeps control characters of a hostile name out of the sentence', () => {
    expect(refusal({ ...standalone, 'backing-filename': '/tmp/\u001b[2Jx\nfake' }).message).toContain('(its backing file /tmp/?[2Jx?fake)');
  });
});
