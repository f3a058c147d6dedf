// What one server (the main server or a <VirtualHost>) says about itself, before httpd's inheritance is applied:
// unset settings stay undefined so a virtual host can fall back to the main server's value.
import { newLogDraft, type LogDraft } from './logs.ts';
import type { AccessRule, ClientCertificates, CookieRewrite, HeaderRule, Hsts, LocationConfig, ReverseRule, RouteConfig, Source, TlsVersion } from '../model.ts';

export interface Setting<T> {
  value: T;
  source: Source;
}

export interface ServerDraft {
  source: Source;
  /** `<VirtualHost>` addresses; empty for the main server. */
  addresses: Array<{ host: string; port: number }>;
  serverName?: string;
  serverAliases: string[];
  serverAdmin?: string;
  sslEngine?: Setting<boolean>;
  certificateFile?: Setting<string>;
  keyFile?: Setting<string>;
  chainFile?: Setting<string>;
  /** SSLProtocol, already narrowed to what Stickler offers. */
  protocols?: Setting<TlsVersion[]>;
  /** SSLCipherSuite [SSL] and SSLCipherSuite TLSv1.3. */
  ciphers?: Setting<string>;
  cipherSuites?: Setting<string>;
  honorCipherOrder?: Setting<boolean>;
  /** `Header always set Strict-Transport-Security`. */
  hsts?: Hsts;
  proxyEngine?: Setting<boolean>;
  /** `none` also stands for optional_no_ca, which accepts any issuer. */
  proxyVerify?: Setting<'none' | 'require'>;
  checkPeerName?: boolean;
  checkPeerCN?: boolean;
  caFile?: Setting<string>;
  /** SSLVerifyClient and its CA certificates, CRLs and SSLOptions. */
  clientCerts: ClientCertDraft;
  preserveHost?: boolean;
  addHeaders?: boolean;
  /** ProxyPass from <Location> sections, in config order (the last matching Location wins in httpd). */
  locationRoutes: RouteConfig[];
  routes: RouteConfig[];
  reverse: ReverseRule[];
  cookiePaths: CookieRewrite[];
  cookieDomains: CookieRewrite[];
  locations: LocationConfig[];
  proxyAccess: AccessRule[];
  /** Header and RequestHeader lines of the server and of its sections, in config order. */
  headerRules: HeaderRule[];
  log: LogDraft;
}

export function newServerDraft(source: Source, addresses: ServerDraft['addresses']): ServerDraft {
  return {
    source, addresses, serverAliases: [], locationRoutes: [], routes: [], reverse: [], cookiePaths: [], cookieDomains: [],
    locations: [], proxyAccess: [], headerRules: [], log: newLogDraft(), clientCerts: { options: [] },
  };
}

/** What a server says about client certificates, each directive remembered with its line. */
export interface ClientCertDraft {
  verify?: Setting<ClientCertificates['verify']>;
  depth?: Setting<number>;
  caFile?: Setting<string[]>;
  caPath?: Setting<string[]>;
  crlFile?: Setting<string[]>;
  crlPath?: Setting<string[]>;
  crlCheck?: Setting<ClientCertificates['crlCheck']>;
  /** `SSLOptions` lines in order: an absolute one starts over, +/- ones change what is inherited. */
  options: Array<{ source: Source; absolute: boolean; set: Partial<Record<SslOptionName, boolean>> }>;
}

export type SslOptionName = 'exportCertData' | 'stdEnvVars';
