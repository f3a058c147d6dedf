// The host[:port] syntax shared by Host headers, URL authorities and ServerName values.

export interface HostPort {
  /** Lower-case host; an IPv6 literal keeps its brackets (`[::1]`) so it can be put back into a URL as is. */
  host: string;
  /** The port as written, or undefined when there was none (or it was empty, as in `example.com:`). */
  port?: string;
}

/** Splits `host[:port]` without judging it: nothing here decides whether the host is acceptable. */
export function splitHostPort(authority: string): HostPort {
  const value = authority.trim().toLowerCase();
  if (value.startsWith('[')) {
    const close = value.indexOf(']');
    if (close < 0) return { host: value };
    return withPort(value.slice(0, close + 1), value.slice(close + 1));
  }
  const colon = value.indexOf(':');
  // More than one colon without brackets is not host:port (a bare IPv6 address): keep it whole.
  if (colon < 0 || value.indexOf(':', colon + 1) >= 0) return { host: value };
  return withPort(value.slice(0, colon), value.slice(colon));
}

function withPort(host: string, rest: string): HostPort {
  const port = rest.startsWith(':') ? rest.slice(1) : '';
  return port === '' ? { host } : { host, port };
}

export function defaultPort(scheme: string): string | undefined {
  switch (scheme.toLowerCase()) {
    case 'http':
      return '80';
    case 'https':
      return '443';
    default:
      return undefined;
  }
}
