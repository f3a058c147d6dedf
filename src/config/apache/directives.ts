// The table of Apache httpd 2.4 directive and section names Stickler knows. Every name is in exactly one role:
// - supported: translated into the model (only in the listed contexts);
// - parser: acted on while reading (Include, Define...);
// - ignored: a real Apache directive with no meaning for Stickler: one warning, never an error, so a complete
//   httpd.conf loads as it is;
// - rejected: a real Apache directive whose effect Stickler cannot honour, and silently dropping it would change
//   routing or access control: an error.
// Real httpd names not listed here (httpd-directives.ts has all of them) are ignored too. A name httpd does not
// know either is a typo or a module httpd does not ship: an error.
import { httpdDirectives, httpdSections } from './httpd-directives.ts';

export type Context = 'main' | 'vhost' | 'proxy' | 'location' | 'mdomainset';

export type DirectiveRole =
  | { role: 'supported'; contexts: readonly Context[] }
  | { role: 'parser' }
  /** `why` completes "ignored: Name ..."; the default is "has no meaning for Stickler". */
  | { role: 'ignored'; why?: string }
  | { role: 'rejected'; why: string };

export type SectionRole = 'conditional' | 'virtualhost' | 'proxy' | 'location' | 'mdomainset' | 'ignored' | 'rejected';

const SERVER: readonly Context[] = ['main', 'vhost'];
const MD_SCOPE: readonly Context[] = ['main', 'mdomainset'];
const SERVER_OR_LOCATION: readonly Context[] = ['main', 'vhost', 'location'];
const ACCESS: readonly Context[] = ['proxy', 'location'];

const SUPPORTED: Record<string, readonly Context[]> = {
  Listen: ['main'],
  ServerName: SERVER,
  ServerAlias: ['vhost'],
  ServerAdmin: SERVER,
  Timeout: SERVER,
  ProxyTimeout: SERVER,
  KeepAliveTimeout: SERVER,
  GracefulShutdownTimeout: ['main'],
  ProxyRequests: SERVER,
  CustomLog: SERVER,
  TransferLog: SERVER,
  LogFormat: SERVER,
  BufferedLogs: ['main'],
  SSLEngine: SERVER,
  SSLProxyEngine: SERVER,
  SSLCertificateFile: SERVER,
  SSLCertificateKeyFile: SERVER,
  SSLCertificateChainFile: SERVER,
  SSLProxyVerify: SERVER,
  SSLProxyCheckPeerName: SERVER,
  SSLProxyCheckPeerCN: SERVER,
  SSLProxyCACertificateFile: SERVER,
  // mod_ssl takes SSLProxy* directives in <Proxy> sections too (httpd 2.4.30+).
  SSLProxyMachineCertificateFile: ['main', 'vhost', 'proxy'],
  SSLProxyMachineCertificateChainFile: ['main', 'vhost', 'proxy'],
  SSLProtocol: SERVER,
  SSLCipherSuite: SERVER,
  SSLHonorCipherOrder: SERVER,
  // Read in every context so that a per-path one is refused with the reason (renegotiation), not as misplaced.
  SSLVerifyClient: ['main', 'vhost', 'proxy', 'location'],
  SSLVerifyDepth: ['main', 'vhost', 'proxy', 'location'],
  SSLCACertificateFile: SERVER,
  SSLCACertificatePath: SERVER,
  SSLCARevocationFile: SERVER,
  SSLCARevocationPath: SERVER,
  SSLCARevocationCheck: SERVER,
  SSLOptions: ['main', 'vhost', 'proxy', 'location'],
  // mod_headers (headers.ts); `Header always set Strict-Transport-Security` of a server is its TLS policy's HSTS.
  Header: ['main', 'vhost', 'proxy', 'location'],
  RequestHeader: ['main', 'vhost', 'proxy', 'location'],
  RemoteIPTrustedProxy: SERVER,
  RemoteIPInternalProxy: SERVER,
  ProxyPass: SERVER_OR_LOCATION,
  ProxyPassReverse: SERVER_OR_LOCATION,
  ProxyPassReverseCookiePath: SERVER_OR_LOCATION,
  ProxyPassReverseCookieDomain: SERVER_OR_LOCATION,
  ProxyPreserveHost: SERVER,
  ProxyAddHeaders: SERVER,
  ProxySet: ['main', 'vhost', 'proxy'],
  BalancerMember: ['main', 'vhost', 'proxy'],
  ProxyHCExpr: SERVER,
  ProxyHCTemplate: SERVER,
  Order: ACCESS,
  Allow: ACCESS,
  Deny: ACCESS,
  Require: ACCESS,
  SetHandler: ['location'],
  AuthType: ['location'],
  AuthName: ['location'],
  AuthUserFile: ['location'],
  BalancerPersist: ['main'],
  LimitRequestLine: SERVER,
  LimitRequestFieldSize: SERVER,
  LimitRequestFields: SERVER,
  LimitRequestBody: ['main', 'vhost', 'proxy', 'location'],
  RequestReadTimeout: SERVER,
  H2MaxSessionStreams: SERVER,
  User: ['main'],
  Group: ['main'],
  // mod_md (md-directives.ts): MDomain in the main server; the settings there (every domain) or in an <MDomainSet>.
  MDomain: ['main'],
  MDMember: ['mdomainset'],
  MDCertificateAuthority: MD_SCOPE,
  MDCertificateAgreement: MD_SCOPE,
  MDContactEmail: MD_SCOPE,
  MDRenewWindow: MD_SCOPE,
  MDCAChallenges: MD_SCOPE,
  MDCACertificateFile: MD_SCOPE,
  MDPrivateKeys: MD_SCOPE,
  MDRenewMode: MD_SCOPE,
  MDMembers: MD_SCOPE,
  MDPortMap: MD_SCOPE,
  MDStoreDir: ['main'],
};

const PARSER = ['Include', 'IncludeOptional', 'Define', 'UnDefine', 'ServerRoot'];

export const NOT_IMPLEMENTED = 'is not implemented by Stickler and has no effect';
const TRUST_LIST = 'is not read by Stickler, so those peers\' X-Forwarded-* headers are replaced; expected the addresses on RemoteIPTrustedProxy lines';
const TLS_DEFAULTS = 'has no meaning for Stickler (its TLS settings are the profile, SSLProtocol, SSLCipherSuite and SSLHonorCipherOrder)';

/** Directives with no meaning for Stickler, by module; a few carry the reason when it is not obvious. */
const IGNORED: Record<string, string | undefined> = Object.fromEntries([
  ...words(`AcceptFilter AcceptPathInfo AccessFileName AddDefaultCharset AllowEncodedSlashes AllowOverride
    AllowOverrideList CGIMapExtension CGIPassAuth CGIVar ContentDigest DefaultRuntimeDir DefaultType DocumentRoot
    EnableMMAP EnableSendfile Error ErrorDocument ErrorLog ErrorLogFormat ExtendedStatus FileETag HostnameLookups
    HttpProtocolOptions KeepAlive LimitInternalRecursion LimitXMLRequestBody LogLevel MaxKeepAliveRequests MaxRangeOverlaps
    MaxRangeReversals MaxRanges MergeSlashes MergeTrailers Mutex NameVirtualHost Options PidFile Protocol Protocols
    ProtocolsHonorOrder QualifyRedirectURL RegisterHttpMethod RLimitCPU RLimitMEM RLimitNPROC
    ScriptInterpreterSource SeeRequestTail ServerPath ServerSignature ServerTokens SetInputFilter SetOutputFilter
    StrictHostCheck TraceEnable UseCanonicalName UseCanonicalPhysicalPort FlushMaxThreshold FlushMaxPipelined
    ReadBufferSize GprofDir LoadModule LoadFile
    StartServers MinSpareServers MaxSpareServers MinSpareThreads MaxSpareThreads ThreadsPerChild MaxRequestWorkers
    MaxClients MaxConnectionsPerChild MaxRequestsPerChild ServerLimit ThreadLimit ThreadStackSize
    AsyncRequestWorkerFactor ListenBacklog ListenCoresBucketsRatio ReceiveBufferSize SendBufferSize MaxMemFree
    CoreDumpDirectory EnableExceptionHook ScoreBoardFile ChrootDir Suexec
    GlobalLog
    AddType AddCharset AddEncoding AddHandler AddInputFilter AddOutputFilter AddLanguage DefaultLanguage ForceType
    ModMimeUsePathInfo MultiviewsMatch RemoveCharset RemoveEncoding RemoveHandler RemoveInputFilter RemoveLanguage
    RemoveOutputFilter RemoveType TypesConfig MimeMagicFile
    DirectoryIndex DirectoryIndexRedirect DirectorySlash DirectoryCheckHandler FallbackResource
    AddAlt AddAltByEncoding AddAltByType AddDescription AddIcon AddIconByEncoding AddIconByType DefaultIcon
    HeaderName IndexHeadInsert IndexIgnore IndexIgnoreReset IndexOptions IndexOrderDefault IndexStyleSheet ReadmeName
    CacheNegotiatedDocs ForceLanguagePriority LanguagePriority
    BrowserMatch BrowserMatchNoCase SetEnvIf SetEnvIfExpr SetEnvIfNoCase SetEnv UnsetEnv PassEnv
    DeflateBufferSize DeflateCompressionLevel DeflateFilterNote DeflateInflateLimitRequestBody
    DeflateInflateRatioBurst DeflateInflateRatioLimit DeflateMemLevel DeflateWindowSize
    AddOutputFilterByType FilterChain FilterDeclare FilterProtocol FilterProvider FilterTrace
    AddModuleInfo ScriptAlias ScriptAliasMatch ScriptSock ScriptLog ScriptLogBuffer ScriptLogLength UserDir
    ExpiresActive ExpiresByType ExpiresDefault
    SSLRandomSeed SSLPassPhraseDialog SSLSessionCache SSLSessionCacheTimeout SSLStaplingCache SSLCryptoDevice SSLFIPS
    SSLRenegBufferSize SSLStrictSNIVHostCheck SSLSessionTickets SSLSessionTicketKeyFile SSLCompression
    SSLStaplingResponderTimeout SSLStaplingReturnResponderErrors SSLStaplingStandardCacheTimeout
    SSLStaplingErrorCacheTimeout SSLStaplingFakeTryLater SSLStaplingForceURL SSLStaplingResponseMaxAge
    SSLStaplingResponseTimeSkew SSLUseStapling SSLInsecureRenegotiation
    ProxyVia ProxyIOBufferSize ProxyMaxForwards ProxyReceiveBufferSize ProxyBadHeader ProxyStatus
    ProxyPassInherit BalancerInherit BalancerGrowth ProxyPassInterpolateEnv ProxyHCTPsize
    HeartbeatStorage H2Direct H2ModernTLSOnly H2Push H2Upgrade H2WindowSize H2StreamMaxMemSize
    AuthBasicProvider AuthGroupFile AuthBasicFake AuthBasicAuthoritative AuthMerging
    AuthzSendForbiddenOnFailure Satisfy`).map((n) => [n, undefined] as const),
  ...words(`SSLOpenSSLConfCmd SSLProxyProtocol SSLProxyCipherSuite
    SSLProxyVerifyDepth SSLProxyCheckPeerExpire`).map((n) => [n, TLS_DEFAULTS] as const),
  ...words(`RewriteEngine RewriteRule RewriteCond RewriteBase RewriteMap RewriteOptions
    Alias AliasMatch Redirect RedirectMatch RedirectPermanent RedirectTemp ProxyErrorOverride
    RemoteIPHeader ProxySourceAddress`).map(
    (n) => [n, NOT_IMPLEMENTED] as const,
  ),
  ...words('RemoteIPTrustedProxyList RemoteIPInternalProxyList').map((n) => [n, TRUST_LIST] as const),
]);

const MD_NOT_RUN = 'is not run by Stickler: it logs the renewal and warns in the manager console instead';
const MD_IGNORED: Record<string, string> = {
  MDNotifyCmd: MD_NOT_RUN,
  MDMessageCmd: MD_NOT_RUN,
  MDMustStaple: 'is not implemented by Stickler: certificates are ordered without the OCSP must-staple extension',
  MDStapling: 'is not implemented by Stickler: managed certificates are served without a stapled OCSP response',
  MDStapleOthers: 'is not implemented by Stickler',
  MDWarnWindow: 'is not implemented by Stickler: it warns when renewal keeps failing (3 attempts, or half the renew window left)',
  MDRetryDelay: 'is not implemented by Stickler: its retries back off from 10 s, doubling, to 6 hours',
  MDCheckInterval: 'has no meaning for Stickler: it plans each renewal from the certificate it serves',
  MDCertificateCheck: 'is not implemented by Stickler',
  MDCertificateStatus: 'is not implemented by Stickler: the expiry is in /metrics (stickler_certificate_expiry_timestamp_seconds)',
  MDServerStatus: 'is not implemented by Stickler: the expiry is in /metrics (stickler_certificate_expiry_timestamp_seconds)',
  MDStoreLocks: 'has no meaning for Stickler: one process orders (with shared state, one instance)',
  MDBaseServer: 'has no meaning for Stickler',
  MDCertificateProtocol: 'has no meaning for Stickler: ACME is the only protocol',
  MDActivationDelay: 'is not implemented by Stickler: a new certificate is served as soon as it is issued',
  MDInitialDelay: 'is not implemented by Stickler',
  MDRetryFailover: 'is not implemented by Stickler: it uses the first MDCertificateAuthority only',
  MDRenewViaARI: 'is not implemented by Stickler',
  MDProfile: 'is not implemented by Stickler: orders name no profile',
  MDProfileMandatory: 'is not implemented by Stickler',
  MDMatchNames: 'is not implemented by Stickler: a domain matches virtual hosts by ServerName and ServerAlias, exactly',
  MDChallengeDns01Version: 'has no meaning for Stickler (it never uses dns-01)',
  MDStaplingKeepResponse: 'is not implemented by Stickler',
  MDStaplingRenewWindow: 'is not implemented by Stickler',
};

const REJECTED: Record<string, string> = {
  MDCertificateFile: 'a static certificate inside a managed domain is not supported by Stickler; expected SSLCertificateFile in a virtual host no MDomain covers',
  MDCertificateKeyFile: 'a static certificate inside a managed domain is not supported by Stickler; expected SSLCertificateKeyFile in a virtual host no MDomain covers',
  MDChallengeDns01: 'dns-01 is not supported by Stickler (it cannot drive a DNS provider); expected MDCAChallenges http-01 tls-alpn-01',
  MDExternalAccountBinding: 'external account binding is not supported by Stickler yet; expected a CA that needs none (Let\'s Encrypt)',
  MDHttpProxy: 'an outgoing proxy to the CA is not supported by Stickler; without it every order would fail. Expected direct HTTPS access to the CA',
  MDHttpProxyCACertificateFile: 'an outgoing proxy to the CA is not supported by Stickler',
  // Dropping it would serve over plain HTTP what the operator redirects to HTTPS.
  MDRequireHttps: 'is not implemented by Stickler; expected a plain virtual host that redirects to https (or only the TLS port)',
  MDDriveMode: 'is the old name of MDRenewMode; expected MDRenewMode auto, always or manual',

  ProxyPassMatch: 'regular-expression ProxyPass rules are not supported by Stickler; use ProxyPass with a path prefix',
  ProxyRemote: 'forward proxy chaining is not supported by Stickler',
  ProxyRemoteMatch: 'forward proxy chaining is not supported by Stickler',
  ProxyBlock: 'forward proxying is not supported by Stickler',
  Use: 'mod_macro is not supported by Stickler; expand the macro by hand',
  SSLRequire: 'client certificate authorization is not supported by Stickler',
  SSLRequireSSL: 'per-location TLS requirements are not supported by Stickler; serve the location from a TLS virtual host only',
  SSLProxyMachineCertificatePath: 'a client certificate directory is not supported by Stickler; expected SSLProxyMachineCertificateFile naming one PEM file with the certificate and its key',
  // Ignoring it would verify the backends against the wrong CAs.
  SSLProxyCACertificatePath: 'a CA certificate directory is not supported by Stickler; expected SSLProxyCACertificateFile with the CA certificates in one PEM file',
};

const SECTIONS: Record<string, SectionRole> = {
  IfModule: 'conditional',
  IfDefine: 'conditional',
  IfFile: 'conditional',
  IfDirective: 'conditional',
  IfSection: 'conditional',
  VirtualHost: 'virtualhost',
  Proxy: 'proxy',
  Location: 'location',
  MDomainSet: 'mdomainset',
  Directory: 'ignored',
  DirectoryMatch: 'ignored',
  Files: 'ignored',
  FilesMatch: 'ignored',
  LocationMatch: 'rejected',
  ProxyMatch: 'rejected',
  If: 'rejected',
  ElseIf: 'rejected',
  Else: 'rejected',
  Limit: 'rejected',
  LimitExcept: 'rejected',
  RequireAll: 'rejected',
  RequireAny: 'rejected',
  RequireNone: 'rejected',
  Macro: 'rejected',
  IfVersion: 'conditional',
};

function words(list: string): string[] {
  return list.split(/\s+/).filter((w) => w !== '');
}

export interface DirectiveEntry {
  /** The name as Apache's manual spells it. */
  name: string;
  role: DirectiveRole;
}

const DIRECTIVES = new Map<string, DirectiveEntry>();
for (const [name, contexts] of Object.entries(SUPPORTED)) DIRECTIVES.set(name.toLowerCase(), { name, role: { role: 'supported', contexts } });
for (const name of PARSER) DIRECTIVES.set(name.toLowerCase(), { name, role: { role: 'parser' } });
for (const [name, why] of Object.entries(IGNORED)) {
  DIRECTIVES.set(name.toLowerCase(), { name, role: why === undefined ? { role: 'ignored' } : { role: 'ignored', why } });
}
for (const [name, why] of Object.entries(MD_IGNORED)) DIRECTIVES.set(name.toLowerCase(), { name, role: { role: 'ignored', why } });
for (const [name, why] of Object.entries(REJECTED)) DIRECTIVES.set(name.toLowerCase(), { name, role: { role: 'rejected', why } });
// Every other real httpd directive configures something Stickler does not do, so a full httpd.conf still loads.
for (const { name, module } of httpdDirectives()) {
  if (DIRECTIVES.has(name.toLowerCase())) continue;
  const why = module === 'core' || module === 'mpm' ? undefined : `has no meaning for Stickler (it does not implement ${module})`;
  DIRECTIVES.set(name.toLowerCase(), { name, role: why === undefined ? { role: 'ignored' } : { role: 'ignored', why } });
}

const SECTION_NAMES = new Map<string, { name: string; role: SectionRole }>(
  Object.entries(SECTIONS).map(([name, role]) => [name.toLowerCase(), { name, role }]),
);
for (const { name } of httpdSections()) {
  if (!SECTION_NAMES.has(name.toLowerCase())) SECTION_NAMES.set(name.toLowerCase(), { name, role: 'ignored' });
}

/** Directive names are case-insensitive in Apache. */
export function lookupDirective(name: string): DirectiveEntry | undefined {
  return DIRECTIVES.get(name.toLowerCase());
}

export function lookupSection(name: string): { name: string; role: SectionRole } | undefined {
  return SECTION_NAMES.get(name.toLowerCase());
}

export function allDirectiveNames(): Iterable<string> {
  return [...DIRECTIVES.values()].map((d) => d.name);
}

export function allSectionNames(): Iterable<string> {
  return [...SECTION_NAMES.values()].map((s) => s.name);
}
