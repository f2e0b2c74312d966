package harness

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
)

// raw is the simplest durable store one could write: every commit appends
// [u32 len][u16 klen][key][value] to one file and fdatasyncs it; memory holds
// a map[string][]byte. Replay reads the file, counts its records in a first
// pass so that the map is sized once, then fills it (values point into the
// file's buffer). It has no group commit, no CRC and no compaction.
type rawStore struct {
	mu      sync.RWMutex
	f       *os.File
	m       map[string][]byte
	buf     []byte
	variant Variant
}

const rawHeader = 6 // u32 len (of klen+key+value) + u16 klen

func appendRawRecord(dst, k, v []byte) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, uint32(2+len(k)+len(v)))
	dst = binary.LittleEndian.AppendUint16(dst, uint16(len(k)))
	dst = append(dst, k...)
	return append(dst, v...)
}

func openRaw(dir string, o OpenOptions) (Store, error) {
	path := filepath.Join(dir, "raw.log")
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	// First pass: count records, to size the map once.
	count, end := 0, 0
	for end+rawHeader <= len(data) {
		n := int(binary.LittleEndian.Uint32(data[end:]))
		if n < 2 || end+4+n > len(data) {
			break
		}
		end += 4 + n
		count++
	}
	m := make(map[string][]byte, count)
	for off := 0; off < end; {
		n := int(binary.LittleEndian.Uint32(data[off:]))
		klen := int(binary.LittleEndian.Uint16(data[off+4:]))
		rec := data[off+rawHeader : off+4+n : off+4+n]
		m[string(rec[:klen])] = rec[klen:]
		off += 4 + n
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := f.Truncate(int64(end)); err != nil {
		f.Close()
		return nil, err
	}
	if _, err := f.Seek(int64(end), 0); err != nil {
		f.Close()
		return nil, err
	}
	return &rawStore{f: f, m: m, variant: o.Variant}, nil
}

func fdatasync(f *os.File) error { return syscall.Fdatasync(int(f.Fd())) }

func (s *rawStore) Put(k, v []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf = appendRawRecord(s.buf[:0], k, v)
	if _, err := s.f.Write(s.buf); err != nil {
		return err
	}
	if err := fdatasync(s.f); err != nil {
		return err
	}
	s.m[string(k)] = append([]byte(nil), v...)
	return nil
}

func (s *rawStore) Load(n int, _ LoadOptions) (LoadInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := bufio.NewWriterSize(s.f, 1<<20)
	var kb, vb []byte
	for i := 0; i < n; i++ {
		kb = appendKey(kb[:0], uint64(i))
		vb = appendValue(vb[:0], uint64(i))
		s.buf = appendRawRecord(s.buf[:0], kb, vb)
		if _, err := w.Write(s.buf); err != nil {
			return LoadInfo{}, err
		}
		s.m[string(kb)] = append([]byte(nil), vb...)
	}
	if err := w.Flush(); err != nil {
		return LoadInfo{}, err
	}
	return LoadInfo{Mode: "buffered appends, one fdatasync"}, fdatasync(s.f)
}

func (s *rawStore) Get(ks string, _ []byte) (int, bool, error) {
	s.mu.RLock()
	v, ok := s.m[ks]
	s.mu.RUnlock()
	if !ok {
		return 0, false, nil
	}
	return copyOut(s.variant, v), true, nil
}

func (s *rawStore) Close() error { return s.f.Close() }

// preallocStore is a write-only loop: pwrite each record at the next offset
// of a file whose space was reserved up front, then fdatasync. With zeroed
// set the file is written with zeros (and synced) before the first commit,
// so a commit's fdatasync flushes data only; otherwise it is reserved with
// fallocate, whose unwritten extents a write must convert, as dbrs's native
// backend does.
type preallocStore struct {
	mu     sync.Mutex
	f      *os.File
	off    int64
	size   int64
	zeroed bool
	buf    []byte
}

const preallocStep = 32 << 20

func openPrealloc(zeroed bool) func(dir string, o OpenOptions) (Store, error) {
	return func(dir string, o OpenOptions) (Store, error) {
		f, err := os.OpenFile(filepath.Join(dir, "prealloc.log"), os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return nil, err
		}
		s := &preallocStore{f: f, zeroed: zeroed}
		if err := s.grow(); err != nil {
			f.Close()
			return nil, err
		}
		return s, nil
	}
}

// grow reserves preallocStep more bytes and makes that durable.
func (s *preallocStore) grow() error {
	if s.zeroed {
		if _, err := s.f.WriteAt(make([]byte, preallocStep), s.size); err != nil {
			return err
		}
	} else if err := syscall.Fallocate(int(s.f.Fd()), 0, s.size, preallocStep); err != nil {
		return fmt.Errorf("fallocate: %w", err)
	}
	s.size += preallocStep
	return s.f.Sync()
}

func (s *preallocStore) Put(k, v []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf = appendRawRecord(s.buf[:0], k, v)
	if s.off+int64(len(s.buf)) > s.size {
		if err := s.grow(); err != nil {
			return err
		}
	}
	if _, err := s.f.WriteAt(s.buf, s.off); err != nil {
		return err
	}
	s.off += int64(len(s.buf))
	return fdatasync(s.f)
}

func (s *preallocStore) Load(int, LoadOptions) (LoadInfo, error) { return LoadInfo{}, errUnsupported }
func (s *preallocStore) Get(string, []byte) (int, bool, error)   { return 0, false, errUnsupported }
func (s *preallocStore) Close() error                            { return s.f.Close() }

// SwitchVariant changes how Get copies values out; the data serves both.
func (s *rawStore) SwitchVariant(v Variant, _ int, _ LoadOptions) error {
	s.variant = v
	return nil
}

func (s *preallocStore) SwitchVariant(Variant, int, LoadOptions) error { return errUnsupported }
