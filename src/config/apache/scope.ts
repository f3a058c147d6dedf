// The section a directive sits in, beyond its server: what the directive readers may need of the <Proxy> or
// <Location> around them, and where a <Location> collects what its lines say.
import type { RouteConfig } from '../model.ts';
import type { AccessBuilder } from './access.ts';
import type { Context } from './directives.ts';
import type { ServerDraft, Setting } from './server-draft.ts';
import type { MdSettings } from './md-directives.ts';

export interface Scope {
  context: Context;
  server: ServerDraft;
  /** `<Proxy url>` argument. */
  proxyUrl?: string;
  /** `<Location path>` argument. */
  locationPath?: string;
  access?: AccessBuilder;
  /** The ProxyPass of the current <Location>, if any. */
  locationRoute?: RouteConfig;
  handler?: 'balancer-manager';
  /** `AuthUserFile` of the current <Location>. */
  userFile?: Setting<string>;
  /** The settings of the current <MDomainSet>. */
  md?: MdSettings;
}
