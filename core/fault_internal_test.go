package core

// Fault-injecting backends for the internal tests (package core):
// hookBackend (a failed Sync with a chosen durable prefix, a hook in Create)
// and imgBackend (a per-segment disk image, the Nth Sync failing or
// blocking). The black-box tests have a third, faultBackend in fault_test.go
// (package core_test). Merging all three would mean moving faultBackend into
// package core and exporting it to the black-box tests; not done yet.

import (
	"errors"
	"slices"
	"sync"
)

// hookBackend wraps MemBackend: it can fail the next Sync while reporting
// a chosen durable prefix (SyncedSizer, as the IndexedDB backend does), and
// run a hook inside Create.
type hookBackend struct {
	*MemBackend
	mu       sync.Mutex
	failSync bool
	durable  map[uint64]int64 // Synced() answers
	onCreate func(id uint64)
}

func (h *hookBackend) Synced(id uint64) int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.durable[id]
}

func (h *hookBackend) Sync(id uint64) error {
	h.mu.Lock()
	fail := h.failSync
	h.failSync = false
	h.mu.Unlock()
	if fail {
		return errors.New("injected sync failure")
	}
	if err := h.MemBackend.Sync(id); err != nil {
		return err
	}
	data, _ := h.MemBackend.ReadSegment(id)
	h.mu.Lock()
	h.durable[id] = int64(len(data))
	h.mu.Unlock()
	return nil
}

func (h *hookBackend) Create(id uint64) error {
	if h.onCreate != nil {
		h.onCreate(id)
	}
	return h.MemBackend.Create(id)
}

// imgBackend keeps a "disk image" per segment: what a crash leaves. A
// successful Sync copies the data to the image; a failed Sync may have
// written the pages anyway (the image gets them too); a Truncate reaches the
// image only with the next successful Sync (Backend contract).
type imgBackend struct {
	*MemBackend
	mu      sync.Mutex
	img     map[uint64][]byte
	syncs   int
	failAt  int // 1-based Sync call that fails
	blockAt int // 1-based Sync call that blocks until release
	release chan struct{}
}

func (b *imgBackend) Sync(id uint64) error {
	b.mu.Lock()
	b.syncs++
	n := b.syncs
	b.mu.Unlock()
	if n == b.blockAt {
		<-b.release
	}
	data, err := b.MemBackend.ReadSegment(id)
	if err != nil {
		return err
	}
	b.mu.Lock()
	b.img[id] = data
	b.mu.Unlock()
	if n == b.failAt {
		return errors.New("injected EIO")
	}
	return b.MemBackend.Sync(id)
}

func (b *imgBackend) Create(id uint64) error {
	if err := b.MemBackend.Create(id); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for sid := range b.img {
		d, _ := b.MemBackend.ReadSegment(sid)
		b.img[sid] = d
	}
	b.img[id] = nil
	return nil
}

func (b *imgBackend) crash() *MemBackend {
	b.mu.Lock()
	defer b.mu.Unlock()
	m := NewMemBackend()
	for id, d := range b.img {
		m.segments[id] = &memSegment{data: slices.Clone(d), synced: len(d)}
	}
	return m
}
