// What the start would find only by trying, checked on the loaded model before anything starts: every file the
// configuration names is opened and parsed (certificates, keys, chains, CAs, OCSP responses, htpasswd and token
// files), each key matched to its certificate, the files Stickler writes checked for writability, and the
// listeners checked against each other. --check, the start and every reload run it, and the start reads the same
// files through the same functions (src/tls/credentials.ts, src/manager/exposure.ts), so a file --check passes is
// one the start accepts, with the same message when it does not.
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { resolveRunAs, systemAccounts, type AccountLookup, type Identity } from '../server/accounts.ts';
import { mayWrite, type FileMode } from '../server/privilege-plan.ts';
import { dirname } from 'node:path';
import { pipedCommand } from '../log/piped-command.ts';
import { managerAuth } from '../manager/exposure.ts';
import { siteFiles } from '../config/diagnostics.ts';
import { listenerClashes } from '../config/listeners.ts';
import { caFileProblem, loadClientCertificate, loadCredentials, TLS_FILE_NAMES, type ReadFile } from '../tls/credentials.ts';
import { usableChallenges } from '../config/managed-domains.ts';
import type { ClientCertificate, Diagnostic, LoadResult, Source, SticklerConfig, TlsFiles } from '../config/model.ts';

/** The file system as the checks need it; tests give their own. */
export interface VerifyFiles {
  read: ReadFile;
  /** What is at a path, or undefined when nothing is. */
  kind(path: string): 'file' | 'directory' | 'other' | undefined;
  writable(path: string): boolean;
  /** Whether a file at `path` may be run (execute permission). */
  executable(path: string): boolean;
  /** Owner and mode, for what the account of `User`/`Group` may write; undefined when nothing is there. */
  mode?(path: string): FileMode | undefined;
  accounts?: AccountLookup;
}

export const diskFiles: VerifyFiles = {
  read: (path) => readFileSync(path),
  kind(path) {
    try {
      const s = statSync(path);
      return s.isFile() ? 'file' : s.isDirectory() ? 'directory' : 'other';
    } catch {
      return undefined;
    }
  },
  writable: (path) => allowed(path, constants.W_OK),
  executable: (path) => allowed(path, constants.X_OK),
  mode(path) {
    try {
      const { uid, gid, mode } = statSync(path);
      return { uid, gid, mode };
    } catch {
      return undefined;
    }
  },
  accounts: systemAccounts,
};

function allowed(path: string, mode: number): boolean {
  try {
    accessSync(path, mode);
    return true;
  } catch {
    return false;
  }
}

/**
 * The load's result with the verification's errors added; the configuration is kept only when there are none, and
 * its site files are kept either way so the warnings print in the same order.
 */
export function verified(result: LoadResult, files: VerifyFiles = diskFiles): LoadResult {
  if (!result.config) return result;
  const problems = verifyConfig(result.config, files);
  if (!problems.some((p) => p.severity === 'error')) return { ...result, diagnostics: [...result.diagnostics, ...problems] };
  return { diagnostics: [...result.diagnostics, ...problems], sites: siteFiles(result.config) };
}

/** Every problem the start would hit with this configuration, as errors at the lines that caused them. */
export function verifyConfig(config: SticklerConfig, files: VerifyFiles = diskFiles): Diagnostic[] {
  return [
    ...listenerClashes(config.listeners, config.dialect === 'native' ? 'listeners' : 'Listen'),
    ...tlsProblems(config, files),
    ...acmeProblems(config, files),
    ...managerAuth(config).problems,
    ...writeProblems(config, files),
    ...pipedLogProblems(config, files),
    ...runAsProblems(config, files),
  ];
}

function tlsProblems(config: SticklerConfig, files: VerifyFiles): Diagnostic[] {
  const problems: Diagnostic[] = [];
  const seen = new Set<TlsFiles | string>();
  for (const vh of config.virtualHosts) {
    // A managed certificate is ordered, or made temporarily, at the start: its store is checked instead (acmeProblems).
    if (vh.tls && !vh.acme && !seen.has(vh.tls)) {
      seen.add(vh.tls);
      const loaded = loadCredentials(vh.tls, config.dialect, files.read);
      if (Array.isArray(loaded)) problems.push(...loaded);
    }
    const ca = vh.backendTls.caFile;
    if (ca !== undefined && !seen.has(ca)) {
      seen.add(ca);
      const problem = caFileProblem(ca, files.read);
      const at = vh.backendTls.caSource ?? vh.backendTls.source ?? vh.source;
      if (problem) problems.push(error(at, TLS_FILE_NAMES[config.dialect].ca, problem));
    }
  }
  const clientCertificates = new Set<ClientCertificate>([
    ...config.virtualHosts.flatMap((vh) => vh.backendTls.clientCertificate ?? []),
    ...config.balancers.flatMap((b) => [b.clientCertificate ?? [], ...b.members.map((m) => m.clientCertificate ?? [])].flat()),
  ]);
  for (const cc of clientCertificates) {
    const loaded = loadClientCertificate(cc, config.dialect, files.read);
    if (Array.isArray(loaded)) problems.push(...loaded);
  }
  return problems;
}

/** Each managed domain's store can be written (made if missing) and its CA bundle is certificates. */
function acmeProblems(config: SticklerConfig, files: VerifyFiles): Diagnostic[] {
  const names = config.dialect === 'native' ? { store: 'acme.store-dir', ca: 'acme.ca-certificate-file' } : { store: 'MDStoreDir', ca: 'MDCACertificateFile' };
  const problems: Diagnostic[] = [];
  for (const domain of config.managedDomains ?? []) {
    const { storeDir, caCertificateFile } = domain.settings;
    let existing = storeDir;
    while (files.kind(existing) === undefined && dirname(existing) !== existing) existing = dirname(existing);
    const kind = files.kind(existing);
    if (kind !== 'directory') problems.push(error(domain.source, names.store, `cannot keep certificates for ${domain.names[0]} in ${storeDir}: ${existing} is not a directory`));
    else if (!files.writable(existing)) problems.push(error(domain.source, names.store, `cannot keep certificates for ${domain.names[0]} in ${storeDir}: ${existing} is not writable`));
    if (usableChallenges(domain, config.listeners).length === 0) {
      problems.push({ ...error(domain.source, config.dialect === 'native' ? 'acme.challenges' : 'MDCAChallenges', `the CA cannot reach this configuration for ${domain.names[0]}: ${domain.settings.challenges.includes('http-01') ? `no plain listener on port ${domain.settings.portMap.http} for HTTP-01` : 'HTTP-01 is not enabled'}, ${domain.settings.challenges.includes('tls-alpn-01') ? `no TLS listener on port ${domain.settings.portMap.https} for TLS-ALPN-01` : 'TLS-ALPN-01 is not enabled'}; expected such a listener, or a port map (${config.dialect === 'native' ? 'acme.port-map' : 'MDPortMap'}) saying where the CA's ports 80 and 443 arrive`), severity: 'warning' });
    }
    const ca = caCertificateFile === undefined ? undefined : caFileProblem(caCertificateFile, files.read);
    if (ca) problems.push(error(domain.source, names.ca, ca));
  }
  return problems;
}

/** Every access log with the line and directive to blame for it. */
function accessLogs(config: SticklerConfig): Array<{ destination: string; source: Source; directive: string }> {
  const native = config.dialect === 'native';
  const commandLine = wholeFile(config);
  return [
    // Only a native file names log.access; otherwise it is the command line's.
    ...(config.log.access === undefined ? [] : [{ destination: config.log.access, source: config.log.source ?? commandLine, directive: config.log.source ? 'log.access' : '--access-log' }]),
    ...[...(config.log.logs ?? []), ...config.virtualHosts.flatMap((vh) => vh.logs ?? [])].map((l) => ({
      destination: l.destination,
      source: l.source ?? commandLine,
      directive: l.directive ?? (native ? 'logs.access' : 'CustomLog'),
    })),
  ];
}

interface WrittenFile {
  path: string;
  source: Source;
  directive: string;
  /** Replaced whole by a rename (the state file), so its directory must be writable even when it exists. */
  replaced?: true;
  /** Opened at the start, as root, like httpd's logs: only a reload or a reopen after the drop needs the account. */
  log?: true;
}

/** The access logs, the manager's state file and audit log: Stickler creates or appends to each. */
function writtenFiles(config: SticklerConfig): WrittenFile[] {
  const native = config.dialect === 'native';
  const manager = config.manager;
  const at = manager?.source ?? wholeFile(config);
  return [
    ...accessLogs(config).flatMap((l) => {
      const path = logFile(l.destination);
      return path === undefined ? [] : [{ path, source: l.source, directive: l.directive, log: true as const }];
    }),
    ...(manager?.stateFile === undefined ? [] : [{ path: manager.stateFile, source: at, directive: native ? 'manager.state-file' : 'BalancerPersist', replaced: true as const }]),
    ...(manager?.auditLog === undefined ? [] : [{ path: manager.auditLog, source: at, directive: 'manager.audit-log' }]),
  ];
}

/** The files Stickler appends to (logs, the audit log), which it may open again after giving up root. */
export const appendedFiles = (config: SticklerConfig): string[] => writtenFiles(config).filter((f) => !f.replaced).map((f) => f.path);

function writeProblems(config: SticklerConfig, files: VerifyFiles): Diagnostic[] {
  return writtenFiles(config).flatMap(({ path, source, directive }) => {
    const problem = writeProblem(path, files);
    return problem ? [error(source, directive, problem)] : [];
  });
}

/**
 * The account of `User`/`Group` must exist, and be able to write every file Stickler writes once it serves as
 * that account: the state file at each edit, the logs when they are opened again at a reload or after rotation.
 */
function runAsProblems(config: SticklerConfig, files: VerifyFiles): Diagnostic[] {
  if (!config.runAs) return [];
  const resolved = resolveRunAs(config.runAs, config.dialect, files.accounts ?? systemAccounts);
  if (Array.isArray(resolved)) return resolved;
  const as = filesAs(resolved, files);
  if (!as) return [];
  const who = `${resolved.user}:${resolved.group}`;
  return writtenFiles(config).flatMap(({ path, source, directive, replaced, log }) => {
    const dir = dirname(path);
    const problem = replaced && files.kind(dir) === 'directory' && !as.writable(dir)
      ? `the directory ${dir} is not writable, and the file is replaced there at each write`
      : writeProblem(path, as);
    if (!problem) return [];
    const message = `${problem} by ${who}, the account Stickler serves as (${config.dialect === 'native' ? 'user and group' : 'User and Group'})`;
    return log
      ? [{ ...error(source, directive, `${message}: the start opens it as root, but a reload or a reopen for rotation will fail; expected the account to own the file or its directory`), severity: 'warning' as const }]
      : [error(source, directive, `${message}; expected it to own the file or its directory`)];
  });
}

/** The file system as `who` sees it for writing, or undefined when `files` cannot tell owners and modes. */
function filesAs(who: Identity, files: VerifyFiles): VerifyFiles | undefined {
  const mode = files.mode;
  if (!mode) return undefined;
  return {
    ...files,
    writable: (path) => {
      const m = mode(path);
      return m !== undefined && mayWrite(m, who, files.kind(path) === 'directory');
    },
  };
}

/** What the command line names has no line: it is reported against the whole file. */
const wholeFile = (config: SticklerConfig): Source => ({ file: config.listeners[0]?.source.file ?? '(command line)', line: 0 });

/** Standard output and piped loggers are not files to check. */
const logFile = (destination: string | undefined): string | undefined =>
  destination === undefined || destination === '-' || destination.startsWith('|') ? undefined : destination;

/** A piped logger's program must exist and be executable, as the start would find when it spawns it. */
function pipedLogProblems(config: SticklerConfig, files: VerifyFiles): Diagnostic[] {
  const seen = new Set<string>();
  return accessLogs(config).flatMap(({ destination, source, directive }) => {
    if (!destination.startsWith('|') || seen.has(destination)) return [];
    seen.add(destination);
    const problem = programProblem(pipedCommand(destination).file, process.env.PATH, files);
    return problem ? [error(source, directive, `${problem}; expected an executable program, such as "|/usr/bin/rotatelogs /var/log/access.%Y%m%d 86400"`)] : [];
  });
}

/** When no PATH is set, libuv (and execvp) search this one. */
const DEFAULT_PATH = '/usr/bin:/bin';

/** Why `program` cannot be run: a name with a `/` is taken as is, any other is searched in PATH, as spawn does. */
export function programProblem(program: string, path: string | undefined, files: Pick<VerifyFiles, 'kind' | 'executable'>): string | undefined {
  const runnable = (p: string): boolean => files.kind(p) === 'file' && files.executable(p);
  if (program.includes('/')) {
    const kind = files.kind(program);
    if (kind === undefined) return `the piped log's program ${program} does not exist`;
    if (kind !== 'file') return `the piped log's program ${program} is not a file`;
    return files.executable(program) ? undefined : `the piped log's program ${program} is not executable`;
  }
  const dirs = (path ?? DEFAULT_PATH).split(':').map((d) => d || '.');
  return dirs.some((d) => runnable(`${d}/${program}`)) ? undefined : `the piped log's program ${program} is not found in PATH (${dirs.join(':')})`;
}

/** Why Stickler could not create or append to `path`, or undefined. */
export function writeProblem(path: string, files: VerifyFiles): string | undefined {
  const kind = files.kind(path);
  if (kind === 'directory') return `${path} is a directory; expected a file path`;
  if (kind !== undefined) return files.writable(path) ? undefined : `${path} is not writable`;
  const dir = dirname(path);
  const dirKind = files.kind(dir);
  if (dirKind === undefined) return `cannot create ${path}: the directory ${dir} does not exist`;
  if (dirKind !== 'directory') return `cannot create ${path}: ${dir} is not a directory`;
  return files.writable(dir) ? undefined : `cannot create ${path}: the directory ${dir} is not writable`;
}

function error(at: Source, directive: string, message: string): Diagnostic {
  return { severity: 'error', file: at.file, line: at.line, directive, message };
}
