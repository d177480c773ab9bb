// Which QEMU belongs to which VM, read from its command line as QEMU itself reads it.

/**
 * The `process=` name in a QEMU command line's -name option (qemu/argv.ts sets
 * process=hangar-<id>), or null. Parsed, not searched: VM foo's name is a prefix of foo-2's,
 * and a guest name may hold ",process=" itself (escaped as ",,process=").
 */
export function qemuProcessName(argv: readonly string[]): string | null {
  let name: string | null = null;
  argv.forEach((arg, index) => {
    const value = argv[index + 1];
    // QEMU merges repeated -name options: the last process= counts.
    if ((arg === '-name' || arg === '--name') && value !== undefined) name = qemuOptions(value, 'guest').get('process') ?? name;
  });
  return name;
}

/** QEMU's key=value,key=value option syntax, where ",," is a comma inside a value. */
function qemuOptions(text: string, impliedKey: string): Map<string, string> {
  const items: string[] = [];
  let item = '';
  for (let at = 0; at < text.length; at++) {
    if (text[at] !== ',') item += text[at];
    else if (text[at + 1] === ',') {
      item += ',';
      at++;
    } else {
      items.push(item);
      item = '';
    }
  }
  items.push(item);
  const options = new Map<string, string>();
  items.forEach((option, index) => {
    const equals = option.indexOf('=');
    if (equals >= 0) options.set(option.slice(0, equals), option.slice(equals + 1));
    else if (index === 0) options.set(impliedKey, option);
  });
  return options;
}
