package core

import "sync"

// The synced watermark (record.go): the writer remembers the newest point
// of the log known durable, and puts a synced record [6, offset] at the
// head of the next append to the active segment whenever that point has
// moved past the last one it wrote. A sync group therefore costs at most one
// tiny record, written in the same Append as the commit it precedes.
//
// Invariant: a watermark never exceeds the bytes a Sync that returned nil
// covered. advance is called only after such a Sync, with an end read before
// the Sync was called.
type watermark struct {
	mu  sync.Mutex // guards seg and end; never held while calling out
	seg uint64     // the newest durable point known: segment seg ...
	end int64      // ... is durable up to end

	written int64 // the offset carried by the last synced record written to the active segment (e.mu); -1: none
}

// advance records that segment seg is durable up to end. Points only move
// forward: a newer segment, or a longer prefix of the same one.
func (w *watermark) advance(seg uint64, end int64) {
	w.mu.Lock()
	if seg > w.seg || seg == w.seg && end > w.end {
		w.seg, w.end = seg, end
	}
	w.mu.Unlock()
}

// due returns the offset a synced record at the head of the next append to
// active must carry, or -1 when none is due. e.mu is held.
func (w *watermark) due(active uint64) int64 {
	w.mu.Lock()
	seg, end := w.seg, w.end
	w.mu.Unlock()
	if seg == active && end > w.written {
		return end
	}
	return -1
}
