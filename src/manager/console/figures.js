// What the console derives from a member's snapshot: latency percentiles from its histogram, and the status
// badges its row shows. Pure: no page, no network.

/**
 * The q-quantile of a histogram as Prometheus' histogram_quantile computes it: find the bucket holding the rank,
 * interpolate linearly inside it (the first bucket starts at 0); a rank in the overflow bucket answers the
 * largest finite bound. `counts` has one more entry than `bounds`.
 */
export function histogramQuantile(q, bounds, counts) {
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = q * total;
  let below = 0;
  for (let i = 0; i < counts.length; i++) {
    const count = counts[i];
    if (below + count >= rank && count > 0) {
      if (i >= bounds.length) return bounds[bounds.length - 1];
      const lower = i === 0 ? 0 : bounds[i - 1];
      return lower + (bounds[i] - lower) * ((rank - below) / count);
    }
    below += count;
  }
  return bounds[bounds.length - 1];
}

export function statusBadges(member) {
  const s = member.status;
  const badges = [];
  if (s.error) badges.push(['error', 'bad']);
  if (s.healthCheckFailed) badges.push(['health check failed', 'bad']);
  if (s.stopped) badges.push(['stopped', 'bad']);
  if (s.disabled) badges.push(['disabled', 'off']);
  if (s.drain) badges.push(['draining', 'warn']);
  if (s.hotStandby) badges.push(['standby', 'info']);
  if (s.hotSpare) badges.push(['spare', 'info']);
  if (member.usable && badges.length === 0) badges.push(['OK', 'ok']);
  else if (!member.usable && !badges.some(([, tone]) => tone === 'bad' || tone === 'off')) badges.push(['unusable', 'bad']);
  if (s.ignoreErrors) badges.push(['ignores errors', 'muted']);
  return badges;
}

/** The row's overall tone: the worst of its badges. */
export function rowTone(badges) {
  for (const tone of ['bad', 'off', 'warn', 'info']) if (badges.some(([, t]) => t === tone)) return tone;
  return 'ok';
}
