// The storage panel: engine counters, a chart of recent commit latencies
// (measured here, from the write call to its durable Promise), the Compact
// button, export and import of the database as a file, and the browser's
// storage usage, quota and persistence.
//
// Which numbers survive a reload: records, log bytes and live bytes
// describe the stored log and are read from it at open; the browser's
// usage, quota and persistence are the browser's. Compactions, commits,
// the last commit's latency and the chart count only what happened since
// the page loaded, and say so.

import { DbrsError, type DB, type Stats } from 'dbrs';
import { EXTENSION } from './backup.js';
import { latencyChart } from './chart.js';
import { formatBytes, h } from './dom.js';
import { BrowserStorage } from './storage.js';

const KEEP = 40;

export interface PanelActions {
  onError(e: unknown): void;
  /** Writes the database to a file. */
  exportFile(): Promise<void>;
  /** Replaces the database with the file's. */
  importFile(file: File): Promise<void>;
}

export class StatsPanel {
  readonly el: HTMLElement;
  readonly storage = new BrowserStorage();
  private readonly latencies: number[] = [];
  private commitsRecorded = 0;
  private readonly fields = new Map<string, HTMLElement>();
  private readonly chart: HTMLElement;
  private readonly compactBtn: HTMLButtonElement;
  private readonly exportBtn: HTMLButtonElement;
  private readonly importInput: HTMLInputElement;

  constructor(private readonly db: DB<any>, private readonly actions: PanelActions) {
    const row = (key: keyof Stats & string, label: string, note?: string) => {
      const v = h('dd', { testid: `stat-${key}` }, '–');
      this.fields.set(key, v);
      return [h('dt', {}, label, note ? h('span.since', {}, ` ${note}`) : null), v];
    };
    this.chart = h('div.chart', { testid: 'latency-chart' });
    this.compactBtn = h('button.secondary', { testid: 'compact', type: 'button', onclick: () => void this.compact() }, 'Compact log');
    this.exportBtn = h('button.secondary', { testid: 'export', type: 'button', onclick: () => void this.runExport() }, 'Export to file');
    this.importInput = h('input.visually-hidden', { testid: 'import-file', type: 'file', accept: `${EXTENSION},application/octet-stream` });
    this.importInput.addEventListener('change', () => {
      const f = this.importInput.files?.[0];
      this.importInput.value = '';
      if (f) void this.actions.importFile(f).catch((e: unknown) => this.actions.onError(e));
    });
    this.el = h('section.stats', { testid: 'stats', 'aria-labelledby': 'stats-title' },
      h('div.stats-group.counters', {},
        h('h2', { id: 'stats-title' }, 'Storage'),
        h('dl', {},
          row('records', 'Records'),
          row('logBytes', 'Log bytes'),
          row('liveBytes', 'Live bytes'),
          row('compactions', 'Compactions', 'since load'),
          row('commits', 'Commits', 'since load'),
          row('lastCommitMs', 'Last commit', 'since load'),
        ),
        h('p.note', {}, 'Records and bytes are read from the stored log. Counts “since load” start again at 0 when the page reloads.'),
      ),
      h('div.stats-group.latency', {},
        h('h3', {}, 'Commit latency (since load)'),
        this.chart,
        h('p.note', {}, 'From each write call to its durable Promise.'),
      ),
      h('div.stats-group.file', {},
        h('h3', {}, 'Database'),
        this.compactBtn,
        this.exportBtn,
        h('label.button.secondary', { testid: 'import' }, 'Import from file…', this.importInput),
        h('p.note', {}, `One ${EXTENSION} file, the format of the dbrs command’s export and import. Importing replaces this database.`),
      ),
      h('div.stats-group', {}, this.storage.el),
    );
    this.refresh();
  }

  /** Records the latency of one durable write, in ms. */
  record(ms: number): void {
    this.commitsRecorded++;
    this.latencies.push(ms);
    if (this.latencies.length > KEEP) this.latencies.shift();
  }

  /** Reads the engine's counters and the browser's storage again. */
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
    set('lastCommitMs', s.commits > 0 ? `${s.lastCommitMs.toFixed(1)} ms` : 'none yet', s.lastCommitMs);
    this.drawChart();
    void this.storage.refresh();
  }

  private drawChart(): void {
    const n = this.latencies.length;
    const first = this.commitsRecorded - n + 1;
    const avg = n ? this.latencies.reduce((a, b) => a + b, 0) / n : 0;
    const max = Math.max(0, ...this.latencies);
    this.chart.replaceChildren(
      latencyChart(this.latencies, first, KEEP),
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
      this.actions.onError(e);
    } finally {
      this.compactBtn.disabled = false;
      this.compactBtn.textContent = 'Compact log';
      this.refresh();
    }
  }

  private async runExport(): Promise<void> {
    this.exportBtn.disabled = true;
    this.exportBtn.textContent = 'Exporting…';
    try {
      await this.actions.exportFile();
    } catch (e) {
      this.actions.onError(e);
    } finally {
      this.exportBtn.disabled = false;
      this.exportBtn.textContent = 'Export to file';
    }
  }
}
