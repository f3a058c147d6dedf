// A virtual host's native `acme` over the top-level `acme` section → the model's ManagedDomain: names (the host's
// own by default), each setting the host's, else the section's, else mod_md's default.
import { acmeDefaults, managedNameProblem, type AcmeSettings, type ManagedDomain } from '../model.ts';
import { NATIVE_DEFAULTS } from './defaults.ts';
import type { KeyPath } from './locate.ts';
import type { NativeReport } from './report.ts';
import type { NativeAcme, NativeVirtualHostAcme } from './schema.ts';

export function buildManagedDomain(section: NativeAcme | undefined, own: NativeVirtualHostAcme, hostNames: string[], serverAdmin: string | undefined, path: KeyPath, r: NativeReport): ManagedDomain | undefined {
  const names = own.names ?? hostNames;
  if (names.length === 0) {
    r.report('error', [...path, 'names'], 'a certificate needs names; expected server-name (and server-aliases) on the virtual host, or acme.names');
    return undefined;
  }
  if (!own.names) {
    for (const name of names) {
      const problem = managedNameProblem(name);
      if (problem) r.report('error', [...path.slice(0, -1), 'server-name'], `${problem} (the certificate acme orders is for the virtual host's names)`);
    }
  }
  const pick = <K extends keyof NativeAcme>(key: K): NativeAcme[K] => own[key] ?? section?.[key];
  const at = (key: string): KeyPath => (own[key as keyof NativeAcme] !== undefined ? [...path, key] : ['acme', key]);
  const store = pick('store-dir');
  const base = acmeDefaults(store === undefined ? NATIVE_DEFAULTS.acmeStoreDir : r.file(store));
  const ca = pick('ca-certificate-file');
  const contact = pick('contact-email') ?? serverAdmin;
  const settings: AcmeSettings = {
    ...base,
    caUrl: pick('ca-url') ?? base.caUrl,
    ...(ca !== undefined && { caCertificateFile: r.file(ca) }),
    ...(contact !== undefined && { contactEmail: contact.replace(/^mailto:/, '') }),
    agreementAccepted: pick('agreement-accepted') ?? base.agreementAccepted,
    renewWindow: pick('renew-window') ?? base.renewWindow,
    challenges: pick('challenges') ?? base.challenges,
    keyType: pick('key-type') ?? base.keyType,
    renewMode: pick('renew-mode') ?? base.renewMode,
    portMap: { http: pick('port-map')?.http ?? base.portMap.http, https: pick('port-map')?.https ?? base.portMap.https },
  };
  if (!settings.agreementAccepted) r.report('warning', at('agreement-accepted'), `no certificate can be ordered for ${names[0]} until the CA's terms of service are accepted; expected agreement-accepted: true (the temporary self-signed certificate is served meanwhile)`);
  return { source: r.source(path), names: names.map((n) => n.toLowerCase()), settings };
}
