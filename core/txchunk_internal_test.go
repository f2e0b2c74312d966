package core

import (
	"bytes"
	"fmt"
	"iter"
	"strings"
	"testing"
)

type chunkSchema struct{ T LookupTable[int, RawValue] }

func rawStr(s string) RawValue { return RawValue(appendStr(nil, s)) }

// chunkValue is about 1 KiB, so that a few hundred entries span chunks.
func chunkValue(i int) RawValue { return rawStr(fmt.Sprintf("%d %s", i, strings.Repeat("v", 1000))) }

func rangeOf(from, to int) iter.Seq2[int, RawValue] {
	return func(yield func(int, RawValue) bool) {
		for i := from; i < to; i++ {
			if !yield(i, chunkValue(i)) {
				return
			}
		}
	}
}

// A transaction written in many chunks streams them as commit-part
// records, ends with one commit record, and replays whole.
func TestTxChunks_StreamedAsParts(t *testing.T) {
	mem := NewMemBackend()
	db, err := Open[chunkSchema](mem, Options{CompactRatio: -1})
	mustOK(t, err)
	const n = 3 * txChunkSize / 1000
	mustOK(t, db.Update(func(s *chunkSchema) error { return s.T.InsertMany(rangeOf(0, n)) }))
	if len(db.e.w.kept) != 0 {
		t.Fatalf("%d chunks kept after the commit", len(db.e.w.kept))
	}
	mustOK(t, db.Close())
	mem = mem.Reopen()
	commits, parts := 0, 0
	for _, r := range recordsOf(t, mem, 1) {
		switch recordKind(r.payload) {
		case recordCommit:
			commits++
		case recordCommitPart:
			parts++
		}
	}
	if commits != 1 || parts < 3 {
		t.Fatalf("%d commit records and %d commit-part records, want 1 and at least 3", commits, parts)
	}
	db, err = Open[chunkSchema](mem, Options{CompactRatio: -1})
	mustOK(t, err)
	defer db.Close()
	if got := db.Tables.T.Len(); got != n {
		t.Fatalf("replayed %d keys, want %d", got, n)
	}
	for _, i := range []int{0, n / 2, n - 1} {
		if v, _ := db.Tables.T.Get(i); string(v) != string(chunkValue(i)) {
			t.Fatalf("key %d: wrong value after replay", i)
		}
	}
}

// An op that fails after its entries crossed chunk boundaries leaves the
// transaction as it was before the op, in memory and in what it commits.
func TestTxChunks_FailedOpRewindsAcrossChunks(t *testing.T) {
	for _, small := range []bool{false, true} {
		t.Run(fmt.Sprintf("smallRecords=%v", small), func(t *testing.T) {
			mem := NewMemBackend()
			db, err := Open[chunkSchema](mem, Options{CompactRatio: -1})
			mustOK(t, err)
			if small {
				db.e.recordLimit, db.e.partSize = 64<<10, 8<<10
			}
			const before, failed = 100, 1000
			err = db.Update(func(s *chunkSchema) error {
				mustOK(t, s.T.InsertMany(rangeOf(0, before)))
				chunks := len(db.e.w.kept)
				crossed := 0
				bad := func(yield func(int, RawValue) bool) {
					for i, v := range rangeOf(before, before+failed) {
						if !yield(i, v) {
							return
						}
					}
					crossed = len(db.e.w.kept) - chunks
					yield(before+failed, RawValue{0xc1})
				}
				if err := s.T.InsertMany(bad); err == nil {
					t.Fatal("InsertMany of a bad value succeeded")
				}
				if crossed < 2 {
					t.Fatalf("the failed op crossed %d chunk boundaries; the test needs more", crossed)
				}
				if got := len(db.e.w.kept); got != chunks {
					t.Fatalf("%d chunks kept after the failed op, want %d", got, chunks)
				}
				if got := s.T.Len(); got != before {
					t.Fatalf("%d keys after the failed op, want %d", got, before)
				}
				return s.T.InsertMany(rangeOf(before, before+10))
			})
			mustOK(t, err)
			mustOK(t, db.Close())
			db, err = Open[chunkSchema](mem.Reopen(), Options{CompactRatio: -1})
			mustOK(t, err)
			defer db.Close()
			if got := db.Tables.T.Len(); got != before+10 {
				t.Fatalf("replayed %d keys, want %d", got, before+10)
			}
			for i := range before + 10 {
				if v, _ := db.Tables.T.Get(i); string(v) != string(chunkValue(i)) {
					t.Fatalf("key %d: wrong value after replay", i)
				}
			}
		})
	}
}

// A transaction that streamed several records rolls back exactly, and
// leaves the log as it was.
func TestTxChunks_RollbackMultiRecord(t *testing.T) {
	mem := NewMemBackend()
	db, err := Open[chunkSchema](mem, Options{CompactRatio: -1})
	mustOK(t, err)
	defer db.Close()
	db.e.recordLimit, db.e.partSize = 64<<10, 8<<10
	mustOK(t, db.Update(func(s *chunkSchema) error { return s.T.InsertMany(rangeOf(0, 10)) }))
	live, log := db.Stats().LiveBytes, segmentBytes(t, mem, db.e.active)
	boom := fmt.Errorf("boom")
	err = db.Update(func(s *chunkSchema) error {
		mustOK(t, s.T.InsertMany(rangeOf(5, 300))) // 5..9 replaced, the rest new
		mustOK(t, s.T.Remove(0))
		if n := len(segmentBytes(t, mem, db.e.active)) - len(log); n < 10*8<<10 {
			t.Fatalf("%d bytes streamed; the test needs a transaction of several records", n)
		}
		return boom
	})
	if err != boom {
		t.Fatalf("Update returned %v", err)
	}
	if n := db.Tables.T.Len(); n != 10 {
		t.Fatalf("%d keys after the rollback, want 10", n)
	}
	for i := range 10 {
		if v, _ := db.Tables.T.Get(i); string(v) != string(chunkValue(i)) {
			t.Fatalf("key %d: wrong value after the rollback", i)
		}
	}
	if db.Stats().LiveBytes != live {
		t.Fatal("the rollback changed LiveBytes")
	}
	if got := segmentBytes(t, mem, db.e.active); string(got) != string(log) {
		t.Fatalf("the log holds %d bytes after the rollback, want the %d it held before", len(got), len(log))
	}
}

// segmentBytes returns what segment id of mem holds.
func segmentBytes(t *testing.T, mem *MemBackend, id uint64) []byte {
	t.Helper()
	data, err := mem.ReadSegment(id)
	mustOK(t, err)
	return data
}

type aliasSchema struct{ T LookupTable[string, string] }

type aliasRawSchema struct{ T LookupTable[RawKey, RawValue] }

// RawValues a table holds in a transaction's chunks (aliasValue, as the
// browser's dynamic tables do) keep their bytes: through a failed op that
// rewinds the writer, more writes, the commit and the next transaction.
func TestTxChunks_AliasedRawValuesNeverChange(t *testing.T) {
	mem := NewMemBackend()
	db, err := Open[aliasRawSchema](mem, Options{CompactRatio: -1})
	mustOK(t, err)
	defer db.Close()
	db.Tap(func(Committed) {}) // a tapped database does not stream
	key := func(i int) RawKey { return RawKey(fmt.Sprintf("\xa8k%07d", i)) }
	val := func(round, i int) RawValue {
		s := fmt.Sprintf("%d %d %s", round, i, strings.Repeat("v", 100))
		return append(RawValue{0xd9, byte(len(s))}, s...)
	}
	insert := func(tx *Tx[aliasRawSchema], round, from, to int) {
		for i := from; i < to; i++ {
			mustOK(t, tx.Tables.T.insert(tx.t, key(i), val(round, i)))
		}
	}
	want := map[int]int{} // key → the round whose value it must hold
	check := func(when string, get func(RawKey) (RawValue, bool)) {
		t.Helper()
		for i, round := range want {
			if v, ok := get(key(i)); !ok || !bytes.Equal(v, val(round, i)) {
				t.Fatalf("%s: key %d holds %.24q, want %.24q", when, i, v, val(round, i))
			}
		}
	}
	tx, err := db.Begin()
	mustOK(t, err)
	defer func() { tx.Rollback() }() // a failure must not leave Close waiting
	insert(tx, 0, 0, 5000)
	if !db.e.w.shared {
		t.Fatal("no value was aliased; the test needs some")
	}
	for i := range 5000 {
		want[i] = 0
	}
	boom := fmt.Errorf("boom")
	failed := func(*txn) error {
		insert(tx, 1, 4000, 8000)
		return boom
	}
	if err := tx.t.do(failed); err != boom {
		t.Fatalf("do returned %v", err)
	}
	insert(tx, 2, 5000, 9000) // lands where the failed op wrote
	for i := 5000; i < 9000; i++ {
		want[i] = 2
	}
	check("after the failed op", tx.Tables.T.Get)
	mustOK(t, tx.Commit())
	check("after the commit", db.Tables.T.Get)
	tx, err = db.Begin()
	mustOK(t, err)
	insert(tx, 3, 10000, 19000) // other keys, in the next transaction's chunks
	for i := 10000; i < 19000; i++ {
		want[i] = 3
	}
	mustOK(t, tx.Commit())
	check("after the next transaction", db.Tables.T.Get)
}

// Strings a table holds in a transaction's chunks (aliasValue) never
// change: not when a failed op rewinds the writer and more is written,
// not when the next transaction writes. Only a transaction that does not
// stream (a tapped database's) aliases them.
func TestTxChunks_AliasedStringsNeverChange(t *testing.T) {
	mem := NewMemBackend()
	db, err := Open[aliasSchema](mem, Options{CompactRatio: -1})
	mustOK(t, err)
	defer db.Close()
	db.Tap(func(Committed) {})
	val := func(round, i int) string { return fmt.Sprintf("%d %d %s", round, i, strings.Repeat("v", 100)) }
	insert := func(tx *Tx[aliasSchema], round, from, to int) {
		for i := from; i < to; i++ {
			mustOK(t, tx.Tables.T.insert(tx.t, fmt.Sprint("k", i), val(round, i)))
		}
	}
	tx, err := db.Begin()
	mustOK(t, err)
	defer func() { tx.Rollback() }() // a failure must not leave Close waiting
	insert(tx, 0, 0, 5000)
	if !db.e.w.shared {
		t.Fatal("no string was aliased; the test needs some")
	}
	held := map[string]string{} // strings read, by the value they must keep
	hold := func(round, i int) {
		v, _ := tx.Tables.T.Get(fmt.Sprint("k", i))
		held[val(round, i)] = v
	}
	hold(0, 4000)
	hold(0, 4999)
	boom := fmt.Errorf("boom")
	failed := func(*txn) error {
		insert(tx, 1, 4000, 8000)
		hold(1, 4000) // read inside the op that fails, written right after where it rewinds to
		hold(1, 4001)
		return boom
	}
	if err := tx.t.do(failed); err != boom {
		t.Fatalf("do returned %v", err)
	}
	insert(tx, 2, 5000, 9000) // would land where the failed op wrote
	hold(2, 8999)             // in the last chunk, which the next transaction must not reuse
	check := func(when string) {
		for want, v := range held {
			if v != want {
				t.Fatalf("%s: a string read earlier changed: %.20q, want %.20q", when, v, want)
			}
		}
	}
	check("after the failed op")
	mustOK(t, tx.Commit())
	tx, err = db.Begin()
	mustOK(t, err)
	insert(tx, 3, 0, 9000)
	check("in the next transaction")
	mustOK(t, tx.Commit())
	check("after it")
	for _, i := range []int{0, 4999, 8999} {
		if v, _ := db.Tables.T.Get(fmt.Sprint("k", i)); v != val(3, i) {
			t.Fatalf("k%d = %.20q, want %.20q", i, v, val(3, i))
		}
	}
}
