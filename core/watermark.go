package core

import "sync/atomic"

// The synced watermark (record.go): the writer remembers the newest point
// of the log known durable, and puts a synced record [6, offset] at the
// head of the next append to the active segment whenever that point has
// moved past the last one it wrote. A sync group therefore costs at most one
// tiny record, written in the same Append as the commit it precedes.
//
// Invariant: a watermark never exceeds the bytes a Sync that returned nil
// covered. advance is called only after such a Sync, with an end read before
// the Sync was called.

// durablePoint is a prefix of a segment known durable.
type durablePoint struct {
	seg uint64
	end int64
}

type watermark struct {
	durable atomic.Pointer[durablePoint] // the newest durable point known
	written int64                        // the offset carried by the last synced record written to the active segment (e.mu); -1: none
}

// advance records that segment seg is durable up to end. Points only move
// forward: a newer segment, or a longer prefix of the same one.
func (w *watermark) advance(seg uint64, end int64) {
	p := &durablePoint{seg, end}
	for {
		cur := w.durable.Load()
		if cur != nil && (cur.seg > seg || cur.seg == seg && cur.end >= end) {
			return
		}
		if w.durable.CompareAndSwap(cur, p) {
			return
		}
	}
}

// due returns the offset a synced record at the head of the next append to
// active must carry, or -1 when none is due. e.mu is held.
func (w *watermark) due(active uint64) int64 {
	if p := w.durable.Load(); p != nil && p.seg == active && p.end > w.written {
		return p.end
	}
	return -1
}
