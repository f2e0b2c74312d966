package core

import (
	"fmt"
	"slices"
	"sync"
)

// MemBackend keeps segments in memory. It is the "no I/O" mode: a database on
// it is as fast as dbrs gets and is lost with the process, so every Sync is
// trivially complete. It counts the calls it served (Stats). The zero value
// is not usable; call NewMemBackend. (Tests simulate power losses on
// core/internal/crashtest.Disk, whose crash model is as weak as the Backend
// contract.)
type MemBackend struct {
	mu       sync.Mutex
	segments map[uint64]*memSegment
	closed   bool
	stats    MemBackendStats
}

// MemBackendStats counts the calls a MemBackend served.
type MemBackendStats struct {
	Appends, Syncs, Installs, Truncates int
}

type memSegment struct {
	data []byte
}

var _ Backend = (*MemBackend)(nil)

// NewMemBackend returns an empty in-memory backend.
func NewMemBackend() *MemBackend {
	return &MemBackend{segments: map[uint64]*memSegment{}}
}

// Stats returns the number of calls served so far.
func (m *MemBackend) Stats() MemBackendStats {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.stats
}

// Segments implements Backend.
func (m *MemBackend) Segments() ([]uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	ids := make([]uint64, 0, len(m.segments))
	for id := range m.segments {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids, nil
}

// ReadSegment implements Backend.
func (m *MemBackend) ReadSegment(id uint64) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, err := m.segment(id)
	if err != nil {
		return nil, err
	}
	return slices.Clone(s.data), nil
}

func (m *MemBackend) segment(id uint64) (*memSegment, error) {
	if m.closed {
		return nil, ErrClosed
	}
	s, ok := m.segments[id]
	if !ok {
		return nil, fmt.Errorf("dbrs: mem backend: segment %d does not exist", id)
	}
	return s, nil
}

// Create implements Backend.
func (m *MemBackend) Create(id uint64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	if _, ok := m.segments[id]; ok {
		return fmt.Errorf("dbrs: mem backend: segment %d exists", id)
	}
	m.segments[id] = &memSegment{}
	return nil
}

// Append implements Backend.
func (m *MemBackend) Append(id uint64, off int64, p []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, err := m.segment(id)
	if err != nil {
		return err
	}
	if off > int64(len(s.data)) {
		return fmt.Errorf("dbrs: mem backend: append at %d past end %d of segment %d", off, len(s.data), id)
	}
	s.data = append(s.data[:off], p...)
	m.stats.Appends++
	return nil
}

// Sync implements Backend.
func (m *MemBackend) Sync(id uint64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, err := m.segment(id); err != nil {
		return err
	}
	m.stats.Syncs++
	return nil
}

// CutsDurable implements StreamingBackend: Truncate cuts any bytes.
func (m *MemBackend) CutsDurable() bool { return true }

// Truncate implements Backend.
func (m *MemBackend) Truncate(id uint64, size int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, err := m.segment(id)
	if err != nil {
		return err
	}
	if size < int64(len(s.data)) {
		s.data = s.data[:size]
	}
	m.stats.Truncates++
	return nil
}

// Install implements Backend.
func (m *MemBackend) Install(id uint64, chunks [][]byte, remove []uint64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	if _, ok := m.segments[id]; ok {
		return fmt.Errorf("dbrs: mem backend: segment %d exists", id)
	}
	var data []byte
	for _, c := range chunks {
		data = append(data, c...)
	}
	m.segments[id] = &memSegment{data: data}
	for _, r := range remove {
		delete(m.segments, r)
	}
	m.stats.Installs++
	return nil
}

// Close implements Backend. A closed MemBackend keeps its data: Reopen gives
// a fresh handle on it, as reopening a folder would.
func (m *MemBackend) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	return nil
}

// Reopen returns a new open backend sharing nothing with m but a copy of its
// current contents, synced or not (a clean shutdown of the process).
func (m *MemBackend) Reopen() *MemBackend {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := NewMemBackend()
	for id, s := range m.segments {
		n.segments[id] = &memSegment{data: slices.Clone(s.data)}
	}
	return n
}
