// Defaults of the native format. They are Apache's, except that backend certificates are verified: a YAML
// file is written on purpose, so it gets the safe choice. The loader fills these in and the converter leaves
// them out, so both read them from here.

import type { BackendTls, LbMethod, LogConfig, Millis } from '../model.ts';
import { HEALTH_CHECK_DEFAULTS } from '../health-check.ts';

export const NATIVE_DEFAULTS = {
  timeout: 60_000 as Millis,
  keepAliveTimeout: 5_000 as Millis,
  // Apache waits without limit (0); a stop that may never end is no default for a balancer under a supervisor.
  gracefulShutdownTimeout: 30_000 as Millis,
  logFormat: { kind: 'stickler' } as LogConfig['format'],
  manager: { host: '127.0.0.1', port: 9090, path: '/balancer-manager' },
  listenerHost: '0.0.0.0',
  // Mozilla's recommendation: two years, without includeSubDomains, which would bind every subdomain to HTTPS too.
  hsts: { maxAge: 63_072_000, includeSubDomains: false, preload: false },
  /** Where acme keeps accounts, keys and certificates (the Debian package's state directory). */
  acmeStoreDir: '/var/lib/stickler/acme',
  virtualHost: {
    host: '*',
    preserveHost: false,
    addForwardedHeaders: true,
  },
  backendTls: {
    // An https:// member URL already says TLS is wanted; Apache's separate SSLProxyEngine switch adds nothing here.
    enabled: true,
    verify: 'require',
    checkPeerName: true,
  } satisfies BackendTls,
  balancer: {
    lbmethod: 'byrequests' as LbMethod,
    stickySeparator: '.' as string | null,
    scolonPathDelim: false,
    nofailover: false,
    timeout: 0 as Millis,
    forceRecovery: true,
  },
  // Secure follows the client's connection unless set; a session cookie unless max-age is.
  balancerCookie: {
    path: '/',
    httpOnly: true,
    sameSite: 'Lax',
  },
  member: {
    route: '',
    redirect: '',
    loadfactor: 1,
    lbset: 0,
    retry: 60_000 as Millis,
  },
  healthCheck: HEALTH_CHECK_DEFAULTS,
} as const;
