package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"

	"github.com/dbrs-db/dbrs/core"
	"github.com/dbrs-db/dbrs/platform/native"
)

// view is a database opened with the dynamic schema its log defines.
type view struct {
	dir   string
	specs []core.TableSpec // every table of the log, in ID order, custom kinds included
	db    *core.DB[core.Dynamic]
	nb    *native.Backend // nil when the log is not a folder's
	log   core.Backend    // what db reads: nb, or a wrapper over it
}

// placeholderTable names the table a dynamic schema gets when the log holds
// no table of a built-in kind (a dynamic schema needs one). Only read-only
// opens use it, so it is never written.
const placeholderTable = "\x00dbrs placeholder"

// builtinKind reports whether kind is one that core.Dynamic decodes.
func builtinKind(kind string) bool {
	switch kind {
	case core.KindSingle, core.KindList, core.KindLookupTable, core.KindLookupList, core.KindLookupSet, core.KindLookupMap:
		return true
	}
	return false
}

// close closes the database and the folder.
func (v *view) close() error {
	var err error
	if v.db != nil {
		err = v.db.Close()
	}
	if v.nb != nil {
		if cerr := v.nb.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// table returns the spec of the table called name, or an error naming the
// tables there are.
func (v *view) table(name string) (core.TableSpec, error) {
	var names []string
	for _, s := range v.specs {
		if s.Name == name {
			return s, nil
		}
		names = append(names, fmt.Sprintf("%q", s.Name))
	}
	if len(names) == 0 {
		return core.TableSpec{}, fmt.Errorf("%w: %q: the log holds no tables", core.ErrUnknownTable, name)
	}
	return core.TableSpec{}, fmt.Errorf("%w: %q; the log holds %s", core.ErrUnknownTable, name, strings.Join(names, ", "))
}

// openRead opens the database in dir read-only without a lock, so that it
// works beside an application that has it open, with the dynamic schema of
// its own log. Every pass reads one copy of the log. A segment that a
// concurrent compaction removed, or damage that a concurrent write makes
// appear (a record read half-written), makes it read the log again, twice
// at most; damage that persists is reported, with the commands that repair
// it.
func (c *cli) openRead(dir string, p *progress) (*view, error) {
	nb, err := native.NewBackend(dir, native.BackendOptions{ReadOnly: true, NoLock: true, MustExist: true})
	if err != nil {
		return nil, err
	}
	for try := 0; ; try++ {
		p.phase("reading log", segmentFileBytes(dir))
		cache := newCachedBackend(nb, p)
		v, err := openView(dir, nb, cache, true, p)
		if err == nil {
			return v, nil
		}
		if try < 2 && (errors.Is(err, fs.ErrNotExist) || errors.Is(err, core.ErrCorrupt)) {
			continue
		}
		nb.Close()
		return nil, native.RepairHint(dir, err)
	}
}

// openWrite opens the database in dir read-write, holding its lock, with
// the dynamic schema of its own log; it writes nothing unless asked (no
// table is added). A log whose tables are all of custom kinds cannot be
// opened so: its schema is the program's.
func (c *cli) openWrite(dir string, p *progress) (*view, error) {
	nb, err := native.NewBackend(dir, native.BackendOptions{MustExist: true})
	if err != nil {
		return nil, lockedHint(err)
	}
	p.phase("reading log", segmentFileBytes(dir))
	v, err := openView(dir, nb, countingBackend{nb, p}, false, p)
	if err != nil {
		nb.Close()
		return nil, native.RepairHint(dir, err)
	}
	return v, nil
}

func openView(dir string, nb *native.Backend, log core.Backend, readOnly bool, p *progress) (*view, error) {
	specs, err := core.LogTables(log)
	if err != nil {
		return nil, err
	}
	var dyn []core.TableSpec
	for _, s := range specs {
		if builtinKind(s.Kind) {
			dyn = append(dyn, s)
		}
	}
	if len(dyn) == 0 {
		if !readOnly {
			if len(specs) == 0 {
				return nil, fmt.Errorf("dbrs: %s holds no tables", dir)
			}
			return nil, fmt.Errorf("dbrs: %s holds only tables of custom kinds (%s); use the program that defines them", dir, describeSpecs(specs))
		}
		dyn = []core.TableSpec{{Name: placeholderTable, Kind: core.KindSingle}}
	}
	version, err := core.LogVersion(log) // open at the log's own schema version
	if err != nil {
		return nil, err
	}
	p.phase("replaying log", -1)
	db, err := core.OpenDynamic(log, dyn, core.Options{ReadOnly: readOnly, KeepUnknownTables: true, CompactRatio: -1, Version: version})
	if err != nil {
		return nil, err
	}
	p.idle()
	return &view{dir: dir, specs: specs, db: db, nb: nb, log: log}, nil
}

func describeSpecs(specs []core.TableSpec) string {
	var parts []string
	for _, s := range specs {
		parts = append(parts, fmt.Sprintf("%q: %s", s.Name, s.Kind))
	}
	return strings.Join(parts, ", ")
}

// lockedHint adds advice to an error matching core.ErrLocked.
func lockedHint(err error) error {
	if errors.Is(err, core.ErrLocked) {
		return fmt.Errorf("%w; close the program that has the database open, then try again", err)
	}
	return err
}

// segmentFileBytes returns the size of dir's segment files: the bytes a
// full read of the log reads, at most.
func segmentFileBytes(dir string) int64 {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return -1
	}
	var n int64
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".seg") {
			if fi, err := e.Info(); err == nil {
				n += fi.Size()
			}
		}
	}
	return n
}

// cachedBackend serves a backend's segment list and segment bytes from the
// copy it read first, so that the several passes of a read-only command
// (list the tables, replay, snapshot) see one state of a log that a writer
// may be changing, and counts the bytes it reads as progress. ReadSegment
// returns the cached slice itself: its callers only read it. Close does not
// close the backend beneath.
type cachedBackend struct {
	core.Backend
	p    *progress
	mu   sync.Mutex
	ids  []uint64
	data map[uint64][]byte
}

func newCachedBackend(b core.Backend, p *progress) *cachedBackend {
	return &cachedBackend{Backend: b, p: p, data: map[uint64][]byte{}}
}

func (c *cachedBackend) Segments() ([]uint64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ids == nil {
		ids, err := c.Backend.Segments()
		if err != nil {
			return nil, err
		}
		c.ids = ids
	}
	return append([]uint64(nil), c.ids...), nil
}

func (c *cachedBackend) ReadSegment(id uint64) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d, ok := c.data[id]; ok {
		return d, nil
	}
	d, err := c.Backend.ReadSegment(id)
	if err != nil {
		return nil, err
	}
	c.data[id] = d
	c.p.add(int64(len(d)))
	return d, nil
}

func (c *cachedBackend) Close() error { return nil }

// countingBackend counts the bytes read through it as progress.
type countingBackend struct {
	core.Backend
	p *progress
}

func (c countingBackend) ReadSegment(id uint64) ([]byte, error) {
	d, err := c.Backend.ReadSegment(id)
	c.p.add(int64(len(d)))
	return d, err
}

// tornData returns the bytes of data in a torn tail of torn bytes at the end
// of the newest segment of log: the torn tail without the preallocated
// zeros after it.
func tornData(log core.Backend, torn int64) int64 {
	if torn == 0 {
		return 0
	}
	ids, err := log.Segments()
	if err != nil || len(ids) == 0 {
		return torn
	}
	data, err := log.ReadSegment(ids[len(ids)-1])
	if err != nil || int64(len(data)) < torn {
		return torn
	}
	end := len(data)
	for end > 0 && data[end-1] == 0 {
		end--
	}
	return max(0, int64(end)-(int64(len(data))-torn))
}

// tornString describes a torn tail of torn bytes, data of them not zeros.
func tornString(torn, data int64) string {
	if torn == data {
		return fmt.Sprintf("%s of a record cut short", sizeString(data))
	}
	return fmt.Sprintf("%s of a record cut short (and %d preallocated zero bytes)", sizeString(data), torn-data)
}
