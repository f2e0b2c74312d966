//go:build !js

package e2e

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// demoState is what the demo shows: the board names, and the lists of the
// selected board with their items and tags, read from the DOM by data-testid.
type demoState struct {
	Boards []string `json:"boards"`
	Title  string   `json:"title"`
	Lists  []struct {
		Title string `json:"title"`
		Items []struct {
			Title string   `json:"title"`
			Tags  []string `json:"tags"`
		} `json:"items"`
	} `json:"lists"`
}

const demoStateJS = `
const t = (el, id) => el.querySelector('[data-testid="' + id + '"]');
return {
  boards: [...document.querySelectorAll('[data-testid=board-item] [data-testid=board-select]')].map((e) => e.textContent),
  title: t(document, 'board-title')?.textContent ?? '',
  lists: [...document.querySelectorAll('[data-testid=list]')].map((l) => ({
    title: t(l, 'list-title').textContent,
    items: [...l.querySelectorAll('[data-testid=item]')].map((i) => ({
      title: t(i, 'item-title').textContent,
      tags: [...i.querySelectorAll('[data-testid=tag-chip]')].map((c) => c.dataset.tag).sort(),
    })),
  })),
};`

func (b *browser) demoState(t *testing.T) demoState {
	t.Helper()
	var s demoState
	b.js(t, demoStateJS, &s)
	return s
}

// demo drives the boards demo through its UI.
type demo struct {
	t *testing.T
	b *browser
	// commits is the number of durable commits the test expects so far.
	commits int
}

// settle waits until every write so far is durable (the engine's count of
// durable commits reaches d.commits) and checks that no error is shown.
func (d *demo) settle() {
	d.t.Helper()
	d.b.poll(d.t, "durable commits", `dbrsDemo.db.stats().commits >= `+itoa(d.commits))
	var code string
	d.b.js(d.t, `return document.querySelector('[data-testid=status]').dataset.code ?? ''`, &code)
	if code != "" {
		var msg string
		d.b.js(d.t, `return document.querySelector('[data-testid=status]').textContent`, &msg)
		d.t.Fatalf("the demo shows an error: %s", msg)
	}
}

// act runs UI steps that make one commit.
func (d *demo) act(steps ...chromedp.Action[chromedp.Void]) {
	d.t.Helper()
	d.b.run(d.t, steps...)
	d.commits++
}

func (d *demo) addBoard(title string) {
	d.act(chromedp.SendKeys(testid("board-title-input"), title), chromedp.Click(testid("add-board")))
	d.b.poll(d.t, "board "+title, `document.querySelector('[data-testid=board-title]')?.textContent === `+q(title))
}

func (d *demo) addList(title string) string {
	d.act(chromedp.SendKeys(testid("list-title-input"), title), chromedp.Click(testid("add-list")))
	var id string
	d.b.js(d.t, `
for (let i = 0; i < 100; i++) {
  const l = [...document.querySelectorAll('[data-testid=list]')].find((l) => l.querySelector('[data-testid=list-title]').textContent === `+q(title)+`);
  if (l) return l.dataset.listId;
  await new Promise((r) => setTimeout(r, 20));
}
throw new Error('no list ' + `+q(title)+`);`, &id)
	return id
}

func (d *demo) itemID(title string) string {
	var id string
	d.b.js(d.t, `
for (let i = 0; i < 100; i++) {
  const it = [...document.querySelectorAll('[data-testid=item]')].find((e) => e.querySelector('[data-testid=item-title]').textContent === `+q(title)+`);
  if (it) return it.dataset.itemId;
  await new Promise((r) => setTimeout(r, 20));
}
throw new Error('no item ' + `+q(title)+`);`, &id)
	return id
}

func (d *demo) addItem(listID, title string) string {
	in := `[data-list-id="` + listID + `"] `
	d.act(chromedp.SendKeys(chromedp.CSS(in+`[data-testid="item-title-input"]`), title), chromedp.Click(chromedp.CSS(in+`[data-testid="add-item"]`)))
	return d.itemID(title)
}

func (d *demo) tag(itemID, tag string) {
	d.act(chromedp.SendKeys(chromedp.CSS(`[data-item-id="`+itemID+`"] [data-testid="tag-input"]`), tag+"\n"))
	d.b.poll(d.t, "tag "+tag, `document.querySelector('[data-item-id="`+itemID+`"] [data-testid=tag-chip][data-tag=`+q(tag)+`]')`)
}

// move picks the target list in the item's "Move to…" menu.
func (d *demo) move(itemID, toListID string) {
	d.b.js(d.t, `
const sel = document.querySelector('[data-item-id="`+itemID+`"] [data-testid=move-select]');
sel.value = `+q(toListID)+`;
sel.dispatchEvent(new Event('change', { bubbles: true }));`, nil)
	d.commits++
	d.b.poll(d.t, "item moved", `document.querySelector('[data-list-id="`+toListID+`"] [data-item-id="`+itemID+`"]')`)
}

type engineStats struct {
	Records     int64   `json:"records"`
	LogBytes    int64   `json:"logBytes"`
	LiveBytes   int64   `json:"liveBytes"`
	Compactions int64   `json:"compactions"`
	Commits     int64   `json:"commits"`
	LastCommit  float64 `json:"lastCommitMs"`
	Segments    int64   `json:"segments"`
}

func (d *demo) stats() engineStats {
	var s engineStats
	d.b.js(d.t, `return dbrsDemo.db.stats()`, &s)
	return s
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// TestDemo_BoardsPersist adds a board, lists, items and tags through the
// demo's UI, moves an item between lists (one transaction), reloads, and
// checks that the page shows exactly the same thing.
func TestDemo_BoardsPersist(t *testing.T) {
	base := serveSite(t)
	b := startBrowser(t, "")
	b.run(t, chromedp.EmulateViewport(1440, 900))
	b.run(t, chromedp.Navigate(base+"/?seed=0&db=e2e-demo"))
	b.waitReady(t)
	d := &demo{t: t, b: b}
	b.poll(t, "empty state", `document.querySelector('[data-testid=empty]')`)

	d.addBoard("Groceries")
	toBuy := d.addList("To buy")
	bought := d.addList("In the basket")
	milk := d.addItem(toBuy, "Milk")
	bread := d.addItem(toBuy, "Bread")
	d.addItem(toBuy, "Eggs")
	d.addItem(bought, "Coffee")
	d.tag(milk, "dairy")
	d.tag(milk, "urgent")
	d.tag(bread, "bakery")
	d.settle()

	before := d.stats()
	d.move(milk, bought)
	d.settle()
	after := d.stats()
	if after.Commits != before.Commits+1 || after.Records != before.Records+1 {
		t.Errorf("the move made %d commits and %d records, want 1 and 1 (before %+v, after %+v)",
			after.Commits-before.Commits, after.Records-before.Records, before, after)
	}

	want := d.b.demoState(t)
	t.Logf("demo state: %+v", want)
	if len(want.Lists) != 2 || len(want.Lists[0].Items) != 2 || len(want.Lists[1].Items) != 2 ||
		want.Lists[1].Items[1].Title != "Milk" || !reflect.DeepEqual(want.Lists[1].Items[1].Tags, []string{"dairy", "urgent"}) {
		t.Fatalf("unexpected demo state before the reload: %+v", want)
	}
	b.screenshot(t, "demo-after-add.png")

	b.run(t, chromedp.Reload())
	b.waitReady(t)
	got := b.demoState(t)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("after a reload the demo shows\n%+v\nwant\n%+v", got, want)
	}
	b.screenshot(t, "demo-after-reload.png")
}

// TestDemo_CompactThenReload compacts through the demo's Compact button
// after writes that leave garbage in the log, and checks the stats panel
// and the data, before and after a reload.
func TestDemo_CompactThenReload(t *testing.T) {
	base := serveSite(t)
	b := startBrowser(t, "")
	b.run(t, chromedp.EmulateViewport(1440, 900))
	b.run(t, chromedp.Navigate(base+"/?db=e2e-compact")) // with the sample board
	b.waitReady(t)
	d := &demo{t: t, b: b, commits: 1}
	d.settle()
	list := d.addList("Scratch")
	item := d.addItem(list, "Churn")
	// Garbage: tags added and removed again.
	for i := range 15 {
		tag := "t" + itoa(i)
		d.tag(item, tag)
		d.act(chromedp.Click(chromedp.CSS(`[data-item-id="` + item + `"] [data-testid=tag-chip][data-tag="` + tag + `"] [data-testid=tag-remove]`)))
	}
	d.settle()
	want := b.demoState(t)
	before := d.stats()

	b.run(t, chromedp.Click(testid("compact")))
	b.poll(t, "compaction in the stats panel", `document.querySelector('[data-testid=stat-compactions]').dataset.value === '1'`)
	after := d.stats()
	var panelLog int64
	b.js(t, `return Number(document.querySelector('[data-testid=stat-logBytes]').dataset.value)`, &panelLog)
	t.Logf("before compaction %+v; after %+v; panel logBytes %d", before, after, panelLog)
	if after.Compactions != 1 || after.LogBytes >= before.LogBytes || after.Records >= before.Records {
		t.Fatalf("compaction did not shrink the log: before %+v, after %+v", before, after)
	}
	if panelLog != after.LogBytes {
		t.Errorf("the stats panel shows %d log bytes, the engine %d", panelLog, after.LogBytes)
	}
	if got := b.demoState(t); !reflect.DeepEqual(got, want) {
		t.Fatalf("after compaction the demo shows %+v, want %+v", got, want)
	}

	b.run(t, chromedp.Reload())
	b.waitReady(t)
	reopened := d.stats()
	t.Logf("after reload %+v", reopened)
	if reopened.LogBytes != after.LogBytes || reopened.Records != after.Records {
		t.Errorf("after a reload the log has %d bytes in %d records, want %d in %d", reopened.LogBytes, reopened.Records, after.LogBytes, after.Records)
	}
	if got := b.demoState(t); !reflect.DeepEqual(got, want) {
		t.Fatalf("after compaction and reload the demo shows %+v, want %+v", got, want)
	}
}

// TestDemo_TwoTabsSideBySide opens the demo in two same-origin frames side
// by side: the first leads, the second follows; a board added in either
// shows in both, without a reload.
func TestDemo_TwoTabsSideBySide(t *testing.T) {
	b := tabsPage(t)
	var got struct {
		Roles  []string `json:"roles"`
		Boards []string `json:"boards"`
	}
	b.jsTimeout(t, 60*time.Second, `
const frames = [0, 1].map(() => {
  const f = document.createElement('iframe');
  f.src = '/?seed=0&db=e2e-demo-tabs';
  f.style.width = '640px'; f.style.height = '800px';
  document.body.appendChild(f);
  return f;
});
const doc = (i) => frames[i].contentDocument;
for (const i of [0, 1]) await waitFor(() => doc(i)?.body?.dataset.ready === 'true', 'demo ' + i + ' ready', 30000);
const add = (i, title) => {
  const input = doc(i).querySelector('[data-testid=board-title-input]');
  input.value = title;
  input.dispatchEvent(new Event('input', { bubbles: true }));
  doc(i).querySelector('[data-testid=add-board]').click();
};
const boards = (i) => [...doc(i).querySelectorAll('[data-testid=board-item] [data-testid=board-select]')].map((e) => e.textContent).sort();
add(1, 'From the follower');
await waitFor(() => boards(0).includes('From the follower'), 'the follower\'s board in the leader');
add(0, 'From the leader');
await waitFor(() => boards(1).includes('From the leader') && boards(1).includes('From the follower'), 'both boards in the follower');
const roles = frames.map((f) => f.contentWindow.dbrsDemo.db.stats().role);
return { roles, boards: boards(1) };`, &got)
	if !slices.Equal(got.Roles, []string{"leader", "follower"}) || len(got.Boards) != 2 {
		t.Fatalf("demo in two tabs: %+v", got)
	}
}
