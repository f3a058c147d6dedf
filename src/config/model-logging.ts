// Access logs in the configuration model: where lines go, in which format, and on what condition.
import type { Source } from './model-units.ts';

export interface LogConfig {
  /** Access log destination: a file path, `-` for stdout, `|command` for a piped logger, or undefined for none. */
  access?: string;
  /** Where `access` is named; undefined when the command line named it. */
  source?: Source;
  /** The format of `access`; see AccessLogConfig.format. */
  format: AccessLogFormat;
  /** More access logs of the main server (Apache's CustomLog and TransferLog lines). */
  logs?: AccessLogConfig[];
}

/**
 * What a log writes: Stickler's own line (Apache's combined plus route= and backend_ms=), one JSON object, or a
 * mod_log_config format string, whose text is never taken for the name of one of the other two.
 */
export type AccessLogFormat = { kind: 'stickler' } | { kind: 'json' } | { kind: 'apache'; text: string };

export interface AccessLogConfig {
  source?: Source;
  /** The directive or key that named it (`CustomLog`, `TransferLog`), for messages. */
  directive?: string;
  /**
   * A file path, `-` for standard output, or a piped logger: `|command` and `||command` run the command
   * without a shell, `|$command` through /bin/sh, as httpd 2.4 does.
   */
  destination: string;
  format: AccessLogFormat;
  /** Apache's `env=VAR` (log when the variable is set) or `env=!VAR` (when it is not). */
  condition?: { variable: string; negate: boolean };
}
