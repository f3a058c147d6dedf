// A health endpoint on a port of its own, as Keycloak's management port or WSO2's health API: the test turns it up
// and down, and reads what each check asked and whether it came over TLS.
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { localCertificate } from './engine.ts';

export interface HealthEndpoint {
  server: http.Server;
  port: number;
  /** 200 `{"status":"UP"}` while true, 503 `{"status":"DOWN"}` while false. */
  up: boolean;
  seen: Array<{ url: string; host: string; tls: boolean }>;
}

export async function startHealthEndpoint(opts: { secure?: boolean; up?: boolean } = {}): Promise<HealthEndpoint> {
  const endpoint = { up: opts.up ?? true, seen: [] } as unknown as HealthEndpoint;
  const answer = (req: http.IncomingMessage, res: http.ServerResponse) => {
    endpoint.seen.push({ url: req.url ?? '', host: req.headers.host ?? '', tls: 'encrypted' in req.socket });
    res.writeHead(endpoint.up ? 200 : 503, { 'content-type': 'application/json' }).end(endpoint.up ? '{"status":"UP"}' : '{"status":"DOWN"}');
  };
  const { certFile, keyFile } = localCertificate();
  endpoint.server = opts.secure ? https.createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) }, answer) : http.createServer(answer);
  await new Promise<void>((resolve) => endpoint.server.listen(0, '127.0.0.1', resolve));
  endpoint.port = (endpoint.server.address() as AddressInfo).port;
  return endpoint;
}

/** Closes the endpoints given, cutting their keep-alive connections. */
export function closeHealthEndpoints(endpoints: ReadonlyArray<HealthEndpoint | undefined>): void {
  for (const e of endpoints) {
    e?.server.closeAllConnections();
    e?.server.close();
  }
}
