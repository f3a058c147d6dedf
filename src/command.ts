// Command line: run, check, convert, explain, and reload, stop and status of a running balancer (src/cli/). With no
// configuration it runs the embedded demo.
import { rmSync } from 'node:fs';
import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from './config/load.ts';
import { diagnosticLines, reloadDiagnostics, sitesOf } from './config/diagnostics.ts';
import { clientPolicy, DEFAULT_KEY_PREFIX, formatSticky, type Diagnostic, type LoadResult, type SticklerConfig } from './config/model.ts';
import { verified } from './check/verify.ts';
import { checkRedisUrl } from './config/shared-state-url.ts';
import { sharedStateReloadWarning } from './config/model-shared.ts';
import { writeFileAtomically } from './fs/atomic-file.ts';
import { capsWithin, descriptorLimit, descriptorWarning } from './server/descriptors.ts';
import { keepRunningOnUncaughtErrors } from './server/last-resort.ts';
import { Stickler, StartupError } from './server/server.ts';
import { Renewer, prepareStore } from './acme/renewer.ts';
import { SharedOrders } from './acme/shared-orders.ts';
import { identityOf, type Identity } from './server/accounts.ts';
import { deniedAsAccount, reloadBlockers } from './server/privilege-plan.ts';
import { dropPrivileges, preparePrivileges } from './server/privileges.ts';
import { WorkerGroup, type ListenerAddress } from './server/workers.ts';
import { askRunning } from './cli/control-client.ts';
import { type ControlAnswer, type ControlCommand, type ReloadVerdict, type StatusReport } from './cli/control-protocol.ts';
import { controlSocketFor, openControlSocket, type ControlSocket } from './cli/control-server.ts';
import { statusReport } from './cli/status.ts';
import { usage } from './cli/usage.ts';
import { VERSION } from './cli/version.ts';

/** Past graceful-shutdown-timeout, what a stop may take to close the rest and exit. */
const SHUTDOWN_MARGIN_MS = 2_000;

async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'explain') {
    const { explainCommand } = await import('./cli/explain.ts');
    return explainCommand(argv.slice(1), { out: (text) => process.stdout.write(text), err: (text) => process.stderr.write(text) });
  }
  // rollout is a client of a running Stickler's manager, with options of its own.
  if (argv[0] === 'rollout') return (await import('./cli/rollout.ts')).rollout(argv.slice(1));
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' },
        check: { type: 'boolean' },
        probe: { type: 'boolean' },
        'probe-path': { type: 'string' },
        envvars: { type: 'string' },
        verbose: { type: 'boolean' },
        'access-log': { type: 'string' },
        'json-log': { type: 'boolean' },
        listen: { type: 'string' },
        port: { type: 'string' },
        'manager-port': { type: 'string' },
        workers: { type: 'string' },
        'pid-file': { type: 'string' },
        'shared-state': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    });
  } catch (err) {
    process.stderr.write(`stickler: ${(err as Error).message}\n\n${usage}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  const loadOptions = values.envvars === undefined ? {} : { envvars: values.envvars };
  const report = (result: LoadResult, running: readonly Diagnostic[] = [], print = toStderr) => printDiagnostics(result, values.verbose ?? false, running, print);
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  if (values.version) {
    process.stdout.write(`stickler ${VERSION}\n`);
    return 0;
  }
  if (positionals[0] === 'convert') {
    if (positionals.length !== 2) return usageError('convert takes exactly one FILE');
    const config = report(loadConfig(positionals[1]!, loadOptions));
    if (!config) return 2;
    const { toYaml } = await import('./config/convert.ts');
    process.stdout.write(toYaml(config));
    return 0;
  }
  const command = positionals[0];
  if (command === 'reload' || command === 'stop' || command === 'status') {
    if (positionals.length !== 1) return usageError(`${command} takes no argument besides its options`);
    if (!values['pid-file']) return usageError(`${command} needs --pid-file FILE, the file the running balancer was started with`);
    if (command === 'reload' && values.config && !report(verified(loadConfig(values.config, loadOptions)))) return 2;
    return askRunning(command, resolve(values['pid-file']));
  }
  if (positionals.length > 0) return usageError(`unexpected argument "${positionals[0]}"`);
  if (values.probe && !values.check) return usageError('--probe goes with --check: stickler --check --probe --config FILE');
  if (values['probe-path'] !== undefined && !values.probe) return usageError('--probe-path goes with --probe: stickler --check --probe --probe-path /login --config FILE');
  if (values.check) {
    if (!values.config) return usageError('--check needs --config FILE');
    const config = report(verified(loadConfig(values.config, loadOptions)));
    if (!config) return 2;
    if (values.probe) {
      const { probeExitCode, probeLine, probeRoutes } = await import('./check/route-probe.ts');
      const probes = await probeRoutes(config, values['probe-path']);
      if (probes.length === 0) toStderr('stickler: nothing to probe: no balancer with a stickysession has a member with a route=');
      for (const probe of probes) process.stdout.write(`${probeLine(probe)}\n`);
      return probeExitCode(probes);
    }
    process.stdout.write(await printYaml(config));
    return 0;
  }

  if (values['json-log'] && values.config && values['access-log'] === undefined) {
    return usageError('--json-log writes Stickler\'s own log, --access-log, as JSON lines; give --access-log DEST too');
  }
  if (values.workers !== undefined && parseWorkers(values.workers) === undefined) {
    return usageError(`--workers expects a number from 1 to 64 or auto, got "${values.workers}"`);
  }
  const sharedUrl = values['shared-state'] === undefined ? undefined : checkRedisUrl(values['shared-state']);
  if (typeof sharedUrl === 'object') return usageError(`--shared-state: ${sharedUrl.error}`);
  let banner = '';
  let configFile = values.config;
  let closeDemo = async () => {};
  if (!configFile) {
    const port = parsePort(values.port, 8443);
    if (port === undefined) return usageError(`--port expects a number from 1 to 65535, got "${values.port}"`);
    const managerPort = parsePort(values['manager-port'], 9090);
    if (managerPort === undefined) return usageError(`--manager-port expects a number from 1 to 65535, got "${values['manager-port']}"`);
    const address = values.listen;
    if (address !== undefined && isIP(address) === 0) return usageError(`--listen expects an IP address such as 127.0.0.1, 0.0.0.0 or ::1, got "${address}"`);
    const { prepareDemo } = await import('./demo/demo.ts');
    const demo = await prepareDemo(resolve(fileURLToPath(new URL('..', import.meta.url)), '.stickler/demo'), { ...(address !== undefined && { address }), port, managerPort });
    configFile = demo.configFile;
    banner = demo.banner;
    closeDemo = async () => {
      await Promise.all(demo.nodes.map((n) => n.close()));
    };
  }
  const file = configFile;
  // Options given on the command line win over the file, at startup and at every reload. `running` holds the
  // diagnostics of the configuration in force: a reload prints only the warnings it does not share with it.
  const load = (running: readonly Diagnostic[] = [], print = toStderr): { config?: SticklerConfig; diagnostics: Diagnostic[] } => {
    const loaded = loadConfig(file, loadOptions);
    const config = loaded.config;
    if (config) {
      if (values['access-log'] !== undefined) {
        // Named on the command line: no line of the file to blame for it.
        delete config.log.source;
        config.log.access = values['access-log'];
      }
      if (values['json-log']) config.log.format = { kind: 'json' };
      // The URL only: the file's shared-state section (prefix, password file, TLS) still applies.
      if (sharedUrl !== undefined) config.sharedState = { keyPrefix: DEFAULT_KEY_PREFIX, ...config.sharedState, url: sharedUrl };
      if (config.log.access === undefined && !values.config) config.log.access = '-';
    }
    const result = verified(loaded);
    return { ...(report(result, running, print) && { config }), diagnostics: result.diagnostics };
  };
  const first = load();
  const config = first.config;
  if (!config) return 2;
  let diagnostics = first.diagnostics;
  // The command line wins over the file's `workers`.
  const workers = parseWorkers(values.workers ?? (config.workers === undefined ? undefined : String(config.workers)))!;
  const limit = descriptorLimit();
  fitDescriptors(config, workers, limit);
  // Decided before anything opens: files the account will reopen are made its own now.
  const privileges = preparePrivileges(config, (line) => process.stderr.write(`${line}\n`));
  let dropped: Identity | undefined;

  // Worker threads bind as root but serve only once the drop holds; one thread serves nothing before it either, as
  // nothing between its listen and the drop lets the event loop turn.
  const stickler = workers > 1 ? new WorkerGroup(config, workers, (line) => process.stderr.write(`${line}\n`), { held: privileges.kind === 'drop' }) : new Stickler(config);
  // SIGUSR1 opens the log files again once logrotate has renamed them, as nginx's does; the audit log needs no
  // signal, being opened for each entry. Installed at once: Node's default for SIGUSR1 would start the inspector.
  process.on('SIGUSR1', () => void stickler.reopenLogs().then((failures) => {
    for (const failure of failures) toStderr(`stickler: ${failure}`);
    process.stdout.write('logs reopened\n');
  }));
  const group = stickler.sharedEdits;
  const renewer = new Renewer(stickler, (line) => process.stderr.write(`stickler: ${line}\n`), {
    ...(group && { shared: new SharedOrders(group.connection.commands, group.keys, group.instance) }),
  });
  const pidFile = values['pid-file'] && resolve(values['pid-file']);
  // Whatever way the process ends (a stop, a second signal, a failed start, an uncaught error), the files it made go.
  const made: string[] = [];
  process.on('exit', () => {
    for (const f of made) removeLeftBehind(f);
  });
  let control: ControlSocket | undefined;
  const startedAt = Date.now();
  let lastReload: StatusReport['lastReload'] = null;
  let current = config;
  let stop = (): void => {};
  const stopping = new Promise<void>((done) => (stop = done));

  // SIGHUP and `stickler reload` re-read the file, as Apache's graceful restart does; a configuration that fails
  // to load or to start is refused and the running one keeps serving. Reloads run one at a time.
  // Once a stop has begun, a reload would open listeners and loggers again on a balancer that is closing.
  let stopRequested = false;
  let reloading: Promise<ReloadVerdict> = Promise.resolve({ ok: true, warnings: [] });
  const reload = (): Promise<ReloadVerdict> => {
    reloading = reloading.then(async () => {
      const lines: string[] = [];
      const refuse = (reasons: string[]): ReloadVerdict => {
        process.stderr.write('stickler: reload refused; the running configuration keeps serving\n');
        lastReload = { at: Date.now(), ok: false, reasons };
        return { ok: false, reasons };
      };
      if (stopRequested) return { ok: false, reasons: ['the balancer is stopping; nothing was reloaded'] };
      // Whatever fails in here is this reload's refusal; the queue must go on for the next one.
      try {
        const { config: next, diagnostics: nextDiagnostics } = load(diagnostics, (line) => (lines.push(line), toStderr(line)));
        if (!next) {
          const note = dropped && deniedAsAccount(dropped, lines);
          if (note) toStderr(note);
          return refuse(note ? [...lines, note] : lines);
        }
        const blockers = dropped ? reloadBlockers(dropped, current.listeners, next.listeners, identityOf(next)) : [];
        if (blockers.length > 0) {
          for (const line of blockers) toStderr(`stickler: reload refused: ${line}`);
          return refuse(blockers);
        }
        const sharedWarning = sharedStateReloadWarning(current.sharedState, next.sharedState);
        if (sharedWarning !== undefined) {
          const line = `stickler: warning: ${sharedWarning}`;
          lines.push(line);
          toStderr(line);
          // The one in force stays, so that the next reload compares with it.
          if (current.sharedState) next.sharedState = current.sharedState;
          else delete next.sharedState;
        }
        fitDescriptors(next, workers, limit);
        const storeProblems = prepareStore(next, storeOwner(privileges));
        if (storeProblems.length > 0) throw new StartupError(storeProblems.join('\n'));
        await stickler.reload(next);
        renewer.configure(next);
        diagnostics = nextDiagnostics;
        current = next;
      } catch (err) {
        const reason = err instanceof StartupError ? err.message : String((err as Error)?.stack ?? err);
        process.stderr.write(`stickler: reload refused: ${reason}\n`);
        return refuse([reason]);
      }
      lastReload = { at: Date.now(), ok: true, reasons: [] };
      printStartup(stickler.listeners, current, workers);
      process.stdout.write('reloaded\n');
      return { ok: true, warnings: lines };
    });
    return reloading;
  };
  const answer = async (command: ControlCommand): Promise<ControlAnswer> => {
    switch (command) {
      case 'reload':
        return { command, ...(await reload()) };
      case 'status':
        return { command, ok: true, status: statusReport({ stickler, configFile: file, startedAt, workers, lastReload }) };
      case 'stop':
        // Once the answer is on its way.
        setImmediate(stop);
        return { command, ok: true, boundMs: shutdownBound(current) };
    }
  };

  try {
    if (pidFile) {
      control = await openControlSocket(controlSocketFor(pidFile), answer);
      made.push(controlSocketFor(pidFile));
    }
    const storeProblems = prepareStore(config, storeOwner(privileges));
    if (storeProblems.length > 0) throw new StartupError(storeProblems.join('\n'));
    await stickler.start();
  } catch (err) {
    process.stderr.write(`stickler: ${err instanceof StartupError || !(err instanceof Error) ? String((err as Error)?.message ?? err) : err.stack}\n`);
    control?.close();
    await stickler.close();
    await closeDemo();
    return 1;
  }
  if (pidFile) {
    try {
      writeFileAtomically(pidFile, `${process.pid}\n`);
      made.push(pidFile);
    } catch (err) {
      process.stderr.write(`stickler: cannot write the pid file ${pidFile}: ${(err as NodeJS.ErrnoException).code ?? err}\n`);
      control?.close();
      await stickler.close();
      await closeDemo();
      return 1;
    }
  }
  // Last, once every port is bound and every key read: from here on nothing runs as root.
  try {
    dropped = dropPrivileges(privileges);
    if (stickler instanceof WorkerGroup) stickler.serve();
  } catch (err) {
    process.stderr.write(`stickler: ${(err as Error).message}\n`);
    process.exit(1);
  }
  // Orders run as the account served as, once everything listens: the CA's validation reaches the ports.
  renewer.configure(config);
  printStartup(stickler.listeners, config, workers);
  const descriptors = limit === undefined || config.client?.maxConnections === undefined ? undefined : descriptorWarning(clientPolicy(config), workers, limit);
  if (descriptors) process.stderr.write(`stickler: warning: ${descriptors}\n`);
  if (banner) process.stdout.write(`${banner}\n`);
  process.stdout.write('ready\n');

  // Kept during the stop, when it only refuses: without a listener SIGHUP's default action would kill the process.
  process.on('SIGHUP', () => void reload());
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await stopping;
  stopRequested = true;
  process.stdout.write('stopping\n');
  const now = (why: string) => () => {
    process.stderr.write(`stickler: stopped ${why}\n`);
    process.exit(1);
  };
  process.once('SIGINT', now('without waiting for the connections in progress'));
  process.once('SIGTERM', now('without waiting for the connections in progress'));
  // The drain is bounded by graceful-shutdown-timeout; this timer holds the process up to that bound and no longer,
  // even should a connection fail to close, and keeps it from ending unnoticed before.
  const bound = shutdownBound(current);
  if (bound !== null) setTimeout(now(`after ${bound / 1000} s with connections still open`), bound);
  // A reload under way finishes first (its own steps are bounded), so close() sees every listener it opened.
  await reloading;
  renewer.stop();
  await stickler.close();
  await closeDemo();
  control?.close();
  for (const f of made.splice(0)) removeLeftBehind(f);
  process.stdout.write('stopped\n');
  return 0;
}

/** Root writing the ACME store before the drop writes it for the account it will serve as. */
function storeOwner(plan: ReturnType<typeof preparePrivileges>): { uid: number; gid: number } | undefined {
  return plan.kind === 'drop' ? { uid: plan.to.uid, gid: plan.to.gid } : undefined;
}

/** After the drop to User, a directory only root may write keeps the pid file and socket: said, not thrown. */
function removeLeftBehind(file: string): void {
  try {
    rmSync(file, { force: true });
  } catch (err) {
    process.stderr.write(`stickler: cannot remove ${file}: ${(err as NodeJS.ErrnoException).code ?? err}\n`);
  }
}

const toStderr = (line: string): void => void process.stderr.write(`${line}\n`);

/** Past the graceful shutdown timeout, the time left to close what remains; null when it is 0, waiting forever. */
function shutdownBound(config: SticklerConfig): number | null {
  return config.gracefulShutdownTimeout > 0 ? config.gracefulShutdownTimeout + SHUTDOWN_MARGIN_MS : null;
}

/**
 * A configuration that states no max-connections gets caps that fit the descriptor limit (see capsWithin); one that
 * states it keeps its own, and the start warns when the limit is too low for them.
 */
function fitDescriptors(config: SticklerConfig, workers: number, limit: number | undefined): void {
  if (limit === undefined || config.client?.maxConnections !== undefined) return;
  const policy = clientPolicy(config);
  const caps = capsWithin(policy, workers, limit);
  if (caps.maxConnections !== policy.maxConnections || caps.maxRequests !== policy.maxRequests) config.client = { ...config.client, ...caps };
}

/**
 * Prints diagnostics in the order an operator reads them, leaving out the warnings the configuration in force
 * already had (`running`, for a reload); returns the configuration only when there were no errors.
 */
function printDiagnostics(result: LoadResult, verbose: boolean, running: readonly Diagnostic[] = [], print = toStderr): SticklerConfig | undefined {
  const errors = result.diagnostics.filter((d) => d.severity === 'error');
  const shown = reloadDiagnostics(running, result.diagnostics);
  for (const line of diagnosticLines(shown, { verbose, sites: sitesOf(result) })) print(line);
  if (errors.length > 0 || !result.config) {
    print(`stickler: ${errors.length} error${errors.length === 1 ? '' : 's'} in the configuration`);
    return undefined;
  }
  return result.config;
}

function printStartup(listeners: readonly ListenerAddress[], config: SticklerConfig, workers: number): void {
  const lines: string[] = [];
  if (workers > 1) lines.push(`${workers} worker threads, one balancer state`);
  for (const l of listeners) lines.push(`listening on ${l.tls ? 'https' : 'http'}://${hostPort(l)}`);
  for (const vh of config.virtualHosts) {
    const where = vh.serverName ? `${vh.serverName}:${vh.port}` : boundOn(listeners, vh.port);
    for (const r of vh.routes) {
      const to = r.target.kind === 'exclude' ? 'not proxied' : `balancer://${r.target.balancer}${r.target.path}`;
      lines.push(`  ${where} ${r.path} -> ${to}`);
    }
    for (const l of vh.locations) if (l.handler === 'balancer-manager') lines.push(`  ${where} ${l.path} -> balancer manager`);
  }
  for (const b of config.balancers) {
    const sticky = b.sticky ? ` stickysession=${formatSticky(b.sticky)}` : '';
    lines.push(`balancer://${b.name} lbmethod=${b.lbmethod}${sticky}`);
    for (const m of b.members) lines.push(`  ${m.url} route=${m.route || '-'} loadfactor=${m.loadfactor} lbset=${m.lbset}${m.status.length ? ` status=+${m.status.join('')}` : ''}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** A virtual host without a name, by the addresses actually bound on its port (`*` for one on every port). */
function boundOn(listeners: readonly ListenerAddress[], port: number): string {
  const bound = listeners.filter((l) => l.port === port).map((l) => hostPort(l));
  return bound.length > 0 ? bound.join(',') : `*:${port}`;
}

const hostPort = (l: ListenerAddress): string => `${l.address.includes(':') ? `[${l.address}]` : l.address}:${l.port}`;

function parsePort(value: string | undefined, fallback: number): number | undefined {
  const n = value === undefined ? fallback : Number(value);
  return Number.isInteger(n) && n >= 1 && n <= 65535 ? n : undefined;
}

function parseWorkers(value: string | undefined): number | undefined {
  if (value === undefined) return 1;
  if (value === 'auto') return availableParallelism();
  const n = Number(value);
  return Number.isInteger(n) && n >= 1 && n <= 64 ? n : undefined;
}

/** The converter brings the yaml library; only --check and convert need it, never the running balancer. */
async function printYaml(config: SticklerConfig): Promise<string> {
  const { toYaml } = await import('./config/convert.ts');
  return toYaml(config);
}

function usageError(message: string): number {
  process.stderr.write(`stickler: ${message}\n\n${usage}\n`);
  return 2;
}

keepRunningOnUncaughtErrors('the main thread');

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`stickler: ${(err as Error)?.stack ?? err}\n`);
    process.exit(1);
  },
);
