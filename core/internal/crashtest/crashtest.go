// Package crashtest is the test double of dbrs's storage: one backend
// (Disk) that keeps exactly what the core.Backend contract promises to
// keep across a power loss, and no more, and that fails the calls a test
// names.
//
// Disk implements core.Backend without importing core (its methods match
// the interface), so that both core's black-box tests and its internal
// tests (package core) can use it.
//
// # The crash model
//
// Crash returns what a power loss may leave, as weak as the contract in
// core/backend.go allows:
//
//   - A segment's bytes are durable up to its last successful Sync. Every
//     sector (SectorSize bytes) written since then may hold, independently
//     of the others, its durable contents (zeros past the durable end, as a
//     preallocated file shows them) or any version it had since: pages
//     persist out of order, and a page (eight sectors) may tear.
//   - The segment's size may be any size it had since its last Sync:
//     an unsynced Truncate may come back, with whatever contents its pages
//     then hold.
//   - Create makes the new, empty segment durable. Bytes appended to older
//     segments before Create are durable no later than any byte of the new
//     segment: if the image keeps anything appended to the new one, the
//     older segments keep at least the versions they had at Create.
//   - Install makes its segment durable and complete before it removes
//     anything; a crash while it removes may bring back any of the removed
//     segments (their own crash image). Once Install returns nil, the
//     removals are durable.
//
// Reopen, by contrast, is a clean shutdown: everything written persists.
package crashtest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"
)

// SectorSize is the unit in which unsynced bytes reach the disk: a power
// loss keeps each sector whole, in one of its versions.
const SectorSize = 512

// ErrClosed is returned by every method of a closed Disk.
var ErrClosed = errors.New("crashtest: backend is closed")

// Kind names a kind of backend call, for fault rules and counts.
type Kind int

// The calls a Rule can fail.
const (
	Append Kind = iota
	Sync
	Create
	Install
	Truncate
	kinds
)

var kindNames = [kinds]string{"Append", "Sync", "Create", "Install", "Truncate"}

func (k Kind) String() string { return kindNames[k] }

// Rule says which calls of one kind fail, and how.
type Rule struct {
	At   []int // call numbers (1 = the first call after Fail) that fail
	From int   // every call from this number on fails; 0: none
	Err  error
	// Append: write the first half of p, then fail.
	Partial bool
	// Install: create the segment but remove nothing, then fail (a failure
	// after the snapshot became durable).
	Installed bool
	// Sync: make everything durable, then fail anyway.
	Durable bool
	// Sync: make the first DurableTo bytes durable, then fail.
	DurableTo int64
}

// stamped is a size or a page's contents, from time t on.
type stamped[T any] struct {
	t uint64
	v T
}

type segment struct {
	data   []byte // current contents: what ReadSegment returns
	synced int64  // prefix of data known durable (Synced)
	// What a crash may leave. sizes[0] and the first version of each page
	// are the durable state (as of the last Sync); later entries are the
	// states since, oldest first. A page absent from pages has one version,
	// its durable contents.
	durable []byte
	dirty   int // data and durable agree before this offset
	sizes   []stamped[int]
	pages   map[int][]stamped[[]byte]
	created uint64   // clock at Create
	older   []uint64 // segments that existed at Create (the ordering rule)
}

// Disk is an in-memory core.Backend with a weak crash model and fault
// injection. The zero value is not usable; call New.
type Disk struct {
	mu       sync.Mutex
	clock    uint64
	segs     map[uint64]*segment
	ghosts   map[uint64]*segment // removed by an Install still running
	closed   bool
	calls    [kinds]int // since the rule of that kind was set
	total    [kinds]int
	injected [kinds]int
	rules    [kinds]*Rule

	beforeSync   func(id uint64) // runs before every Sync; may block
	onCreate     func(id uint64) // runs before every Create
	beforeRemove func(id uint64) // runs before each removal of an Install
	syncDelay    time.Duration
}

// New returns an empty Disk.
func New() *Disk {
	return &Disk{segs: map[uint64]*segment{}, ghosts: map[uint64]*segment{}}
}

// Fail sets the rule for kind, replacing any previous one; its call
// numbers count from now.
func (d *Disk) Fail(kind Kind, r Rule) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.rules[kind] = &r
	d.calls[kind] = 0
}

// Heal removes every rule.
func (d *Disk) Heal() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.rules = [kinds]*Rule{}
}

// Count returns the calls of kind made so far.
func (d *Disk) Count(kind Kind) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.total[kind]
}

// Injected returns the calls of kind that a rule failed.
func (d *Disk) Injected(kind Kind) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.injected[kind]
}

// SetBeforeSync makes fn run at the start of every Sync (it may block).
func (d *Disk) SetBeforeSync(fn func(id uint64)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.beforeSync = fn
}

// SetOnCreate makes fn run at the start of every Create.
func (d *Disk) SetOnCreate(fn func(id uint64)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.onCreate = fn
}

// SetBeforeRemove makes fn run before Install removes each segment, with
// no lock held: a crash simulated there sees the removals half done.
func (d *Disk) SetBeforeRemove(fn func(id uint64)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.beforeRemove = fn
}

// SetSyncDelay makes every Sync take at least delay: a slow disk, so that
// commits queue up behind a sync.
func (d *Disk) SetSyncDelay(delay time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.syncDelay = delay
}

// hit counts a call and returns the rule that fails it, if any. d.mu is
// held.
func (d *Disk) hit(kind Kind) *Rule {
	d.total[kind]++
	r := d.rules[kind]
	if r == nil {
		return nil
	}
	d.calls[kind]++
	n := d.calls[kind]
	if slices.Contains(r.At, n) || (r.From > 0 && n >= r.From) {
		d.injected[kind]++
		return r
	}
	return nil
}

func (d *Disk) segment(id uint64) (*segment, error) {
	if d.closed {
		return nil, ErrClosed
	}
	s, ok := d.segs[id]
	if !ok {
		return nil, fmt.Errorf("crashtest: segment %d does not exist", id)
	}
	return s, nil
}

// tick advances the clock and returns the new time.
func (d *Disk) tick() uint64 {
	d.clock++
	return d.clock
}

// Segments implements core.Backend.
func (d *Disk) Segments() ([]uint64, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, ErrClosed
	}
	ids := make([]uint64, 0, len(d.segs))
	for id := range d.segs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids, nil
}

// ReadSegment implements core.Backend.
func (d *Disk) ReadSegment(id uint64) ([]byte, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	s, err := d.segment(id)
	if err != nil {
		return nil, err
	}
	return slices.Clone(s.data), nil
}

// Create implements core.Backend.
func (d *Disk) Create(id uint64) error {
	d.mu.Lock()
	hook := d.onCreate
	d.mu.Unlock()
	if hook != nil {
		hook(id)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return ErrClosed
	}
	if r := d.hit(Create); r != nil {
		return r.Err
	}
	if _, ok := d.segs[id]; ok {
		return fmt.Errorf("crashtest: segment %d exists", id)
	}
	t := d.tick()
	s := &segment{sizes: []stamped[int]{{t, 0}}, created: t}
	for old := range d.segs {
		s.older = append(s.older, old)
	}
	d.segs[id] = s
	return nil
}

// write records the current contents of s's pages [from, to) as new
// versions, and its size. d.mu is held.
func (d *Disk) write(s *segment, from, to int) {
	t := d.tick()
	s.dirty = min(s.dirty, from)
	s.sizes = append(s.sizes, stamped[int]{t, len(s.data)})
	if s.pages == nil {
		s.pages = map[int][]stamped[[]byte]{}
	}
	for p := from / SectorSize; p*SectorSize < to; p++ {
		vs := s.pages[p]
		if vs == nil {
			vs = []stamped[[]byte]{{0, page(s.durable, p)}}
		}
		s.pages[p] = append(vs, stamped[[]byte]{t, page(s.data, p)})
	}
}

// page returns page p of data, zero-filled past its end.
func page(data []byte, p int) []byte {
	out := make([]byte, SectorSize)
	if lo := p * SectorSize; lo < len(data) {
		copy(out, data[lo:])
	}
	return out
}

// Append implements core.Backend.
func (d *Disk) Append(id uint64, off int64, p []byte) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	s, err := d.segment(id)
	if err != nil {
		return err
	}
	if off > int64(len(s.data)) {
		return fmt.Errorf("crashtest: append at %d past end %d of segment %d", off, len(s.data), id)
	}
	var fail error
	if r := d.hit(Append); r != nil {
		if !r.Partial {
			return r.Err
		}
		p, fail = p[:len(p)/2], r.Err
	}
	old := len(s.data)
	s.data = append(s.data[:off], p...)
	d.write(s, int(off), max(old, len(s.data)))
	s.synced = min(s.synced, off)
	return fail
}

// Sync implements core.Backend.
func (d *Disk) Sync(id uint64) error {
	d.mu.Lock()
	hook, delay := d.beforeSync, d.syncDelay
	d.mu.Unlock()
	if hook != nil {
		hook(id)
	}
	if delay > 0 {
		// Not synchronisation: a slow disk.
		time.Sleep(delay)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	s, err := d.segment(id)
	if err != nil {
		return err
	}
	if r := d.hit(Sync); r != nil {
		switch {
		case r.Durable:
			d.sync(s, int64(len(s.data)))
		case r.DurableTo > 0:
			d.sync(s, r.DurableTo)
		}
		return r.Err
	}
	d.sync(s, int64(len(s.data)))
	return nil
}

// sync makes the first n bytes of s durable (all of it, when n covers the
// current contents). d.mu is held.
func (d *Disk) sync(s *segment, n int64) {
	t := d.tick()
	if n >= int64(len(s.data)) {
		s.dirty = min(s.dirty, len(s.durable), len(s.data))
		s.durable = append(s.durable[:s.dirty], s.data[s.dirty:]...)
		s.dirty = len(s.data)
		s.sizes = []stamped[int]{{t, len(s.data)}}
		s.pages = nil
		s.synced = int64(len(s.data))
		return
	}
	// A prefix: those bytes become durable, the rest of the history stays.
	if int(n) > len(s.durable) {
		s.durable = append(s.durable, make([]byte, int(n)-len(s.durable))...)
	}
	copy(s.durable, s.data[:n])
	s.dirty = min(s.dirty, len(s.durable))
	for p, vs := range s.pages {
		if p*SectorSize < int(n) {
			vs[0].v = page(s.durable, p)
		}
	}
	s.sizes[0].v = max(s.sizes[0].v, int(n))
	s.synced = max(s.synced, n)
}

// CutsDurable implements core.StreamingBackend: Truncate cuts any bytes.
func (d *Disk) CutsDurable() bool { return true }

// Truncate implements core.Backend.
func (d *Disk) Truncate(id uint64, size int64) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	s, err := d.segment(id)
	if err != nil {
		return err
	}
	if r := d.hit(Truncate); r != nil {
		return r.Err
	}
	if size < int64(len(s.data)) {
		old := len(s.data)
		s.data = s.data[:size]
		d.write(s, int(size), old)
	}
	s.synced = min(s.synced, size)
	return nil
}

// Install implements core.Backend. The new segment is durable before
// anything is removed; the removals are made one at a time, each visible to
// a concurrent Crash, and are durable once Install returns.
func (d *Disk) Install(id uint64, chunks [][]byte, remove []uint64) error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return ErrClosed
	}
	r := d.hit(Install)
	if r != nil && !r.Installed {
		d.mu.Unlock()
		return r.Err
	}
	if _, ok := d.segs[id]; ok || slices.Contains(remove, id) {
		d.mu.Unlock()
		return fmt.Errorf("crashtest: install segment %d: it exists or is listed for removal", id)
	}
	var data []byte
	for _, c := range chunks {
		data = append(data, c...)
	}
	t := d.tick()
	d.segs[id] = &segment{data: data, durable: slices.Clone(data), dirty: len(data), synced: int64(len(data)),
		sizes: []stamped[int]{{t, len(data)}}, created: t}
	d.mu.Unlock()
	if r != nil {
		return r.Err
	}
	for _, old := range remove {
		d.mu.Lock()
		hook := d.beforeRemove
		d.mu.Unlock()
		if hook != nil {
			hook(old)
		}
		d.mu.Lock()
		if s, ok := d.segs[old]; ok {
			delete(d.segs, old)
			d.ghosts[old] = s
		}
		d.mu.Unlock()
	}
	d.mu.Lock()
	for _, old := range remove {
		delete(d.ghosts, old)
	}
	d.mu.Unlock()
	return nil
}

// Close implements core.Backend. A closed Disk keeps its data: Reopen and
// Crash still work.
func (d *Disk) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed = true
	return nil
}

// SyncedSize returns how many bytes of segment id are known durable.
func (d *Disk) SyncedSize(id uint64) int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	if s, ok := d.segs[id]; ok {
		return s.synced
	}
	return 0
}

// Sizer is a Disk that reports its durable sizes (core.SyncedSizer), as
// the IndexedDB backend does.
type Sizer struct{ *Disk }

// Synced implements core.SyncedSizer.
func (s Sizer) Synced(id uint64) int64 { return s.SyncedSize(id) }

// Reopen returns a new open Disk holding a copy of d's current contents,
// synced or not: a clean shutdown of the process. Removals in progress
// are complete.
func (d *Disk) Reopen() *Disk {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := New()
	for id, s := range d.segs {
		n.segs[id] = durableSegment(slices.Clone(s.data))
	}
	return n
}

func durableSegment(data []byte) *segment {
	return &segment{data: data, durable: slices.Clone(data), dirty: len(data), synced: int64(len(data)), sizes: []stamped[int]{{0, len(data)}}}
}

// Crash returns a new open Disk holding one image that a power loss at this
// moment may leave (see the package comment), chosen with rng.
func (d *Disk) Crash(rng *rand.Rand) *Disk {
	return d.crash(func(n int) int { return rng.IntN(n) })
}

// CrashDurable returns the image a power loss leaves when nothing unsynced
// reached the disk: every segment as of its last Sync.
func (d *Disk) CrashDurable() *Disk {
	return d.crash(func(int) int { return 0 })
}

// crash builds an image, choosing each version by pick(n) among the n
// allowed (0: the oldest allowed).
func (d *Disk) crash(pick func(n int) int) *Disk {
	d.mu.Lock()
	defer d.mu.Unlock()
	all := map[uint64]*segment{}
	for id, s := range d.segs {
		all[id] = s
	}
	for id, s := range d.ghosts {
		all[id] = s
	}
	// Newest created first, so that each segment's floor (the ordering
	// rule of Create) is known before its image is chosen.
	ids := make([]uint64, 0, len(all))
	for id := range all {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b uint64) int {
		if all[a].created != all[b].created {
			return int(all[b].created) - int(all[a].created)
		}
		return int(b) - int(a)
	})
	floor := map[uint64]uint64{}
	n := New()
	for _, id := range ids {
		s := all[id]
		if _, ghost := d.ghosts[id]; ghost && pick(2) == 0 {
			continue // its removal reached the disk
		}
		data, touched := s.image(floor[id], pick)
		if touched {
			for _, old := range s.older {
				floor[old] = max(floor[old], s.created)
			}
		}
		n.segs[id] = durableSegment(data)
	}
	return n
}

// image chooses one crash image of s in which no size or page is older
// than its version at time floor. touched reports whether the image keeps
// anything written since the last sync, or anything synced at all.
func (s *segment) image(floor uint64, pick func(n int) int) (data []byte, touched bool) {
	from := func(ts []uint64) int { // the version current at floor
		i := 0
		for i+1 < len(ts) && ts[i+1] <= floor {
			i++
		}
		return i
	}
	st := make([]uint64, len(s.sizes))
	for i, v := range s.sizes {
		st[i] = v.t
	}
	lo := from(st)
	si := lo + pick(len(s.sizes)-lo)
	size := s.sizes[si].v
	touched = len(s.durable) > 0 || si > 0
	data = make([]byte, size)
	copy(data, s.durable)
	for p, vs := range s.pages {
		if p*SectorSize >= size {
			continue
		}
		pt := make([]uint64, len(vs))
		for i, v := range vs {
			pt[i] = v.t
		}
		lo := from(pt)
		vi := lo + pick(len(vs)-lo)
		if vi > 0 {
			touched = true
		}
		copy(data[p*SectorSize:], vs[vi].v)
	}
	return data, touched
}
