package core

import (
	"testing"
	"time"
)

// waitFor polls cond until it holds or timeout has passed, and reports
// whether it held. Tests synchronise on a condition this way (a counter in
// Stats, a call seen by a test backend) rather than sleeping for a guessed
// time and hoping the event happened meanwhile. Between polls it blocks on a
// timer, backing off from 10µs to 1ms, which also lets background goroutines
// run on js/wasm, where goroutines are not preempted.
func waitFor(t testing.TB, timeout time.Duration, cond func() bool) bool {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for pause := 10 * time.Microsecond; !cond(); pause = min(2*pause, time.Millisecond) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(pause)
	}
	return true
}

// WaitFor is waitFor for the black-box tests (package core_test); it exists
// only in the test binary.
var WaitFor = waitFor

// LockWaits returns how many lock calls on db found the lock taken and
// waited (the slow path of reentry.go that decided not to refuse).
func LockWaits[S any](db *DB[S]) int64 { return db.e.callbacks.waits.Load() }
