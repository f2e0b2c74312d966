// The boards demo: boards → lists (columns) → items, with tags, drag and
// drop, and a live storage panel. Plain DOM; every render reads straight
// from dbrs's synchronous in-memory tables inside one db.view().
//
// URL parameters: ?db=NAME (default "dbrs-demo"), ?durability=relaxed,
// ?seed=0 (start empty instead of with the sample board).
//
// For automated tests: <body data-ready="true"> once the app is up
// (data-ready="error" if it failed, with [data-testid=fatal][data-kind]
// naming the cause; see fatal.ts), globalThis.dbrsDemo = {db, model},
// data-testid on every control, and #status[data-kind] for the last error
// or notice. README.md lists the hooks.

import { DbrsError, deleteDatabase, importLog, open, type DB, type OpenOptions, type ViewTables } from 'dbrs';
import { download, exportName, fileToSegments, notALog, readFile, segmentsToFile } from './backup.js';
import { h } from './dom.js';
import { diagnose, precheck, type Choice, type Problem } from './fatal.js';
import { Model, schema, type Schema } from './model.js';
import { StatsPanel } from './stats.js';

const params = new URLSearchParams(location.search);
const DB_NAME = params.get('db') || 'dbrs-demo';
const DURABILITY = params.get('durability') === 'relaxed' ? 'relaxed' : 'strict';
const SEED = params.get('seed') !== '0';

const ITEM_MIME = 'application/x-dbrs-item';

class App {
  private readonly root: HTMLElement;
  private readonly sidebar = h('aside.sidebar');
  private readonly boardEl = h('main.board-area');
  private readonly status = h('div.status', { testid: 'status', role: 'status', 'aria-live': 'polite' });
  private readonly stats: StatsPanel;
  private dragging: string | undefined;
  private readonly unsubscribe: () => void;

  constructor(private readonly model: Model, root: HTMLElement, seedMs?: number) {
    this.root = root;
    this.stats = new StatsPanel(model.db, {
      onError: (e) => this.showError(e),
      exportFile: () => this.exportFile(),
      importFile: (f) => this.importFile(f),
    });
    if (seedMs !== undefined) this.stats.record(seedMs);
    root.replaceChildren(
      h('div.layout', {}, this.sidebar, this.boardEl, h('aside.side-stats', { testid: 'stats-panel', 'aria-label': 'Storage' }, this.stats.el)),
      this.status,
    );
    this.render();
    this.stats.refresh();
    // The stats change with every durable commit (and compaction follows a
    // commit): refresh on each one instead of polling. The board too: in
    // another tab (js/README.md, "Tabs"), or in this one when it follows,
    // a commit arrives without a call here.
    this.unsubscribe = model.db.subscribe(() => {
      // This tab's own writes rendered when they were made (or, in a
      // follower tab, render when they resolve): render for the others'.
      if (this.ownWrites === 0) this.render();
      this.stats.refresh();
    });
  }

  /** Writes of this tab not yet settled. */
  private ownWrites = 0;

  destroy(): void {
    this.unsubscribe();
  }

  get db(): DB<Schema> {
    return this.model.db;
  }

  // ------------------------------------------------------------ actions

  /**
   * Runs one write. Its memory effect is visible at once, so we render
   * right away; when it is durable we record its latency. A failure
   * (memory is undone by then) re-renders and shows the error.
   */
  private act(write: () => Promise<unknown>): Promise<void> {
    const t0 = performance.now();
    let p: Promise<unknown>;
    try {
      p = write();
    } catch (e) {
      this.showError(e);
      return Promise.resolve();
    }
    this.render();
    this.ownWrites++;
    return p.then(
      () => {
        this.ownWrites--;
        // A follower tab (js/README.md, "Tabs") sees its write only now.
        if (this.db.stats().role === 'follower') this.render();
        this.stats.record(performance.now() - t0);
        this.stats.refresh();
      },
      (e: unknown) => {
        this.ownWrites--;
        this.showError(e);
        this.render();
        this.stats.refresh();
      },
    );
  }

  /** Shows a message that is not an error (no data-code). */
  showInfo(text: string): void {
    delete this.status.dataset.code;
    this.status.dataset.kind = 'info';
    this.status.replaceChildren(h('span', {}, text), h('button.link', { onclick: () => this.clearStatus(), 'aria-label': 'dismiss' }, '×'));
  }

  // ------------------------------------------------------------ export and import

  /** Downloads the whole database as one file (see backup.ts). */
  private async exportFile(): Promise<void> {
    const bytes = segmentsToFile(await this.db.exportLog());
    const name = exportName(DB_NAME);
    download(bytes, name);
    this.showInfo(`Exported ${name} (${bytes.length} bytes).`);
  }

  /**
   * Replaces the database with the one in file: checks the file by
   * importing and opening it under a scratch name first, so that a bad or
   * foreign file leaves the current database alone; then closes this one,
   * imports, and opens it again.
   */
  private async importFile(file: File): Promise<void> {
    const bytes = await readFile(file);
    const bad = notALog(bytes);
    if (bad) throw new DbrsError('BadValue', `dbrs: ${file.name} is not a dbrs export: ${bad}`);
    if (!confirmDelete(`everything in database “${DB_NAME}”, and replace it with ${file.name}`)) return;
    await checkImport(bytes, file.name);
    this.destroy();
    document.body.dataset.ready = 'false';
    await this.db.close();
    try {
      await importLog(DB_NAME, fileToSegments(bytes));
    } catch (e) {
      await boot({ error: e }); // the database as it was, and why the import failed
      return;
    }
    await boot({ notice: `Imported ${file.name}.` });
  }

  showError(e: unknown): void {
    const code = e instanceof DbrsError ? e.code : 'Error';
    const msg = e instanceof Error ? e.message : String(e);
    this.status.dataset.kind = 'error';
    this.status.dataset.code = code;
    this.status.replaceChildren(h('strong', {}, code), ' ', msg, h('button.link', { onclick: () => this.clearStatus(), 'aria-label': 'dismiss' }, '×'));
    console.error(e);
  }

  private clearStatus(): void {
    delete this.status.dataset.kind;
    delete this.status.dataset.code;
    this.status.replaceChildren();
  }

  // ------------------------------------------------------------ rendering

  render(): void {
    // Keep focus and unsent drafts across the rebuild.
    const active = document.activeElement as HTMLElement | null;
    const focusKey = active?.dataset.focusKey;
    const caret = active instanceof HTMLInputElement ? [active.selectionStart, active.selectionEnd] as const : undefined;
    const drafts = new Map<string, string>();
    for (const el of this.root.querySelectorAll<HTMLInputElement>('input[data-focus-key]')) {
      if (el.value) drafts.set(el.dataset.focusKey!, el.value);
    }
    this.db.view((v) => {
      const selected = this.model.selectedBoard();
      this.sidebar.replaceChildren(...this.renderSidebar(selected));
      this.boardEl.replaceChildren(selected ? this.renderBoard(v, selected) : this.renderEmpty());
      if (selected) this.boardEl.dataset.boardId = selected;
      else delete this.boardEl.dataset.boardId;
    });
    for (const el of this.root.querySelectorAll<HTMLInputElement>('input[data-focus-key]')) {
      const d = drafts.get(el.dataset.focusKey!);
      if (d !== undefined && !el.value) el.value = d;
      if (focusKey && el.dataset.focusKey === focusKey) {
        el.focus();
        if (caret && caret[0] !== null) el.setSelectionRange(caret[0], caret[1]);
      }
    }
  }

  private renderSidebar(selected: string | undefined): Node[] {
    const boards = this.model.boards();
    return [
      h('div.brand', {}, h('span.logo', {}, 'dbrs'), h('span', {}, 'boards')),
      h('nav', {},
        h('ul.board-list', { testid: 'board-list' },
          boards.map(([id, b]) =>
            h(`li.board-entry${id === selected ? '.active' : ''}`, { testid: 'board-item', 'data-board-id': id },
              h('button.board-select', { testid: 'board-select', onclick: () => void this.act(() => this.model.selectBoard(id)) }, b.title),
              h('button.icon', { testid: 'board-delete', title: 'Delete board', 'aria-label': 'Delete board', onclick: () => {
                if (confirmDelete(`board “${b.title}” and everything on it`)) void this.act(() => this.model.deleteBoard(id));
              } }, '×'),
            ),
          ),
        ),
      ),
      this.addForm('board', 'New board', 'add-board', 'board-title-input', (title) => this.model.addBoard(title)),
      h('div.db-info', {},
        h('div', {}, 'database ', h('code', { testid: 'db-name' }, DB_NAME)),
        h('div', {}, 'durability ', h('code', { testid: 'durability' }, DURABILITY)),
        h('button.link', { testid: 'reset', onclick: () => void reset() }, 'Delete database and start over'),
      ),
    ];
  }

  private renderEmpty(): Node {
    return h('div.empty', { testid: 'empty' },
      h('h2', {}, 'No boards yet'),
      h('p', {}, 'Create a board on the left. Everything you do is stored in IndexedDB through dbrs, one durable commit at a time.'),
    );
  }

  private renderBoard(v: ViewTables<Schema>, boardId: string): Node {
    const board = v.boards.get(boardId)!;
    const listIds = v.boardLists.get(boardId);
    return h('div.board', { testid: 'board', 'data-board-id': boardId },
      h('header.board-header', {},
        this.editableTitle('h1', board.title, 'board-title', 'board-rename', (t) => this.model.renameBoard(boardId, t)),
        h('span.muted', {}, `${listIds.length} list${listIds.length === 1 ? '' : 's'}`),
      ),
      h('div.columns', {},
        listIds.map((listId, i) => this.renderList(v, listId, listIds, i)),
        h('section.column.new-column', {},
          this.addForm(`list:${boardId}`, 'New list', 'add-list', 'list-title-input', (title) => this.model.addList(boardId, title)),
        ),
      ),
    );
  }

  private renderList(v: ViewTables<Schema>, listId: string, siblings: string[], pos: number): Node {
    const list = v.lists.get(listId);
    if (!list) return h('section.column', {}, 'missing list');
    const itemIds = v.listItems.get(listId);
    const others = siblings.filter((id) => id !== listId).map((id) => [id, v.lists.get(id)?.title ?? '?'] as const);
    const ol = h('ol.items', { testid: 'list-items' },
      itemIds.map((itemId, i) => this.renderItem(v, itemId, i, itemIds.length, others)),
    );
    this.makeDropZone(ol, listId);
    return h('section.column', { testid: 'list', 'data-list-id': listId },
      h('header.column-header', {},
        this.editableTitle('h2', list.title, 'list-title', 'list-rename', (t) => this.model.renameList(listId, t)),
        h('span.count', { testid: 'list-count' }, String(itemIds.length)),
        h('span.tools', {},
          h('button.icon', { testid: 'list-left', title: 'Move list left', 'aria-label': 'Move list left', disabled: pos === 0, onclick: () => void this.act(() => this.model.shiftList(listId, -1)) }, '‹'),
          h('button.icon', { testid: 'list-right', title: 'Move list right', 'aria-label': 'Move list right', disabled: pos === siblings.length - 1, onclick: () => void this.act(() => this.model.shiftList(listId, 1)) }, '›'),
          h('button.icon', { testid: 'list-delete', title: 'Delete list', 'aria-label': 'Delete list', onclick: () => {
            if (confirmDelete(`list “${list.title}” and its ${itemIds.length} items`)) void this.act(() => this.model.deleteList(listId));
          } }, '×'),
        ),
      ),
      ol,
      this.addForm(`item:${listId}`, 'Add an item', 'add-item', 'item-title-input', (title) => this.model.addItem(listId, title)),
    );
  }

  private renderItem(v: ViewTables<Schema>, itemId: string, i: number, n: number, others: readonly (readonly [string, string])[]): Node {
    const item = v.items.get(itemId);
    if (!item) return h('li.card', {}, 'missing item');
    const tags = v.tags.get(itemId);
    const move = h('select.move', { testid: 'move-select', 'aria-label': 'Move to list', disabled: others.length === 0 },
      h('option', { value: '' }, 'Move to…'),
      others.map(([id, title]) => h('option', { value: id }, title)),
    );
    move.addEventListener('change', () => {
      if (move.value) void this.act(() => this.model.moveItem(itemId, move.value));
    });
    const card = h('li.card', { testid: 'item', 'data-item-id': itemId, draggable: 'true' },
      h('div.card-top', {},
        this.editableTitle('span', item.title, 'item-title', 'item-rename', (t) => this.model.renameItem(itemId, t)),
        h('button.icon.danger', { testid: 'item-delete', title: 'Delete item', 'aria-label': 'Delete item', onclick: () => void this.act(() => this.model.deleteItem(itemId)) }, '×'),
      ),
      h('div.tags', { testid: 'tags' },
        tags.map((t) =>
          h('span.chip', { testid: 'tag-chip', 'data-tag': t, style: `--hue:${hue(t)}` },
            h('span', {}, t),
            h('button', { testid: 'tag-remove', title: `Remove tag ${t}`, 'aria-label': `Remove tag ${t}`, onclick: () => void this.act(() => this.model.untag(itemId, t)) }, '×'),
          ),
        ),
        this.tagInput(itemId),
      ),
      h('div.card-actions', {},
        h('button.icon', { testid: 'item-up', title: 'Move up', 'aria-label': 'Move up', disabled: i === 0, onclick: () => void this.act(() => this.model.shiftItem(itemId, -1)) }, '↑'),
        h('button.icon', { testid: 'item-down', title: 'Move down', 'aria-label': 'Move down', disabled: i === n - 1, onclick: () => void this.act(() => this.model.shiftItem(itemId, 1)) }, '↓'),
        move,
      ),
    );
    card.addEventListener('dragstart', (e) => {
      this.dragging = itemId;
      e.dataTransfer?.setData(ITEM_MIME, itemId);
      e.dataTransfer?.setData('text/plain', item.title);
      if (e.dataTransfer) e.dataTransfer.effectAllowed = 'move';
      requestAnimationFrame(() => card.classList.add('dragging'));
    });
    card.addEventListener('dragend', () => {
      this.dragging = undefined;
      card.classList.remove('dragging');
      for (const el of this.root.querySelectorAll('.drop-before, .drop-end')) el.classList.remove('drop-before', 'drop-end');
    });
    return card;
  }

  private tagInput(itemId: string): Node {
    const input = h('input.tag-input', { testid: 'tag-input', placeholder: '+ tag', 'aria-label': 'Add tag', maxlength: 32, 'data-focus-key': `tag:${itemId}` });
    input.addEventListener('keydown', (e) => {
      if (e.key !== 'Enter') return;
      e.preventDefault();
      const t = input.value.trim().toLowerCase();
      if (!t) return;
      input.value = '';
      void this.act(() => this.model.tag(itemId, t));
    });
    return input;
  }

  /** Index in the target list (without the dragged item) where a drop at clientY lands. */
  private dropIndex(ol: HTMLElement, clientY: number): { index: number; before: Element | null } {
    const cards = [...ol.querySelectorAll<HTMLElement>(':scope > li.card')].filter((c) => c.dataset.itemId !== this.dragging);
    for (let i = 0; i < cards.length; i++) {
      const r = cards[i]!.getBoundingClientRect();
      if (clientY < r.top + r.height / 2) return { index: i, before: cards[i]! };
    }
    return { index: cards.length, before: null };
  }

  private makeDropZone(ol: HTMLElement, listId: string): void {
    const clear = () => {
      for (const el of this.root.querySelectorAll('.drop-before, .drop-end')) el.classList.remove('drop-before', 'drop-end');
    };
    ol.addEventListener('dragover', (e) => {
      if (!this.dragging && !e.dataTransfer?.types.includes(ITEM_MIME)) return;
      e.preventDefault();
      if (e.dataTransfer) e.dataTransfer.dropEffect = 'move';
      const { before } = this.dropIndex(ol, e.clientY);
      clear();
      if (before) before.classList.add('drop-before');
      else ol.classList.add('drop-end');
    });
    ol.addEventListener('dragleave', (e) => {
      if (!ol.contains(e.relatedTarget as Node | null)) clear();
    });
    ol.addEventListener('drop', (e) => {
      const id = e.dataTransfer?.getData(ITEM_MIME) || this.dragging;
      if (!id) return;
      e.preventDefault();
      clear();
      const { index } = this.dropIndex(ol, e.clientY);
      this.dragging = undefined;
      void this.act(() => this.model.moveItem(id, listId, index));
    });
  }

  private addForm(key: string, placeholder: string, buttonId: string, inputId: string, add: (title: string) => Promise<unknown>): Node {
    const input = h('input', { testid: inputId, placeholder, 'aria-label': placeholder, maxlength: 200, 'data-focus-key': `add:${key}` });
    const form = h('form.add-form', { testid: `${buttonId}-form` },
      input,
      h('button', { type: 'submit', testid: buttonId }, 'Add'),
    );
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const title = input.value.trim();
      if (!title) {
        input.focus();
        return;
      }
      input.value = '';
      input.focus();
      void this.act(() => add(title));
    });
    return form;
  }

  /** A title that turns into an input on click of its ✎ button (or double-click). */
  private editableTitle(tag: 'h1' | 'h2' | 'span', text: string, testid: string, renameId: string, save: (t: string) => Promise<unknown>): Node {
    const title = h(tag, { testid, class: 'title' }, text);
    const wrap = h('span.editable', {}, title);
    const start = () => {
      const input = h('input.rename', { testid: 'rename-input', value: text, 'aria-label': 'New name', maxlength: 200 });
      let done = false;
      const finish = (commit: boolean) => {
        if (done) return;
        done = true;
        const t = input.value.trim();
        if (commit && t && t !== text) void this.act(() => save(t));
        else this.render();
      };
      input.addEventListener('keydown', (e) => {
        if (e.key === 'Enter') finish(true);
        if (e.key === 'Escape') finish(false);
      });
      input.addEventListener('blur', () => finish(true));
      wrap.replaceChildren(input);
      input.focus();
      input.select();
    };
    title.addEventListener('dblclick', start);
    wrap.appendChild(h('button.icon.edit', { testid: renameId, title: 'Rename', 'aria-label': 'Rename', onclick: start }, '✎'));
    return wrap;
  }
}

function confirmDelete(what: string): boolean {
  // Automated tests may set dbrsDemo.confirm = false to skip the dialog.
  const g = globalThis as { dbrsDemo?: { confirm?: boolean } };
  if (g.dbrsDemo?.confirm === false) return true;
  return window.confirm(`Delete ${what}?`);
}

function hue(tag: string): number {
  let x = 0;
  for (let i = 0; i < tag.length; i++) x = (x * 31 + tag.charCodeAt(i)) >>> 0;
  return x % 360;
}

// ------------------------------------------------------------ boot

let app: App | undefined;
let db: DB<Schema> | undefined;

interface BootOptions {
  /** Open options beyond the name, schema and durability. */
  open?: Pick<OpenOptions, 'acceptLoss' | 'lockTimeoutMs'>;
  /** A message to show once the app is up. */
  notice?: string;
  /** An error to show once the app is up. */
  error?: unknown;
}

async function boot(opts: BootOptions = {}): Promise<void> {
  const root = document.getElementById('app')!;
  document.body.dataset.ready = 'false';
  const missing = precheck();
  if (missing) {
    showProblem(root, missing);
    return;
  }
  root.replaceChildren(h('div.loading', { testid: 'loading', role: 'status' }, 'Loading dbrs.wasm…'));
  try {
    db = await open(DB_NAME, schema, { durability: DURABILITY, ...opts.open });
    const model = new Model(db);
    let seedMs: number | undefined;
    if (SEED && db.tables.boards.len() === 0) {
      const t0 = performance.now();
      await model.seed();
      seedMs = performance.now() - t0;
    }
    app = new App(model, root, seedMs);
    if (opts.notice) app.showInfo(opts.notice);
    if (opts.error !== undefined) app.showError(opts.error);
    const g = globalThis as { dbrsDemo?: object };
    g.dbrsDemo = { ...(g.dbrsDemo ?? {}), db, model };
    document.body.dataset.ready = 'true';
  } catch (e) {
    console.error(e);
    showProblem(root, diagnose(e, DB_NAME), e);
  }
}

/** The error screen: what went wrong, the hint, and the ways out. */
function showProblem(root: HTMLElement, p: Problem, e?: unknown): void {
  const busy = (on: boolean) => {
    for (const b of root.querySelectorAll<HTMLButtonElement | HTMLInputElement>('.fatal button, .fatal input')) b.disabled = on;
  };
  const run = (f: () => Promise<void>) => async () => {
    busy(true);
    document.body.dataset.ready = 'false';
    try {
      await f();
    } catch (err) {
      console.error(err);
      showProblem(root, diagnose(err, DB_NAME), err);
    }
  };
  const restoreInput = h('input.visually-hidden', { testid: 'restore-file', type: 'file', accept: '.dbrs,application/octet-stream' });
  restoreInput.addEventListener('change', () => {
    const f = restoreInput.files?.[0];
    if (!f) return;
    void run(async () => {
      const bytes = await readFile(f);
      const bad = notALog(bytes);
      if (bad) throw new DbrsError('BadValue', `dbrs: ${f.name} is not a dbrs export: ${bad}`);
      await importLog(DB_NAME, fileToSegments(bytes));
      await boot({ notice: `Restored ${f.name}.` });
    })();
  });
  const buttons: Record<Choice, Node> = {
    retry: h('button.secondary', { testid: 'retry', type: 'button', onclick: run(() => boot()) }, 'Retry'),
    wait: h('button.secondary', { testid: 'wait', type: 'button', onclick: run(() => boot({ open: { lockTimeoutMs: 30_000 } })) }, 'Wait for it'),
    restore: h('label.button.secondary', { testid: 'restore' }, 'Restore from an export file…', restoreInput),
    acceptLoss: h('button.secondary.danger', { testid: 'accept-loss', type: 'button', onclick: run(() => boot({ open: { acceptLoss: true } })) }, 'Start over with an empty database'),
    reset: h('button.secondary.danger', { testid: 'reset-db', type: 'button', onclick: run(async () => {
      if (!confirmDelete(`database “${DB_NAME}”`)) {
        busy(false);
        document.body.dataset.ready = 'error';
        return;
      }
      await deleteDatabase(DB_NAME);
      await boot();
    }) }, 'Delete the database and start over'),
  };
  const msg = e === undefined ? '' : e instanceof Error ? e.message : String(e);
  root.replaceChildren(
    h('div.fatal', { testid: 'fatal', 'data-code': p.code, 'data-kind': p.kind, role: 'alert' },
      h('h2', {}, p.title),
      h('p', { testid: 'fatal-hint' }, p.hint),
      msg ? h('pre', { testid: 'fatal-message' }, msg) : null,
      p.choices.length ? h('div.fatal-actions', {}, p.choices.map((c) => buttons[c])) : null,
      h('p.muted', {}, 'database ', h('code', {}, DB_NAME)),
    ),
  );
  document.body.dataset.ready = 'error';
}

/**
 * Imports bytes under a scratch name and opens them with the demo's
 * schema, then deletes the scratch copy: it throws what opening the file
 * would throw (a damaged log, other tables), before anything is replaced.
 */
async function checkImport(bytes: Uint8Array, fileName: string): Promise<void> {
  const scratch = `${DB_NAME}~import-check`;
  try {
    await importLog(scratch, fileToSegments(bytes));
    const d = await open(scratch, schema, { durability: 'relaxed' });
    await d.close();
  } catch (e) {
    if (!(e instanceof DbrsError)) throw e;
    throw new DbrsError(e.code, `dbrs: ${fileName} does not open as this demo's database: ${e.message.replace(/^dbrs: /, '')}`, { cause: e });
  } finally {
    await deleteDatabase(scratch).catch((e: unknown) => console.warn('could not delete the scratch copy', e));
  }
}

async function reset(): Promise<void> {
  if (!confirmDelete(`database “${DB_NAME}” and start over`)) return;
  app?.destroy();
  document.body.dataset.ready = 'false';
  try {
    await db?.close();
    await deleteDatabase(DB_NAME);
  } catch (e) {
    console.error(e);
  }
  await boot();
}

void boot();
