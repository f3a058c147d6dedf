// The protocols a route lets clients switch to (`ProxyPass ... upgrade=websocket`, native `upgrade:`). Apache
// forwards an Upgrade request only for the protocols named there; `ANY` allows any.
import { isToken } from '../http/syntax.ts';

export type UpgradeProtocols = { protocols: string[] } | { error: string };

/** Protocol names as written (one per word, or comma-separated); lower-cased, `ANY` becomes `*`. */
export function upgradeProtocols(words: readonly string[]): UpgradeProtocols {
  const protocols: string[] = [];
  for (const word of words.flatMap((w) => w.split(','))) {
    const name = word.trim();
    if (name.toUpperCase() === 'ANY') protocols.push('*');
    else if (isToken(name)) protocols.push(name.toLowerCase());
    else return { error: `upgrade protocol "${name}" is not a protocol name; expected websocket, another token, or ANY` };
  }
  if (protocols.length === 0) return { error: 'upgrade names no protocol; expected upgrade=websocket or upgrade=ANY' };
  return { protocols };
}
