// What `stickler reload`, `stop` and `status` say to the running process over its control socket, and what it
// answers: one JSON request line, one JSON answer line, then the connection closes. Pure: the socket's I/O is in
// control-server.ts and control-client.ts. The socket is an input like any other, so a request is bounded in size.

/** A request line is a few dozen bytes; anything longer is not a request. */
export const CONTROL_REQUEST_LIMIT = 1024;

export type ControlCommand = 'reload' | 'status' | 'stop';
const COMMANDS: readonly string[] = ['reload', 'status', 'stop'] satisfies ControlCommand[];

/** What a reload came to: served, with the warnings the running configuration did not have, or refused and why. */
export type ReloadVerdict = { ok: true; warnings: string[] } | { ok: false; reasons: string[] };

export interface StatusMember {
  url: string;
  route: string;
  /** Apache's status column (`Init Ok `, `Init Dis `...), trimmed. */
  state: string;
  usable: boolean;
  busy: number;
  requests: number;
}

export interface StatusReport {
  version: string;
  pid: number;
  configFile: string;
  /** Epoch ms. */
  startedAt: number;
  workers: number;
  lastReload: { at: number; ok: boolean; reasons: string[] } | null;
  listeners: Array<{ scheme: 'http' | 'https'; address: string; port: number }>;
  balancers: Array<{ name: string; lbmethod: string; members: StatusMember[] }>;
}

export type ControlAnswer =
  | ({ command: 'reload' } & ReloadVerdict)
  | { command: 'status'; ok: true; status: StatusReport }
  /** Stopping: the process exits within `boundMs`, or whenever its connections end when null (no shutdown timeout). */
  | { command: 'stop'; ok: true; boundMs: number | null }
  | { command: 'error'; ok: false; reasons: string[] };

/**
 * The request line in what a client sent so far: `line` once a newline came, `undefined` while more may come,
 * `error` when it is already too long to be one.
 */
export function requestLine(received: Buffer): { line?: string; error?: string } {
  const end = received.indexOf(0x0a);
  if (end > CONTROL_REQUEST_LIMIT || (end < 0 && received.length > CONTROL_REQUEST_LIMIT)) {
    return { error: `a request is one line of at most ${CONTROL_REQUEST_LIMIT} bytes` };
  }
  return end < 0 ? {} : { line: received.subarray(0, end).toString('utf8').replace(/\r$/, '') };
}

/** `{"command":"reload"}` and its kin; anything else is refused with what was expected. */
export function parseRequest(line: string): { command: ControlCommand } | { error: string } {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { error: 'a request is a JSON object such as {"command":"status"}' };
  }
  const command = typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>).command : undefined;
  if (typeof command !== 'string' || !COMMANDS.includes(command)) return { error: `expected "command" to be one of ${COMMANDS.join(', ')}` };
  return { command: command as ControlCommand };
}

export const encode = (message: ControlAnswer | { command: ControlCommand }): string => `${JSON.stringify(message)}\n`;

/** `stickler status` as an operator reads it. */
export function formatStatus(s: StatusReport, now: number): string {
  const lines = [
    `stickler ${s.version}, pid ${s.pid}${s.workers > 1 ? `, ${s.workers} worker threads` : ''}`,
    `configuration: ${s.configFile}`,
    `started: ${new Date(s.startedAt).toISOString()} (${duration(now - s.startedAt)} ago)`,
    `last reload: ${s.lastReload ? `${new Date(s.lastReload.at).toISOString()} ${s.lastReload.ok ? 'served' : 'refused'}` : 'none'}`,
    ...(s.lastReload?.ok === false ? s.lastReload.reasons.map((r) => `  ${r}`) : []),
    ...s.listeners.map((l) => `listening on ${l.scheme}://${l.address.includes(':') ? `[${l.address}]` : l.address}:${l.port}`),
  ];
  for (const b of s.balancers) {
    lines.push(`balancer://${b.name} lbmethod=${b.lbmethod}`);
    for (const m of b.members) lines.push(`  ${m.url} route=${m.route || '-'} ${m.state}${m.usable ? '' : ' (not usable)'} busy=${m.busy} requests=${m.requests}`);
  }
  return `${lines.join('\n')}\n`;
}

function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  return `${Math.round(s / 3600)} h`;
}
