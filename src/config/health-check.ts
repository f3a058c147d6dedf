// The values a health check is configured with, shared by both configuration front ends: the defaults are
// mod_proxy_hcheck's, and the same mistakes get the same messages whether the file is Apache's or YAML.
import type { HealthCheckConfig, Millis } from './model.ts';

export const HEALTH_CHECK_DEFAULTS = { uri: '/', interval: 30_000 as Millis, passes: 1, fails: 1 } as const;

/** httpd's watchdog wakes every 100 ms (AP_WD_TM_SLICE) and refuses shorter intervals; so does Stickler. */
export const MIN_HEALTH_INTERVAL: Millis = 100;

export const HEALTH_METHODS: readonly HealthCheckConfig['method'][] = ['TCP', 'OPTIONS', 'HEAD', 'GET'];

/** A path, with an optional query, in request-target characters (RFC 3986 pchar, `/`, `?`, `%`). */
const URI = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/?%]*$/;

/**
 * The checked path as the model keeps it: relative to the member URL's path and starting with `/`, so
 * httpd's `hcuri=health` and `hcuri=/health` mean the same.
 */
export function healthUri(text: string): string | { error: string } {
  if (!URI.test(text)) return { error: `"${text}" is not a URL path; expected a path such as /health, optionally with a ?query` };
  return text.startsWith('/') ? text : `/${text}`;
}

/**
 * A host a check may be sent to instead of the member's: a name or an IPv4 address, or an IPv6 one in brackets,
 * as a URL writes it, without a port (that is `port`'s) or anything else.
 */
export function healthHost(text: string): string | { error: string } {
  const expected = 'expected a host name or address such as 10.0.0.5, kc1.internal or [fd00::5], without a port';
  let parsed: URL;
  try {
    parsed = new URL(`http://${text}/`);
  } catch {
    return { error: `"${text}" is not a host; ${expected}` };
  }
  if (text === '' || parsed.port !== '' || parsed.host !== text.toLowerCase()) return { error: `"${text}" is not a host; ${expected}` };
  return parsed.hostname;
}

/**
 * Where a check goes, as a URL without a path: the member's URL with the check's scheme, host and port in place.
 * An omitted port is the member URL's as written, else the default of the check's scheme (http: 80, https: 443).
 */
export function healthOrigin(memberUrl: string, check: HealthCheckConfig): URL {
  const url = new URL(memberUrl);
  url.pathname = '/';
  if (check.scheme !== undefined) url.protocol = `${check.scheme}:`;
  if (check.host !== undefined) url.hostname = check.host;
  if (check.port !== undefined) url.port = String(check.port);
  return url;
}

/** Settings that are accepted but cannot matter for the method chosen; `keys` names them as the file does. */
export function healthCheckWarnings(check: HealthCheckConfig, keys: { uri: string; expr: string }): string[] {
  const warnings: string[] = [];
  if (check.method === 'TCP' && check.expr !== undefined) {
    warnings.push(`ignored: ${keys.expr} has no effect on a TCP check, which only connects (and completes the TLS handshake)`);
  }
  if ((check.method === 'TCP' || check.method === 'OPTIONS') && check.uri !== HEALTH_CHECK_DEFAULTS.uri) {
    const why = check.method === 'TCP' ? 'a TCP check sends no request' : 'an OPTIONS check asks OPTIONS *, as httpd does';
    warnings.push(`ignored: ${keys.uri} has no effect because ${why}; expected GET or HEAD to check a path`);
  }
  return warnings;
}
