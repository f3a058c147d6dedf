// mod_md's directives (`MDomain`, `<MDomainSet>`, `MDCertificateAuthority`...) read into managed domains, and the
// virtual hosts whose names a domain covers given its certificate. Settings in the main server apply to every
// domain; those inside an `<MDomainSet>` to that domain only. The values are checked by model-acme.ts, which the
// native reader uses too.
import {
  CHALLENGE_TYPES, acmeDefaults, caUrlProblem, contactEmailProblem, managedNameProblem, parseRenewWindow,
  type AcmeSettings, type ChallengeType, type KeyType, type ManagedDomain, type RenewMode, type RenewWindow, type Source,
} from '../model.ts';
import { arity } from './arguments.ts';
import type { DirectiveNode, SectionNode } from './parse.ts';
import { resolveFrom } from './parse.ts';
import type { Report } from './report.ts';
import type { Setting } from './server-draft.ts';

/** What mod_md's directives set, each with its line: the main server's, or one `<MDomainSet>`'s. */
export interface MdSettings {
  ca?: Setting<string>;
  caFile?: Setting<string>;
  contact?: Setting<string>;
  agreement?: Setting<boolean>;
  storeDir?: Setting<string>;
  renewWindow?: Setting<RenewWindow>;
  challenges?: Setting<ChallengeType[]>;
  keyType?: Setting<KeyType>;
  renewMode?: Setting<RenewMode>;
  /** `MDMembers auto` (the default) adds the ServerAliases of the virtual hosts the domain's names match. */
  members?: Setting<'auto' | 'manual'>;
  portMap?: Setting<{ http?: number; https?: number }>;
}

export interface MdDomainDraft {
  source: Source;
  names: string[];
  settings: MdSettings;
  /** ServerRoot where the domain was written: the store's default `md` is beside it, as in httpd. */
  root: string;
}

export interface MdDraft {
  global: MdSettings;
  domains: MdDomainDraft[];
}

export function newMdDraft(): MdDraft {
  return { global: {}, domains: [] };
}

/** mod_md's names for well-known CAs (`MDCertificateAuthority LetsEncrypt`). */
const KNOWN_CAS: Record<string, string> = {
  letsencrypt: 'https://acme-v02.api.letsencrypt.org/directory',
  'letsencrypt-test': 'https://acme-staging-v02.api.letsencrypt.org/directory',
  buypass: 'https://api.buypass.com/acme/directory',
  'buypass-test': 'https://api.test4.buypass.no/acme/directory',
};

const MODES = ['auto', 'manual', 'always'] as const;

/** `MDomain name... [auto|manual|always]`: a domain whose settings are the main server's. */
export function readMDomain(node: DirectiveNode, md: MdDraft, report: Report): void {
  if (!arity(node, 1, Infinity, 'MDomain dns-name [other-dns-name...] [auto|manual|always]', report)) return;
  const args = [...node.args];
  const mode = MODES.find((m) => m === args.at(-1)?.toLowerCase());
  if (mode) args.pop();
  const domain = newDomain(node, args, report);
  if (!domain) return;
  if (mode) domain.settings.renewMode = { value: mode, source: node.source };
  md.domains.push(domain);
}

/** `<MDomainSet name...>`: a domain with the settings inside it; returns them for the section's directives. */
export function readMDomainSet(node: SectionNode, md: MdDraft, report: Report): MdSettings | undefined {
  if (node.args.length === 0) {
    report.error(node.source, '<MDomainSet>', 'missing names; expected <MDomainSet dns-name [other-dns-name...]>');
    return undefined;
  }
  const domain = newDomain(node, node.args, report);
  if (!domain) return undefined;
  md.domains.push(domain);
  return domain.settings;
}

function newDomain(node: DirectiveNode | SectionNode, names: string[], report: Report): MdDomainDraft | undefined {
  const problems = names.map(managedNameProblem).filter((p) => p !== undefined);
  for (const p of problems) report.error(node.source, node.kind === 'section' ? '<MDomainSet>' : 'MDomain', p);
  return problems.length > 0 ? undefined : { source: node.source, names: names.map((n) => n.toLowerCase()), settings: {}, root: node.root };
}

/** Every other supported mod_md directive, into `into` (the main server's settings or one domain's). */
export function readMdSetting(node: DirectiveNode, into: MdSettings, md: MdDraft, report: Report): void {
  const set = <K extends keyof MdSettings>(key: K, value: NonNullable<MdSettings[K]>['value']) => void (into[key] = { value, source: node.source } as MdSettings[K]);
  const fail = (message: string) => report.error(node.source, node.name, message);
  const arg = node.args[0] ?? '';
  switch (node.name) {
    case 'MDMember':
      if (!arity(node, 1, Infinity, 'MDMember dns-name [other-dns-name...] inside <MDomainSet>', report)) return;
      return addMembers(node, into, md, report);
    case 'MDCertificateAuthority': {
      if (!arity(node, 1, Infinity, 'MDCertificateAuthority url-or-name', report)) return;
      const url = KNOWN_CAS[arg.toLowerCase()] ?? arg;
      const problem = caUrlProblem(url);
      if (problem) return fail(`${problem}, or one of ${Object.keys(KNOWN_CAS).join(', ')}`);
      if (node.args.length > 1) report.warning(node.source, node.name, `only the first CA is used (${arg}); Stickler does not fail over to ${node.args.slice(1).join(', ')}`);
      return set('ca', url);
    }
    case 'MDCertificateAgreement':
      if (!arity(node, 1, 1, 'accepted', report)) return;
      if (arg.toLowerCase() === 'accepted') return set('agreement', true);
      // mod_md 1.x took the terms' URL: naming them was accepting them.
      if (/^https?:\/\//i.test(arg)) {
        report.warning(node.source, node.name, `a terms-of-service URL is mod_md 1.x's form; read as "accepted" (expected MDCertificateAgreement accepted)`);
        return set('agreement', true);
      }
      return fail(`"${arg}" is not accepted; expected MDCertificateAgreement accepted`);
    case 'MDContactEmail': {
      if (!arity(node, 1, 1, 'an e-mail address', report)) return;
      const problem = contactEmailProblem(arg);
      return problem ? fail(problem) : set('contact', arg.replace(/^mailto:/, ''));
    }
    case 'MDStoreDir':
      if (!arity(node, 1, 1, 'a directory', report)) return;
      return set('storeDir', resolveFrom(node, arg));
    case 'MDCACertificateFile':
      if (!arity(node, 1, 1, 'a PEM file of CA certificates', report)) return;
      return set('caFile', resolveFrom(node, arg));
    case 'MDRenewWindow': {
      if (!arity(node, 1, 1, 'a duration such as 30d or a percentage such as 33%', report)) return;
      const window = parseRenewWindow(arg);
      return typeof window === 'string' ? fail(window) : set('renewWindow', window);
    }
    case 'MDCAChallenges': {
      if (!arity(node, 1, Infinity, `challenge types among ${CHALLENGE_TYPES.join(', ')}`, report)) return;
      const types = node.args.map((a) => a.toLowerCase());
      const unknown = types.filter((t) => !CHALLENGE_TYPES.includes(t as ChallengeType));
      for (const t of unknown) report.warning(node.source, node.name, t === 'dns-01' ? 'dns-01 is left out: it needs a DNS provider Stickler has no way to drive (MDChallengeDns01 scripts are not run)' : `"${t}" is not a challenge type Stickler answers; left out`);
      const known = types.filter((t): t is ChallengeType => CHALLENGE_TYPES.includes(t as ChallengeType));
      return known.length > 0 ? set('challenges', known) : fail(`no challenge type Stickler answers; expected ${CHALLENGE_TYPES.join(' or ')}`);
    }
    case 'MDPrivateKeys':
      return readPrivateKeys(node, (k) => set('keyType', k), report);
    case 'MDRenewMode': {
      if (!arity(node, 1, 1, 'auto, always or manual', report)) return;
      const mode = MODES.find((m) => m === arg.toLowerCase());
      return mode ? set('renewMode', mode) : fail(`"${arg}" is not a renew mode; expected auto, always or manual`);
    }
    case 'MDMembers': {
      if (!arity(node, 1, 1, 'auto or manual', report)) return;
      const value = arg.toLowerCase();
      return value === 'auto' || value === 'manual' ? set('members', value) : fail(`"${arg}" is not auto or manual`);
    }
    case 'MDPortMap':
      return readPortMap(node, (m) => set('portMap', m), report);
  }
}

function addMembers(node: DirectiveNode, into: MdSettings, md: MdDraft, report: Report): void {
  const domain = md.domains.find((d) => d.settings === into);
  if (!domain) return report.error(node.source, node.name, 'only allowed inside <MDomainSet>; expected the names on the MDomain line');
  for (const name of node.args) {
    const problem = managedNameProblem(name);
    if (problem) report.error(node.source, node.name, problem);
    else domain.names.push(name.toLowerCase());
  }
}

/** `MDPrivateKeys RSA [bits]` or a curve; mod_md can hold several keys at once, Stickler one: the first. */
function readPrivateKeys(node: DirectiveNode, set: (k: KeyType) => void, report: Report): void {
  if (!arity(node, 1, Infinity, 'RSA [2048|3072|4096], secp256r1 or secp384r1', report)) return;
  const [first = '', second] = node.args;
  const bits = first.toLowerCase() === 'rsa' && /^\d+$/.test(second ?? '') ? second : undefined;
  const type = first.toLowerCase() === 'rsa' ? `rsa${bits ?? '2048'}` : first.toLowerCase().replace(/^p-256$/, 'secp256r1').replace(/^p-384$/, 'secp384r1');
  const rest = node.args.slice(bits ? 2 : 1);
  if (!['rsa2048', 'rsa3072', 'rsa4096', 'secp256r1', 'secp384r1'].includes(type)) {
    return report.error(node.source, node.name, `"${node.args.slice(0, bits ? 2 : 1).join(' ')}" is not a key type Stickler makes; expected RSA 2048, RSA 3072, RSA 4096, secp256r1 or secp384r1`);
  }
  if (rest.length > 0) report.warning(node.source, node.name, `only the first key type is used (${type}); a certificate per key type (${rest.join(' ')}) is not supported`);
  set(type as KeyType);
}

/** `MDPortMap http:8080 https:8443`: where the CA's port 80 and 443 arrive here; `-` for one that never does. */
function readPortMap(node: DirectiveNode, set: (m: { http?: number; https?: number }) => void, report: Report): void {
  if (!arity(node, 1, 2, 'http:port and/or https:port, such as MDPortMap http:8080 https:8443', report)) return;
  const map: { http?: number; https?: number } = {};
  for (const arg of node.args) {
    const m = /^(http|https):(\d{1,5}|-)$/i.exec(arg);
    const port = m && m[2] !== '-' ? Number(m[2]) : 0;
    if (!m || (m[2] !== '-' && (port < 1 || port > 65535))) return report.error(node.source, node.name, `"${arg}" is not a port mapping; expected http:PORT or https:PORT (1-65535, or - for none)`);
    map[m[1]!.toLowerCase() as 'http' | 'https'] = port;
  }
  set(map);
}

/** A virtual host as domains match it: its names, and where its SSLCertificateFile is (if any). */
export interface MdHost {
  serverName?: string;
  serverAliases: string[];
  serverAdmin?: string;
  tls: boolean;
}

/**
 * The managed domains, with `MDMembers auto` applied (a domain whose names match a TLS virtual host takes that
 * host's other names), each domain's settings the domain's own over the main server's over mod_md's defaults.
 */
export function managedDomainsOf(md: MdDraft, hosts: MdHost[], mainAdmin: string | undefined, report: Report): ManagedDomain[] {
  return md.domains.map((d) => {
    const s = <K extends keyof MdSettings>(key: K): MdSettings[K] => d.settings[key] ?? md.global[key];
    if ((s('members')?.value ?? 'auto') === 'auto') {
      for (const h of hosts) {
        const names = hostNames(h);
        if (h.tls && names.some((n) => d.names.includes(n))) for (const n of names) if (!d.names.includes(n) && managedNameProblem(n) === undefined) d.names.push(n);
      }
    }
    const base = acmeDefaults(resolveFrom(d, 'md'));
    const admin = mainAdmin && contactEmailProblem(mainAdmin) === undefined ? mainAdmin : undefined;
    const contact = s('contact')?.value ?? admin;
    const port = s('portMap')?.value;
    const caFile = s('caFile')?.value;
    const settings: AcmeSettings = {
      ...base,
      caUrl: s('ca')?.value ?? base.caUrl,
      ...(caFile !== undefined && { caCertificateFile: caFile }),
      ...(contact !== undefined && { contactEmail: contact }),
      agreementAccepted: s('agreement')?.value ?? false,
      storeDir: s('storeDir')?.value ?? base.storeDir,
      renewWindow: s('renewWindow')?.value ?? base.renewWindow,
      challenges: s('challenges')?.value ?? base.challenges,
      keyType: s('keyType')?.value ?? base.keyType,
      renewMode: s('renewMode')?.value ?? base.renewMode,
      portMap: { http: port?.http ?? base.portMap.http, https: port?.https ?? base.portMap.https },
    };
    if (!settings.agreementAccepted) report.warning(d.source, 'MDCertificateAgreement', `no certificate can be ordered for ${d.names[0]} until the CA's terms of service are accepted; expected MDCertificateAgreement accepted (the temporary self-signed certificate is served meanwhile)`);
    return { source: d.source, names: d.names, settings };
  });
}

/** The domain whose names include one of the virtual host's, if any. */
export function domainOf(domains: ManagedDomain[], host: MdHost): ManagedDomain | undefined {
  const names = hostNames(host);
  return domains.find((d) => names.some((n) => d.names.includes(n)));
}

function hostNames(h: MdHost): string[] {
  return [...(h.serverName ? [h.serverName] : []), ...h.serverAliases].map((n) => n.toLowerCase().replace(/:\d+$/, ''));
}
