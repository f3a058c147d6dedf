// A hand-written SVG bar chart: one panel per scenario, one horizontal bar per target. Each panel has its own
// scale because the scenarios differ by orders of magnitude (1 MiB responses against tiny ones).

export interface Bar {
  label: string;
  /** Absent when the target has no result: the row shows `note` instead of a bar. */
  value?: number;
  note?: string;
}

export interface Panel {
  title: string;
  bars: Bar[];
}

const WIDTH = 800;
const LABEL_WIDTH = 170;
const BAR_AREA = 480;
const BAR_HEIGHT = 16;
const ROW_HEIGHT = 22;
const PANEL_TITLE_HEIGHT = 30;
const PANEL_GAP = 14;
const TOP = 40;
// Colour-blind-safe palette (Okabe-Ito); a label keeps its colour in every panel.
const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#D55E00', '#CC79A7', '#56B4E9', '#F0E442', '#000000'];

export function escapeXml(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;').replaceAll("'", '&apos;');
}

function formatValue(n: number): string {
  return n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toPrecision(3);
}

export function barChartSvg(title: string, unit: string, panels: Panel[]): string {
  const labels = [...new Set(panels.flatMap((p) => p.bars.map((b) => b.label)))];
  const colour = (label: string): string => PALETTE[labels.indexOf(label) % PALETTE.length]!;
  const parts: string[] = [];
  let y = TOP;
  for (const panel of panels) {
    parts.push(`<text x="10" y="${y + 20}" font-weight="bold">${escapeXml(panel.title)}</text>`);
    y += PANEL_TITLE_HEIGHT;
    const finite = panel.bars.flatMap((b) => (b.value !== undefined && Number.isFinite(b.value) && b.value > 0 ? [b.value] : []));
    const max = Math.max(0, ...finite);
    for (const bar of panel.bars) {
      const textY = y + BAR_HEIGHT - 4;
      parts.push(`<text x="${LABEL_WIDTH - 8}" y="${textY}" text-anchor="end">${escapeXml(bar.label)}</text>`);
      const value = bar.value !== undefined && Number.isFinite(bar.value) && bar.value > 0 ? bar.value : undefined;
      if (value === undefined || max === 0) {
        parts.push(`<text x="${LABEL_WIDTH}" y="${textY}" fill="#777">${escapeXml(bar.note ?? 'no result')}</text>`);
      } else {
        const width = Math.max(1, (value / max) * BAR_AREA);
        parts.push(`<rect x="${LABEL_WIDTH}" y="${y}" width="${width.toFixed(1)}" height="${BAR_HEIGHT}" fill="${colour(bar.label)}"/>`);
        parts.push(`<text x="${(LABEL_WIDTH + width + 6).toFixed(1)}" y="${textY}">${escapeXml(`${formatValue(value)} ${unit}`)}</text>`);
      }
      y += ROW_HEIGHT;
    }
    y += PANEL_GAP;
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${y}" viewBox="0 0 ${WIDTH} ${y}" font-family="sans-serif" font-size="13">
<rect width="100%" height="100%" fill="#fff"/>
<text x="10" y="24" font-size="16" font-weight="bold">${escapeXml(title)}</text>
${parts.join('\n')}
</svg>
`;
}
