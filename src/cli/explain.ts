// `stickler explain --config FILE URL [--cookie 'NAME=value']... [--header 'Name: value']...`: the routing decision
// a request would get, printed as a person reads it, without forwarding anything. It reads the manager's state
// file when the configuration names one, so that a member disabled through the manager shows as disabled.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Balancer } from '../balancer/balancer.ts';
import { diagnosticLines } from '../config/diagnostics.ts';
import { loadConfig } from '../config/load.ts';
import type { SticklerConfig } from '../config/model.ts';
import { explainRequest } from '../explain/dry-run.ts';
import { explanationText } from '../explain/text.ts';
import { applyOverlay, readOverlay } from '../manager/overlay.ts';
import { usage } from './usage.ts';

export interface ExplainOutput {
  out: (text: string) => void;
  err: (text: string) => void;
}

/**
 * The configuration with the manager's saved changes laid over it, as a start would lay them, and which state that
 * is. The file is only read: one Stickler cannot read is reported here, and left for the balancer to set aside.
 */
export function withSavedState(config: SticklerConfig): { config: SticklerConfig; state: string } {
  const file = config.manager?.stateFile;
  if (file === undefined) return { config, state: 'the configuration (it names no manager state file)' };
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { config, state: code === 'ENOENT' ? `the configuration (the manager state file ${file} does not exist yet)` : `the configuration (cannot read the manager state file ${file}: ${code})` };
  }
  let read;
  try {
    read = readOverlay(JSON.parse(text));
  } catch (err) {
    read = { ok: false as const, reason: (err as Error).message };
  }
  if (!read.ok) return { config, state: `the configuration (the manager state file ${file} is not a state Stickler wrote: ${read.reason})` };
  return { config: applyOverlay(config, read.value).config, state: `the configuration with the manager state file ${file}` };
}

/** Cookie values from --cookie (one Cookie header, as a browser sends them) and from --header 'Cookie: ...'. */
function requestHeaders(cookies: string[], headers: string[]): { cookies: string[]; host?: string } | string {
  const bare = cookies.find((c) => !c.includes('='));
  if (bare !== undefined) return `--cookie ${JSON.stringify(bare)}: expected 'NAME=value'`;
  const found: { cookies: string[]; host?: string } = { cookies: cookies.length > 0 ? [cookies.join('; ')] : [] };
  for (const header of headers) {
    const colon = header.indexOf(':');
    if (colon <= 0) return `--header ${JSON.stringify(header)}: expected 'Name: value'`;
    const name = header.slice(0, colon).trim().toLowerCase();
    const value = header.slice(colon + 1).trim();
    if (name === 'cookie') found.cookies.push(value);
    else if (name === 'host') found.host = value;
    else return `--header ${JSON.stringify(header)}: only Host and Cookie take part in routing`;
  }
  return found;
}

/** Exit status: 0 explained, 1 the URL is not routed to a balancer, 2 a bad configuration or usage (a malformed URL among them). */
export function explainCommand(argv: string[], io: ExplainOutput, envvars?: string): number {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' },
        cookie: { type: 'string', multiple: true },
        header: { type: 'string', multiple: true },
        envvars: { type: 'string' },
      },
    });
  } catch (err) {
    io.err(`stickler: explain: ${(err as Error).message}\n\n${usage}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  const problem = (text: string): number => (io.err(`stickler: explain: ${text}\n`), 2);
  if (!values.config) return problem('needs --config FILE');
  if (positionals.length !== 1) return problem('takes exactly one URL (https://host/path or /path)');
  const headers = requestHeaders(values.cookie ?? [], values.header ?? []);
  if (typeof headers === 'string') return problem(headers);
  const file = values.envvars ?? envvars;
  const result = loadConfig(values.config, file === undefined ? {} : { envvars: file });
  const errors = result.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0 || !result.config) {
    for (const line of diagnosticLines(errors)) io.err(`${line}\n`);
    return problem(`${errors.length} error${errors.length === 1 ? '' : 's'} in the configuration`);
  }
  const { config, state } = withSavedState(result.config);
  const balancers = new Map(config.balancers.map((b) => [b.name, { balancer: new Balancer(b) }]));
  const explained = explainRequest(config.virtualHosts, balancers, { url: positionals[0]!, ...headers }, state, Date.now());
  if (!explained.ok) {
    io.err(`stickler: explain: ${explained.reason}\n`);
    return explained.badUrl ? 2 : 1;
  }
  io.out(explanationText(explained.explanation));
  return 0;
}
