package crashtest_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/dbrs-db/dbrs/core"
	"github.com/dbrs-db/dbrs/core/backendtest"
	"github.com/dbrs-db/dbrs/core/internal/crashtest"
)

var (
	_ core.Backend     = (*crashtest.Disk)(nil)
	_ core.SyncedSizer = crashtest.Sizer{}
)

func TestDisk_Conformance(t *testing.T) {
	backendtest.Run(t, func(t *testing.T) core.Backend { return crashtest.New() })
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// images collects the distinct images of segment id over many crashes.
func images(t *testing.T, d *crashtest.Disk, id uint64, n int) map[string]bool {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	out := map[string]bool{}
	for range n {
		c := d.Crash(rng)
		data, err := c.ReadSegment(id)
		if err != nil {
			out["absent"] = true
			continue
		}
		out[string(data)] = true
	}
	return out
}

func fill(b byte, n int) []byte { return bytes.Repeat([]byte{b}, n) }

// Unsynced sectors persist out of order: a later one without an earlier
// one, which reads as zeros.
func TestCrash_SectorsOutOfOrder(t *testing.T) {
	d := crashtest.New()
	must(t, d.Create(1))
	must(t, d.Append(1, 0, fill(1, 100)))
	must(t, d.Sync(1))
	must(t, d.Append(1, 100, fill(2, 8*crashtest.SectorSize)))
	seen := images(t, d, 1, 400)
	hole := false
	for img := range seen {
		if len(img) < 100 || img[:100] != string(fill(1, 100)) {
			t.Fatalf("an image lost synced bytes: %d bytes", len(img))
		}
		for s := 1; (s+1)*crashtest.SectorSize <= len(img); s++ {
			lost := img[s*crashtest.SectorSize : (s+1)*crashtest.SectorSize]
			if bytes.Count([]byte(lost), []byte{0}) == len(lost) && bytes.Contains([]byte(img[(s+1)*crashtest.SectorSize:]), []byte{2}) {
				hole = true
			}
		}
	}
	if !hole {
		t.Fatal("no crash image lost a sector while keeping a later one")
	}
	if !seen[string(fill(1, 100))] {
		t.Fatal("no crash image lost every unsynced byte")
	}
}

// An unsynced truncate may come back; a synced one may not.
func TestCrash_TruncateComesBack(t *testing.T) {
	d := crashtest.New()
	must(t, d.Create(1))
	must(t, d.Append(1, 0, fill(1, 200)))
	must(t, d.Sync(1))
	must(t, d.Truncate(1, 50))
	if seen := images(t, d, 1, 200); !seen[string(fill(1, 200))] || !seen[string(fill(1, 50))] {
		t.Fatalf("images after an unsynced truncate: %d kinds, want the old and the new size", len(seen))
	}
	must(t, d.Sync(1))
	if seen := images(t, d, 1, 100); len(seen) != 1 || !seen[string(fill(1, 50))] {
		t.Fatal("a synced truncate came back")
	}
}

// Bytes appended to a segment before Create of a newer one survive whenever
// anything appended to the newer one does.
func TestCrash_CreateOrdersSegments(t *testing.T) {
	d := crashtest.New()
	must(t, d.Create(1))
	must(t, d.Append(1, 0, fill(1, 100)))
	must(t, d.Create(2))
	must(t, d.Append(2, 0, fill(2, 100)))
	rng := rand.New(rand.NewPCG(3, 4))
	lost1, kept2 := false, false
	for range 400 {
		c := d.Crash(rng)
		a, _ := c.ReadSegment(1)
		b, _ := c.ReadSegment(2)
		full := bytes.Equal(a, fill(1, 100))
		if len(bytes.Trim(b, "\x00")) > 0 && !full {
			t.Fatalf("segment 2 kept %d bytes but segment 1 lost some: %q", len(b), a)
		}
		lost1 = lost1 || !full
		kept2 = kept2 || len(bytes.Trim(b, "\x00")) > 0
	}
	if !lost1 || !kept2 {
		t.Fatalf("the crashes never lost segment 1's bytes (%v) or never kept segment 2's (%v)", !lost1, kept2)
	}
}

// A crash during Install's removals may bring removed segments back; once it
// returned, they stay gone. The installed segment is always whole.
func TestCrash_InstallRemovals(t *testing.T) {
	d := crashtest.New()
	for id := uint64(1); id <= 3; id++ {
		must(t, d.Create(id))
		must(t, d.Append(id, 0, fill(byte(id), 10)))
		must(t, d.Sync(id))
	}
	rng := rand.New(rand.NewPCG(5, 6))
	seen := map[string]bool{}
	d.SetBeforeRemove(func(id uint64) {
		if id != 3 {
			return
		}
		// Segments 1 and 2 are being removed: each may come back.
		for range 50 {
			c := d.Crash(rng)
			ids, _ := c.Segments()
			if data, _ := c.ReadSegment(4); !bytes.Equal(data, fill(4, 10)) {
				t.Errorf("installed segment during the removals: %q", data)
			}
			seen[fmt.Sprint(ids)] = true
		}
	})
	must(t, d.Install(4, [][]byte{fill(4, 5), fill(4, 5)}, []uint64{1, 2, 3}))
	for _, want := range []string{"[1 2 3 4]", "[1 3 4]", "[2 3 4]", "[3 4]"} {
		if !seen[want] {
			t.Errorf("no crash during the removals left segments %s (saw %v)", want, seen)
		}
	}
	c := d.Crash(rng)
	if ids, _ := c.Segments(); len(ids) != 1 || ids[0] != 4 {
		t.Fatalf("segments after a completed Install: %v", ids)
	}
	if data, _ := c.ReadSegment(4); !bytes.Equal(data, fill(4, 10)) {
		t.Fatalf("installed segment: %q", data)
	}
}

// Rules fail the calls they name; Partial, Installed, Durable and DurableTo
// do part of the work first.
func TestDisk_Rules(t *testing.T) {
	errX := errors.New("x")
	d := crashtest.New()
	must(t, d.Create(1))
	d.Fail(crashtest.Append, crashtest.Rule{At: []int{2}, Err: errX, Partial: true})
	must(t, d.Append(1, 0, fill(1, 10)))
	if err := d.Append(1, 10, fill(2, 10)); !errors.Is(err, errX) {
		t.Fatalf("second Append = %v", err)
	}
	if data, _ := d.ReadSegment(1); len(data) != 15 {
		t.Fatalf("a partial Append left %d bytes, want 15", len(data))
	}
	d.Fail(crashtest.Sync, crashtest.Rule{At: []int{1}, Err: errX, DurableTo: 12})
	if err := d.Sync(1); !errors.Is(err, errX) {
		t.Fatalf("Sync = %v", err)
	}
	if n := (crashtest.Sizer{Disk: d}).Synced(1); n != 12 {
		t.Fatalf("Synced = %d after a failed sync that made 12 bytes durable", n)
	}
	if data, _ := d.CrashDurable().ReadSegment(1); len(data) != 12 {
		t.Fatalf("durable image holds %d bytes, want 12", len(data))
	}
	d.Fail(crashtest.Install, crashtest.Rule{At: []int{1}, Err: errX, Installed: true})
	if err := d.Install(2, [][]byte{fill(3, 4)}, []uint64{1}); !errors.Is(err, errX) {
		t.Fatalf("Install = %v", err)
	}
	if ids, _ := d.Segments(); len(ids) != 2 {
		t.Fatalf("segments after an Install that failed once installed: %v", ids)
	}
	if d.Injected(crashtest.Append) != 1 || d.Injected(crashtest.Sync) != 1 || d.Count(crashtest.Append) != 2 {
		t.Fatal("counts are wrong")
	}
	must(t, d.Close())
	if _, err := d.Segments(); !errors.Is(err, crashtest.ErrClosed) {
		t.Fatalf("Segments after Close = %v", err)
	}
}
