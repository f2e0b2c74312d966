// The live stats panel: engine counters, a chart of recent commit
// latencies (measured here, from the write call to its durable Promise),
// and the Compact button.

import { DbrsError, type DB, type Stats } from 'dbrs';
import { formatBytes, h, svg } from './dom.js';

const KEEP = 60;

export class StatsPanel {
  readonly el: HTMLElement;
  private readonly latencies: number[] = [];
  private readonly fields = new Map<string, HTMLElement>();
  private readonly chart: HTMLElement;
  private readonly compactBtn: HTMLButtonElement;

  constructor(private readonly db: DB<any>, private readonly onError: (e: unknown) => void) {
    const row = (key: keyof Stats & string, label: string) => {
      const v = h('dd', { testid: `stat-${key}` }, '–');
      this.fields.set(key, v);
      return [h('dt', {}, label), v];
    };
    this.chart = h('div.chart', { testid: 'latency-chart' });
    this.compactBtn = h('button.secondary', { testid: 'compact', onclick: () => void this.compact() }, 'Compact log');
    this.el = h('section.stats', { testid: 'stats' },
      h('h2', {}, 'Storage'),
      h('dl', {},
        row('records', 'Records'),
        row('logBytes', 'Log bytes'),
        row('liveBytes', 'Live bytes'),
        row('compactions', 'Compactions since load'),
        row('commits', 'Commits since load'),
        row('lastCommitMs', 'Last commit'),
      ),
      h('h3', {}, 'Commit latency, ms (this page load)'),
      this.chart,
      this.compactBtn,
    );
    this.refresh();
  }

  /** Records the latency of one durable write, in ms. */
  record(ms: number): void {
    this.latencies.push(ms);
    if (this.latencies.length > KEEP) this.latencies.shift();
  }

  refresh(): void {
    let s: Stats;
    try {
      s = this.db.stats();
    } catch (e) {
      if (e instanceof DbrsError && e.code === 'Closed') return;
      throw e;
    }
    const set = (k: string, text: string, raw: number) => {
      const el = this.fields.get(k);
      if (!el) return;
      el.textContent = text;
      el.dataset.value = String(raw);
    };
    set('records', String(s.records), s.records);
    set('logBytes', formatBytes(s.logBytes), s.logBytes);
    set('liveBytes', formatBytes(s.liveBytes), s.liveBytes);
    set('compactions', String(s.compactions), s.compactions);
    set('commits', String(s.commits), s.commits);
    set('lastCommitMs', `${s.lastCommitMs.toFixed(1)} ms`, s.lastCommitMs);
    this.drawChart();
  }

  private drawChart(): void {
    const W = 240, H = 64, n = this.latencies.length;
    const max = Math.max(1, ...this.latencies);
    const bw = W / KEEP;
    const bars = this.latencies.map((v, i) => {
      const bh = Math.max(1, (v / max) * (H - 4));
      return svg('rect', { x: (KEEP - n + i) * bw + 0.5, y: H - bh, width: Math.max(1, bw - 1), height: bh, rx: 1 });
    });
    const avg = n ? this.latencies.reduce((a, b) => a + b, 0) / n : 0;
    const s = svg('svg', { viewBox: `0 0 ${W} ${H}`, width: '100%', height: H, role: 'img', 'aria-label': 'recent commit latencies' },
      svg('line', { x1: 0, y1: H - 0.5, x2: W, y2: H - 0.5, class: 'axis' }),
      ...bars,
    );
    this.chart.replaceChildren(
      s,
      h('div.chart-legend', {},
        h('span', {}, n ? `avg ${avg.toFixed(1)} ms` : 'no commits yet'),
        h('span', {}, n ? `max ${max.toFixed(1)} ms` : ''),
      ),
    );
    this.chart.dataset.count = String(n);
  }

  private async compact(): Promise<void> {
    this.compactBtn.disabled = true;
    this.compactBtn.textContent = 'Compacting…';
    try {
      await this.db.compact();
    } catch (e) {
      this.onError(e);
    } finally {
      this.compactBtn.disabled = false;
      this.compactBtn.textContent = 'Compact log';
      this.refresh();
    }
  }
}
