// Figures and changes as the console shows them to people. Pure: no page, no network.

export const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
export const decimal = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });

const SWITCH_NAMES = { I: 'ignore errors', N: 'drain', D: 'disabled', S: 'stopped', H: 'standby', R: 'spare' };

export function formatBytes(bytes) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? integer.format(value) : value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

export function formatRate(perSecond) {
  if (perSecond === undefined) return '–';
  return perSecond < 10 ? (Math.round(perSecond * 10) / 10).toString() : integer.format(perSecond);
}

export function formatMs(ms) {
  if (ms === null) return '–';
  if (ms >= 1000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  return `${ms < 10 ? ms.toFixed(1) : integer.format(ms)} ms`;
}

export function formatAgo(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min ago`;
  return `${Math.floor(s / 86_400)} d ago`;
}

export function formatTimeout(ms) {
  return ms === 0 ? 'none' : `${decimal.format(ms / 1000)} s`;
}

/** A value of the audit log or an edit answer, for people: status letters as words, strings quoted. */
function formatFact(key, value) {
  if (key === 'status' && typeof value === 'string') {
    return value === '' ? 'active' : [...value].map((letter) => SWITCH_NAMES[letter] ?? letter).join(' + ');
  }
  if (key === 'timeoutMs' && typeof value === 'number') return formatTimeout(value);
  return JSON.stringify(value);
}

/** What changed between two fact records (memberFacts / balancerFacts), as `key: before → after` lines. */
export function differences(before, after) {
  if ((before === null || before === undefined) && after) return [`added (${describeFacts(after)})`];
  if (after === null || after === undefined) return ['removed'];
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  const changed = [];
  for (const key of keys) {
    if (JSON.stringify(before[key]) === JSON.stringify(after[key])) continue;
    changed.push(`${key}: ${formatFact(key, before[key])} → ${formatFact(key, after[key])}`);
  }
  return changed.length ? changed : ['no change'];
}

function describeFacts(facts) {
  return Object.entries(facts)
    .filter(([key]) => key !== 'url')
    .map(([key, value]) => `${key} ${formatFact(key, value)}`)
    .join(', ');
}

export function describeEdit(edit) {
  switch (edit.kind) {
    case 'member':
      return `${edit.balancer} · ${edit.member}`;
    case 'add-member':
      return `${edit.balancer} · add ${edit.url}`;
    case 'remove-member':
      return `${edit.balancer} · remove ${edit.member}`;
    default:
      return `${edit.balancer} · settings`;
  }
}
