// mod_log_config's directives: LogFormat, CustomLog, TransferLog, BufferedLogs. As httpd does, a CustomLog's
// format names a LogFormat of its server or of the main server, wherever in the configuration that LogFormat is,
// so names are resolved once everything is read; a format that names none is the format itself.
import { compileLogFormat, ENVIRONMENT, isEnvironmentName } from '../../log/format.ts';
import type { AccessLogConfig, Source } from '../model.ts';
import type { DirectiveNode } from './parse.ts';
import { resolveFrom } from './parse.ts';
import type { Report } from './report.ts';
import { parseOnOff } from './values.ts';

/** httpd's Common Log Format, TransferLog's format when no `LogFormat fmt` without a name says otherwise. */
const CLF = '%h %l %u %t "%r" %>s %b';

interface PendingLog {
  source: Source;
  directive: string;
  destination: string;
  /** A LogFormat name or a format; undefined for TransferLog (the server's default format). */
  format?: string;
  condition?: { variable: string; negate: boolean };
}

/** A LogFormat's format and where it is written. */
interface NamedFormat {
  value: string;
  source: Source;
}

/** What one server's LogFormat, CustomLog and TransferLog lines say. */
export interface LogDraft {
  formats: Map<string, NamedFormat>;
  defaultFormat?: NamedFormat;
  logs: PendingLog[];
}

export const newLogDraft = (): LogDraft => ({ formats: new Map(), logs: [] });

/** A format checked where it is written, with the directive's file:line; false when it does not compile. */
function checkFormat(node: DirectiveNode, format: string, report: Report): boolean {
  const compiled = compileLogFormat(format);
  if ('error' in compiled) report.error(node.source, node.name, compiled.error);
  return !('error' in compiled);
}

/** `LogFormat format [nickname]`; without a nickname it is the server's TransferLog format. */
export function readLogFormat(node: DirectiveNode, draft: LogDraft, report: Report): void {
  const [format = '', nickname] = node.args;
  if (node.args.length < 1 || node.args.length > 2) {
    report.error(node.source, node.name, `${node.args.length === 0 ? 'missing argument' : `too many arguments (${node.args.length})`}; expected a format and a name, such as LogFormat "%h %l %u %t \\"%r\\" %>s %b" common`);
    return;
  }
  if (!checkFormat(node, format, report)) return;
  const setting = { value: format, source: node.source };
  if (nickname === undefined) draft.defaultFormat = setting;
  else draft.formats.set(nickname, setting);
}

/** `CustomLog file|"|command" format|nickname [env=[!]VAR]` and `TransferLog file|"|command"`. */
export function readCustomLog(node: DirectiveNode, draft: LogDraft, report: Report): void {
  const transfer = node.name === 'TransferLog';
  const usage = transfer ? 'a file or "|command", such as TransferLog logs/access.log' : 'a file or "|command", a format or LogFormat name, and optionally env=[!]VAR, such as CustomLog logs/access.log combined';
  const n = node.args.length;
  if (n < (transfer ? 1 : 2) || n > (transfer ? 1 : 3)) {
    report.error(node.source, node.name, `${n === 0 ? 'missing argument' : n > (transfer ? 1 : 3) ? `too many arguments (${n})` : `too few arguments (${n})`}; expected ${usage}`);
    return;
  }
  const [file = '', format, condition] = node.args;
  const log: PendingLog = { source: node.source, directive: node.name, destination: file.startsWith('|') ? file : resolveFrom(node, file) };
  if (format !== undefined) log.format = format;
  if (condition !== undefined) {
    const env = /^env=(!?)(.+)$/.exec(condition);
    if (!env) {
      const what = condition.startsWith('expr=') ? 'expr= conditions are not supported by Stickler' : `"${condition}" is not a condition`;
      report.error(node.source, node.name, `${what}; expected env=VAR or env=!VAR, or no condition`);
      return;
    }
    log.condition = { variable: env[2]!, negate: env[1] === '!' };
    warnUnsetVariable(node, log.condition, report);
  }
  if (file === '|' || file === '||' || file === '|$') {
    report.error(node.source, node.name, `"${file}" names no command; expected "|/usr/bin/rotatelogs /var/log/access.%Y%m%d 86400" or a file`);
    return;
  }
  // An inline format is checked on this line; a name is resolved once every LogFormat is read.
  if (format !== undefined && format.includes('%') && !checkFormat(node, format, report)) return;
  draft.logs.push(log);
}

/**
 * In httpd, `env=` mostly tests what SetEnvIf, SetEnv or BrowserMatch set (`env=!dontlog`); Stickler ignores those,
 * so a variable it never sets makes the condition constant: said at the line rather than found in the logs.
 */
function warnUnsetVariable(node: DirectiveNode, condition: { variable: string; negate: boolean }, report: Report): void {
  if (isEnvironmentName(condition.variable)) return;
  const outcome = condition.negate ? 'is always true: this log takes every request' : 'is always false: this log takes no request';
  report.warning(
    node.source,
    node.name,
    `env=${condition.negate ? '!' : ''}${condition.variable} ${outcome}, since Stickler never sets ${condition.variable} (it ignores SetEnvIf, SetEnv and BrowserMatch, which set variables in httpd); expected one of ${[...ENVIRONMENT].join(', ')} or an SSL_CLIENT_* variable (SSLOptions +StdEnvVars)`,
  );
}

/** `BufferedLogs On|Off`: Stickler always gathers lines (see docs/apache-compat.md), so only the value is checked. */
export function readBufferedLogs(node: DirectiveNode, report: Report): void {
  if (node.args.length !== 1 || parseOnOff(node.args[0] ?? '') === undefined) {
    report.error(node.source, node.name, `${node.args.length === 1 ? `"${node.args[0]}" is not On or Off` : 'expected one argument'}; expected On or Off`);
  }
}

/** The server's logs with their formats: names looked up in the server's LogFormats, then the main server's. */
export function resolveLogs(own: LogDraft, main: LogDraft, report: Report): AccessLogConfig[] {
  const logs: AccessLogConfig[] = [];
  for (const log of own.logs) {
    let text: string;
    if (log.format === undefined) text = (own.defaultFormat ?? main.defaultFormat)?.value ?? CLF;
    else {
      const named = own.formats.get(log.format) ?? main.formats.get(log.format);
      text = named?.value ?? log.format;
      if (named === undefined && !log.format.includes('%')) {
        report.warning(log.source, log.directive, `no LogFormat is named "${log.format}", so each line is the text "${log.format}", as httpd writes it; expected a LogFormat name or a format with % items`);
      }
    }
    logs.push({ source: log.source, directive: log.directive, destination: log.destination, format: { kind: 'apache', text }, ...(log.condition && { condition: log.condition }) });
  }
  return logs;
}
