// One health check of one member: a fresh connection from the member's own pool (so the same TLS settings and
// timeouts as traffic), then for HTTP methods one request and its response, judged by status or condition.
// mod_proxy_hcheck's hc_check_tcp / hc_check_http, with Stickler's HTTP reader.
import type { HealthCheckConfig, MemberConfig } from '../config/model.ts';
import type { ReaderEvent } from '../http/reader.ts';
import { ConnectError, endpointOf, type ConnectionUser, type MemberConnection, type MemberPool } from '../upstream/pool.ts';
import { evaluateHealthExpr, HealthExprError, parseHealthExpr, readsBody, type HealthExpr } from '../config/health-expr.ts';
import { healthOrigin } from '../config/health-check.ts';

/** `local`: the check could not be made for want of descriptors or buffers here; it says nothing of the member. */
export type ProbeOutcome = { ok: true } | { ok: false; reason: string; local?: true };

/** A condition sees at most this much of the body; the rest is not read. */
export const BODY_CAP = 64 * 1024;

const PASSED: ProbeOutcome = { ok: true };

/** Conditions by their model object, parsed once: the configuration was checked, so parsing cannot fail here. */
const compiled = new WeakMap<object, HealthExpr | string>();

/** Parses (once) and returns a check's condition; the checker calls it when it starts, so the first check finds it built. */
export function conditionOf(expr: NonNullable<HealthCheckConfig['expr']>): HealthExpr | string {
  let condition = compiled.get(expr);
  if (condition === undefined) {
    const parsed = parseHealthExpr(expr.text);
    condition = 'error' in parsed ? parsed.error : parsed.expr;
    compiled.set(expr, condition);
  }
  return condition;
}

export async function probeMember(member: MemberConfig, check: HealthCheckConfig, pool: MemberPool, signal: AbortSignal): Promise<ProbeOutcome> {
  let conn: MemberConnection;
  const elsewhere = check.scheme !== undefined || check.host !== undefined || check.port !== undefined;
  try {
    conn = await pool.connectFresh(elsewhere ? endpointOf(healthOrigin(member.url, check)) : undefined);
  } catch (err) {
    if (err instanceof ConnectError && err.local) return { ok: false, reason: err.message, local: true };
    return { ok: false, reason: err instanceof Error ? err.message : String(err) };
  }
  if (signal.aborted || check.method === 'TCP') {
    conn.detach(false);
    return signal.aborted ? { ok: false, reason: 'health checks stopped' } : PASSED;
  }
  const condition = check.expr && conditionOf(check.expr);
  if (typeof condition === 'string') {
    conn.detach(false);
    return { ok: false, reason: `its condition cannot be used: ${condition}` };
  }
  return new Promise((resolve) => {
    new CheckExchange(conn, check, condition, pool.ioTimeout, signal, resolve).send(checkRequest(member, check));
  });
}

/**
 * httpd's request, in HTTP/1.1: the member's path joined with the check's URI, `Host` with the port; for a check
 * sent elsewhere (`port`, `host`, `scheme`), `Host` names where it goes, as the URL asked would.
 */
export function checkRequest(member: MemberConfig, check: HealthCheckConfig): Buffer {
  const url = healthOrigin(member.url, check);
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  const target = check.method === 'OPTIONS' ? '*' : new URL(member.url).pathname.replace(/\/+$/, '') + check.uri;
  return Buffer.from(
    `${check.method} ${target} HTTP/1.1\r\nHost: ${url.hostname}:${port}\r\nUser-Agent: Stickler-health-check\r\nConnection: close\r\n\r\n`,
    'latin1',
  );
}

class CheckExchange implements ConnectionUser {
  private readonly conn: MemberConnection;
  private readonly check: HealthCheckConfig;
  private readonly condition: HealthExpr | undefined;
  private readonly ioTimeout: number;
  private readonly signal: AbortSignal;
  private readonly resolve: (outcome: ProbeOutcome) => void;
  /** GET's body is read only for a condition that looks at it; HEAD and OPTIONS answers are judged by their head. */
  private readonly wantsBody: boolean;
  private readonly timer: NodeJS.Timeout;
  private readonly body: Buffer[] = [];
  private bodyLength = 0;
  private status = 0;
  private done = false;
  private readonly onAbort = () => this.finish({ ok: false, reason: 'health checks stopped' });

  constructor(conn: MemberConnection, check: HealthCheckConfig, condition: HealthExpr | undefined, ioTimeout: number,
    signal: AbortSignal, resolve: (outcome: ProbeOutcome) => void) {
    this.conn = conn;
    this.check = check;
    this.condition = condition;
    this.ioTimeout = ioTimeout;
    this.signal = signal;
    this.resolve = resolve;
    this.wantsBody = check.method === 'GET' && condition !== undefined && readsBody(condition);
    // The whole exchange, not only each silence, is bounded: a member dribbling bytes must not hold the check.
    this.timer = setTimeout(() => this.memberTimeout(), ioTimeout).unref();
    signal.addEventListener('abort', this.onAbort, { once: true });
  }

  send(request: Buffer): void {
    this.conn.reader.expectResponseTo(this.check.method);
    this.conn.attach(this);
    this.conn.write(request);
  }

  memberData(chunk: Buffer): void {
    try {
      this.handle(this.conn.reader.push(chunk));
    } catch (err) {
      this.finish({ ok: false, reason: `its response is invalid: ${(err as Error).message}` });
    }
  }

  memberClosed(): void {
    if (this.done) return;
    try {
      this.handle(this.conn.reader.finish());
    } catch {
      // The reader's own message would blame a "message"; say what happened to the check.
    }
    this.finish({ ok: false, reason: this.conn.refusal ?? 'it closed the connection before a complete response' });
  }

  memberTimeout(): void {
    this.finish({ ok: false, reason: `no complete response within ${this.ioTimeout} ms` });
  }

  memberDrain(): void {}

  private handle(events: ReaderEvent[]): void {
    for (const event of events) {
      if (this.done) return;
      if (event.type === 'head') {
        const status = 'status' in event.head ? event.head.status : 0;
        if (status === 101) return this.finish({ ok: false, reason: 'it switched protocols (101)' });
        if (status < 200) continue;
        this.status = status;
        if (!this.wantsBody) return this.finish(this.judge());
      } else if (event.type === 'data') {
        const room = BODY_CAP - this.bodyLength;
        this.body.push(Buffer.from(event.data.subarray(0, room)));
        this.bodyLength += Math.min(room, event.data.length);
        if (this.bodyLength >= BODY_CAP) return this.finish(this.judge());
      } else {
        return this.finish(this.judge());
      }
    }
  }

  /** Without a condition, any 2xx or 3xx passes (hc_check_http). */
  private judge(): ProbeOutcome {
    const { status, condition } = this;
    if (condition === undefined) return status >= 200 && status < 400 ? PASSED : { ok: false, reason: `it answered ${status}` };
    const expr = this.check.expr!;
    const named = expr.name !== '' ? `ProxyHCExpr ${expr.name}` : `the condition ${expr.text}`;
    try {
      const body = this.wantsBody ? Buffer.concat(this.body).toString('utf8') : '';
      if (evaluateHealthExpr(condition, { status, body })) return PASSED;
      return { ok: false, reason: `it answered ${status}, which does not meet ${named}` };
    } catch (err) {
      if (!(err instanceof HealthExprError)) throw err;
      return { ok: false, reason: `${named} could not be evaluated: ${err.message}` };
    }
  }

  private finish(outcome: ProbeOutcome): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.timer);
    this.signal.removeEventListener('abort', this.onAbort);
    this.conn.detach(false);
    this.resolve(outcome);
  }
}
