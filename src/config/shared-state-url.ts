// The Redis URL of `--shared-state` and `shared-state.url`: checked when the configuration is read, so that a typo
// is an error at start, not a reconnection loop that never ends.

const EXPECTED = 'expected redis://[USER[:PASSWORD]@]HOST[:PORT][/DB] or rediss://... (TLS)';

/** `text` if it is a Redis URL Stickler can connect to, or what is wrong with it. */
export function checkRedisUrl(text: string): string | { error: string } {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { error: `"${text}" is not a URL; ${EXPECTED}` };
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') return { error: `"${url.protocol}" is not redis: or rediss:; ${EXPECTED}` };
  if (url.hostname === '') return { error: `the URL has no host; ${EXPECTED}` };
  if (url.search !== '' || url.hash !== '') return { error: `the URL has a query or fragment, which Stickler does not read; ${EXPECTED}` };
  const db = url.pathname.replace(/^\//, '');
  if (db !== '' && !/^(?:[0-9]|1[0-5])$/.test(db)) return { error: `database "${db}" is not a number from 0 to 15; ${EXPECTED}` };
  return text;
}

/** Whether the URL carries a password (`redis://user:secret@host`), which `password-file` keeps out of the file. */
export function hasPassword(text: string): boolean {
  return URL.canParse(text) && new URL(text).password !== '';
}
