// Package backendtest is the conformance suite for core.Backend
// implementations. Every backend (memory, OS files, IndexedDB) runs the same
// checks, so core can rely on the contract documented on core.Backend and not
// on one implementation's habits.
//
// The suite uses only the Backend interface: no files, no os package, so it
// also runs under GOOS=js against a browser backend.
package backendtest

import (
	"bytes"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/dbrs-db/dbrs/core"
)

// Run runs the conformance suite as subtests of t. open must return a new,
// empty backend that shares nothing with any other backend open returned; it
// may register its own cleanup with t (for example a temporary folder). Run
// closes every backend it opens when the subtest ends, including backends the
// subtest already closed, so a second Close must not panic.
func Run(t *testing.T, open func(t *testing.T) core.Backend) {
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, b core.Backend)
	}{
		{"Segments/Empty", testSegmentsEmpty},
		{"Create/ListedAscending", testCreateListedAscending},
		{"Create/Exists", testCreateExists},
		{"Append/ReadSegment", testAppendRead},
		{"Append/NotRetained", testAppendNotRetained},
		{"Append/Large", testAppendLarge},
		{"ReadSegment/CallerOwnsResult", testReadCallerOwns},
		{"ReadSegment/Missing", testReadMissing},
		{"Truncate/Discards", testTruncateDiscards},
		{"Truncate/ThenAppend", testTruncateThenAppend},
		{"Truncate/ToZero", testTruncateToZero},
		{"Sync", testSync},
		{"Install/Chunks", testInstallChunks},
		{"Install/NoRemove", testInstallNoRemove},
		{"Install/Exists", testInstallExists},
		{"Concurrent/SyncAppendRead", testConcurrentSyncAppendRead},
		{"Close/ThenErrors", testCloseThenErrors},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := open(t)
			t.Cleanup(func() { _ = b.Close() })
			tc.fn(t, b)
		})
	}
}

// pattern returns n deterministic non-zero bytes derived from seed, so a
// misplaced or lost byte is visible and never mistaken for a zero tail.
func pattern(seed, n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte((seed*131+i*7)%251) + 1
	}
	return p
}

// checkData fails t unless got is want followed by zero or more zero bytes,
// the shape the Backend contract allows for ReadSegment.
func checkData(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if len(got) < len(want) {
		t.Fatalf("%s: got %d bytes, want at least %d", what, len(got), len(want))
	}
	if !bytes.Equal(got[:len(want)], want) {
		i := 0
		for got[i] == want[i] {
			i++
		}
		t.Fatalf("%s: byte %d is %#x, want %#x", what, i, got[i], want[i])
	}
	if tail := got[len(want):]; !isZero(tail) {
		i := bytes.IndexFunc(tail, func(r rune) bool { return r != 0 })
		t.Fatalf("%s: got non-zero bytes %d bytes past the data end %d, want a zero tail", what, i, len(want))
	}
}

var zeros [64 << 10]byte

// isZero reports whether b holds only zero bytes.
func isZero(b []byte) bool {
	for len(b) > 0 {
		n := min(len(b), len(zeros))
		if !bytes.Equal(b[:n], zeros[:n]) {
			return false
		}
		b = b[n:]
	}
	return true
}

func mustSegments(t *testing.T, b core.Backend, want ...uint64) {
	t.Helper()
	got, err := b.Segments()
	if err != nil {
		t.Fatalf("Segments: %v", err)
	}
	if want == nil {
		want = []uint64{}
	}
	if got == nil {
		got = []uint64{}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("Segments = %v, want %v", got, want)
	}
}

func mustCreate(t *testing.T, b core.Backend, id uint64) {
	t.Helper()
	if err := b.Create(id); err != nil {
		t.Fatalf("Create(%d): %v", id, err)
	}
}

func mustAppend(t *testing.T, b core.Backend, id uint64, off int64, p []byte) {
	t.Helper()
	if err := b.Append(id, off, p); err != nil {
		t.Fatalf("Append(%d, %d, %d bytes): %v", id, off, len(p), err)
	}
}

func mustRead(t *testing.T, b core.Backend, id uint64) []byte {
	t.Helper()
	data, err := b.ReadSegment(id)
	if err != nil {
		t.Fatalf("ReadSegment(%d): %v", id, err)
	}
	return data
}

func testSegmentsEmpty(t *testing.T, b core.Backend) {
	mustSegments(t, b)
}

func testCreateListedAscending(t *testing.T, b core.Backend) {
	for _, id := range []uint64{7, 1, 1 << 40, 3} {
		mustCreate(t, b, id)
	}
	mustSegments(t, b, 1, 3, 7, 1<<40)
	for _, id := range []uint64{1, 3, 7, 1 << 40} {
		checkData(t, fmt.Sprintf("new segment %d", id), mustRead(t, b, id), nil)
	}
}

func testCreateExists(t *testing.T, b core.Backend) {
	mustCreate(t, b, 5)
	mustAppend(t, b, 5, 0, pattern(1, 10))
	if err := b.Create(5); err == nil {
		t.Fatal("second Create(5) succeeded, want an error")
	}
	mustSegments(t, b, 5)
	checkData(t, "segment 5 after the failed Create", mustRead(t, b, 5), pattern(1, 10))
}

func testAppendRead(t *testing.T, b core.Backend) {
	mustCreate(t, b, 1)
	mustCreate(t, b, 2)
	var want1, want2 []byte
	for i, n := range []int{1, 8, 100, 4096, 3} {
		p := pattern(i, n)
		mustAppend(t, b, 1, int64(len(want1)), p)
		want1 = append(want1, p...)
		q := pattern(i+50, n+1)
		mustAppend(t, b, 2, int64(len(want2)), q)
		want2 = append(want2, q...)
		checkData(t, fmt.Sprintf("segment 1 after append %d", i), mustRead(t, b, 1), want1)
	}
	checkData(t, "segment 1", mustRead(t, b, 1), want1)
	checkData(t, "segment 2", mustRead(t, b, 2), want2)
}

func testAppendNotRetained(t *testing.T, b core.Backend) {
	mustCreate(t, b, 1)
	p := pattern(3, 64)
	want := slices.Clone(p)
	mustAppend(t, b, 1, 0, p)
	for i := range p {
		p[i] = 0xee
	}
	checkData(t, "segment 1 after the caller reused its buffer", mustRead(t, b, 1), want)
}

func testAppendLarge(t *testing.T, b core.Backend) {
	mustCreate(t, b, 1)
	var want []byte
	for i := range 40 {
		p := pattern(i, 64<<10)
		mustAppend(t, b, 1, int64(len(want)), p)
		want = append(want, p...)
	}
	checkData(t, "2.5 MiB segment", mustRead(t, b, 1), want)
}

func testReadCallerOwns(t *testing.T, b core.Backend) {
	mustCreate(t, b, 1)
	want := pattern(4, 32)
	mustAppend(t, b, 1, 0, want)
	got := mustRead(t, b, 1)
	for i := range got {
		got[i] = 0xee
	}
	checkData(t, "segment 1 after the caller changed a read result", mustRead(t, b, 1), want)
}

func testReadMissing(t *testing.T, b core.Backend) {
	if _, err := b.ReadSegment(9); err == nil {
		t.Fatal("ReadSegment of a segment never created succeeded, want an error")
	}
	mustCreate(t, b, 1)
	if _, err := b.ReadSegment(2); err == nil {
		t.Fatal("ReadSegment(2) with only segment 1 present succeeded, want an error")
	}
}

func testTruncateDiscards(t *testing.T, b core.Backend) {
	mustCreate(t, b, 1)
	data := pattern(5, 100)
	mustAppend(t, b, 1, 0, data)
	if err := b.Truncate(1, 40); err != nil {
		t.Fatalf("Truncate(1, 40): %v", err)
	}
	checkData(t, "segment 1 after Truncate(40)", mustRead(t, b, 1), data[:40])
	if err := b.Sync(1); err != nil {
		t.Fatalf("Sync after Truncate: %v", err)
	}
	checkData(t, "segment 1 after Truncate and Sync", mustRead(t, b, 1), data[:40])
}

func testTruncateThenAppend(t *testing.T, b core.Backend) {
	mustCreate(t, b, 1)
	data := pattern(6, 300)
	mustAppend(t, b, 1, 0, data[:200])
	mustAppend(t, b, 1, 200, data[200:])
	if err := b.Truncate(1, 150); err != nil {
		t.Fatalf("Truncate(1, 150): %v", err)
	}
	more := pattern(7, 20)
	mustAppend(t, b, 1, 150, more)
	want := append(slices.Clone(data[:150]), more...)
	checkData(t, "segment 1 after Truncate(150) and an append", mustRead(t, b, 1), want)
	if err := b.Sync(1); err != nil {
		t.Fatalf("Sync: %v", err)
	}
	checkData(t, "segment 1 after Sync", mustRead(t, b, 1), want)
}

func testTruncateToZero(t *testing.T, b core.Backend) {
	mustCreate(t, b, 1)
	mustAppend(t, b, 1, 0, pattern(8, 50))
	if err := b.Truncate(1, 0); err != nil {
		t.Fatalf("Truncate(1, 0): %v", err)
	}
	checkData(t, "segment 1 after Truncate(0)", mustRead(t, b, 1), nil)
	p := pattern(9, 10)
	mustAppend(t, b, 1, 0, p)
	checkData(t, "segment 1 after Truncate(0) and an append", mustRead(t, b, 1), p)
}

func testSync(t *testing.T, b core.Backend) {
	mustCreate(t, b, 1)
	if err := b.Sync(1); err != nil {
		t.Fatalf("Sync of an empty segment: %v", err)
	}
	p := pattern(10, 77)
	mustAppend(t, b, 1, 0, p)
	if err := b.Sync(1); err != nil {
		t.Fatalf("Sync after an append: %v", err)
	}
	if err := b.Sync(1); err != nil {
		t.Fatalf("Sync with nothing new: %v", err)
	}
	checkData(t, "segment 1 after Sync", mustRead(t, b, 1), p)
}

func testInstallChunks(t *testing.T, b core.Backend) {
	mustCreate(t, b, 1)
	mustAppend(t, b, 1, 0, pattern(11, 30))
	mustCreate(t, b, 2)
	mustAppend(t, b, 2, 0, pattern(12, 30))
	mustCreate(t, b, 4)
	kept := pattern(13, 30)
	mustAppend(t, b, 4, 0, kept)

	chunks := [][]byte{pattern(14, 100), {}, pattern(15, 1), pattern(16, 5000)}
	want := bytes.Join(chunks, nil)
	if err := b.Install(3, chunks, []uint64{1, 2}); err != nil {
		t.Fatalf("Install(3): %v", err)
	}
	mustSegments(t, b, 3, 4)
	checkData(t, "installed segment 3", mustRead(t, b, 3), want)
	checkData(t, "segment 4 left alone by Install", mustRead(t, b, 4), kept)
	for _, id := range []uint64{1, 2} {
		if _, err := b.ReadSegment(id); err == nil {
			t.Fatalf("ReadSegment(%d) after Install removed it succeeded, want an error", id)
		}
	}
}

func testInstallNoRemove(t *testing.T, b core.Backend) {
	mustCreate(t, b, 1)
	p := pattern(17, 40)
	mustAppend(t, b, 1, 0, p)
	if err := b.Install(2, [][]byte{p}, nil); err != nil {
		t.Fatalf("Install(2): %v", err)
	}
	if err := b.Install(3, nil, nil); err != nil {
		t.Fatalf("Install(3) with no chunks: %v", err)
	}
	mustSegments(t, b, 1, 2, 3)
	checkData(t, "segment 1", mustRead(t, b, 1), p)
	checkData(t, "installed segment 2", mustRead(t, b, 2), p)
	checkData(t, "empty installed segment 3", mustRead(t, b, 3), nil)
}

func testInstallExists(t *testing.T, b core.Backend) {
	mustCreate(t, b, 1)
	p := pattern(18, 40)
	mustAppend(t, b, 1, 0, p)
	mustCreate(t, b, 2)
	if err := b.Install(2, [][]byte{pattern(19, 10)}, []uint64{1}); err == nil {
		t.Fatal("Install over the existing segment 2 succeeded, want an error")
	}
	got, err := b.Segments()
	if err != nil {
		t.Fatalf("Segments: %v", err)
	}
	if !slices.Contains(got, 2) {
		t.Fatalf("Segments = %v after a failed Install(2), want 2 still listed", got)
	}
	checkData(t, "segment 2 after a failed Install over it", mustRead(t, b, 2), nil)
}

// testConcurrentSyncAppendRead appends from one goroutine while two others
// Sync and one reads, as core does with group commit and compaction. Under
// -race it also checks that the backend guards its own state.
func testConcurrentSyncAppendRead(t *testing.T, b core.Backend) {
	mustCreate(t, b, 1)
	mustCreate(t, b, 2)
	const appends = 200
	var want []byte
	for i := range appends {
		want = append(want, pattern(i, 1+i%37)...)
	}
	var (
		wg       sync.WaitGroup
		done     atomic.Bool
		appended atomic.Int64 // bytes of want whose Append returned
		errs     = make(chan error, 16)
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer done.Store(true)
		off := 0
		for i := range appends {
			n := 1 + i%37
			if err := b.Append(1, int64(off), want[off:off+n]); err != nil {
				errs <- fmt.Errorf("append %d: %w", i, err)
				return
			}
			off += n
			appended.Store(int64(off))
		}
	}()
	for g := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !done.Load() {
				if err := b.Sync(1); err != nil {
					errs <- fmt.Errorf("Sync(1) in syncer %d: %w", g, err)
					return
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !done.Load() {
			n := appended.Load()
			data, err := b.ReadSegment(1)
			if err != nil {
				errs <- fmt.Errorf("ReadSegment(1): %w", err)
				return
			}
			if int64(len(data)) < n || !bytes.Equal(data[:n], want[:n]) {
				errs <- fmt.Errorf("ReadSegment(1) during appends lost some of the first %d appended bytes", n)
				return
			}
			if err := b.Sync(2); err != nil {
				errs <- fmt.Errorf("Sync(2): %w", err)
				return
			}
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		return
	}
	if err := b.Sync(1); err != nil {
		t.Fatalf("final Sync: %v", err)
	}
	checkData(t, "segment 1 after concurrent appends and syncs", mustRead(t, b, 1), want)
}

func testCloseThenErrors(t *testing.T, b core.Backend) {
	mustCreate(t, b, 1)
	mustAppend(t, b, 1, 0, pattern(20, 10))
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := b.Segments(); err == nil {
		t.Error("Segments after Close succeeded, want an error")
	}
	if _, err := b.ReadSegment(1); err == nil {
		t.Error("ReadSegment after Close succeeded, want an error")
	}
	if err := b.Create(2); err == nil {
		t.Error("Create after Close succeeded, want an error")
	}
	if err := b.Append(1, 10, pattern(21, 5)); err == nil {
		t.Error("Append after Close succeeded, want an error")
	}
	if err := b.Sync(1); err == nil {
		t.Error("Sync after Close succeeded, want an error")
	}
	if err := b.Truncate(1, 0); err == nil {
		t.Error("Truncate after Close succeeded, want an error")
	}
	if err := b.Install(3, [][]byte{pattern(22, 5)}, []uint64{1}); err == nil {
		t.Error("Install after Close succeeded, want an error")
	}
	_ = b.Close()
}
