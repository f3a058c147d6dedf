// What reaches this machine without asking DNS: its interface addresses, its /etc/hosts and its own host name.
// Read once per configuration load and per manager edit that adds a member (see member-loop.ts).
import { closeSync, openSync, readSync } from 'node:fs';
import { hostname, networkInterfaces } from 'node:os';
import type { ThisMachine } from './member-loop.ts';

/** A hosts file beyond this is read only this far: the check must stay bounded whatever the file holds. */
const HOSTS_LIMIT = 1024 * 1024;

export function thisMachine(hostsFile = '/etc/hosts'): ThisMachine {
  const addresses = Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address));
  const names = parseHostsFile(readBounded(hostsFile));
  // glibc's nss-myhostname resolves the machine's own name to its addresses when no file names it.
  const own = hostname().toLowerCase();
  if (own !== '' && !names.has(own)) names.set(own, [...addresses]);
  return { addresses, names };
}

/** hosts(5): an address, then its names; `#` starts a comment. Later lines add addresses to a name. */
export function parseHostsFile(text: string): Map<string, string[]> {
  const names = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const [address, ...aliases] = line.replace(/#.*/, '').trim().split(/\s+/);
    if (address === undefined || address === '' || aliases.length === 0) continue;
    for (const alias of aliases) {
      const name = alias.toLowerCase().replace(/\.$/, '');
      names.set(name, [...(names.get(name) ?? []), address]);
    }
  }
  return names;
}

function readBounded(path: string): string {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const buffer = Buffer.alloc(HOSTS_LIMIT);
    let length = 0;
    let n = 1;
    while (n > 0 && length < HOSTS_LIMIT) {
      n = readSync(fd, buffer, length, HOSTS_LIMIT - length, null);
      length += n;
    }
    return buffer.toString('latin1', 0, length);
  } catch {
    return '';
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
