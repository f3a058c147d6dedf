// Every directive and section name Apache httpd 2.4.71 (Debian) knows, by the module that defines it, as printed
// by `apache2 -L` with all of Debian's modules loaded (each MPM in turn). directives.ts classifies the names
// Stickler acts on; any other name here is real Apache configuration with no meaning for Stickler, ignored with a
// warning, while a name in neither place is a typo or a module httpd does not ship: an error.

export interface HttpdName {
  /** The spelling Apache's manual uses. */
  name: string;
  /** `core`, `mpm`, `mod_cache_disk`... */
  module: string;
}

const DIRECTIVES: Record<string, string> = {
  core: `AcceptFilter AcceptPathInfo AccessFileName AddDefaultCharset AllowEncodedSlashes AllowOverride
    AllowOverrideList CGIPassAuth CGIVar ContentDigest CoreDumpDirectory DefaultRuntimeDir DefaultType
    Define DocumentRoot EnableMMAP EnableSendfile Error ErrorDocument ErrorLog ErrorLogFormat
    ExtendedStatus FileETag FlushMaxPipelined FlushMaxThreshold ForceType HostnameLookups
    HttpProtocolOptions Include IncludeOptional KeepAlive KeepAliveTimeout LimitInternalRecursion
    LimitRequestBody LimitRequestFields LimitRequestFieldsize LimitRequestLine LimitXMLRequestBody
    LogLevel MaxConnectionsPerChild MaxKeepAliveRequests MaxMemFree MaxRangeOverlaps MaxRangeReversals
    MaxRanges MaxRequestsPerChild MergeSlashes MergeTrailers Mutex NameVirtualHost Options PidFile Port
    Protocol Protocols ProtocolsHonorOrder QualifyRedirectURL ReadBufferSize RegexDefaultOptions
    RegisterHttpMethod RLimitCPU RLimitMEM RLimitNPROC ScoreBoardFile SeeRequestTail ServerAdmin
    ServerAlias ServerName ServerPath ServerRoot ServerSignature ServerTokens SetHandler SetInputFilter
    SetOutputFilter StrictHostCheck ThreadStackSize Timeout TraceEnable UnDefine UseCanonicalName
    UseCanonicalPhysicalPort`,
  mod_access_compat: `allow deny order Satisfy`,
  mod_actions: `Action Script`,
  mod_alias: `Alias AliasMatch AliasPreservePath Redirect RedirectMatch RedirectPermanent RedirectRelative
    RedirectTemp ScriptAlias ScriptAliasMatch`,
  mod_allowmethods: `AllowMethods`,
  mod_auth_basic: `AuthBasicAuthoritative AuthBasicFake AuthBasicProvider AuthBasicUseDigestAlgorithm`,
  mod_auth_digest: `AuthDigestAlgorithm AuthDigestDomain AuthDigestNcCheck AuthDigestNonceLifetime AuthDigestProvider
    AuthDigestQop AuthDigestShmemSize`,
  mod_auth_form: `AuthFormAuthoritative AuthFormBody AuthFormDisableNoStore AuthFormFakeBasicAuth AuthFormLocation
    AuthFormLoginRequiredLocation AuthFormLoginSuccessLocation AuthFormLogoutLocation AuthFormMethod
    AuthFormMimetype AuthFormPassword AuthFormProvider AuthFormSitePassphrase AuthFormSize
    AuthFormUsername`,
  mod_authn_anon: `Anonymous Anonymous_LogEmail Anonymous_MustGiveEmail Anonymous_NoUserId Anonymous_VerifyEmail`,
  mod_authn_core: `AuthName AuthType`,
  mod_authn_dbd: `AuthDBDUserPWQuery AuthDBDUserRealmQuery`,
  mod_authn_dbm: `AuthDBMType AuthDBMUserFile`,
  mod_authn_file: `AuthUserFile`,
  mod_authn_socache: `AuthnCacheContext AuthnCacheEnable AuthnCacheProvideFor AuthnCacheSOCache AuthnCacheTimeout`,
  mod_authnz_fcgi: `AuthnzFcgiCheckAuthnProvider AuthnzFcgiDefineProvider`,
  mod_authnz_ldap: `AuthLDAPAuthorizePrefix AuthLDAPBindAuthoritative AuthLDAPBindDN AuthLDAPBindPassword
    AuthLDAPCharsetConfig AuthLDAPCompareAsUser AuthLDAPCompareDNOnServer AuthLDAPDereferenceAliases
    AuthLDAPGroupAttribute AuthLDAPGroupAttributeIsDN AuthLDAPInitialBindAsUser
    AuthLDAPInitialBindPattern AuthLDAPMaxSubGroupDepth AuthLDAPRemoteUserAttribute
    AuthLDAPRemoteUserIsDN AuthLDAPSearchAsUser AuthLDAPSubGroupAttribute AuthLDAPSubGroupClass
    AuthLDAPURL`,
  mod_authz_core: `AuthMerging AuthzSendForbiddenOnFailure Require`,
  mod_authz_dbd: `AuthzDBDLoginToReferer AuthzDBDQuery AuthzDBDRedirectQuery`,
  mod_authz_dbm: `AuthDBMGroupFile AuthzDBMType`,
  mod_authz_groupfile: `AuthGroupFile`,
  mod_autoindex: `AddAlt AddAltByEncoding AddAltByType AddDescription AddIcon AddIconByEncoding AddIconByType
    DefaultIcon FancyIndexing HeaderName IndexHeadInsert IndexIgnore IndexIgnoreReset IndexOptions
    IndexOrderDefault IndexStyleSheet ReadmeName`,
  mod_brotli: `BrotliAlterETag BrotliCompressionMaxInputBlock BrotliCompressionQuality BrotliCompressionWindow
    BrotliFilterNote`,
  mod_buffer: `BufferSize`,
  mod_cache: `CacheDefaultExpire CacheDetailHeader CacheDisable CacheEnable CacheHeader CacheIgnoreCacheControl
    CacheIgnoreHeaders CacheIgnoreNoLastMod CacheIgnoreQueryString CacheIgnoreURLSessionIdentifiers
    CacheKeyBaseURL CacheLastModifiedFactor CacheLock CacheLockMaxAge CacheLockPath CacheMaxExpire
    CacheMinExpire CacheQuickHandler CacheStaleOnError CacheStoreExpired CacheStoreNoStore
    CacheStorePrivate`,
  mod_cache_disk: `CacheDirLength CacheDirLevels CacheMaxFileSize CacheMinFileSize CacheReadSize CacheReadTime
    CacheRoot`,
  mod_cache_socache: `CacheSocache CacheSocacheMaxSize CacheSocacheMaxTime CacheSocacheMinTime CacheSocacheReadSize
    CacheSocacheReadTime`,
  mod_case_filter: `CaseFilter`,
  mod_case_filter_in: `CaseFilterIn`,
  mod_cern_meta: `MetaDir MetaFiles MetaSuffix`,
  mod_cgi: `CGIScriptTimeout ScriptLog ScriptLogBuffer ScriptLogLength`,
  mod_cgid: `CGIDScriptTimeout ScriptSock`,
  mod_charset_lite: `CharsetDefault CharsetOptions CharsetSourceEnc`,
  mod_dav: `DAV DAVBasePath DAVDepthInfinity DAVLockDiscovery DAVMinTimeout`,
  mod_dav_fs: `DAVLockDB`,
  mod_dav_lock: `DAVGenericLockDB`,
  mod_dbd: `DBDExptime DBDInitSQL DBDKeep DBDMax DBDMin DBDParams DBDPersist DBDPrepareSQL DBDriver`,
  mod_deflate: `DeflateAlterEtag DeflateBufferSize DeflateCompressionLevel DeflateFilterNote
    DeflateInflateLimitRequestBody DeflateInflateRatioBurst DeflateInflateRatioLimit DeflateMemLevel
    DeflateWindowSize`,
  mod_dialup: `ModemStandard`,
  mod_dir: `DirectoryCheckHandler DirectoryIndex DirectoryIndexRedirect DirectorySlash FallbackResource`,
  mod_dumpio: `DumpIOInput DumpIOOutput`,
  mod_echo: `ProtocolEcho`,
  mod_env: `PassEnv SetEnv UnsetEnv`,
  mod_expires: `ExpiresActive ExpiresByType ExpiresDefault`,
  mod_ext_filter: `ExtFilterDefine ExtFilterOptions`,
  mod_file_cache: `cachefile mmapfile`,
  mod_filter: `AddOutputFilterByType FilterChain FilterDeclare FilterProtocol FilterProvider FilterTrace`,
  mod_headers: `Header RequestHeader`,
  mod_heartbeat: `HeartbeatAddress`,
  mod_heartmonitor: `HeartbeatListen HeartbeatMaxServers HeartbeatStorage`,
  mod_http2: `H2CopyFiles H2Direct H2EarlyHint H2EarlyHints H2MaxDataFrameLen H2MaxHeaderBlockLen
    H2MaxSessionStreams H2MaxStreamErrors H2MaxWorkerIdleSeconds H2MaxWorkers H2MinWorkers
    H2ModernTLSOnly H2OutputBuffering H2Padding H2ProxyRequests H2Push H2PushDiarySize H2PushPriority
    H2PushResource H2SerializeHeaders H2SessionExtraFiles H2StreamMaxMemSize H2StreamTimeout
    H2TLSCoolDownSecs H2TLSWarmUpSize H2Upgrade H2WebSockets H2WindowSize`,
  mod_ident: `IdentityCheck IdentityCheckTimeout`,
  mod_imagemap: `ImapBase ImapDefault ImapMenu`,
  mod_include: `SSIEndTag SSIErrorMsg SSIEtag SSILastModified SSILegacyExprParser SSIStartTag SSITimeFormat
    SSIUndefinedEcho XBitHack`,
  mod_info: `AddModuleInfo`,
  mod_ldap: `LDAPCacheEntries LDAPCacheTTL LDAPConnectionPoolTTL LDAPConnectionTimeout LDAPLibraryDebug
    LDAPOpCacheEntries LDAPOpCacheTTL LDAPReferralHopLimit LDAPReferrals LDAPRetries LDAPRetryDelay
    LDAPSharedCacheFile LDAPSharedCacheSize LDAPTimeout LDAPTrustedClientCert LDAPTrustedGlobalCert
    LDAPTrustedMode LDAPVerifyServerCert`,
  mod_log_config: `BufferedLogs CustomLog GlobalLog LogFormat TransferLog`,
  mod_log_debug: `LogMessage`,
  mod_log_forensic: `ForensicLog`,
  mod_logio: `LogIOTrackTTFB`,
  mod_lua: `Lua_____ByteCodeHack LuaAuthzProvider LuaCodeCache LuaHookAccessChecker LuaHookAuthChecker
    LuaHookCheckUserID LuaHookFixups LuaHookInsertFilter LuaHookLog LuaHookMapToStorage
    LuaHookPreTranslateName LuaHookTranslateName LuaHookTypeChecker LuaInherit LuaInputFilter
    LuaMapHandler LuaOutputFilter LuaPackageCPath LuaPackagePath LuaQuickHandler LuaRoot LuaScope`,
  mod_macro: `MacroIgnoreBadNesting MacroIgnoreEmptyArgs UndefMacro Use`,
  mod_md: `MDActivationDelay MDBaseServer MDCACertificateFile MDCAChallenges MDCertificateAgreement
    MDCertificateAuthority MDCertificateCheck MDCertificateFile MDCertificateKeyFile
    MDCertificateProtocol MDCertificateStatus MDChallengeDns01 MDChallengeDns01Version MDCheckInterval
    MDContactEmail MDDriveMode MDExternalAccountBinding MDHttpProxy MDHttpProxyCACertificateFile
    MDInitialDelay MDMatchNames MDMember MDMembers MDMessageCmd MDMustStaple MDNotifyCmd MDomain
    MDPortMap MDPrivateKeys MDProfile MDProfileMandatory MDRenewMode MDRenewViaARI MDRenewWindow
    MDRequireHttps MDRetryDelay MDRetryFailover MDServerStatus MDStapleOthers MDStapling
    MDStaplingKeepResponse MDStaplingRenewWindow MDStoreDir MDStoreLocks MDWarnWindow`,
  mod_mime: `AddCharset AddEncoding AddHandler AddInputFilter AddLanguage AddOutputFilter AddType DefaultLanguage
    ModMimeUsePathInfo MultiviewsMatch RemoveCharset RemoveEncoding RemoveHandler RemoveInputFilter
    RemoveLanguage RemoveOutputFilter RemoveType TypesConfig`,
  mod_mime_magic: `MimeMagicFile`,
  mod_negotiation: `CacheNegotiatedDocs ForceLanguagePriority LanguagePriority`,
  mod_proxy: `BalancerGrowth BalancerInherit BalancerMember BalancerPersist NoProxy Proxy100Continue
    ProxyAddHeaders ProxyBadHeader ProxyBlock ProxyDomain ProxyErrorOverride ProxyIOBufferSize
    ProxyMaxForwards ProxyPass ProxyPassInherit ProxyPassInterpolateEnv ProxyPassMatch ProxyPassReverse
    ProxyPassReverseCookieDomain ProxyPassReverseCookiePath ProxyPreserveHost ProxyReceiveBufferSize
    ProxyRemote ProxyRemoteMatch ProxyRequests ProxySet ProxySourceAddress ProxyStatus ProxyTimeout
    ProxyVia`,
  mod_proxy_connect: `AllowCONNECT`,
  mod_proxy_express: `ProxyExpressDBMFile ProxyExpressDBMType ProxyExpressEnable`,
  mod_proxy_fcgi: `ProxyFCGIBackendType ProxyFCGISetEnvIf`,
  mod_proxy_ftp: `ProxyFtpDirCharset ProxyFtpEscapeWildcards ProxyFtpListOnWildcard`,
  mod_proxy_hcheck: `ProxyHCExpr ProxyHCTemplate ProxyHCTPsize`,
  mod_proxy_html: `ProxyHTMLBufSize ProxyHTMLCharsetOut ProxyHTMLDoctype ProxyHTMLEnable ProxyHTMLEvents
    ProxyHTMLExtended ProxyHTMLFixups ProxyHTMLInterp ProxyHTMLLinks ProxyHTMLMeta
    ProxyHTMLStripComments ProxyHTMLURLMap`,
  mod_proxy_scgi: `ProxySCGIInternalRedirect ProxySCGISendfile`,
  mod_proxy_wstunnel: `ProxyWebsocketFallbackToProxyHttp`,
  mod_reflector: `ReflectorHeader`,
  mod_remoteip: `RemoteIPHeader RemoteIPInternalProxy RemoteIPInternalProxyList RemoteIPProxiesHeader
    RemoteIPProxyProtocol RemoteIPProxyProtocolExceptions RemoteIPTrustedProxy RemoteIPTrustedProxyList`,
  mod_reqtimeout: `RequestReadTimeout`,
  mod_request: `KeptBodySize`,
  mod_rewrite: `RewriteBase RewriteCond RewriteEngine RewriteMap RewriteOptions RewriteRule`,
  mod_sed: `InputSed OutputSed`,
  mod_session: `Session SessionEnv SessionExclude SessionExpiryUpdateInterval SessionHeader SessionInclude
    SessionMaxAge`,
  mod_session_cookie: `SessionCookieName SessionCookieName2 SessionCookieRemove`,
  mod_session_crypto: `SessionCryptoCipher SessionCryptoDriver SessionCryptoPassphrase SessionCryptoPassphraseFile`,
  mod_session_dbd: `SessionDBDCookieName SessionDBDCookieName2 SessionDBDCookieRemove SessionDBDDeleteLabel
    SessionDBDInsertLabel SessionDBDPerUser SessionDBDSelectLabel SessionDBDUpdateLabel`,
  mod_setenvif: `BrowserMatch BrowserMatchNoCase SetEnvIf SetEnvIfExpr SetEnvIfNoCase`,
  mod_so: `LoadFile LoadModule`,
  mod_socache_memcache: `MemcacheConnTTL`,
  mod_socache_redis: `RedisConnPoolTTL RedisTimeout`,
  mod_speling: `CheckBasenameMatch CheckCaseOnly CheckSpelling`,
  mod_ssl: `SSLCACertificateFile SSLCACertificatePath SSLCADNRequestFile SSLCADNRequestPath SSLCARevocationCheck
    SSLCARevocationFile SSLCARevocationPath SSLCertificateChainFile SSLCertificateFile
    SSLCertificateKeyFile SSLCipherSuite SSLCompression SSLCryptoDevice SSLEngine SSLFIPS
    SSLHonorCipherOrder SSLInsecureRenegotiation SSLLog SSLLogLevel SSLOCSPDefaultResponder
    SSLOCSPEnable SSLOCSPNoVerify SSLOCSPOverrideResponder SSLOCSPProxyURL
    SSLOCSPResponderCertificateFile SSLOCSPResponderTimeout SSLOCSPResponseMaxAge
    SSLOCSPResponseTimeSkew SSLOCSPUseRequestNonce SSLOpenSSLConfCmd SSLOptions SSLPassPhraseDialog
    SSLProtocol SSLProxyCACertificateFile SSLProxyCACertificatePath SSLProxyCARevocationCheck
    SSLProxyCARevocationFile SSLProxyCARevocationPath SSLProxyCheckPeerCN SSLProxyCheckPeerExpire
    SSLProxyCheckPeerName SSLProxyCipherSuite SSLProxyEngine SSLProxyMachineCertificateChainFile
    SSLProxyMachineCertificateFile SSLProxyMachineCertificatePath SSLProxyProtocol SSLProxyVerify
    SSLProxyVerifyDepth SSLRandomSeed SSLRenegBufferSize SSLRequire SSLRequireSSL SSLSessionCache
    SSLSessionCacheTimeout SSLSessionTicketKeyFile SSLSessionTickets SSLSRPUnknownUserSeed
    SSLSRPVerifierFile SSLStaplingCache SSLStaplingErrorCacheTimeout SSLStaplingFakeTryLater
    SSLStaplingForceURL SSLStaplingResponderTimeout SSLStaplingResponseMaxAge
    SSLStaplingResponseTimeSkew SSLStaplingReturnResponderErrors SSLStaplingStandardCacheTimeout
    SSLStrictSNIVHostCheck SSLUserName SSLUseStapling SSLVerifyClient SSLVerifyDepth SSLVHostSNIPolicy`,
  mod_substitute: `Substitute SubstituteInheritBefore SubstituteMaxLineLength`,
  mod_suexec: `SuexecUserGroup`,
  mod_unixd: `ChrootDir Group Suexec User`,
  mod_userdir: `UserDir`,
  mod_usertrack: `CookieDomain CookieExpires CookieHttpOnly CookieName CookieSameSite CookieSecure CookieStyle
    CookieTracking`,
  mod_vhost_alias: `VirtualDocumentRoot VirtualDocumentRootIP VirtualScriptAlias VirtualScriptAliasIP`,
  mod_watchdog: `WatchdogInterval`,
  mod_xml2enc: `xml2EncAlias xml2EncDefault xml2StartParse`,
  mpm: `AsyncRequestWorkerFactor GracefulShutdownTimeout Listen ListenBacklog ListenCoresBucketsRatio
    ListenTCPDeferAccept MaxClients MaxRequestWorkers MaxSpareServers MaxSpareThreads MinSpareServers
    MinSpareThreads ReceiveBufferSize SendBufferSize ServerLimit StartServers ThreadLimit
    ThreadsPerChild`,
};

const SECTIONS: Record<string, string> = {
  core: `Directory DirectoryMatch Else ElseIf Files FilesMatch If IfDefine IfDirective IfFile IfModule
    IfSection Limit LimitExcept Location LocationMatch VirtualHost`,
  mod_authn_core: `AuthnProviderAlias`,
  mod_authz_core: `AuthzProviderAlias RequireAll RequireAny RequireNone`,
  mod_lua: `LuaHookAccessChecker LuaHookAuthChecker LuaHookCheckUserID LuaHookFixups LuaHookMapToStorage
    LuaHookPreTranslateName LuaHookTranslateName LuaHookTypeChecker LuaQuickHandler`,
  mod_macro: `Macro`,
  mod_md: `MDomain MDomainSet`,
  mod_proxy: `Proxy ProxyMatch`,
  mod_version: `IfVersion`,
};

function index(byModule: Record<string, string>): Map<string, HttpdName> {
  return new Map(Object.entries(byModule).flatMap(([module, names]) =>
    names.split(/\s+/).filter((n) => n !== '').map((name) => [name.toLowerCase(), { name, module }] as const)));
}

const DIRECTIVE_INDEX = index(DIRECTIVES);
const SECTION_INDEX = index(SECTIONS);

/** Names are case-insensitive, as in httpd. */
export function httpdDirective(name: string): HttpdName | undefined {
  return DIRECTIVE_INDEX.get(name.toLowerCase());
}

export function httpdSection(name: string): HttpdName | undefined {
  return SECTION_INDEX.get(name.toLowerCase());
}

export function httpdDirectives(): Iterable<HttpdName> {
  return DIRECTIVE_INDEX.values();
}

export function httpdSections(): Iterable<HttpdName> {
  return SECTION_INDEX.values();
}
