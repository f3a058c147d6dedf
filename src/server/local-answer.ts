// Requests no ProxyPass sends to a member: the balancer manager where a `<Location>` mounts it (its body gathered
// here, its answer or its server-sent events written back), the console's redirect, else 404 as Apache answers.
// The exchange hands the request over and writes what this gives it.
import type { HeaderList, RequestHead } from '../http/head.ts';
import type { AccessEntry } from '../log/entry.ts';
import { MANAGER_BODY_LIMIT, managerProblem, type Manager, type ManagerRequest } from '../manager/handler.ts';
import { isAllowed } from '../proxy/access.ts';
import { prefixLength } from '../config/path-prefix.ts';
import type { Target } from '../proxy/target.ts';
import { errorResponse, redirectResponse, type LocalResponse } from './error-page.ts';
import type { Runtime, VirtualHostRuntime } from './runtime.ts';

/** What a local answer writes through: the exchange, which frames, logs and ends it. */
export interface LocalSink {
  readonly finished: boolean;
  respondLocal(response: LocalResponse, reason?: string): void;
  /** The head of a stream of events; then `onData` for each, `onComplete` when the stream stops. */
  startEvents(headers: HeaderList): void;
  onData(data: Buffer): boolean;
  onComplete(trailers: HeaderList): void;
  onInternalError(err: unknown): void;
}

/** The client as the manager sees it. */
export interface LocalClient {
  readonly runtime: Runtime;
  readonly clientIp: string;
  readonly scheme: 'https' | 'http';
}

/**
 * Answers a request not proxied: at once, or (the manager) once its body is in; then the returned answer takes
 * the body. Sets the log's handler when the manager takes it.
 */
export function answerLocally(sink: LocalSink, client: LocalClient, head: RequestHead, vhost: VirtualHostRuntime, target: Target, log: AccessEntry): ManagerAnswer | undefined {
  const managers = vhost.config.locations.filter((l) => l.handler === 'balancer-manager');
  let location = managers.find((l) => prefixLength(target.path, l.path) > 0);
  let path = location ? target.path.slice(mountPath(location).length) : '';
  // Where nothing else is served, the root leads to the console and /metrics is where Prometheus looks first.
  if (!location && managers[0] && target.path === '/') return void sink.respondLocal(redirectResponse(`${mountPath(managers[0])}/console`));
  if (!location && managers[0] && target.path === '/metrics') [location, path] = [managers[0], '/metrics'];
  const manager = client.runtime.manager;
  if (!location || !manager) return void sink.respondLocal(errorResponse(404));
  if (!isAllowed(location.access, client.clientIp)) return void sink.respondLocal(managerProblem(403, 'this address may not use the balancer manager'));
  const { framing } = head;
  if (framing.kind === 'length' && framing.length > MANAGER_BODY_LIMIT) return void sink.respondLocal(tooLarge());
  log.handler = 'balancer-manager';
  const answer = new ManagerAnswer(sink, client, head, manager, mountPath(location), path, target.query.slice(1));
  if (framing.kind === 'none') answer.run();
  return answer;
}

/** One request to the balancer manager: its body gathered, then the manager asked and its answer written. */
export class ManagerAnswer {
  private readonly sink: LocalSink;
  private readonly client: LocalClient;
  private readonly head: RequestHead;
  private readonly manager: Manager;
  private readonly mount: string;
  private readonly path: string;
  private readonly query: string;
  private readonly body: Buffer[] = [];
  private size = 0;

  constructor(sink: LocalSink, client: LocalClient, head: RequestHead, manager: Manager, mount: string, path: string, query: string) {
    this.sink = sink;
    this.client = client;
    this.head = head;
    this.manager = manager;
    this.mount = mount;
    this.path = path;
    this.query = query;
  }

  /** Request body bytes. */
  data(data: Buffer): void {
    this.size += data.length;
    if (this.size > MANAGER_BODY_LIMIT) return this.sink.respondLocal(tooLarge());
    this.body.push(data);
  }

  /** The body is complete. */
  end(): void {
    if (!this.sink.finished) this.run();
  }

  /** Asks the manager, then answers: a whole response, or events until either side stops. */
  run(): void {
    const sink = this.sink;
    const request: ManagerRequest = {
      method: this.head.method,
      path: this.path,
      query: this.query,
      mount: this.mount,
      headers: this.head.headers,
      body: Buffer.concat(this.body),
      clientIp: this.client.clientIp,
      scheme: this.client.scheme,
      runtime: this.client.runtime,
    };
    this.manager.handle(request).then((response) => {
      if (response.kind === 'full') return sink.respondLocal(response);
      if (sink.finished) return;
      sink.startEvents(response.headers);
      const send = () => {
        const data = sink.finished ? undefined : response.next();
        if (data === undefined) {
          clearInterval(timer);
          if (!sink.finished) sink.onComplete([]);
          return;
        }
        // The first event asks EventSource to come back within a second when the stream ends (after a reload).
        sink.onData(Buffer.from(`${first ? 'retry: 1000\n' : ''}data: ${data}\n\n`));
        first = false;
      };
      let first = true;
      const timer = setInterval(send, response.intervalMs);
      send();
    }, (err: unknown) => sink.onInternalError(err));
  }
}

const tooLarge = (): LocalResponse => managerProblem(413, `the body is over ${MANAGER_BODY_LIMIT} bytes`);

/** Where a `<Location>` is mounted, without a trailing slash: the manager's own paths follow it. */
function mountPath(location: { path: string }): string {
  return location.path.replace(/\/$/, '');
}
