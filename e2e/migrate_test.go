//go:build !js

package e2e

import (
	"reflect"
	"testing"

	"github.com/chromedp/chromedp"
)

// Schema upgrades in the browser (js/src/migrate.ts over
// platform/wasm/bridge_upgrade.go and core/migrate.go).

// The schema at version 1 and 2, and the upgrade between them: people is
// renamed users and its ages become objects, the queue's numbers become
// strings, trash is dropped. window.runs counts the upgrade's runs.
const (
	migV1 = `{ people: dbrs.lookupTable(), queue: dbrs.list(), trash: dbrs.lookupTable(), keep: dbrs.single() }`
	migV2 = `{ users: dbrs.lookupTable(), queue: dbrs.list({ value: 'string' }), keep: dbrs.single() }`

	migUpgrade = `{ version: 2, upgrade(u) {
  window.runs = (window.runs ?? 0) + 1;
  window.from = u.from;
  u.rename('people', 'users');
  u.transform('users', (age, name) => ({ name, age }));
  u.transform('queue', (n, i) => i + ':' + n * 10);
  u.drop('trash');
} }`

	migFill = `
const db = await dbrs.open(NAME, ` + migV1 + `, { version: 1 });
await db.transaction((tx) => {
  tx.people.insert('ann', 31);
  tx.people.insert('bob', 42);
  tx.queue.push(1); tx.queue.push(2); tx.queue.push(3);
  tx.trash.insert('t', 'gone');
  tx.keep.insert({ kept: true });
});
await db.close();
return null;`

	migReadV2 = `
return { users: Object.fromEntries(db.tables.users.entries()), queue: db.tables.queue.all(),
  keep: db.tables.keep.get(), runs: window.runs ?? 0, from: window.from ?? null };`
)

type migState struct {
	Users map[string]any `json:"users"`
	Queue []any          `json:"queue"`
	Keep  any            `json:"keep"`
	Runs  int            `json:"runs"`
	From  any            `json:"from"`
}

var migWant = migState{
	Users: map[string]any{"ann": map[string]any{"name": "ann", "age": float64(31)}, "bob": map[string]any{"name": "bob", "age": float64(42)}},
	Queue: []any{"0:10", "1:20", "2:30"},
	Keep:  map[string]any{"kept": true},
}

func named(name, body string) string { return "const NAME = " + q(name) + ";\n" + body }

// TestMigrate_UpgradeOnceAcrossReloads opens version 1, writes, reopens
// at version 2 with an upgrade (rename, transform, drop), and reloads:
// the data is upgraded once, stays upgraded, and version 1 is refused.
func TestMigrate_UpgradeOnceAcrossReloads(t *testing.T) {
	base := serveSite(t)
	b := startBrowser(t, "")
	openShimPage(t, b, base)
	b.js(t, named("mig", migFill), nil)

	var got migState
	b.js(t, `window.db = await dbrs.open('mig', `+migV2+`, `+migUpgrade+`);`+migReadV2, &got)
	want := migWant
	want.Runs, want.From = 1, float64(1)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("after the upgrade: %+v, want %+v", got, want)
	}
	b.js(t, `await db.tables.users.insert('cy', { name: 'cy', age: 5 }); await db.close(); return null;`, nil)

	b.run(t, chromedp.Reload())
	b.waitReady(t)
	b.js(t, `window.db = await dbrs.open('mig', `+migV2+`, `+migUpgrade+`);
const r = (() => {`+migReadV2+`})();
delete r.users.cy;
return r;`, &got)
	want.Runs, want.From = 0, nil
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("reopened after a reload: %+v, want %+v (the upgrade must not run again)", got, want)
	}
	b.js(t, `await db.close(); return null;`, nil)

	var refused struct {
		Code string `json:"code"`
		Msg  string `json:"msg"`
	}
	b.js(t, `try { await dbrs.open('mig', `+migV1+`, { version: 1 }); return { code: 'opened' }; }
catch (e) { return { code: e.code, msg: e.message }; }`, &refused)
	if refused.Code != "Version" {
		t.Fatalf("open at version 1 of a version-2 database: %+v, want code Version", refused)
	}
}

// TestMigrate_FailedUpgradeLeavesVersion1 throws from the upgrade after
// some steps, and closes a tab in the middle of another: both leave the
// database at version 1, which then upgrades normally.
func TestMigrate_FailedUpgradeLeavesVersion1(t *testing.T) {
	base := serveSite(t)
	b := startBrowser(t, "")
	openShimPage(t, b, base)
	b.js(t, named("mig-fail", migFill), nil)

	var thrown string
	b.js(t, `try {
  await dbrs.open('mig-fail', `+migV2+`, { version: 2, upgrade(u) {
    u.rename('people', 'users');
    u.transform('queue', (n) => 'x' + n);
    u.drop('trash');
    throw new Error('my upgrade failed');
  } });
  return 'opened';
} catch (e) { return e.message; }`, &thrown)
	if thrown != "my upgrade failed" {
		t.Fatalf("open with a throwing upgrade: %q, want the thrown error", thrown)
	}
	checkV1 := func(what string) {
		t.Helper()
		var v1 map[string]any
		b.js(t, `const db = await dbrs.open('mig-fail', `+migV1+`, { version: 1 });
const r = { bob: db.tables.people.get('bob'), queue: db.tables.queue.all(), trash: db.tables.trash.get('t') };
await db.close();
return r;`, &v1)
		want := map[string]any{"bob": float64(42), "queue": []any{float64(1), float64(2), float64(3)}, "trash": "gone"}
		if !reflect.DeepEqual(v1, want) {
			t.Fatalf("%s: version 1 reads %v, want %v", what, v1, want)
		}
	}
	checkV1("after a throwing upgrade")

	// An upgrade that never ends, and a reload under it.
	b.js(t, `dbrs.open('mig-fail', `+migV2+`, { version: 2, upgrade(u) {
  u.rename('people', 'users');
  u.transform('users', (age, name) => ({ name, age }));
  window.inUpgrade = true;
  return new Promise(() => {});
} });
return null;`, nil)
	b.poll(t, "the upgrade to start", `window.inUpgrade === true`)
	b.run(t, chromedp.Reload())
	b.waitReady(t)
	checkV1("after a reload in the middle of an upgrade")

	var got migState
	b.js(t, `window.db = await dbrs.open('mig-fail', `+migV2+`, `+migUpgrade+`);`+migReadV2, &got)
	want := migWant
	want.Runs, want.From = 1, float64(1)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("the upgrade after the failed ones: %+v, want %+v", got, want)
	}
}
