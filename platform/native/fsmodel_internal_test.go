package native

import (
	"bytes"
	"fmt"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
)

// fsModel replays a recorder's log as a power loss sees it: each file has
// the bytes it holds now (cur) and the bytes a power loss would leave
// (durable), and each folder has its entries now and its durable entries.
//
// The crash model is the one POSIX and Linux promise, taken at its weakest
// where the backend could be caught relying on more:
//   - a file's bytes and size become durable only by an fdatasync of that
//     file, and then exactly as they were when the fdatasync started; until
//     then a power loss keeps the file as it was at the previous one (an
//     unsynced write is lost whole, an unsynced truncate comes back);
//   - a folder's entries (created, renamed, removed names) become durable
//     only by a sync of that folder; until then each pending change may
//     independently be kept or lost.
//
// Two images of the folder are checked at every point of the log:
// keptNone (every pending folder change lost) and keptRemovals (pending
// removals kept, pending creations and renames lost: the worst case for a
// compaction that removes old segments before its new one is durable).
type fsModel struct {
	db    string          // the database folder
	nodes map[int]*fsNode // by inode
	paths map[string]int  // inode at each current path

	fileSyncs map[int]fileBytes      // fdatasync token → the file's bytes at its begin
	dirSyncs  map[int]map[string]int // folder sync token → its entries at its begin

	version int // counts changes to what a power loss would leave
}

type fsNode struct {
	dir bool

	cur, durable fileBytes // a file's bytes now, and after a power loss

	entries, durEntries map[string]int // a folder's entries now, and durable ones
	// removed holds the durable entries that a remove (not a rename) took
	// out of entries since the folder was last synced.
	removed map[string]int
}

// imageKind chooses which pending folder changes an image keeps.
type imageKind int

const (
	keptNone imageKind = iota
	keptRemovals
)

func (k imageKind) String() string {
	return [...]string{"every pending folder change lost", "pending removals kept, creations and renames lost"}[k]
}

func newFSModel(db string, initial []fsEntry) *fsModel {
	m := &fsModel{
		db:        db,
		nodes:     map[int]*fsNode{},
		paths:     map[string]int{},
		fileSyncs: map[int]fileBytes{},
		dirSyncs:  map[int]map[string]int{},
	}
	for _, e := range initial {
		ino := e.ino
		n := &fsNode{dir: e.dir}
		if e.dir {
			n.entries, n.durEntries, n.removed = map[string]int{}, map[string]int{}, map[string]int{}
		} else {
			n.cur = fileBytes{data: e.data, size: int64(len(e.data))}
			n.durable = n.cur
		}
		m.nodes[ino] = n
		m.paths[e.path] = ino
		if parent, ok := m.paths[filepath.Dir(e.path)]; ok && e.path != filepath.Dir(e.path) {
			m.nodes[parent].entries[filepath.Base(e.path)] = ino
			m.nodes[parent].durEntries[filepath.Base(e.path)] = ino
		}
	}
	return m
}

// parent returns the folder node holding path, creating nothing.
func (m *fsModel) parent(path string) *fsNode {
	n, ok := m.nodes[m.paths[filepath.Dir(path)]]
	if !ok || !n.dir {
		panic(fmt.Sprintf("fsModel: the folder of %s is not known", path))
	}
	return n
}

// apply replays one event.
func (m *fsModel) apply(op fsOp) {
	switch op.kind {
	case opCreate, opMkdir:
		n := &fsNode{dir: op.kind == opMkdir}
		if n.dir {
			n.entries, n.durEntries, n.removed = map[string]int{}, map[string]int{}, map[string]int{}
		}
		m.nodes[op.file] = n
		m.parent(op.path).entries[filepath.Base(op.path)] = op.file
		m.paths[op.path] = op.file
	case opWrite:
		m.nodes[op.file].cur.write(op.off, op.data)
	case opTruncate:
		m.nodes[op.file].cur.truncate(op.n)
	case opFallocate:
		n := m.nodes[op.file]
		n.cur.size = max(n.cur.size, op.off+op.n)
	case opSyncBegin:
		m.fileSyncs[op.token] = m.nodes[op.file].cur.clone()
	case opSyncEnd:
		m.nodes[op.file].durable = m.fileSyncs[op.token]
		delete(m.fileSyncs, op.token)
		m.version++
	case opRename:
		ino := m.paths[op.path]
		delete(m.parent(op.path).entries, filepath.Base(op.path))
		m.parent(op.to).entries[filepath.Base(op.to)] = ino
		delete(m.paths, op.path)
		m.paths[op.to] = ino
	case opRemove:
		ino := m.paths[op.path]
		p, name := m.parent(op.path), filepath.Base(op.path)
		delete(p.entries, name)
		if p.durEntries[name] == ino {
			p.removed[name] = ino
			m.version++
		}
		delete(m.paths, op.path)
	case opDirBegin:
		m.dirSyncs[op.token] = maps.Clone(m.nodes[m.paths[op.path]].entries)
	case opDirEnd:
		n := m.nodes[m.paths[op.path]]
		n.durEntries = m.dirSyncs[op.token]
		delete(m.dirSyncs, op.token)
		for name, ino := range n.removed {
			if n.durEntries[name] != ino {
				delete(n.removed, name) // its removal is durable now
			}
		}
		m.version++
	}
}

// durableEntries returns the entries of folder node n that image k keeps.
func (k imageKind) entries(n *fsNode) map[string]int {
	e := maps.Clone(n.durEntries)
	if k == keptRemovals {
		for name := range n.removed {
			delete(e, name)
		}
	}
	return e
}

// linked reports whether the database folder survives in image k: each
// folder from a known durable ancestor down to it is a kept entry of its
// parent.
func (m *fsModel) linked(k imageKind) bool {
	for p := m.db; ; p = filepath.Dir(p) {
		parentIno, ok := m.paths[filepath.Dir(p)]
		if !ok || p == filepath.Dir(p) {
			return true // above the recorded tree: durable before the test
		}
		if _, ok := k.entries(m.nodes[parentIno])[filepath.Base(p)]; !ok {
			return false
		}
	}
}

// image returns the segment files a power loss would leave now, in image k:
// segment ID → bytes. A database folder that would be lost gives none.
func (m *fsModel) image(k imageKind) map[uint64][]byte {
	segs := map[uint64][]byte{}
	dbIno, ok := m.paths[m.db]
	if !ok || !m.linked(k) {
		return segs
	}
	for name, ino := range k.entries(m.nodes[dbIno]) {
		if id, ok := parseSegmentName(name); ok {
			segs[id] = m.nodes[ino].durable.data
		}
	}
	return segs
}

// removalsPending reports whether the database folder has removals that
// are not durable: only then do the two images differ.
func (m *fsModel) removalsPending() bool {
	for p := m.db; ; p = filepath.Dir(p) {
		ino, ok := m.paths[p]
		if !ok {
			return false
		}
		if len(m.nodes[ino].removed) > 0 {
			return true
		}
		if p == filepath.Dir(p) {
			return false
		}
	}
}

// segmentFiles returns the names and nodes of the segment files now in the
// database folder.
func (m *fsModel) segmentFiles() map[string]*fsNode {
	files := map[string]*fsNode{}
	if dbIno, ok := m.paths[m.db]; ok {
		for name, ino := range m.nodes[dbIno].entries {
			if _, ok := parseSegmentName(name); ok {
				files[name] = m.nodes[ino]
			}
		}
	}
	return files
}

// pendingFolderChanges describes the changes to the database folder (and
// the folders above it that the log created) that are not durable.
func (m *fsModel) pendingFolderChanges() []string {
	var pending []string
	for p := m.db; ; p = filepath.Dir(p) {
		ino, ok := m.paths[p]
		if !ok {
			break
		}
		n := m.nodes[ino]
		for name, i := range n.entries {
			if n.durEntries[name] != i {
				pending = append(pending, "creation or rename of "+filepath.Join(p, name))
			}
		}
		for name, i := range n.durEntries {
			if n.entries[name] != i {
				pending = append(pending, "removal or rename of "+filepath.Join(p, name))
			}
		}
		if _, ok := m.paths[filepath.Dir(p)]; !ok || p == filepath.Dir(p) {
			break
		}
	}
	slices.Sort(pending)
	return pending
}

// commitMarker matches the value each checked commit writes, "commit-%06d",
// so that the check can find the write that carried commit i.
var commitMarker = regexp.MustCompile(`commit-(\d{6})`)

func marker(i int) string { return fmt.Sprintf("commit-%06d", i) }

// imageState opens an image and returns the number of commits it holds,
// or an error if it does not hold a prefix of the commits.
type imageState func(segs map[uint64][]byte) (int, error)

// checkDurability replays ops (recorded in the database folder db, starting
// from initial) and returns every violation of what the backend must
// guarantee:
//   - each acknowledged commit's write was fdatasynced, and its segment's
//     creation synced to the folder, before the acknowledgement (markCommit);
//   - when a segment is created, every other segment file is synced
//     (Backend.Create's ordering promise);
//   - when a segment is removed, no creation or rename in the folder is
//     pending (a compaction's snapshot is durable before the segments it
//     replaces go);
//   - after a settled mark, no folder change is pending and, if files, no
//     segment file has unsynced bytes;
//   - at every point of the log, both images hold a prefix of the commits
//     that includes every commit acknowledged so far.
func checkDurability(rec *recorder, db string, state imageState) []string {
	ops := rec.snapshot()
	m := newFSModel(db, rec.initial)
	type loc struct {
		file int
		path string
		off  int64
		data []byte
	}
	first := map[int]loc{} // the first write of each commit's marker
	var violations []string
	fail := func(i int, format string, args ...any) {
		if len(violations) < 5 {
			violations = append(violations, fmt.Sprintf("at event %d: %s; the events before it:%s", i, fmt.Sprintf(format, args...), describeOps(ops, i, 12)))
		}
	}
	acked := 0
	checked := -1 // the model version whose images were checked
	for i, op := range ops {
		switch op.kind {
		case opCreate:
			if _, ok := parseSegmentName(filepath.Base(op.path)); ok && filepath.Dir(op.path) == db {
				for name, n := range m.segmentFiles() {
					if !n.cur.equal(n.durable) {
						fail(i, "segment %s was created while segment %s had unsynced bytes", filepath.Base(op.path), name)
					}
				}
			}
		case opRemove:
			if _, ok := parseSegmentName(filepath.Base(op.path)); ok && filepath.Dir(op.path) == db {
				for _, p := range m.pendingFolderChanges() {
					if !bytes.HasPrefix([]byte(p), []byte("removal")) {
						fail(i, "segment %s was removed before the %s was synced to the folder", filepath.Base(op.path), p)
					}
				}
			}
		}
		m.apply(op)
		switch op.kind {
		case opWrite:
			for _, sm := range commitMarker.FindAllSubmatchIndex(op.data, -1) {
				c, _ := strconv.Atoi(string(op.data[sm[2]:sm[3]]))
				if _, ok := first[c]; !ok {
					first[c] = loc{op.file, op.path, op.off + int64(sm[0]), op.data[sm[0]:sm[1]]}
				}
			}
		case opMark:
			acked = max(acked, op.acked)
			if op.mark == markCommit {
				w, ok := first[op.acked]
				switch {
				case !ok:
					fail(i, "commit %d was acknowledged, but no write carried it", op.acked)
				case !bytes.Equal(safeSlice(m.nodes[w.file].durable.data, w.off, len(w.data)), w.data):
					fail(i, "commit %d was acknowledged, but its bytes (%s at %d) were not fdatasynced", op.acked, filepath.Base(w.path), w.off)
				case !m.durablyLinked(w.file):
					fail(i, "commit %d was acknowledged, but the creation of its segment file %s was not synced to the folder", op.acked, filepath.Base(w.path))
				}
			}
			if op.mark == markSettled || op.mark == markSettledFiles {
				for _, p := range m.pendingFolderChanges() {
					fail(i, "a call returned with the %s not synced to the folder", p)
				}
			}
			if op.mark == markSettledFiles {
				for name, n := range m.segmentFiles() {
					if !n.cur.equal(n.durable) {
						fail(i, "a call returned with unsynced bytes in segment %s", name)
					}
				}
			}
		}
		if m.version == checked && op.kind != opMark {
			continue
		}
		checked = m.version
		for _, k := range []imageKind{keptNone, keptRemovals} {
			if k == keptRemovals && !m.removalsPending() {
				continue // the same image as keptNone
			}
			n, err := state(m.image(k))
			switch {
			case err != nil:
				fail(i, "a power loss here (%v) leaves a folder that does not open to a prefix of the commits: %v", k, err)
			case n < acked:
				fail(i, "a power loss here (%v) leaves %d commits, but %d were acknowledged", k, n, acked)
			}
		}
	}
	return violations
}

// durablyLinked reports whether file inode ino has a durable name in the
// database folder, and the folder itself survives.
func (m *fsModel) durablyLinked(ino int) bool {
	dbIno, ok := m.paths[m.db]
	if !ok || !m.linked(keptNone) {
		return false
	}
	for _, i := range m.nodes[dbIno].durEntries {
		if i == ino {
			return true
		}
	}
	return false
}

// safeSlice returns b[off:off+n], or nil when b is shorter.
func safeSlice(b []byte, off int64, n int) []byte {
	if off+int64(n) > int64(len(b)) {
		return nil
	}
	return b[off : off+int64(n)]
}

// fileBytes is a file's contents: data, then zeros up to size (the tail
// that fallocate adds, kept implicit so that copies stay small). core reads
// a zero tail of any length, or none, as the clean end of a segment, so an
// image holds data alone.
type fileBytes struct {
	data []byte
	size int64
}

func (f *fileBytes) write(off int64, p []byte) {
	end := off + int64(len(p))
	if end > int64(len(f.data)) {
		f.data = append(f.data, make([]byte, end-int64(len(f.data)))...)
	}
	copy(f.data[off:], p)
	f.size = max(f.size, end)
}

func (f *fileBytes) truncate(size int64) {
	if size < int64(len(f.data)) {
		f.data = f.data[:size:size]
	}
	f.size = size
}

func (f fileBytes) clone() fileBytes { return fileBytes{bytes.Clone(f.data), f.size} }

// equal reports whether f and g read the same: the same bytes and size.
func (f fileBytes) equal(g fileBytes) bool {
	if f.size != g.size {
		return false
	}
	a, b := f.data, g.data
	if len(a) > len(b) {
		a, b = b, a
	}
	return bytes.Equal(a, b[:len(a)]) && allZero(b[len(a):])
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
