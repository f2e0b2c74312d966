// The browser's side of storage: how much this origin uses and may use
// (navigator.storage.estimate()), and whether its data is persistent, i.e.
// kept under storage pressure (navigator.storage.persist()). Neither is a
// dbrs counter: they cover the whole origin, IndexedDB and the rest.

import { formatBytes, h } from './dom.js';

interface StorageManagerLike {
  estimate?: () => Promise<{ usage?: number; quota?: number }>;
  persisted?: () => Promise<boolean>;
  persist?: () => Promise<boolean>;
}

function manager(): StorageManagerLike | undefined {
  return (navigator as { storage?: StorageManagerLike }).storage;
}

export class BrowserStorage {
  readonly el: HTMLElement;
  private readonly usage = h('dd', { testid: 'storage-usage' }, '–');
  private readonly quota = h('dd', { testid: 'storage-quota' }, '–');
  private readonly persisted = h('dd', { testid: 'storage-persisted' }, '–');
  private readonly result = h('p.note', { testid: 'persist-result', role: 'status', 'aria-live': 'polite' });
  private readonly persistBtn: HTMLButtonElement;
  private running = false;
  private again = false;
  private estimates = 0;

  constructor() {
    this.persistBtn = h('button.secondary', { testid: 'persist', type: 'button', onclick: () => void this.persist() }, 'Keep my data (persist)');
    this.el = h('section.browser-storage', { testid: 'browser-storage', 'aria-labelledby': 'browser-storage-title' },
      h('h3', { id: 'browser-storage-title' }, 'Browser storage (this site)'),
      h('dl', {},
        h('dt', {}, 'Used'), this.usage,
        h('dt', {}, 'Quota'), this.quota,
        h('dt', {}, 'Persistent'), this.persisted,
      ),
      this.persistBtn,
      this.result,
    );
    const m = manager();
    if (!m?.persist) {
      this.persistBtn.disabled = true;
      this.result.textContent = 'This browser does not offer persistent storage here (navigator.storage.persist is missing; it needs a secure context).';
    }
    void this.refresh();
  }

  /**
   * Reads the estimate and the persisted flag again. Calls that come while
   * one runs are folded into one more run after it, so a burst of commits
   * costs at most two estimates.
   */
  async refresh(): Promise<void> {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    this.el.dataset.busy = 'true';
    try {
      do {
        this.again = false;
        await this.readOnce();
      } while (this.again);
    } finally {
      this.running = false;
      delete this.el.dataset.busy;
    }
  }

  private async readOnce(): Promise<void> {
    const m = manager();
    if (m?.estimate) {
      try {
        const e = await m.estimate();
        setBytes(this.usage, e.usage);
        setBytes(this.quota, e.quota);
        if (e.usage !== undefined && e.quota) this.quota.title = `${((e.usage / e.quota) * 100).toFixed(2)}% used`;
      } catch (err) {
        this.usage.textContent = 'unknown';
        console.warn('navigator.storage.estimate failed', err);
      }
    } else {
      this.usage.textContent = this.quota.textContent = 'not available';
    }
    if (m?.persisted) {
      try {
        setFlag(this.persisted, await m.persisted());
      } catch {
        this.persisted.textContent = 'unknown';
      }
    } else {
      this.persisted.textContent = 'not available';
    }
    this.el.dataset.estimates = String(++this.estimates);
  }

  private async persist(): Promise<void> {
    const m = manager();
    if (!m?.persist) return;
    this.persistBtn.disabled = true;
    try {
      const granted = await m.persist();
      this.result.dataset.value = String(granted);
      this.result.textContent = granted
        ? 'Granted: the browser will not evict this site’s data when storage runs low. Only you can clear it.'
        : 'Not granted: the browser may evict this site’s data when storage runs low. Browsers grant it to sites you bookmark, install or use often; keep an export to be safe.';
    } catch (e) {
      this.result.dataset.value = 'error';
      this.result.textContent = `persist() failed: ${e instanceof Error ? e.message : String(e)}`;
    } finally {
      this.persistBtn.disabled = false;
      await this.refresh();
    }
  }
}

function setBytes(el: HTMLElement, n: number | undefined): void {
  if (n === undefined) {
    el.textContent = 'unknown';
    delete el.dataset.value;
    return;
  }
  el.textContent = formatBytes(n);
  el.dataset.value = String(n);
}

function setFlag(el: HTMLElement, v: boolean): void {
  el.textContent = v ? 'yes' : 'no (best effort)';
  el.dataset.value = String(v);
}
