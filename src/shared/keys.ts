// Every Redis key Stickler uses, in one place: what each holds is said here, and every module asks here for its
// name, so a group's keys all begin with its prefix and two groups on one Redis never meet.

export interface SharedKeys {
  /** A Stream: one entry per manager edit, in the order every instance applies them (journal.ts). */
  journal: string;
  /** A hash: `id`, the journal id it covers up to and including, and `overlay`, the manager's state at that id. */
  snapshot: string;
  /** A hash: each instance's own health verdict per member, one field per instance and member (group-reports.ts). */
  health: string;
  /** A hash: each instance's session activity per draining member, laid out as `health`. */
  activity: string;
  /**
   * A random token the first instance sets: an instance that finds another one, or none, where it had seen one
   * knows Redis lost the shared state (FLUSHALL, or a restart without persistence) even if the others refilled it.
   */
  epoch: string;
  /** A string per managed domain (by first name): the instance ordering its certificate now, with an expiry (acme/shared-orders.ts). */
  acmeLock: (name: string) => string;
  /** A hash per managed domain: `certificate` and `key`, PEM, the last one any instance was issued. */
  acmeCertificate: (name: string) => string;
  /** A hash: the ACME challenges pending in the group, one field per challenge, so any instance answers them. */
  acmeChallenges: string;
  /** A counter raised each time an instance leaves a new certificate in an `acmeCertificate` hash. */
  acmePublished: string;
}

export function sharedKeys(prefix: string): SharedKeys {
  return {
    journal: `${prefix}journal`, snapshot: `${prefix}snapshot`, health: `${prefix}health`, activity: `${prefix}activity`, epoch: `${prefix}epoch`,
    acmeLock: (name) => `${prefix}acme:lock:${name}`, acmeCertificate: (name) => `${prefix}acme:certificate:${name}`, acmeChallenges: `${prefix}acme:challenges`,
    acmePublished: `${prefix}acme:published`,
  };
}
