// Whether the manager may be served as configured, and who may use it. A balancer manager that anyone on the
// network can reach and change is how Apache deployments get taken over; Stickler refuses to start one.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { AccessRule, Diagnostic, Source, SticklerConfig } from '../config/model.ts';
import { loadHtpasswd, ManagerAuth } from './auth.ts';

/** Every way the configuration is unsafe or unreadable for the manager, each an error at its line. */
export interface ManagerAuthResult {
  auth: ManagerAuth;
  problems: Diagnostic[];
}

const error = (at: Source, directive: string, message: string): Diagnostic => ({ severity: 'error', ...at, directive, message });

/** Reads the htpasswd and token files the configuration names; problems are reported, not thrown. */
export function managerAuth(config: SticklerConfig): ManagerAuthResult {
  const m = config.manager;
  const problems: Diagnostic[] = [];
  const names = config.dialect === 'apache' ? { htpasswd: 'AuthUserFile', tokens: 'token-file' } : { htpasswd: 'manager.htpasswd-file', tokens: 'manager.token-file' };
  let htpasswd: Map<string, string> | undefined;
  let tokens: string[] | undefined;
  if (m?.htpasswdFile) {
    const loaded = loadHtpasswd(m.htpasswdFile);
    problems.push(...loaded.errors.map((e) => error(m.source, names.htpasswd, e)));
    htpasswd = loaded.users;
  }
  if (m?.tokenFile) {
    try {
      tokens = readFileSync(m.tokenFile, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
      const short = tokens.findIndex((t) => t.length < 16);
      if (short >= 0) problems.push(error(m.source, names.tokens, `${m.tokenFile}: token ${short + 1} has fewer than 16 characters; expected a long random string`));
    } catch (err) {
      problems.push(error(m.source, names.tokens, `cannot read ${m.tokenFile}: ${(err as NodeJS.ErrnoException).code ?? err}`));
    }
  }
  return { auth: new ManagerAuth({ ...(htpasswd && { htpasswd }), ...(tokens && { tokens }) }), problems: [...problems, ...exposureProblems(config, htpasswd !== undefined || tokens !== undefined)] };
}

function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

/** An access rule list lets only some clients in: anything but nothing, `Require all granted` or `Allow from all`. */
function restricts(rules: readonly AccessRule[]): boolean {
  if (rules.length === 0) return false;
  return !rules.every((r) => (r.kind === 'require' ? !r.negate && r.match === 'all-granted' : r.order === 'deny,allow' ? r.deny.length === 0 : r.allow.some((a) => a.kind === 'all') && r.deny.length === 0));
}

function exposureProblems(config: SticklerConfig, authenticated: boolean): Diagnostic[] {
  if (authenticated) return [];
  const problems: Diagnostic[] = [];
  for (const vh of config.virtualHosts) {
    for (const location of vh.locations) {
      if (location.handler !== 'balancer-manager' || restricts(location.access)) continue;
      const open = config.listeners.filter((l) => (vh.port === 0 || l.port === vh.port) && !isLoopback(l.host));
      if (open.length === 0) continue;
      problems.push(error(
        location.source,
        'balancer-manager',
        `${location.path} would be open to anyone who reaches ${open.map((l) => `${l.host}:${l.port}`).join(', ')}, with no access rule and no authentication; ` +
          'expected a Require rule (Require local, Require ip 10.0.0.0/8) or manager authentication (AuthUserFile, htpasswd-file, token-file)',
      ));
    }
  }
  return problems;
}
