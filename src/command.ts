// Command line: run, check, convert. With no configuration it runs the embedded demo.
import { readFileSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from './config/load.ts';
import { diagnosticLines } from './config/diagnostics.ts';
import { clientPolicy, type LoadResult, type SticklerConfig } from './config/model.ts';
import { verified } from './config/verify.ts';
import { writeFileAtomically } from './fs/atomic-file.ts';
import { capsWithin, descriptorLimit, descriptorWarning } from './server/descriptors.ts';
import { keepRunningOnUncaughtErrors } from './server/last-resort.ts';
import { Stickler, StartupError } from './server/server.ts';
import { WorkerGroup, type ListenerAddress } from './server/workers.ts';

const usage = `Usage:
  stickler [--config FILE] [--envvars FILE] [--verbose] [--workers N|auto] [--access-log FILE|-] [--json-log] [--pid-file FILE]
      Run the balancer on FILE: an Apache httpd configuration (httpd.conf, a vhost file...)
      or a native YAML file (.yaml/.yml). Without --config, run the embedded demo: a
      self-signed certificate and two demo backend nodes behind https://localhost:8443/.
  stickler --check --config FILE [--envvars FILE] [--verbose]
      Test FILE as the start would: read it, then open and parse every certificate, key, chain,
      CA, htpasswd, token and OCSP file, match each key to its certificate, check that the logs
      and state files can be written and that no two listeners clash. Prints the effective
      configuration (native YAML) and exits 0, or prints every error as
      "file:line: Directive: what is wrong" and exits 2. Warnings go to stderr.
  stickler convert FILE
      Print the native YAML equivalent of an Apache configuration.
  stickler reload --pid-file FILE [--config FILE]
      Ask the running balancer to re-read its configuration (SIGHUP). With --config, the file is
      validated first, as apachectl graceful does, and an invalid one is not sent for.
  stickler stop --pid-file FILE
      Ask the running balancer to stop gracefully (SIGTERM).

Options:
  -c, --config FILE      configuration file
      --check            validate only
      --envvars FILE     read FILE as apache2ctl reads Debian's envvars before the configuration; by
                         default, the envvars file beside the main configuration file, if there is one
      --verbose          list every directive ignored for having no meaning for a load balancer,
                         instead of one line that counts them
      --workers N|auto   serve with N worker threads (auto: one per core) sharing one balancer
                         state; default 1, a single thread
      --access-log DEST  access log destination: a file path, or - for standard output
      --json-log         write the access log as JSON lines instead of Apache's combined format
      --pid-file FILE    write the process id to FILE while running (removed at exit)
      --port N           demo only: listen on port N instead of 8443
      --manager-port N   demo only: serve the balancer manager on 127.0.0.1:N instead of 9090
  -h, --help             this text

Signals: SIGHUP re-reads the configuration file and serves new connections with it, without
dropping any; an invalid file is refused and the running configuration keeps serving.
SIGTERM and SIGINT stop: listeners close, requests in progress finish within the graceful
shutdown timeout (30 s by default); a second signal stops at once.

Exit status: 0 success, 1 runtime failure (a port in use), 2 invalid configuration (including a file it names
that is missing or broken, as --check reports it) or usage.
Documentation: docs/configuration.md (native YAML), docs/apache-compat.md (Apache directives).`;

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' },
        check: { type: 'boolean' },
        envvars: { type: 'string' },
        verbose: { type: 'boolean' },
        'access-log': { type: 'string' },
        'json-log': { type: 'boolean' },
        port: { type: 'string' },
        'manager-port': { type: 'string' },
        workers: { type: 'string' },
        'pid-file': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    process.stderr.write(`stickler: ${(err as Error).message}\n\n${usage}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  const loadOptions = values.envvars === undefined ? {} : { envvars: values.envvars };
  const report = (result: LoadResult) => printDiagnostics(result, values.verbose ?? false);
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  if (positionals[0] === 'convert') {
    if (positionals.length !== 2) return usageError('convert takes exactly one FILE');
    const config = report(loadConfig(positionals[1]!, loadOptions));
    if (!config) return 2;
    process.stdout.write(await printYaml(config));
    return 0;
  }
  if (positionals[0] === 'reload' || positionals[0] === 'stop') {
    if (positionals.length !== 1) return usageError(`${positionals[0]} takes no argument besides its options`);
    if (!values['pid-file']) return usageError(`${positionals[0]} needs --pid-file FILE, the file the running balancer was started with`);
    if (positionals[0] === 'reload' && values.config && !report(verified(loadConfig(values.config, loadOptions)))) return 2;
    return signalRunning(values['pid-file'], positionals[0] === 'reload' ? 'SIGHUP' : 'SIGTERM');
  }
  if (positionals.length > 0) return usageError(`unexpected argument "${positionals[0]}"`);
  if (values.check) {
    if (!values.config) return usageError('--check needs --config FILE');
    const config = report(verified(loadConfig(values.config, loadOptions)));
    if (!config) return 2;
    process.stdout.write(await printYaml(config));
    return 0;
  }

  if (values.workers !== undefined && parseWorkers(values.workers) === undefined) {
    return usageError(`--workers expects a number from 1 to 64 or auto, got "${values.workers}"`);
  }
  let banner = '';
  let configFile = values.config;
  let closeDemo = async () => {};
  if (!configFile) {
    const port = parsePort(values.port, 8443);
    if (port === undefined) return usageError(`--port expects a number from 1 to 65535, got "${values.port}"`);
    const managerPort = parsePort(values['manager-port'], 9090);
    if (managerPort === undefined) return usageError(`--manager-port expects a number from 1 to 65535, got "${values['manager-port']}"`);
    const { prepareDemo } = await import('./demo/demo.ts');
    const demo = await prepareDemo(resolve(fileURLToPath(new URL('..', import.meta.url)), '.stickler/demo'), { port, managerPort });
    configFile = demo.configFile;
    banner = demo.banner;
    closeDemo = async () => {
      await Promise.all(demo.nodes.map((n) => n.close()));
    };
  }
  const file = configFile;
  // Options given on the command line win over the file, at startup and at every reload.
  const load = (): SticklerConfig | undefined => {
    const loaded = loadConfig(file, loadOptions);
    const config = loaded.config;
    if (config) {
      if (values['access-log'] !== undefined) config.log = { access: values['access-log'], format: config.log.format };
      if (values['json-log']) config.log.format = 'json';
      if (config.log.access === undefined && !values.config) config.log.access = '-';
    }
    return report(verified(loaded));
  };
  const config = load();
  if (!config) return 2;
  // The command line wins over the file's `workers`.
  const workers = parseWorkers(values.workers ?? (config.workers === undefined ? undefined : String(config.workers)))!;
  const limit = descriptorLimit();
  fitDescriptors(config, workers, limit);

  const stickler = workers > 1 ? new WorkerGroup(config, workers, (line) => process.stderr.write(`${line}\n`)) : new Stickler(config);
  try {
    await stickler.start();
  } catch (err) {
    process.stderr.write(`stickler: ${err instanceof StartupError ? err.message : (err as Error).stack}\n`);
    await stickler.close();
    await closeDemo();
    return 1;
  }
  const pidFile = values['pid-file'] && resolve(values['pid-file']);
  if (pidFile) {
    try {
      writeFileAtomically(pidFile, `${process.pid}\n`);
    } catch (err) {
      process.stderr.write(`stickler: cannot write the pid file ${pidFile}: ${(err as NodeJS.ErrnoException).code ?? err}\n`);
      await stickler.close();
      await closeDemo();
      return 1;
    }
  }
  printStartup(stickler.listeners, config, workers);
  const descriptors = limit === undefined || config.client?.maxConnections === undefined ? undefined : descriptorWarning(clientPolicy(config), workers, limit);
  if (descriptors) process.stderr.write(`stickler: warning: ${descriptors}\n`);
  if (banner) process.stdout.write(`${banner}\n`);
  process.stdout.write('ready\n');

  // SIGHUP re-reads the file, as Apache's graceful restart does; a configuration that fails to load or to start
  // is refused and the running one keeps serving. Reloads run one at a time.
  let reloading = Promise.resolve();
  process.on('SIGHUP', () => {
    reloading = reloading.then(async () => {
      const next = load();
      if (!next) return void process.stderr.write('stickler: reload refused; the running configuration keeps serving\n');
      fitDescriptors(next, workers, limit);
      try {
        await stickler.reload(next);
      } catch (err) {
        process.stderr.write(`stickler: reload refused: ${err instanceof StartupError ? err.message : (err as Error).stack}\n`);
        return;
      }
      printStartup(stickler.listeners, next, workers);
      process.stdout.write('reloaded\n');
    });
  });

  await new Promise<void>((done) => {
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
  process.stdout.write('stopping\n');
  const now = () => {
    process.stderr.write('stickler: stopped without waiting for the connections in progress\n');
    process.exit(1);
  };
  process.once('SIGINT', now);
  process.once('SIGTERM', now);
  await stickler.close();
  await closeDemo();
  if (pidFile) rmSync(pidFile, { force: true });
  return 0;
}

function signalRunning(pidFile: string, signal: 'SIGHUP' | 'SIGTERM'): number {
  let pid: number;
  try {
    pid = Number(readFileSync(pidFile, 'utf8').trim());
  } catch (err) {
    process.stderr.write(`stickler: cannot read ${pidFile}: ${(err as NodeJS.ErrnoException).code ?? err}; is the balancer running with --pid-file ${pidFile}?\n`);
    return 1;
  }
  if (!Number.isInteger(pid) || pid < 1) {
    process.stderr.write(`stickler: ${pidFile} does not hold a process id\n`);
    return 1;
  }
  try {
    process.kill(pid, signal);
  } catch (err) {
    process.stderr.write(`stickler: cannot signal process ${pid} from ${pidFile}: ${(err as NodeJS.ErrnoException).code ?? err}\n`);
    return 1;
  }
  process.stdout.write(`sent ${signal} to ${pid}\n`);
  return 0;
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

/** Prints diagnostics; returns the configuration only when there were no errors. */
function printDiagnostics(result: LoadResult, verbose: boolean): SticklerConfig | undefined {
  const errors = result.diagnostics.filter((d) => d.severity === 'error');
  for (const line of diagnosticLines(result.diagnostics, { verbose, ...(result.config && { config: result.config }) })) process.stderr.write(`${line}\n`);
  if (errors.length > 0 || !result.config) {
    process.stderr.write(`stickler: ${errors.length} error${errors.length === 1 ? '' : 's'} in the configuration\n`);
    return undefined;
  }
  return result.config;
}

function printStartup(listeners: readonly ListenerAddress[], config: SticklerConfig, workers: number): void {
  const lines: string[] = [];
  if (workers > 1) lines.push(`${workers} worker threads, one balancer state`);
  for (const l of listeners) lines.push(`listening on ${l.tls ? 'https' : 'http'}://${l.address.includes(':') ? `[${l.address}]` : l.address}:${l.port}`);
  for (const vh of config.virtualHosts) {
    for (const r of vh.routes) {
      const to = r.target.kind === 'exclude' ? 'not proxied' : `balancer://${r.target.balancer}${r.target.path}`;
      lines.push(`  ${vh.serverName ?? '*'}:${vh.port} ${r.path} -> ${to}`);
    }
    for (const l of vh.locations) if (l.handler === 'balancer-manager') lines.push(`  ${vh.serverName ?? '*'}:${vh.port} ${l.path} -> balancer manager`);
  }
  for (const b of config.balancers) {
    const sticky = b.sticky ? ` stickysession=${b.sticky.cookie}|${b.sticky.urlParam}` : '';
    lines.push(`balancer://${b.name} lbmethod=${b.lbmethod}${sticky}`);
    for (const m of b.members) lines.push(`  ${m.url} route=${m.route || '-'} loadfactor=${m.loadfactor} lbset=${m.lbset}${m.status.length ? ` status=+${m.status.join('')}` : ''}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

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
