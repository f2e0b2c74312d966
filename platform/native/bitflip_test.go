package native_test

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dbrs-db/dbrs/core"
	"github.com/dbrs-db/dbrs/platform/native"
)

// flipStride is the distance between the offsets TestBitFlip damages: the
// default keeps it to a few seconds under -race; `make reliability` flips
// a bit at every offset (-dbrs.flipstride=1). A prime stride varies the
// flipped bit.
var flipStride = flag.Int("dbrs.flipstride", 257, "TestBitFlip flips one bit every N bytes of the log (1: every offset)")

// flipLogBytes is the size of the log TestBitFlip damages.
const flipLogBytes = 64 << 10

// flipValue is what commit i stores in Seen[i].
func flipValue(i int) string { return fmt.Sprintf("v%d-%s", i, strings.Repeat("x", i%50)) }

// prefixState returns n if db holds exactly the state of commits 1..n of
// the flip workload, and an error otherwise.
func prefixState(db *core.DB[killSchema]) (int, error) {
	n, _ := db.Tables.Counter.Get()
	if db.Tables.Seen.Len() != n || db.Tables.Order.Len() != n {
		return 0, fmt.Errorf("half a transaction: counter %d, seen %d, order %d", n, db.Tables.Seen.Len(), db.Tables.Order.Len())
	}
	for i, v := range db.Tables.Order.All() {
		if v != i+1 {
			return 0, fmt.Errorf("order[%d] = %d", i, v)
		}
	}
	for i := 1; i <= n; i++ {
		if v, _ := db.Tables.Seen.Get(i); v != flipValue(i) {
			return 0, fmt.Errorf("seen[%d] = %q, want %q", i, v, flipValue(i))
		}
	}
	return n, nil
}

// TestBitFlip writes a 64 KiB log by real commits, closes it and opens it
// once more for writing (which marks everything it read as durable: a
// synced record, record.go), then, for each offset (every
// -dbrs.flipstride bytes), flips one bit of the segment file and reopens
// it. Every commit lies below that mark, so the open must fail with an
// error matching core.ErrCorrupt, or, for a flip in the mark itself (a torn
// tail that holds no commit), show every commit. Never a panic, another
// error, or a lost commit.
//
// The reopens are read-only, so the file needs only its one byte put back
// between them: a read-only open reads a torn tail as the cut would leave
// it (TestDurability_OpenRepairsTornTail and core's tests check the cut).
func TestBitFlip(t *testing.T) {
	if *flipStride < 1 {
		t.Fatalf("-dbrs.flipstride=%d: want 1 or more", *flipStride)
	}
	dir := t.TempDir()
	db, err := native.Open[killSchema](dir, core.Options{Sync: core.SyncNever, CompactRatio: -1})
	if err != nil {
		t.Fatal(err)
	}
	commits := 0
	for db.Stats().LogBytes < flipLogBytes {
		commits++
		err := db.Update(func(tx *killSchema) error {
			if err := tx.Counter.Insert(commits); err != nil {
				return err
			}
			if err := tx.Seen.Insert(commits, flipValue(commits)); err != nil {
				return err
			}
			return tx.Order.Push(commits)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = native.Open[killSchema](dir, core.Options{Sync: core.SyncNever, CompactRatio: -1})
	if err != nil {
		t.Fatal(err)
	}
	logBytes := db.Stats().LogBytes
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	segs, err := filepath.Glob(filepath.Join(dir, "*.seg"))
	if err != nil || len(segs) != 1 {
		t.Fatalf("want one segment file, found %v (%v)", segs, err)
	}
	f, err := os.OpenFile(segs[0], os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// Drop the preallocated zero tail (as a file system without fallocate
	// leaves it), so that each reopen reads 64 KiB, not a MiB.
	if err := f.Truncate(logBytes); err != nil {
		t.Fatal(err)
	}

	var flips, corrupt int
	for off := int64(0); off < logBytes; off += int64(*flipStride) {
		b := []byte{0}
		if _, err := f.ReadAt(b, off); err != nil {
			t.Fatal(err)
		}
		orig := b[0]
		b[0] ^= 1 << (off % 8)
		if _, err := f.WriteAt(b, off); err != nil {
			t.Fatal(err)
		}
		n, err := reopenFlipped(dir)
		flips++
		switch {
		case errors.Is(err, core.ErrCorrupt):
			corrupt++
		case err != nil:
			t.Fatalf("flip of bit %d at offset %d: reopen failed with %v, want a prefix of the commits or ErrCorrupt", off%8, off, err)
		case n > commits:
			t.Fatalf("flip of bit %d at offset %d: reopen shows %d commits of %d", off%8, off, n, commits)
		case n < commits:
			t.Fatalf("flip of bit %d at offset %d: reopen cut the log to %d of %d commits, all below the open's synced mark: silent loss", off%8, off, n, commits)
		}
		if _, err := f.WriteAt([]byte{orig}, off); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("reliability: bit flip: %d flips over a %d-byte log of %d commits, marked durable by a reopen (stride %d): %d refused with ErrCorrupt, %d in the mark itself left every commit, 0 commits lost, 0 violations",
		flips, logBytes, commits, *flipStride, corrupt, flips-corrupt)
}

// reopenFlipped opens dir read-only and returns the number of commits it
// shows, turning a panic into an error that names it.
func reopenFlipped(dir string) (n int, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	db, err := native.Open[killSchema](dir, core.Options{ReadOnly: true})
	if err != nil {
		return 0, err
	}
	defer db.Close()
	return prefixState(db)
}
