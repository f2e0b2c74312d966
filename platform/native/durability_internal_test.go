package native

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dbrs-db/dbrs/core"
)

// These tests run workloads on a backend whose file system is a recorder,
// then replay the log against a power-loss model (fsmodel_internal_test.go)
// and check that the backend synced what it must, when it must. The kill -9
// test cannot: a killed process leaves the page cache, so it passes with no
// sync at all.

type durSchema struct {
	Counter core.Single[int]
	Seen    core.LookupTable[int, string]
	Order   core.List[int]
}

// durValue is what commit i stores under Seen[i]: its marker, which the
// check looks for in the recorded writes, and a few bytes that vary the
// record size.
func durValue(i int) string { return marker(i) + strings.Repeat("x", i%40) }

// durCommit writes commit number counter+1 in one transaction: the counter,
// its marker and its place in the order, and returns its number.
func durCommit(db *core.DB[durSchema]) (int, error) {
	var n int
	err := db.Update(func(tx *durSchema) error {
		c, _ := tx.Counter.Get()
		n = c + 1
		if err := tx.Counter.Insert(n); err != nil {
			return err
		}
		if err := tx.Seen.Insert(n, durValue(n)); err != nil {
			return err
		}
		return tx.Order.Push(n)
	})
	return n, err
}

// durState returns the number of commits db holds, or an error if its state
// is not exactly commits 1..n.
func durState(db *core.DB[durSchema]) (int, error) {
	var n int
	err := db.View(func(s *durSchema) error {
		n, _ = s.Counter.Get()
		if s.Seen.Len() != n || s.Order.Len() != n {
			return fmt.Errorf("half a transaction: counter %d, %d markers, order of %d", n, s.Seen.Len(), s.Order.Len())
		}
		for i, v := range s.Order.All() {
			if v != i+1 {
				return fmt.Errorf("order[%d] = %d: not a prefix of the commits", i, v)
			}
		}
		for i := 1; i <= n; i++ {
			if v, _ := s.Seen.Get(i); v != durValue(i) {
				return fmt.Errorf("commit %d holds %q", i, v)
			}
		}
		return nil
	})
	return n, err
}

// imageBackend serves an image of the folder to a read-only core.Open.
type imageBackend struct{ segs map[uint64][]byte }

var errImageReadOnly = errors.New("image backend is read-only")

func (b imageBackend) Segments() ([]uint64, error) {
	ids := make([]uint64, 0, len(b.segs))
	for id := range b.segs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids, nil
}

func (b imageBackend) ReadSegment(id uint64) ([]byte, error) {
	data, ok := b.segs[id]
	if !ok {
		return nil, os.ErrNotExist
	}
	return slices.Clone(data), nil
}

func (imageBackend) Create(uint64) error                      { return errImageReadOnly }
func (imageBackend) Append(uint64, int64, []byte) error       { return errImageReadOnly }
func (imageBackend) Sync(uint64) error                        { return errImageReadOnly }
func (imageBackend) Truncate(uint64, int64) error             { return errImageReadOnly }
func (imageBackend) Install(uint64, [][]byte, []uint64) error { return errImageReadOnly }
func (imageBackend) Close() error                             { return nil }

// openImage returns the number of commits an image of the folder holds, as
// a read-only open sees it (which reads past a torn tail as the cut would).
func openImage(segs map[uint64][]byte) (int, error) {
	if len(segs) == 0 {
		return 0, nil // no log: an empty database
	}
	db, err := core.Open[durSchema](imageBackend{segs}, core.Options{ReadOnly: true})
	if err != nil {
		return 0, err
	}
	defer db.Close()
	return durState(db)
}

// durHarness opens databases in root/db through a recorder.
type durHarness struct {
	t        *testing.T
	root, db string
	rec      *recorder
	fs       fileSystem // what the backend calls: rec, or a wrapper of it
}

func newDurHarness(t *testing.T) *durHarness {
	root := t.TempDir()
	return newDurHarnessIn(t, root)
}

// newDurHarnessIn starts recording with the tree under root as it is (all
// of it durable).
func newDurHarnessIn(t *testing.T, root string) *durHarness {
	rec := newRecorder(t, root)
	return &durHarness{t: t, root: root, db: filepath.Join(root, "db"), rec: rec, fs: rec}
}

// open opens the database and marks that everything it shows is durable,
// with nothing pending.
func (h *durHarness) open(opts core.Options) *core.DB[durSchema] {
	h.t.Helper()
	b, err := newBackend(h.db, backendOptions(opts), h.fs)
	if err != nil {
		h.t.Fatal(err)
	}
	db, err := core.Open[durSchema](b, opts)
	if err != nil {
		b.Close()
		h.t.Fatal(err)
	}
	n, err := durState(db)
	if err != nil {
		h.t.Fatal(err)
	}
	h.rec.mark(markSettledFiles, n)
	return db
}

// close closes db, whose commits 1..n all returned, and marks them durable
// with no folder change pending. (Files may hold unsynced bytes that no
// commit needs: the schema record that starts a segment is synced with its
// first commit.)
func (h *durHarness) close(db *core.DB[durSchema], n int) {
	h.t.Helper()
	if err := db.Close(); err != nil {
		h.t.Fatal(err)
	}
	h.rec.mark(markSettled, n)
}

// commits makes count commits from one goroutine; with SyncAlways each is
// marked acknowledged when it returns. It compacts after every compactEvery
// commits (0: never). It returns the last commit number.
func (h *durHarness) commits(db *core.DB[durSchema], opts core.Options, count, compactEvery int) int {
	h.t.Helper()
	var n int
	for k := 1; k <= count; k++ {
		var err error
		if n, err = durCommit(db); err != nil {
			h.t.Fatal(err)
		}
		if opts.Sync == core.SyncAlways {
			h.rec.mark(markCommit, n)
		}
		if compactEvery > 0 && k%compactEvery == 0 {
			if err := db.Compact(); err != nil {
				h.t.Fatal(err)
			}
			h.rec.mark(markSettled, n)
		}
	}
	return n
}

// check fails the test with every violation the log shows.
func (h *durHarness) check() {
	h.t.Helper()
	for _, v := range checkDurability(h.rec, h.db, openImage) {
		h.t.Error(v)
	}
}

// count returns how many logged events are of kind.
func (h *durHarness) count(kind opKind) int {
	n := 0
	for _, op := range h.rec.snapshot() {
		if op.kind == kind {
			n++
		}
	}
	return n
}

// requireCompacted fails unless the log shows at least one compaction's
// rename and removal, so the checks of compaction did run.
func (h *durHarness) requireCompacted() {
	h.t.Helper()
	if h.count(opRename) == 0 || h.count(opRemove) == 0 {
		h.t.Fatalf("the workload made %d renames and %d removals: no compaction to check", h.count(opRename), h.count(opRemove))
	}
}

func TestDurability_SyncAlways_SerialCommitsAndCompaction(t *testing.T) {
	h := newDurHarness(t)
	opts := core.Options{Sync: core.SyncAlways, CompactRatio: -1}
	db := h.open(opts)
	n := h.commits(db, opts, 45, 15)
	h.close(db, n)
	db = h.open(opts) // reopen: the newest segment is a snapshot, so a new one is started
	n = h.commits(db, opts, 10, 0)
	h.close(db, n)
	h.requireCompacted()
	h.check()
}

func TestDurability_SyncAlways_GroupCommit(t *testing.T) {
	h := newDurHarness(t)
	opts := core.Options{Sync: core.SyncAlways, CompactRatio: -1}
	db := h.open(opts)
	const writers, each = 8, 12
	var wg sync.WaitGroup
	errs := make(chan error, writers+1)
	// Compactions run alongside the writers, so that segments are created,
	// renamed and removed while commits are in flight.
	wg.Go(func() {
		for range 3 {
			if err := db.Compact(); err != nil {
				errs <- err
				return
			}
			h.rec.mark(markSettled, 0)
		}
	})
	for range writers {
		wg.Go(func() {
			for range each {
				n, err := durCommit(db)
				if err != nil {
					errs <- err
					return
				}
				h.rec.mark(markCommit, n)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	st := db.Stats()
	if err := db.Compact(); err != nil {
		t.Fatal(err)
	}
	h.rec.mark(markSettled, writers*each)
	h.close(db, writers*each)
	t.Logf("%d commits shared %d syncs", st.Commits, st.Syncs)
	h.requireCompacted()
	h.check()
}

// In SyncInterval and SyncNever a commit is acknowledged before it is
// synced; Compact and Close make every earlier commit durable, and every
// crash in between must leave a prefix of the commits.
func TestDurability_SyncIntervalAndNever(t *testing.T) {
	for name, mode := range map[string]core.SyncMode{"SyncInterval": core.SyncInterval, "SyncNever": core.SyncNever} {
		t.Run(name, func(t *testing.T) {
			h := newDurHarness(t)
			opts := core.Options{Sync: mode, SyncInterval: 5 * time.Millisecond, CompactRatio: -1}
			db := h.open(opts)
			n := h.commits(db, opts, 40, 20)
			n2 := h.commits(db, opts, 7, 0)
			n = max(n, n2)
			h.close(db, n)
			h.requireCompacted()
			h.check()
		})
	}
}

// Opening a folder repairs it: a torn tail is cut and a leftover temporary
// file of an interrupted compaction removed. The open must leave both
// durable before it returns, and what it shows must survive.
func TestDurability_OpenRepairsTornTail(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "db")
	opts := core.Options{Sync: core.SyncAlways, CompactRatio: -1}
	b, err := NewBackend(dir, BackendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sdb, err := core.Open[durSchema](b, opts)
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		if _, err := durCommit(sdb); err != nil {
			t.Fatal(err)
		}
	}
	end := sdb.Stats().LogBytes
	if _, err := durCommit(sdb); err != nil {
		t.Fatal(err)
	}
	torn := sdb.Stats().LogBytes
	if err := sdb.Close(); err != nil {
		t.Fatal(err)
	}
	// Zero the second half of commit 11: a record torn by a crash.
	segs, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	seg := filepath.Join(dir, segs[0].Name())
	data, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	clear(data[end+(torn-end)/2 : torn])
	must(t, os.WriteFile(seg, data, filePerm))
	must(t, os.WriteFile(filepath.Join(dir, fmt.Sprintf("%016x%s%s", 9, segmentSuffix, tempSuffix)), []byte("leftover"), filePerm))

	h := newDurHarnessIn(t, root)
	rdb := h.open(opts)
	if got := rdb.OpenStats().TornBytes; got == 0 {
		t.Fatal("the open found no torn tail to cut")
	}
	if n, _ := rdb.Tables.Counter.Get(); n != 10 {
		t.Fatalf("the open shows %d commits, want the 10 before the torn one", n)
	}
	n := h.commits(rdb, opts, 3, 0)
	h.close(rdb, n)
	if h.count(opTruncate) == 0 || h.count(opRemove) == 0 {
		t.Fatalf("the open made %d truncates and %d removals: no repair to check", h.count(opTruncate), h.count(opRemove))
	}
	h.check()
}

// Open creates a missing folder, and its missing parents: each creation
// must be synced to its parent folder before the first commit is
// acknowledged, or a power loss can lose the whole database.
func TestDurability_OpenCreatesMissingParents(t *testing.T) {
	h := newDurHarness(t)
	h.db = filepath.Join(h.root, "a", "b", "db")
	opts := core.Options{Sync: core.SyncAlways}
	db := h.open(opts)
	n := h.commits(db, opts, 2, 0)
	h.close(db, n)
	if got := h.count(opMkdir); got != 3 {
		t.Fatalf("the open created %d folders, want 3", got)
	}
	h.check()
}

// dropFS skips the folder syncs that follow one kind of change, or every
// fdatasync, as a backend missing that sync would: the checks above must
// then fail (TestCheckDurability_SeesMissingSyncs).
type dropFS struct {
	fileSystem
	dropFdatasync bool
	dropDirAfter  string // "create", "rename" or "remove": skip the folder sync after it

	mu   sync.Mutex
	last string // the last change to the folder
}

func (d *dropFS) setLast(s string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.last = s
}

func (d *dropFS) openFile(name string, flag int, perm os.FileMode) (*os.File, error) {
	f, err := d.fileSystem.openFile(name, flag, perm)
	if err == nil && flag&os.O_CREATE != 0 {
		d.setLast("create")
	}
	return f, err
}

func (d *dropFS) rename(oldpath, newpath string) error {
	d.setLast("rename")
	return d.fileSystem.rename(oldpath, newpath)
}

func (d *dropFS) remove(name string) error {
	d.setLast("remove")
	return d.fileSystem.remove(name)
}

func (d *dropFS) fdatasync(f *os.File) error {
	if d.dropFdatasync {
		return nil
	}
	return d.fileSystem.fdatasync(f)
}

func (d *dropFS) syncDir(dir string) error {
	d.mu.Lock()
	last := d.last
	d.last = ""
	d.mu.Unlock()
	if last != "" && last == d.dropDirAfter {
		return nil
	}
	return d.fileSystem.syncDir(dir)
}

// TestCheckDurability_SeesMissingSyncs runs the workload of the tests above
// on a backend that skips one kind of sync, and fails unless the checks
// report it: they cannot pass whatever the backend does.
func TestCheckDurability_SeesMissingSyncs(t *testing.T) {
	cases := map[string]*dropFS{
		"no fdatasync":                      {dropFdatasync: true},
		"no folder sync after a create":     {dropDirAfter: "create"},
		"no folder sync after a rename":     {dropDirAfter: "rename"},
		"no folder sync after the removals": {dropDirAfter: "remove"},
	}
	for name, drop := range cases {
		t.Run(name, func(t *testing.T) {
			h := newDurHarness(t)
			drop.fileSystem = h.rec
			h.fs = drop
			opts := core.Options{Sync: core.SyncAlways, CompactRatio: -1}
			db := h.open(opts)
			n := h.commits(db, opts, 12, 6)
			h.close(db, n)
			if v := checkDurability(h.rec, h.db, openImage); len(v) == 0 {
				t.Fatal("the checks found nothing wrong with a backend that skips this sync")
			} else {
				t.Logf("found, as it should: %.200s", v[0])
			}
		})
	}
}
