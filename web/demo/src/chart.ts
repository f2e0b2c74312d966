// The commit latency chart: one bar per durable commit of this page load
// (the last `keep` of them), oldest on the left, with a y axis in milliseconds and an x axis numbered
// by commit (1 is the first commit since the page loaded).

import { svg } from './dom.js';

/** Size of the drawing, in CSS pixels (the SVG is not scaled up). */
const W = 248;
const H = 132;
const M = { left: 34, right: 8, top: 20, bottom: 30 };

/**
 * Returns "nice" ticks from 0 to at least max: 0, s, 2s, ... where s is 1,
 * 2 or 5 times a power of ten, with at most 5 ticks.
 */
export function niceTicks(max: number): number[] {
  if (!(max > 0)) return [0, 1];
  const rough = max / 4;
  const pow = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * pow).find((s) => s >= rough)!;
  const ticks: number[] = [];
  for (let v = 0; ticks.length === 0 || ticks[ticks.length - 1]! < max - 1e-9; v += step) {
    ticks.push(Number(v.toPrecision(6)));
  }
  return ticks;
}

/** Formats a tick value: no trailing zeros, at most 2 decimals. */
function tickLabel(v: number): string {
  return String(Number(v.toFixed(2)));
}

/**
 * Draws the chart of latencies (ms), the newest last; first is the number
 * (since load) of the commit of latencies[0]. keep is the number of bar
 * slots, so bars keep their width as they arrive.
 */
export function latencyChart(latencies: readonly number[], first: number, keep: number): SVGElement {
  const n = latencies.length;
  const ticks = niceTicks(Math.max(0, ...latencies));
  const top = ticks[ticks.length - 1]!;
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const y = (v: number) => M.top + ph - (v / top) * ph;
  const bw = pw / keep;
  const x0 = M.left; // left edge of the oldest bar: bars fill from the left
  const parts: SVGElement[] = [];

  // The y axis: grid lines and labels in ms, and the unit above them.
  for (const t of ticks) {
    const yy = Math.round(y(t)) + 0.5;
    parts.push(svg('line', { x1: M.left, y1: yy, x2: W - M.right, y2: yy, class: t === 0 ? 'axis' : 'grid' }));
    parts.push(svg('text', { x: M.left - 5, y: yy, class: 'tick y-tick', 'text-anchor': 'end', 'dominant-baseline': 'middle' }, tickLabel(t)));
  }
  parts.push(svg('text', { x: M.left + 5, y: M.top - 8, class: 'unit y-unit', 'text-anchor': 'start' }, 'ms'));
  parts.push(svg('line', { x1: M.left + 0.5, y1: M.top, x2: M.left + 0.5, y2: M.top + ph, class: 'axis' }));

  // The bars.
  latencies.forEach((v, i) => {
    const bh = Math.max(1, (v / top) * ph);
    const bar = svg('rect', { x: x0 + i * bw + 0.5, y: M.top + ph - bh, width: Math.max(1, bw - 1), height: bh, rx: 1 });
    bar.appendChild(svg('title', {}, `commit ${first + i}: ${v.toFixed(1)} ms`));
    parts.push(bar);
  });

  // The x axis: the number of the oldest commit shown, and every tenth
  // commit far enough from it for the labels not to touch.
  const base = H - M.bottom;
  for (let i = 0; i < n; i++) {
    if (i !== 0 && ((first + i) % 10 !== 0 || i < 6)) continue;
    const cx = x0 + (i + 0.5) * bw;
    parts.push(svg('line', { x1: cx, y1: base, x2: cx, y2: base + 4, class: 'axis' }));
    parts.push(svg('text', { x: cx, y: base + 14, class: 'tick x-tick', 'text-anchor': 'middle' }, String(first + i)));
  }
  parts.push(svg('text', { x: M.left + pw / 2, y: H - 3, class: 'unit x-unit', 'text-anchor': 'middle' }, 'commits since load →'));

  return svg('svg', { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img',
    'aria-label': n ? `Latency of the last ${n} commits, ${tickLabel(Math.min(...latencies))} to ${tickLabel(Math.max(...latencies))} ms` : 'No commits since the page loaded' },
  ...parts);
}
