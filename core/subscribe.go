package core

import (
	"slices"
	"sync"
)

// Change is one commit that has become durable: what a subscription
// delivers.
type Change struct {
	// Seq numbers the commits of this DB since it was opened: 1, 2, ...
	// A number is skipped only for a commit that failed.
	Seq uint64
	// Tables names the tables the commit wrote, sorted.
	Tables []string

	shipped *Committed // for the tap (follow.go), when one is set
}

// Subscribe calls fn with every commit that becomes durable from now on,
// in commit order, once each, on a goroutine of the subscription's own:
// writers never wait for fn, and changes queue up while it runs. A commit
// is delivered once it is durable under the database's Sync mode (at once
// under SyncNever and SyncInterval); a rolled-back or failed commit is
// never delivered. fn must not call cancel or Close (they wait for it).
//
// cancel ends the subscription: changes not yet delivered are dropped, and
// cancel returns once fn is no longer running. Close ends every
// subscription after delivering what was queued, so no goroutine outlives
// the DB.
func (db *DB[S]) Subscribe(fn func(Change)) (cancel func()) {
	return db.e.subscribe(fn)
}

// subscriber is one subscription: a queue and the goroutine that drains it.
type subscriber struct {
	fn    func(Change)
	mu    sync.Mutex
	queue []Change
	wake  chan struct{} // one pending wake-up at most
	stop  chan struct{} // closed by cancel: drop the queue and end
	done  chan struct{} // closed when the goroutine has ended
	drain bool          // set by Close: deliver the queue, then end
}

// subscriptions is the engine's set of subscribers. Its mutex is a leaf:
// it is taken under e.mu and e.smu, never the other way round.
type subscriptions struct {
	mu     sync.Mutex
	subs   []*subscriber
	closed bool
}

func (e *engine) subscribe(fn func(Change)) func() {
	s := &subscriber{fn: fn, wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	e.subs.mu.Lock()
	if e.subs.closed {
		e.subs.mu.Unlock()
		close(s.done)
		return func() {}
	}
	e.subs.subs = append(e.subs.subs, s)
	e.subs.mu.Unlock()
	go s.run()
	var once sync.Once
	return func() {
		once.Do(func() {
			e.subs.mu.Lock()
			e.subs.subs = slices.DeleteFunc(e.subs.subs, func(x *subscriber) bool { return x == s })
			e.subs.mu.Unlock()
			close(s.stop)
			<-s.done
		})
	}
}

func (s *subscriber) run() {
	defer close(s.done)
	for {
		select {
		case <-s.stop:
			return
		case <-s.wake:
		}
		for {
			s.mu.Lock()
			if len(s.queue) == 0 {
				drain := s.drain
				s.mu.Unlock()
				if drain {
					return
				}
				break
			}
			c := s.queue[0]
			s.queue = s.queue[1:]
			s.mu.Unlock()
			select {
			case <-s.stop:
				return
			default:
			}
			s.fn(c)
		}
	}
}

func (s *subscriber) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// publish hands a durable commit to every subscriber. Callers publish in
// commit order (under e.mu or e.smu), which the queues keep.
func (e *engine) publish(c Change) {
	if c.shipped != nil {
		if e.follow.tap != nil {
			e.follow.tap(*c.shipped)
		}
		c.shipped = nil
	}
	e.subs.mu.Lock()
	defer e.subs.mu.Unlock()
	for _, s := range e.subs.subs {
		s.mu.Lock()
		s.queue = append(s.queue, c)
		s.mu.Unlock()
		s.poke()
	}
}

// hasSubscribers reports whether a commit needs its Change built.
func (e *engine) hasSubscribers() bool {
	e.subs.mu.Lock()
	defer e.subs.mu.Unlock()
	return len(e.subs.subs) > 0
}

// closeSubscriptions ends every subscription once it has delivered its
// queue, and waits for that.
func (e *engine) closeSubscriptions() {
	e.subs.mu.Lock()
	subs := e.subs.subs
	e.subs.subs, e.subs.closed = nil, true
	e.subs.mu.Unlock()
	for _, s := range subs {
		s.mu.Lock()
		s.drain = true
		s.mu.Unlock()
		s.poke()
	}
	for _, s := range subs {
		<-s.done
	}
}

// changeOf builds the Change of a transaction that wrote the tables with
// the given IDs. e.mu is held.
func (e *engine) changeOf(seq uint64, ids []uint32) Change {
	c := Change{Seq: seq, Tables: make([]string, 0, len(ids))}
	for _, id := range ids {
		if t := e.byID[id]; t != nil {
			c.Tables = append(c.Tables, t.name)
		}
	}
	slices.Sort(c.Tables) // as sortKeys sorts: one string sort in dbrs.wasm
	return c
}
