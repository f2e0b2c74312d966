//go:build js && wasm

package wasm

import (
	"bytes"
	"context"
	"errors"
	"syscall/js"
	"testing"

	"github.com/dbrs-db/dbrs/core"
	"github.com/hack-pad/go-indexeddb/idb"
)

// A failed flush after a compaction drops the buffered schema record of the
// new active segment; core never learns and every later write fails.
func TestRegress_FlushFailureAfterCompactWedges(t *testing.T) {
	tb := newTestBridge(t)
	name := newDBName(t)
	h := tb.open(name)
	tb.put(h, "a", 1)
	mustAwait(t, "compact", tb.call("compact", h))

	tb.b.lookup(h).backend.FailNextWrite(ErrQuotaExceeded)
	tb.call("begin", h)
	tb.apply(h, "kv", "insert", mp("b", 2))
	_, rej := await(t, tb.call("commit", h))
	wantCode(t, "commit during quota", rej, "Quota")

	// The quota error is gone: the next commits should succeed.
	for i, k := range []string{"c", "d"} {
		if r := tb.call("begin", h); !r.IsNull() {
			t.Fatalf("begin %d: %s %s", i, errCode(r), r.Get("message").String())
		}
		tb.apply(h, "kv", "insert", mp(k, 3))
		p := tb.call("commit", h)
		if v, rej := await(t, p); !rej.IsUndefined() {
			t.Errorf("commit %q after the quota error: code %s: %s (v=%v)", k, errCode(rej), rej.Get("message").String(), v)
		}
	}
	t.Logf("stats: %v", tb.stats(h))
	tb.closeH(h)
	h2 := tb.open(name)
	defer tb.closeH(h2)
	if got := tb.get(h2, "a"); !bytes.Equal(got, mpv(1)) {
		t.Errorf("after reopen a = %x", got)
	}
	if got := tb.get(h2, "c"); got == nil {
		t.Errorf("after reopen c is absent")
	}
}

// reviewSegments writes one commit with core on a MemBackend and returns the
// exported (trimmed) segments.
func reviewSegments(t *testing.T) []core.Segment {
	specs := []core.TableSpec{{Name: "kv", Kind: "lookup_table"}, {Name: "log", Kind: "list"}, {Name: "tags", Kind: "lookup_set"}, {Name: "owner", Kind: "single"}}
	db, err := core.OpenDynamic(core.NewMemBackend(), specs, core.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Tables.Do("kv", "insert", mp("a", 1)); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	segs, err := db.Export()
	if err != nil {
		t.Fatal(err)
	}
	return segs
}

func segsJS(segs []core.Segment) js.Value {
	arr := jsArray.New(len(segs))
	for i, s := range segs {
		o := jsObject.New()
		o.Set("id", float64(s.ID))
		o.Set("data", toBytesJS(s.Data))
		arr.SetIndex(i, o)
	}
	return arr
}

// Native segment files are preallocated: their bytes end in zeros. The shim
// documents importLog for "the segment files of a natively written dbrs
// folder".
func TestRegress_ImportPreallocatedNativeSegment(t *testing.T) {
	segs := reviewSegments(t)
	last := &segs[len(segs)-1]
	last.Data = append(last.Data, make([]byte, 4096)...) // fallocate'd tail
	tb := newTestBridge(t)
	name := newDBName(t)
	mustAwait(t, "importLog", tb.call("importLog", name, segsJS(segs)))
	h := tb.open(name)
	defer tb.closeH(h)
	if got := tb.get(h, "a"); !bytes.Equal(got, mpv(1)) {
		t.Fatalf("a = %x", got)
	}
	if r := tb.call("begin", h); !r.IsNull() {
		t.Fatalf("begin: %s %s", errCode(r), r.Get("message").String())
	}
	tb.apply(h, "kv", "insert", mp("b", 2))
	p := tb.call("commit", h)
	if isError(p) {
		t.Fatalf("commit after import: %s %s", errCode(p), p.Get("message").String())
	}
	if _, rej := await(t, p); !rej.IsUndefined() {
		t.Fatalf("commit after import: %s %s", errCode(rej), rej.Get("message").String())
	}
}

// A native segment whose last record is torn (kill -9 mid-write).
func TestRegress_ImportTornNativeSegment(t *testing.T) {
	segs := reviewSegments(t)
	last := &segs[len(segs)-1]
	last.Data = append(last.Data, 9, 0, 0, 0, 1, 2, 3, 4, 0x93) // a torn record: length 9, 1 payload byte
	tb := newTestBridge(t)
	name := newDBName(t)
	mustAwait(t, "importLog", tb.call("importLog", name, segsJS(segs)))
	v, rej := await(t, tb.call("open", name, testTables, map[string]any{}))
	if !rej.IsUndefined() {
		t.Fatalf("open of an imported log with a torn tail: %s %s", errCode(rej), rej.Get("message").String())
	}
	tb.closeH(v.Int())
}

// An import restores a backup over a store whose content is damaged (a
// chunk that is not a Uint8Array): it must not need to read the old content.
func TestRegress_ImportOverCorruptStore(t *testing.T) {
	name := newDBName(t)
	b, err := OpenIDB(context.Background(), name, IDBOptions{})
	if err != nil {
		t.Fatal(err)
	}
	err = b.write("test", idb.DurabilityStrict, nil, func(store *idb.ObjectStore) error {
		_, err := store.PutKey(chunkKey(1, 0), js.ValueOf("not bytes"))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	if _, err := OpenIDB(context.Background(), name, IDBOptions{}); !errors.Is(err, ErrCorruptStore) {
		t.Fatalf("open of the damaged store = %v, want ErrCorruptStore", err)
	}
	segs := reviewSegments(t)
	if err := ImportIDB(context.Background(), name, segs); err != nil {
		t.Fatalf("import over the damaged store: %v", err)
	}
	b, err = OpenIDB(context.Background(), name, IDBOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	db, err := core.OpenDynamic(b, []core.TableSpec{{Name: "kv", Kind: "lookup_table"}, {Name: "log", Kind: "list"}, {Name: "tags", Kind: "lookup_set"}, {Name: "owner", Kind: "single"}}, core.Options{})
	if err != nil {
		t.Fatalf("open the imported log: %v", err)
	}
	db.Close()
}
