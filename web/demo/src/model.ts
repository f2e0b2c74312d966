// The demo's schema and every action on it. Each action that touches more
// than one record is ONE transaction, so the boards are never half-updated
// (e.g. an item that sits in two lists after a crash mid-move).

import { lookupList, lookupSet, lookupTable, single, type DB, type TxTables } from 'dbrs';

export interface Board {
  title: string;
  created: number;
}

export interface ListRec {
  boardId: string;
  title: string;
}

export interface Item {
  listId: string;
  title: string;
  created: number;
}

export const schema = {
  /** boardId → board. Shown sorted by creation time. */
  boards: lookupTable<string, Board>(),
  /** listId → list record. */
  lists: lookupTable<string, ListRec>(),
  /** boardId → its list IDs, left to right. */
  boardLists: lookupList<string, string>(),
  /** itemId → item. */
  items: lookupTable<string, Item>(),
  /** listId → its item IDs, top to bottom. */
  listItems: lookupList<string, string>(),
  /** itemId → tags. */
  tags: lookupSet<string, string>(),
  /** The selected board, so a reload comes back to it. */
  selected: single<string>(),
};

export type Schema = typeof schema;
type Tx = TxTables<Schema>;

let counter = 0;
/** A short unique, roughly time-ordered ID. */
export function newId(): string {
  counter = (counter + 1) % 1296;
  return Date.now().toString(36) + counter.toString(36).padStart(2, '0') + Math.random().toString(36).slice(2, 6);
}

/** Rewrites key k of a lookupList to exactly ids (lookupList has no insertAt). */
function setOrder(tx: Tx['boardLists'] | Tx['listItems'], k: string, ids: string[]): void {
  tx.clearKey(k);
  for (const id of ids) tx.push(k, id);
}

function removeItemRecords(tx: Tx, itemId: string): void {
  tx.items.remove(itemId);
  tx.tags.clearKey(itemId);
}

function removeListRecords(tx: Tx, listId: string): void {
  for (const itemId of tx.listItems.get(listId)) removeItemRecords(tx, itemId);
  tx.listItems.clearKey(listId);
  tx.lists.remove(listId);
}

function need<T>(v: T | undefined, what: string): T {
  if (v === undefined) throw new Error(`${what} no longer exists`);
  return v;
}

export class Model {
  constructor(readonly db: DB<Schema>) {}

  // ---------------------------------------------------------------- reads

  /** Boards, oldest first. */
  boards(): [string, Board][] {
    return this.db.tables.boards.entries().sort((a, b) => a[1].created - b[1].created || (a[0] < b[0] ? -1 : 1));
  }

  selectedBoard(): string | undefined {
    const id = this.db.tables.selected.get();
    return id !== undefined && this.db.tables.boards.has(id) ? id : this.boards()[0]?.[0];
  }

  // ---------------------------------------------------------------- boards

  addBoard(title: string): Promise<string> {
    const id = newId();
    return this.db.transaction((tx) => {
      tx.boards.insert(id, { title, created: Date.now() });
      tx.selected.insert(id);
      return id;
    });
  }

  selectBoard(id: string): Promise<void> {
    return this.db.tables.selected.insert(id);
  }

  renameBoard(id: string, title: string): Promise<void> {
    return this.db.transaction((tx) => {
      tx.boards.insert(id, { ...need(tx.boards.get(id), 'board'), title });
    });
  }

  deleteBoard(id: string): Promise<void> {
    return this.db.transaction((tx) => {
      for (const listId of tx.boardLists.get(id)) removeListRecords(tx, listId);
      tx.boardLists.clearKey(id);
      tx.boards.remove(id);
      if (tx.selected.get() === id) tx.selected.clear();
    });
  }

  // ---------------------------------------------------------------- lists

  addList(boardId: string, title: string): Promise<string> {
    const id = newId();
    return this.db.transaction((tx) => {
      need(tx.boards.get(boardId), 'board');
      tx.lists.insert(id, { boardId, title });
      tx.boardLists.push(boardId, id);
      return id;
    });
  }

  renameList(id: string, title: string): Promise<void> {
    return this.db.transaction((tx) => {
      tx.lists.insert(id, { ...need(tx.lists.get(id), 'list'), title });
    });
  }

  deleteList(id: string): Promise<void> {
    return this.db.transaction((tx) => {
      const list = need(tx.lists.get(id), 'list');
      const i = tx.boardLists.get(list.boardId).indexOf(id);
      if (i >= 0) tx.boardLists.removeAt(list.boardId, i);
      removeListRecords(tx, id);
    });
  }

  /** Moves a list one place left (-1) or right (+1) on its board. */
  shiftList(id: string, by: -1 | 1): Promise<void> {
    return this.db.transaction((tx) => {
      const list = need(tx.lists.get(id), 'list');
      const ids = tx.boardLists.get(list.boardId);
      const i = ids.indexOf(id), j = i + by;
      if (i < 0 || j < 0 || j >= ids.length) return;
      [ids[i], ids[j]] = [ids[j]!, ids[i]!];
      setOrder(tx.boardLists, list.boardId, ids);
    });
  }

  // ---------------------------------------------------------------- items

  addItem(listId: string, title: string): Promise<string> {
    const id = newId();
    return this.db.transaction((tx) => {
      need(tx.lists.get(listId), 'list');
      tx.items.insert(id, { listId, title, created: Date.now() });
      tx.listItems.push(listId, id);
      return id;
    });
  }

  renameItem(id: string, title: string): Promise<void> {
    return this.db.transaction((tx) => {
      tx.items.insert(id, { ...need(tx.items.get(id), 'item'), title });
    });
  }

  deleteItem(id: string): Promise<void> {
    return this.db.transaction((tx) => {
      const item = need(tx.items.get(id), 'item');
      const i = tx.listItems.get(item.listId).indexOf(id);
      if (i >= 0) tx.listItems.removeAt(item.listId, i);
      removeItemRecords(tx, id);
    });
  }

  /**
   * Moves an item to position `index` of list `toListId` (the end when
   * index is undefined or past it), in ONE transaction: out of the old
   * list, into the new one, and the item's own listId.
   */
  moveItem(id: string, toListId: string, index?: number): Promise<void> {
    return this.db.transaction((tx) => {
      const item = need(tx.items.get(id), 'item');
      need(tx.lists.get(toListId), 'target list');
      const from = tx.listItems.get(item.listId);
      const i = from.indexOf(id);
      if (i >= 0) tx.listItems.removeAt(item.listId, i);
      const to = tx.listItems.get(toListId);
      const at = index === undefined ? to.length : Math.max(0, Math.min(index, to.length));
      if (at === to.length) {
        tx.listItems.push(toListId, id);
      } else {
        to.splice(at, 0, id);
        setOrder(tx.listItems, toListId, to);
      }
      if (item.listId !== toListId) tx.items.insert(id, { ...item, listId: toListId });
    });
  }

  /** Moves an item one place up (-1) or down (+1) in its list. */
  shiftItem(id: string, by: -1 | 1): Promise<void> {
    const item = this.db.tables.items.get(id);
    if (!item) return Promise.resolve();
    const i = this.db.tables.listItems.get(item.listId).indexOf(id);
    if (i + by < 0) return Promise.resolve();
    return this.moveItem(id, item.listId, i + by);
  }

  // ---------------------------------------------------------------- tags

  tag(itemId: string, tag: string): Promise<void> {
    return this.db.tables.tags.insert(itemId, tag);
  }

  untag(itemId: string, tag: string): Promise<void> {
    return this.db.tables.tags.remove(itemId, tag);
  }

  // ---------------------------------------------------------------- sample

  /** Fills an empty database with a small example board. */
  async seed(): Promise<void> {
    if (this.db.tables.boards.len() > 0) return;
    const b = newId();
    const cols: [string, [string, string[]][]][] = [
      ['To do', [['Write the log format doc', ['docs']], ['Fuzz the record reader', ['test', 'core']]]],
      ['Doing', [['IndexedDB backend', ['wasm']], ['Group commit', ['core', 'perf']]]],
      ['Done', [['Typed TS shim', ['js']]]],
    ];
    await this.db.transaction((tx) => {
      tx.boards.insert(b, { title: 'dbrs roadmap', created: Date.now() });
      tx.selected.insert(b);
      for (const [title, items] of cols) {
        const l = newId();
        tx.lists.insert(l, { boardId: b, title });
        tx.boardLists.push(b, l);
        for (const [t, tags] of items) {
          const it = newId();
          tx.items.insert(it, { listId: l, title: t, created: Date.now() });
          tx.listItems.push(l, it);
          for (const tag of tags) tx.tags.insert(it, tag);
        }
      }
    });
  }
}
