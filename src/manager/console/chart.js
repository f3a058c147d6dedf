// A member's requests/s over the last minutes, drawn with uPlot (the global its own classic script defines before
// the modules run; without it the chart cell stays empty and the rest of the page works).

/** The chart shows requests/s over this much time. */
const CHART_WINDOW_MS = 5 * 60_000;

export class RateChart {
  /** `scales` gives the shared ranges: `chartSpan` (seconds since the epoch) and `chartMax` (requests/s). */
  constructor(cell, scales) {
    this.cell = cell;
    this.scales = scales;
    /** The series: seconds since the epoch, requests/s between consecutive snapshots. */
    this.times = [];
    this.rates = [];
    this.plot = undefined;
  }

  /** Adds the rate measured up to `time` (ms since the epoch) and forgets what left the window. */
  add(time, rate) {
    this.times.push(time / 1000);
    this.rates.push(rate);
    while (this.times.length && this.times[0] < (time - CHART_WINDOW_MS) / 1000) {
      this.times.shift();
      this.rates.shift();
    }
  }

  draw() {
    if (typeof uPlot !== 'function') return;
    const data = [this.times, this.rates];
    if (this.plot) {
      this.plot.setData(data);
      return;
    }
    if (!this.cell.isConnected) return;
    const style = getComputedStyle(document.documentElement);
    const stroke = style.getPropertyValue('--chart-line').trim() || '#2563eb';
    const fill = style.getPropertyValue('--chart-fill').trim() || 'rgba(37, 99, 235, 0.15)';
    this.plot = new uPlot(
      {
        width: 116,
        height: 34,
        padding: [3, 1, 1, 1],
        legend: { show: false },
        cursor: { show: false },
        select: { show: false },
        axes: [{ show: false }, { show: false }],
        // Every member of a balancer is drawn on the same scales, so the charts compare at a glance.
        scales: { x: { time: true, range: () => this.scales.chartSpan }, y: { range: () => [0, this.scales.chartMax * 1.15] } },
        series: [{}, { stroke, fill, width: 1.5, points: { show: false } }],
      },
      data,
      this.cell,
    );
    this.cell.setAttribute('title', 'Requests per second over the last 5 minutes');
  }

  destroy() {
    this.plot?.destroy();
  }
}
