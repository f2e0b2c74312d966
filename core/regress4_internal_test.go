package core

import (
	"bytes"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"
)

type blobState struct{ items [][]byte }

func (b *blobState) Kind() string { return "blob" }
func (b *blobState) Apply(entry []byte) (func(), error) {
	b.items = append(b.items, bytes.Clone(entry))
	return func() { b.items = b.items[:len(b.items)-1] }, nil
}
func (b *blobState) Compact(emit func([]byte) error) error {
	for _, it := range b.items {
		if err := emit(it); err != nil {
			return err
		}
	}
	return nil
}

// R7: custom (and opaque) tables count 0 live bytes, so once the log passes
// CompactMinBytes every commit triggers a full rewrite of the database.
func TestRegressCustomTableCompactionStorm(t *testing.T) {
	type S struct {
		B Custom[blobState, *blobState]
	}
	db, err := Open[S](NewMemBackend(), Options{Sync: SyncNever, CompactMinBytes: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	val, _ := msgpack.Marshal(bytes.Repeat([]byte("z"), 1000))
	for i := 0; i < 100; i++ { // ~100 KiB of state
		if err := db.Tables.B.Apply(val); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(100 * time.Millisecond)
	before := db.Stats().Compactions
	for i := 0; i < 50; i++ { // 50 more KiB: 50% growth
		db.Tables.B.Apply(val)
		time.Sleep(2 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	n := db.Stats().Compactions - before
	if n > 5 {
		t.Errorf("%d full compactions for 50 small commits (log grew by 50%%); LiveBytes=%d LogBytes=%d", n, db.Stats().LiveBytes, db.Stats().LogBytes)
	}
}
