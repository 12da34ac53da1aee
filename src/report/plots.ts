/**
 * Plots for the HTML reports: vega-lite specs compiled with `vega-lite` and rendered to SVG by a
 * headless `vega.View` (renderer 'none', view.toSVG()) at report time, so the file needs no
 * script or network to show them. Loaded on first use (the CLI's other commands never pay for it).
 */
import type { TopLevelSpec } from 'vega-lite';

/** Render one vega-lite spec to an SVG string. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const [vega, vl] = await Promise.all([import('vega'), import('vega-lite')]);
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Means with 95 % interval bars per category (`x`), optionally coloured by a grouping field. */
export function intervalChart(title: string, unit: string, rows: { x: string; mean: number; lo: number; hi: number; group?: string }[]): TopLevelSpec {
  const color = rows.some((r) => r.group !== undefined) ? { color: { field: 'group', type: 'nominal' as const, title: null } } : {};
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title, width: Math.max(240, rows.length * 22), height: 180,
    data: { values: rows.map((r) => ({ ...r, lo: Number.isFinite(r.lo) ? r.lo : r.mean, hi: Number.isFinite(r.hi) ? r.hi : r.mean })) },
    encoding: { x: { field: 'x', type: 'nominal', sort: null, title: null, axis: { labelAngle: -40, labelLimit: 220 } } },
    layer: [
      { mark: { type: 'rule' }, encoding: { y: { field: 'lo', type: 'quantitative', title: unit }, y2: { field: 'hi' }, ...color } },
      { mark: { type: 'point', filled: true, size: 50 }, encoding: { y: { field: 'mean', type: 'quantitative' }, ...color } },
    ],
  } as TopLevelSpec;
}

/** A bar chart of named counts. */
export function barChart(title: string, unit: string, rows: { x: string; y: number }[]): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title, width: Math.max(200, rows.length * 26), height: 160,
    data: { values: rows },
    mark: 'bar',
    encoding: {
      x: { field: 'x', type: 'nominal', sort: null, title: null, axis: { labelAngle: -40, labelLimit: 220 } },
      y: { field: 'y', type: 'quantitative', title: unit },
    },
  } as TopLevelSpec;
}
