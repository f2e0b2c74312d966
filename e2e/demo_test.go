//go:build !js

package e2e

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/dbrs-db/dbrs/core"
	"github.com/dbrs-db/dbrs/platform/native"
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

// box is an element's bounding box in CSS pixels.
type box struct {
	X, Y, W, H float64
}

func (a box) overlaps(b box) bool {
	return a.X < b.X+b.W && b.X < a.X+a.W && a.Y < b.Y+b.H && b.Y < a.Y+a.H
}

// TestDemo_StatsPanelLeavesListsVisible loads the sample board at 1024,
// 1280 and 1920 px wide and checks that the storage panel's box overlaps
// no list (nor the "New list" column), that it lies within the window, and
// that each of the three lists shows at least part of itself in the board's
// scroll area.
// It saves a screenshot at each width.
func TestDemo_StatsPanelLeavesListsVisible(t *testing.T) {
	base := serveSite(t)
	b := startBrowser(t, "")
	for _, w := range []int64{1024, 1280, 1920} {
		b.run(t, chromedp.EmulateViewport(w, 800))
		b.run(t, chromedp.Navigate(base+"/?db=e2e-layout"))
		b.waitReady(t)
		b.poll(t, "the sample board", `document.querySelectorAll('[data-testid=list]').length === 3`)
		var got struct {
			Panel    box     `json:"panel"`
			Board    box     `json:"board"`
			Lists    []box   `json:"lists"`
			Viewport float64 `json:"viewport"`
		}
		b.js(t, `
const r = (el) => { const b = el.getBoundingClientRect(); return { X: b.left, Y: b.top, W: b.width, H: b.height }; };
return {
  panel: r(document.querySelector('[data-testid=stats-panel]')),
  board: r(document.querySelector('.board-area')),
  lists: [...document.querySelectorAll('[data-testid=list], .new-column')].map(r),
  viewport: document.documentElement.clientWidth,
};`, &got)
		t.Logf("%d px: panel %+v, board area %+v, lists %+v", w, got.Panel, got.Board, got.Lists)
		if len(got.Lists) != 4 {
			t.Fatalf("%d px: %d list columns, want 3 lists and the new-list column", w, len(got.Lists))
		}
		if got.Panel.W <= 0 || got.Panel.H <= 0 || got.Panel.X < 0 || got.Panel.X+got.Panel.W > got.Viewport+0.5 {
			t.Errorf("%d px: the storage panel %+v is not within the window (%v px wide)", w, got.Panel, got.Viewport)
		}
		for i, l := range got.Lists {
			if l.overlaps(got.Panel) {
				t.Errorf("%d px: the storage panel %+v overlaps list column %d %+v", w, got.Panel, i, l)
			}
			if i < 3 && !l.overlaps(got.Board) { // the new-list column may be scrolled out of view
				t.Errorf("%d px: list column %d %+v is outside the board area %+v", w, i, l, got.Board)
			}
		}
		b.screenshot(t, "demo-layout-"+itoa(int(w))+".png")
	}
}

// TestDemo_LatencyChartHasAxes makes commits through the UI and checks the
// latency chart: a y axis labelled in ms whose ticks start at 0 and reach
// the slowest commit, an x axis numbered by commit since load (the first,
// then every tenth), tick labels at least 10 px tall that do not overlap, and the
// counters that restart at each load saying so.
func TestDemo_LatencyChartHasAxes(t *testing.T) {
	base := serveSite(t)
	b := startBrowser(t, "")
	b.run(t, chromedp.EmulateViewport(1280, 900))
	b.run(t, chromedp.Navigate(base+"/?seed=0&db=e2e-chart"))
	b.waitReady(t)
	var fresh struct {
		LastCommit string   `json:"lastCommit"`
		Labels     []string `json:"labels"`
		Count      string   `json:"count"`
	}
	b.js(t, `return {
  lastCommit: document.querySelector('[data-testid=stat-lastCommitMs]').textContent,
  labels: [...document.querySelectorAll('[data-testid=stats] dt')].map((e) => e.textContent),
  count: document.querySelector('[data-testid=latency-chart]').dataset.count,
};`, &fresh)
	if fresh.LastCommit != "none yet" || fresh.Count != "0" {
		t.Errorf("before any commit: last commit %q, chart count %q; want \"none yet\" and 0", fresh.LastCommit, fresh.Count)
	}
	for _, want := range []string{"Compactions since load", "Commits since load", "Last commit since load"} {
		if !slices.Contains(fresh.Labels, want) {
			t.Errorf("the counters are labelled %q; none reads %q", fresh.Labels, want)
		}
	}

	d := &demo{t: t, b: b}
	d.addBoard("Chart")
	l := d.addList("Bars")
	d.addItem(l, "one")
	it := d.addItem(l, "two")
	for i := range 8 {
		d.tag(it, "t"+itoa(i))
	}
	d.settle()
	b.poll(t, "twelve bars", `document.querySelector('[data-testid=latency-chart]').dataset.count === '12'`)

	var c struct {
		YTicks []string  `json:"yTicks"`
		XTicks []string  `json:"xTicks"`
		YUnit  string    `json:"yUnit"`
		XUnit  string    `json:"xUnit"`
		Bars   []float64 `json:"bars"`
		Boxes  []box     `json:"boxes"`
		Label  string    `json:"label"`
	}
	b.js(t, `
const chart = document.querySelector('[data-testid=latency-chart] svg');
const text = (sel) => [...chart.querySelectorAll(sel)].map((e) => e.textContent);
const r = (el) => { const b = el.getBoundingClientRect(); return { X: b.left, Y: b.top, W: b.width, H: b.height }; };
return {
  yTicks: text('.y-tick'), xTicks: text('.x-tick'),
  yUnit: chart.querySelector('.y-unit').textContent, xUnit: chart.querySelector('.x-unit').textContent,
  bars: [...chart.querySelectorAll('rect title')].map((e) => parseFloat(e.textContent.split(': ')[1])),
  boxes: [...chart.querySelectorAll('text')].map(r),
  label: chart.getAttribute('aria-label'),
};`, &c)
	t.Logf("chart: %+v", c)
	if c.YUnit != "ms" || !strings.Contains(c.XUnit, "commits") {
		t.Errorf("axis units %q and %q, want ms and commits", c.YUnit, c.XUnit)
	}
	if !reflect.DeepEqual(c.XTicks, []string{"1", "10"}) {
		t.Errorf("x ticks %q, want the first commit and the tenth, 1 and 10", c.XTicks)
	}
	if len(c.Bars) != 12 {
		t.Fatalf("%d bars, want 12", len(c.Bars))
	}
	if len(c.YTicks) < 2 || c.YTicks[0] != "0" {
		t.Fatalf("y ticks %q, want 0 and more", c.YTicks)
	}
	top, err := strconv.ParseFloat(c.YTicks[len(c.YTicks)-1], 64)
	if err != nil || top < slices.Max(c.Bars) {
		t.Errorf("the top y tick %q is below the slowest commit, %v ms", c.YTicks[len(c.YTicks)-1], slices.Max(c.Bars))
	}
	for i, a := range c.Boxes {
		if a.H < 10 {
			t.Errorf("chart label %d is %.1f px tall, want at least 10", i, a.H)
		}
		for j := i + 1; j < len(c.Boxes); j++ {
			if a.overlaps(c.Boxes[j]) {
				t.Errorf("chart labels %d %+v and %d %+v overlap", i, a, j, c.Boxes[j])
			}
		}
	}
	if !strings.Contains(c.Label, "12 commits") {
		t.Errorf("the chart's aria-label %q does not describe it", c.Label)
	}
	b.screenshot(t, "demo-chart.png")
}

// TestDemo_BrowserStorage checks the browser storage section: usage and
// quota from navigator.storage.estimate() on load, a new estimate after a
// commit made outside the UI (so only the database subscription can have
// asked for it), and the persist() button showing its answer.
func TestDemo_BrowserStorage(t *testing.T) {
	base := serveSite(t)
	b := startBrowser(t, "")
	b.run(t, chromedp.EmulateViewport(1280, 900))
	b.run(t, chromedp.Navigate(base+"/?db=e2e-storage"))
	b.waitReady(t)
	b.poll(t, "an estimate", `Number(document.querySelector('[data-testid=storage-quota]').dataset.value) > 0`)
	var before struct {
		Estimates string  `json:"estimates"`
		Usage     float64 `json:"usage"`
		Quota     float64 `json:"quota"`
	}
	const read = `const s = document.querySelector('[data-testid=browser-storage]');
const v = (id) => Number(document.querySelector('[data-testid=' + id + ']').dataset.value);
return { estimates: s.dataset.estimates, usage: v('storage-usage'), quota: v('storage-quota') };`
	b.js(t, read, &before)
	t.Logf("before: %+v", before)
	if before.Usage <= 0 || before.Quota < before.Usage {
		t.Errorf("usage %v of quota %v", before.Usage, before.Quota)
	}
	// Wait for the refreshes of the load to finish, then commit behind the
	// UI's back.
	b.poll(t, "estimates to finish", `!document.querySelector('[data-testid=browser-storage]').dataset.busy`)
	var n string
	b.js(t, `const n = document.querySelector('[data-testid=browser-storage]').dataset.estimates;
await dbrsDemo.db.tables.boards.insert('x', { title: 'x'.repeat(4000), created: 1 });
return n;`, &n)
	b.poll(t, "an estimate after the commit", `document.querySelector('[data-testid=browser-storage]').dataset.estimates !== `+q(n))

	b.run(t, chromedp.Click(testid("persist")))
	b.poll(t, "the answer of persist()", `['true', 'false'].includes(document.querySelector('[data-testid=persist-result]').dataset.value)`)
	var p struct {
		Result    string `json:"result"`
		Text      string `json:"text"`
		Persisted string `json:"persisted"`
	}
	b.poll(t, "the persisted flag", `document.querySelector('[data-testid=storage-persisted]').dataset.value !== undefined`)
	b.js(t, `return {
  result: document.querySelector('[data-testid=persist-result]').dataset.value,
  text: document.querySelector('[data-testid=persist-result]').textContent,
  persisted: document.querySelector('[data-testid=storage-persisted]').dataset.value,
};`, &p)
	t.Logf("persist: %+v", p)
	if p.Persisted != p.Result {
		t.Errorf("persist() answered %s, and the page then shows persistent = %s", p.Result, p.Persisted)
	}
	if want := map[string]string{"true": "Granted", "false": "Not granted"}[p.Result]; !strings.HasPrefix(p.Text, want) {
		t.Errorf("the answer reads %q, want it to start with %q", p.Text, want)
	}
}

// captureDownloadsJS makes the page keep each Blob it offers as a download
// (window.__downloads: { blob, name }) instead of saving it.
const captureDownloadsJS = `
window.__downloads = [];
const create = URL.createObjectURL;
URL.createObjectURL = function (blob) { window.__downloads.push({ blob }); return create.call(URL, blob); };
HTMLAnchorElement.prototype.click = function () {
  const d = window.__downloads.at(-1);
  if (d && this.download) d.name = this.download;
};
return null;`

// exportFile clicks Export, and returns the file name and bytes the demo
// offered as a download.
func (d *demo) exportFile() (string, []byte) {
	d.t.Helper()
	d.b.js(d.t, captureDownloadsJS, nil)
	d.b.run(d.t, chromedp.Click(testid("export")))
	d.b.poll(d.t, "the download", `window.__downloads.length === 1 && window.__downloads[0].name`)
	var f struct {
		Name string `json:"name"`
		Data []byte `json:"data"` // base64 in JSON
	}
	d.b.js(d.t, `const d = window.__downloads[0];
const bytes = new Uint8Array(await d.blob.arrayBuffer());
let bin = '';
for (const x of bytes) bin += String.fromCharCode(x);
return { name: d.name, data: btoa(bin) };`, &f)
	return f.Name, f.Data
}

// importFile picks path in the Import file input and waits until the demo
// has reopened the imported database.
func (d *demo) importFile(path string) {
	d.t.Helper()
	d.b.js(d.t, `dbrsDemo.confirm = false; return null;`, nil)
	d.b.run(d.t, chromedp.SetUploadFiles(testid("import-file"), []string{path}))
	d.b.poll(d.t, "the import", `document.body.dataset.ready === 'true' && document.querySelector('[data-testid=status]')?.textContent.startsWith('Imported ')`)
}

// buildCLI builds cmd/dbrs into a temporary folder and returns its path.
func buildCLI(t *testing.T) string {
	t.Helper()
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "dbrs")
	if err := run(root, nil, "go", "build", "-o", bin, "./cmd/dbrs"); err != nil {
		t.Fatal(err)
	}
	return bin
}

// TestDemo_ExportImportRoundTrip exports the demo's database (a compacted
// snapshot and a log segment after it) as one file, changes the board,
// imports the file and gets the exported state back. The same file
// imports natively with `dbrs import`, and what `dbrs export` writes from
// that native copy imports into a fresh demo database with the same
// state. A file that is not a dbrs log, and the export of another app's
// database, are refused, and the database stays as it was.
func TestDemo_ExportImportRoundTrip(t *testing.T) {
	base := serveSite(t)
	cli := buildCLI(t)
	tmp := t.TempDir()
	b := startBrowser(t, "")
	b.run(t, chromedp.EmulateViewport(1440, 900))
	b.run(t, chromedp.Navigate(base+"/?db=e2e-export"))
	b.waitReady(t)
	d := &demo{t: t, b: b, commits: 1}
	d.settle()
	l := d.addList("Exported")
	it := d.addItem(l, "Kept in the file")
	d.tag(it, "backup")
	d.settle()
	b.run(t, chromedp.Click(testid("compact")))
	b.poll(t, "the compaction", `document.querySelector('[data-testid=stat-compactions]').dataset.value === '1'`)
	d.addItem(l, "After the compaction")
	d.settle()
	var segs int
	b.js(t, `return (await dbrsDemo.db.exportLog()).length`, &segs)
	if segs < 2 {
		t.Fatalf("the log has %d segments; the test wants a snapshot and a log segment after it", segs)
	}
	want := b.demoState(t)

	name, data := d.exportFile()
	t.Logf("exported %s: %d bytes from %d segments", name, len(data), segs)
	if !strings.HasPrefix(name, "e2e-export-") || !strings.HasSuffix(name, ".dbrs") {
		t.Errorf("the export is named %q, want e2e-export-<time>.dbrs", name)
	}
	file := filepath.Join(tmp, name)
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}

	// Change the board, then import the file over it.
	d.addBoard("Made after the export")
	d.settle()
	d.importFile(file)
	if got := b.demoState(t); !reflect.DeepEqual(got, want) {
		t.Fatalf("after importing the export the demo shows\n%+v\nwant\n%+v", got, want)
	}

	// The same file through the dbrs command, and back.
	nativeDir := filepath.Join(tmp, "native")
	if err := run(tmp, nil, cli, "import", file, nativeDir); err != nil {
		t.Fatalf("dbrs import of the demo's export: %v", err)
	}
	fromCLI := filepath.Join(tmp, "from-cli.dbrs")
	if err := run(tmp, nil, cli, "export", nativeDir, fromCLI); err != nil {
		t.Fatalf("dbrs export: %v", err)
	}
	b.run(t, chromedp.Navigate(base+"/?db=e2e-from-cli&seed=0"))
	b.waitReady(t)
	b.poll(t, "an empty database", `document.querySelector('[data-testid=empty]')`)
	d.importFile(fromCLI)
	if got := b.demoState(t); !reflect.DeepEqual(got, want) {
		t.Fatalf("after importing the file of dbrs export the demo shows\n%+v\nwant\n%+v", got, want)
	}

	// Not a dbrs file: refused with BadValue, and nothing changes.
	junk := filepath.Join(tmp, "junk.dbrs")
	if err := os.WriteFile(junk, []byte("this is not a dbrs log at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Another app's database: refused with UnknownTable (its tables are not
	// the demo's), and nothing changes.
	otherDir := filepath.Join(tmp, "other")
	other, err := native.Open[nativeSchema](otherDir, core.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Tables.Cards.Insert("c1", nativeCard{Title: "not a board"}); err != nil {
		t.Fatal(err)
	}
	if err := other.Close(); err != nil {
		t.Fatal(err)
	}
	otherFile := filepath.Join(tmp, "other.dbrs")
	if err := run(tmp, nil, cli, "export", otherDir, otherFile); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ file, code string }{{junk, "BadValue"}, {otherFile, "UnknownTable"}} {
		b.js(t, `document.querySelector('[data-testid=status]').replaceChildren(); delete document.querySelector('[data-testid=status]').dataset.code; return null;`, nil)
		b.run(t, chromedp.SetUploadFiles(testid("import-file"), []string{c.file}))
		b.poll(t, "the refusal of "+filepath.Base(c.file), `document.querySelector('[data-testid=status]').dataset.code === `+q(c.code))
		var msg string
		b.js(t, `return document.querySelector('[data-testid=status]').textContent`, &msg)
		if !strings.Contains(msg, filepath.Base(c.file)) {
			t.Errorf("the refusal reads %q; it does not name the file", msg)
		}
		if got := b.demoState(t); !reflect.DeepEqual(got, want) {
			t.Fatalf("after the refused import of %s the demo shows\n%+v\nwant\n%+v", c.file, got, want)
		}
	}
	b.run(t, chromedp.Reload())
	b.waitReady(t)
	if got := b.demoState(t); !reflect.DeepEqual(got, want) {
		t.Fatalf("after the refused imports and a reload the demo shows\n%+v\nwant\n%+v", got, want)
	}
}

// problem is what the demo's error screen shows.
type problem struct {
	Code    string   `json:"code"`
	Kind    string   `json:"kind"`
	Hint    string   `json:"hint"`
	Message string   `json:"message"`
	Choices []string `json:"choices"`
}

const problemJS = `
const f = doc.querySelector('[data-testid=fatal]');
return {
  code: f.dataset.code, kind: f.dataset.kind,
  hint: f.querySelector('[data-testid=fatal-hint]').textContent,
  message: f.querySelector('[data-testid=fatal-message]')?.textContent ?? '',
  choices: [...f.querySelectorAll('.fatal-actions > [data-testid]')].map((e) => e.dataset.testid),
};`

// waitProblem waits for the demo's error screen (in the page, or in the
// page's first iframe if inFrame) and returns what it shows.
func (b *browser) waitProblem(t *testing.T, inFrame bool) problem {
	t.Helper()
	doc := `document`
	if inFrame {
		doc = `document.querySelector('iframe')?.contentDocument`
	}
	b.poll(t, "the error screen", `(`+doc+`)?.body?.dataset.ready === 'error'`)
	var p problem
	b.js(t, `const doc = `+doc+`;`+problemJS, &p)
	t.Logf("error screen: %+v", p)
	return p
}

// onNewDocument runs script in every document the tab loads from now on,
// before the page's own scripts.
func (b *browser) onNewDocument(t *testing.T, script string) {
	t.Helper()
	if _, err := chromedp.Call(b.ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: script}); err != nil {
		t.Fatal(err)
	}
}

// serveSiteWithout serves the site as serveSite does, but answers 404 for
// the paths missing reports.
func serveSiteWithout(t *testing.T, missing func(path string) bool) string {
	t.Helper()
	files := http.FileServer(http.Dir(siteDir(t)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if missing(r.URL.Path) {
			http.NotFound(w, r)
			return
		}
		if strings.HasSuffix(r.URL.Path, ".wasm") {
			w.Header().Set("Content-Type", "application/wasm")
		}
		files.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestDemo_ErrorScreens checks the hint and the choices of the error
// screen for each cause the demo knows before or while opening: a missing
// dbrs.wasm, a browser without WebAssembly, a page without IndexedDB, a
// database of another app under the demo's name (where "Delete the database
// and start over" gets the demo going), and a database whose lock another
// tab holds (where "Wait for it" opens it once the lock is free).
func TestDemo_ErrorScreens(t *testing.T) {
	t.Run("missing dbrs.wasm", func(t *testing.T) {
		// Vite emits the demo's copy as assets/dbrs-<hash>.wasm.
		base := serveSiteWithout(t, func(path string) bool { return strings.HasSuffix(path, ".wasm") })
		b := startBrowser(t, "")
		b.run(t, chromedp.Navigate(base+"/?db=e2e-nowasm"))
		p := b.waitProblem(t, false)
		if p.Kind != "missing-wasm" || p.Code != "Internal" || !strings.Contains(p.Hint, "make demo") ||
			!strings.Contains(p.Message, ".wasm") || !reflect.DeepEqual(p.Choices, []string{"retry"}) {
			t.Errorf("error screen %+v, want the missing-wasm hint (make demo) and Retry", p)
		}
	})
	t.Run("no WebAssembly", func(t *testing.T) {
		base := serveSite(t)
		b := startBrowser(t, "")
		b.onNewDocument(t, `delete globalThis.WebAssembly;`)
		b.run(t, chromedp.Navigate(base+"/?db=e2e-nowasmsupport"))
		p := b.waitProblem(t, false)
		if p.Kind != "unsupported" || !strings.Contains(p.Hint, "WebAssembly") || len(p.Choices) != 0 {
			t.Errorf("error screen %+v, want the unsupported-browser hint and no choices", p)
		}
	})
	t.Run("no IndexedDB", func(t *testing.T) {
		base := serveSite(t)
		b := startBrowser(t, "")
		b.onNewDocument(t, `Object.defineProperty(globalThis, 'indexedDB', { get() { return undefined; }, configurable: true });`)
		b.run(t, chromedp.Navigate(base+"/?db=e2e-noidb"))
		p := b.waitProblem(t, false)
		if p.Kind != "no-indexeddb" || !strings.Contains(p.Hint, "private") || !reflect.DeepEqual(p.Choices, []string{"retry"}) {
			t.Errorf("error screen %+v, want the IndexedDB hint and Retry", p)
		}
	})
	t.Run("other tables", func(t *testing.T) {
		base := serveSite(t)
		b := startBrowser(t, "")
		openShimPage(t, b, base)
		// Another app's database under the demo's name: its "boards" is a list.
		b.js(t, `const db = await dbrs.open('e2e-schema', { boards: dbrs.list() });
await db.tables.boards.push('not a board'); await db.close(); return null;`, nil)
		b.run(t, chromedp.Navigate(base+"/?db=e2e-schema"))
		p := b.waitProblem(t, false)
		if p.Kind != "schema" || p.Code != "Schema" || !reflect.DeepEqual(p.Choices, []string{"restore", "reset-db"}) {
			t.Fatalf("error screen %+v, want the other-tables hint with Restore and Delete", p)
		}
		b.js(t, `window.dbrsDemo = { confirm: false }; return null;`, nil)
		b.run(t, chromedp.Click(testid("reset-db")))
		b.poll(t, "the new start", `document.body.dataset.ready !== 'error'`)
		b.waitReady(t)
		if got := b.demoState(t); !reflect.DeepEqual(got.Boards, []string{"dbrs roadmap"}) {
			t.Fatalf("after deleting the database the demo shows %+v, want the sample board", got)
		}
	})
	t.Run("locked", func(t *testing.T) {
		base := serveSite(t)
		b := startBrowser(t, "")
		b.run(t, chromedp.EmulateViewport(1280, 900))
		openShimPage(t, b, base)
		// This page holds the database's Web Lock, as another tab with the
		// database open does; the demo runs in an iframe of the same origin.
		b.js(t, `
navigator.locks.request('dbrs:e2e-locked', () => new Promise((r) => { window.release = r; }));
for (let i = 0; i < 500 && !window.release; i++) await new Promise((r) => setTimeout(r, 10));
if (!window.release) throw new Error('no lock');
const f = document.createElement('iframe');
f.style.width = '1200px'; f.style.height = '800px';
f.src = '/?db=e2e-locked';
document.body.appendChild(f);
return null;`, nil)
		p := b.waitProblem(t, true)
		if p.Kind != "locked" || p.Code != "Locked" || !strings.Contains(p.Hint, "other tab") ||
			!reflect.DeepEqual(p.Choices, []string{"wait", "retry"}) {
			t.Errorf("error screen %+v, want the locked hint with Wait and Retry", p)
		}
		b.js(t, `document.querySelector('iframe').contentDocument.querySelector('[data-testid=wait]').click(); return null;`, nil)
		b.poll(t, "the demo to wait", `document.querySelector('iframe').contentDocument.body.dataset.ready === 'false'`)
		b.js(t, `window.release(); return null;`, nil)
		b.poll(t, "the demo to open once the lock is free", `document.querySelector('iframe').contentDocument.body.dataset.ready === 'true'`)
	})
}

// TestDemo_LostDatabase deletes the demo's IndexedDB store behind its back,
// as a browser does when it finds its storage corrupt. The demo shows the
// 'Lost' screen with its two ways out: restoring an export file brings the
// exported boards back, and starting over (acceptLoss) opens a new
// database, which a reload then opens as usual.
func TestDemo_LostDatabase(t *testing.T) {
	base := serveSite(t)
	b := startBrowser(t, "")
	b.run(t, chromedp.EmulateViewport(1440, 900))
	b.run(t, chromedp.Navigate(base+"/?db=e2e-lost"))
	b.waitReady(t)
	d := &demo{t: t, b: b, commits: 1}
	l := d.addList("Precious")
	d.addItem(l, "Do not lose me")
	d.settle()
	want := b.demoState(t)
	name, data := d.exportFile()
	file := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	lose := func() {
		t.Helper()
		b.js(t, `await dbrsDemo.db.close();
await new Promise((res, rej) => { const q = indexedDB.deleteDatabase('e2e-lost'); q.onsuccess = res; q.onerror = () => rej(q.error); });
return null;`, nil)
		b.run(t, chromedp.Reload())
	}

	lose()
	p := b.waitProblem(t, false)
	if p.Kind != "lost" || p.Code != "Lost" || !strings.Contains(p.Hint, "export") ||
		!reflect.DeepEqual(p.Choices, []string{"restore", "accept-loss"}) {
		t.Fatalf("error screen %+v, want the Lost hint with Restore and Start over", p)
	}
	b.screenshot(t, "demo-lost.png")
	b.run(t, chromedp.SetUploadFiles(testid("restore-file"), []string{file}))
	b.poll(t, "the restore to start", `document.body.dataset.ready !== 'error'`)
	b.waitReady(t)
	if got := b.demoState(t); !reflect.DeepEqual(got, want) {
		t.Fatalf("after restoring the export the demo shows\n%+v\nwant\n%+v", got, want)
	}
	// The shim records a database's newest segment (what shows a later
	// loss) at its first commit after an open: make one.
	d.commits = 0
	d.addItem(l, "Written after the restore")
	d.settle()

	lose()
	b.waitProblem(t, false)
	b.run(t, chromedp.Click(testid("accept-loss")))
	b.poll(t, "the new start", `document.body.dataset.ready !== 'error'`)
	b.waitReady(t)
	got := b.demoState(t)
	if !reflect.DeepEqual(got.Boards, []string{"dbrs roadmap"}) || len(got.Lists) != 3 {
		t.Fatalf("after starting over the demo shows %+v, want the sample board alone", got)
	}
	b.run(t, chromedp.Reload())
	b.waitReady(t)
	if again := b.demoState(t); !reflect.DeepEqual(again, got) {
		t.Fatalf("after starting over and a reload the demo shows %+v, want %+v", again, got)
	}
}

// TestDemo_TwoTabsSideBySide opens the demo in two same-origin frames side
// by side: one leads, the other follows; a board added in either shows in
// both, without a reload, and a draft being typed survives it.
func TestDemo_TwoTabsSideBySide(t *testing.T) {
	b := tabsPage(t)
	var got struct {
		Roles  []string `json:"roles"`
		Boards []string `json:"boards"`
		Typing []any    `json:"typing"`
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
// A commit from the other tab re-renders this one: a draft being typed
// keeps its text, focus and caret.
const draft = doc(0).querySelector('[data-testid=board-title-input]');
draft.value = 'Draft'; frames[0].contentWindow.focus(); draft.focus(); draft.setSelectionRange(2, 2);
if (doc(0).activeElement !== draft) throw new Error('could not focus the draft: ' + doc(0).activeElement?.outerHTML);
// (Through the model: the form would move the page's focus to frame 1.)
await frames[1].contentWindow.dbrsDemo.model.addBoard('Third');
await waitFor(() => boards(0).includes('Third') && boards(1).includes('Third'), 'the third board in both');
const d = doc(0).querySelector('[data-testid=board-title-input]');
const typing = [d.value, doc(0).activeElement === d, d.selectionStart];
const roles = frames.map((f) => f.contentWindow.dbrsDemo.db.stats().role);
return { roles, boards: boards(1), typing };`, &got)
	slices.Sort(got.Roles) // the frames load at once: either may lead
	if !slices.Equal(got.Roles, []string{"follower", "leader"}) || len(got.Boards) != 3 {
		t.Fatalf("demo in two tabs: %+v", got)
	}
	if len(got.Typing) != 3 || got.Typing[0] != "Draft" || got.Typing[1] != true || got.Typing[2] != 2.0 {
		t.Fatalf("a draft after another tab's commit: [value focused caret] = %v, want [Draft true 2]", got.Typing)
	}
}
