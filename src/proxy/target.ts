// The request-target, checked and split once: the path to match on, and the path to forward.

import { HttpError } from '../http/errors.ts';

export interface Target {
  /** The path as received: may contain `;params` and `%XX`. For logs. */
  path: string;
  /** '' or `?...`, as received. */
  query: string;
  /**
   * `%XX`-decoded (as UTF-8, invalid sequences becoming U+FFFD), dot-segments resolved and runs of `/` merged —
   * Apache's `r->uri` with MergeSlashes On. For matching only; never forwarded.
   */
  decodedPath: string;
  /**
   * `path` with the same dot-segment resolution and `/` merging, but every kept segment byte-for-byte as received.
   * This is what is forwarded: members see the path that was matched, in the client's encoding. It has the same
   * segments, `/` for `/`, as `decodedPath` (an encoded `/` is refused), which is what lets a prefix matched on one
   * be cut from the other.
   */
  normalizedPath: string;
  /**
   * The authority of an absolute-form target (`GET https://a.example/x`). RFC 9112 §3.2.2: the server then takes
   * the host from here and ignores the Host header.
   */
  authority?: string;
}

const ABSOLUTE_FORM = /^(https?):\/\/([^/?]*)(.*)$/is;
const AUTHORITY = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~!$&'()*+,;=%-]+)(:[0-9]*)?$/;

/**
 * Refuses (HttpError) what Stickler will not route: anything but origin-form or http(s) absolute-form (the
 * caller answers `OPTIONS *` itself), characters outside visible ASCII, `#`, bad `%XX`, `%00`, `..` climbing
 * above the root, and a `.`/`..` segment carrying `;params` (Tomcat strips the params and then climbs, the classic
 * `/app/..;/manager` escape; Apache lets it through). `%2F` gets 404, as Apache with AllowEncodedSlashes Off.
 */
export function parseTarget(target: string): Target {
  const absolute = ABSOLUTE_FORM.exec(target);
  if (absolute !== null) {
    const [, , authority = '', rest = ''] = absolute;
    if (!AUTHORITY.test(authority)) {
      throw badTarget('absolute-form target needs a host[:port] authority without userinfo');
    }
    const originForm = rest === '' || rest.startsWith('?') ? `/${rest}` : rest;
    return { ...parseOriginForm(originForm), authority };
  }
  if (target === '*') throw badTarget('asterisk-form target names no path to proxy');
  if (!target.startsWith('/')) throw badTarget('request target must be origin-form (/path) or absolute-form');
  return parseOriginForm(target);
}

function parseOriginForm(target: string): Target {
  for (let i = 0; i < target.length; i++) {
    const code = target.charCodeAt(i);
    if (code <= 0x20 || code >= 0x7f) throw badTarget(`request target contains byte 0x${code.toString(16)}`);
    if (code === 0x23) throw badTarget('request target contains a # fragment');
  }
  const queryStart = target.indexOf('?');
  const path = queryStart < 0 ? target : target.slice(0, queryStart);
  const query = queryStart < 0 ? '' : target.slice(queryStart);
  // Most paths have nothing to decode, resolve or merge: they are their own normal form.
  if (!NEEDS_NORMALISING.test(path)) return { path, query, decodedPath: path, normalizedPath: path };
  const { decodedPath, normalizedPath } = normalise(path);
  return { path, query, decodedPath, normalizedPath };
}

/** What normalise() would change: a `%XX`, an empty segment (`//`), a segment starting with `.` (`.`, `..`, `..;x`). */
const NEEDS_NORMALISING = /%|\/\/|\/\./;

/** RFC 3986 §5.2.4 dot-segment removal plus Apache's slash merging, on raw and decoded segments in step. */
function normalise(path: string): { decodedPath: string; normalizedPath: string } {
  const raw: string[] = [];
  const decoded: string[] = [];
  let trailingSlash = false;
  const segments = path.slice(1).split('/');
  for (const [i, segment] of segments.entries()) {
    const value = decodeSegment(segment);
    trailingSlash = i === segments.length - 1;
    if (value === '' || value === '.') continue;
    if (value === '..') {
      if (raw.length === 0) throw new HttpError(400, 'STK_HTTP_PATH_ABOVE_ROOT', 'request path climbs above the root with ..');
      raw.pop();
      decoded.pop();
      continue;
    }
    const beforeParams = value.split(';', 1)[0];
    if (beforeParams === '.' || beforeParams === '..') {
      throw new HttpError(400, 'STK_HTTP_DOT_SEGMENT_PARAMS', 'request path has a . or .. segment with ;parameters');
    }
    raw.push(segment);
    decoded.push(value);
    trailingSlash = false;
  }
  const join = (parts: string[]): string => `/${parts.join('/')}${trailingSlash && parts.length > 0 ? '/' : ''}`;
  return { decodedPath: join(decoded), normalizedPath: join(raw) };
}

// ignoreBOM: a decoded segment starting with %EF%BB%BF must keep it, or it would match a path it does not equal.
const UTF8 = new TextDecoder('utf-8', { ignoreBOM: true });

function decodeSegment(segment: string): string {
  if (!segment.includes('%')) return segment;
  const bytes: number[] = [];
  for (let i = 0; i < segment.length; i++) {
    const code = segment.charCodeAt(i);
    if (code !== 0x25) {
      bytes.push(code);
      continue;
    }
    const hex = segment.slice(i + 1, i + 3);
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) throw new HttpError(400, 'STK_HTTP_BAD_PERCENT', 'request path has % not followed by two hex digits');
    const byte = parseInt(hex, 16);
    if (byte === 0) throw new HttpError(400, 'STK_HTTP_ENCODED_NUL', 'request path contains an encoded NUL (%00)');
    if (byte === 0x2f) throw new HttpError(404, 'STK_HTTP_ENCODED_SLASH', 'request path contains an encoded slash (%2F)');
    bytes.push(byte);
    i += 2;
  }
  return UTF8.decode(Uint8Array.from(bytes));
}

function badTarget(message: string): HttpError {
  return new HttpError(400, 'STK_HTTP_BAD_TARGET', message);
}
