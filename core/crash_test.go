package core_test

// Crash simulation: random multi-table transactions from several
// goroutines, a power loss at random moments (crashtest.Disk.Crash: unsynced
// pages persist out of order, unsynced truncates come back, removals may be
// half done, as weak as the Backend contract), and a check that every image
// opens and holds a prefix of the commit sequence that includes every
// acknowledged commit and no partial transaction (design §4.4).
//
//	go test -race -run TestCrash ./core/ -crash.seed=7 -dbrs.crashes=10000 -v
//
// Every transaction reads a sequence number k-1 from the One table and writes
// k there, so the transactions form one chain whatever goroutine runs them.
// Transaction k's operations are a deterministic function of the seed and of
// the state after k-1, so the state after every prefix is known (crashPlanner).
// A reopened database must equal the state after k commits, where k is the
// sequence number it holds, and k must be at least the last acknowledged one.

import (
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dbrs-db/dbrs/core"
	"github.com/dbrs-db/dbrs/core/internal/crashtest"
)

var (
	crashSeed  = flag.Uint64("crash.seed", 1, "random seed of the crash tests")
	crashCount = flag.Int("dbrs.crashes", 0, "simulated crashes in TestCrash, half under SyncAlways and a quarter under each other sync mode (0: 256, or 64 with -short)")
)

// crashImages is how many crash images TestCrash opens at each crash point;
// each counts as one simulated crash.
const crashImages = 4

// crashStep is one planned operation and the model's outcome for it.
type crashStep struct {
	op  modelOp
	res any
	err error
}

// crashPlanner knows the state after every prefix of the commit chain.
type crashPlanner struct {
	mu     sync.Mutex
	seed   uint64
	epoch  uint64
	states []modelState  // states[k]: after commit k
	plans  [][]crashStep // plans[k]: the operations of commit k (k >= 1)
}

func newCrashPlanner(seed uint64) *crashPlanner {
	return &crashPlanner{seed: seed, states: []modelState{newModelState()}, plans: [][]crashStep{nil}}
}

// plan returns the operations of commit k, planning it if needed. Commit k-1
// must be known.
func (p *crashPlanner) plan(k int) ([]crashStep, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if k < 1 || k > len(p.states) {
		return nil, fmt.Errorf("sequence number %d read from the database, but only %d commits were planned", k-1, len(p.states)-1)
	}
	if k < len(p.states) {
		return p.plans[k], nil
	}
	rng := rand.New(rand.NewPCG(p.seed, p.epoch<<32|uint64(k)))
	m := p.states[k-1].clone()
	seq := strconv.Itoa(k)
	ops := []modelOp{
		{"One.Insert(seq)",
			func(s *modelSchema) (any, error) { return nil, s.One.Insert(seq) },
			func(m *modelState) (any, error) { m.One, m.HasOne = seq, true; return nil, nil }},
		{"Lists.Push(log, seq)",
			func(s *modelSchema) (any, error) { return nil, s.Lists.Push("log", k) },
			func(m *modelState) (any, error) { m.Lists["log"] = append(m.Lists["log"], k); return nil, nil }},
	}
	var steps []crashStep
	for i := 0; i < len(ops) || i < 3+rng.IntN(4); i++ {
		op := modelOp{}
		if i < len(ops) {
			op = ops[i]
		} else {
			op = modelGenOp(rng, &m, true)
		}
		res, err := op.model(&m)
		steps = append(steps, crashStep{op, res, err})
	}
	p.states = append(p.states, m)
	p.plans = append(p.plans, steps)
	return steps, nil
}

// reset forgets every commit after k and makes later plans differ from the
// forgotten ones.
func (p *crashPlanner) reset(k int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.states = p.states[:k+1]
	p.plans = p.plans[:k+1]
	p.epoch++
}

func (p *crashPlanner) planned() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.states) - 1
}

func (p *crashPlanner) state(k int) modelState {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.states[k]
}

// crashSeq returns the sequence number held by a database state.
func crashSeq(m modelState) (int, error) {
	if !m.HasOne {
		return 0, nil
	}
	return strconv.Atoi(m.One)
}

// crashTx runs the next commit of the chain on the handles in s and returns
// its sequence number.
func crashTx(s *modelSchema, p *crashPlanner) (int, error) {
	cur, ok := s.One.Get()
	prev := 0
	if ok {
		var err error
		if prev, err = strconv.Atoi(cur); err != nil {
			return 0, fmt.Errorf("One holds %q, not a sequence number", cur)
		}
	}
	k := prev + 1
	steps, err := p.plan(k)
	if err != nil {
		return 0, err
	}
	for _, st := range steps {
		res, err := st.op.db(s)
		switch {
		case st.err == nil && err != nil:
			return 0, fmt.Errorf("commit %d: %s: unexpected error %v", k, st.op.desc, err)
		case st.err != nil && !errors.Is(err, st.err):
			return 0, fmt.Errorf("commit %d: %s: error %v, want %v", k, st.op.desc, err, st.err)
		case st.err == nil && fmt.Sprint(res) != fmt.Sprint(st.res):
			return 0, fmt.Errorf("commit %d: %s: result %v, want %v", k, st.op.desc, res, st.res)
		}
	}
	return k, nil
}

// crashCommit runs one commit of the chain through Update or Begin/Commit,
// rolling it back instead when abort is set. It returns the sequence number
// and the commit's outcome.
func crashCommit(db *core.DB[modelSchema], p *crashPlanner, abort, begin bool) (int, error) {
	var k int
	fn := func(s *modelSchema) error {
		var err error
		if k, err = crashTx(s, p); err != nil {
			return err
		}
		if abort {
			return errModelAbort
		}
		return nil
	}
	if !begin {
		return k, db.Update(fn)
	}
	tx, err := db.Begin()
	if err != nil {
		return 0, err
	}
	if err := fn(tx.Tables); err != nil {
		tx.Rollback()
		return k, err
	}
	return k, tx.Commit()
}

// crashMax raises a to at least v.
func crashMax(a *atomic.Int64, v int64) {
	for {
		old := a.Load()
		if v <= old || a.CompareAndSwap(old, v) {
			return
		}
	}
}

// crashCheck verifies the state of a database reopened after a crash and
// returns its sequence number.
func crashCheck(t *testing.T, db *core.DB[modelSchema], p *crashPlanner, acked int64, what string) int {
	t.Helper()
	k, err := crashVerify(t, db, p, acked)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return k
}

// crashVerify returns the sequence number of a database reopened after a
// crash, or what is wrong with its state.
func crashVerify(t *testing.T, db *core.DB[modelSchema], p *crashPlanner, acked int64) (int, error) {
	t.Helper()
	got := modelViewDump(t, db)
	k, err := crashSeq(got)
	switch {
	case err != nil:
		return 0, err
	case int64(k) < acked:
		return k, fmt.Errorf("reopened at commit %d, but commit %d was acknowledged before the crash", k, acked)
	case k > p.planned():
		return k, fmt.Errorf("reopened at commit %d, but only %d were planned", k, p.planned())
	}
	if want := p.state(k); !want.equal(got) {
		return k, fmt.Errorf("reopened at commit %d, but the state is not the state after commit %d (a partial transaction?):\n%s",
			k, k, want.diff(got))
	}
	return k, nil
}

// crashWorkers runs commits from n goroutines until stop is called.
type crashWorkers struct {
	wg      sync.WaitGroup
	stopped chan struct{}
	once    sync.Once
	mu      sync.Mutex
	err     error // the first unexpected error, valid after stop
}

func startCrashWorkers(db *core.DB[modelSchema], p *crashPlanner, n int, seed uint64, acked *atomic.Int64) *crashWorkers {
	w := &crashWorkers{stopped: make(chan struct{})}
	for i := range n {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(i)))
			for {
				select {
				case <-w.stopped:
					return
				default:
				}
				abort := rng.IntN(8) == 0
				k, err := crashCommit(db, p, abort, rng.IntN(4) == 0)
				switch {
				case err == nil && !abort:
					crashMax(acked, int64(k))
				case abort && errors.Is(err, errModelAbort):
				default:
					w.mu.Lock()
					if w.err == nil {
						w.err = fmt.Errorf("worker %d: commit %d (abort %v): %w", i, k, abort, err)
					}
					w.mu.Unlock()
					return
				}
			}
		}()
	}
	return w
}

// startReader adds a goroutine that checks, through View, that readers
// never see a half-applied transaction (design §4.5): every state it reads
// is the state after some whole commit.
func (w *crashWorkers) startReader(db *core.DB[modelSchema], p *crashPlanner) {
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		for {
			select {
			case <-w.stopped:
				return
			default:
			}
			err := db.View(func(s *modelSchema) error {
				got := modelDump(s)
				k, err := crashSeq(got)
				if err != nil {
					return err
				}
				if want := p.state(k); !want.equal(got) {
					return fmt.Errorf("View saw commit %d, but not the state after it:\n%s", k, want.diff(got))
				}
				return nil
			})
			if err != nil {
				w.mu.Lock()
				if w.err == nil {
					w.err = fmt.Errorf("reader: %w", err)
				}
				w.mu.Unlock()
				return
			}
			// Not synchronisation: a throttle, so the reader does not
			// starve the writers of the read-write lock (the crash points
			// wait for their progress); the reader still runs between
			// commits.
			time.Sleep(50 * time.Microsecond)
		}
	}()
}

func (w *crashWorkers) stop() {
	w.once.Do(func() { close(w.stopped) })
	w.wg.Wait()
}

// crashWaitUntil polls cond for up to a second.
func crashWaitUntil(t testing.TB, cond func() bool) bool {
	t.Helper()
	return core.WaitFor(t, time.Second, cond)
}

// TestCrash: under SyncAlways every acknowledged commit survives; under
// SyncInterval and SyncNever acknowledged commits may be lost, but the
// reopened state is still a prefix of the commit sequence.
func TestCrash(t *testing.T) {
	needsPreemption(t)
	n := *crashCount
	if n <= 0 {
		n = 256
		if testing.Short() {
			n = 64
		}
	}
	var total crashTally
	t.Run("SyncAlways", func(t *testing.T) {
		total.add(crashRounds(t, core.Options{Sync: core.SyncAlways}, n/2))
	})
	t.Run("SyncInterval", func(t *testing.T) {
		total.add(crashRounds(t, core.Options{Sync: core.SyncInterval, SyncInterval: 200 * time.Microsecond}, n/4))
	})
	t.Run("SyncNever", func(t *testing.T) {
		total.add(crashRounds(t, core.Options{Sync: core.SyncNever}, n-n/2-n/4))
	})
	t.Logf("reliability: crash: %d simulated crashes under the weak crash model (SyncAlways, SyncInterval and SyncNever), %d torn tails cut, %d violations", total.crashes, total.torn, total.violations)
}

// crashTally counts what crashRounds saw.
type crashTally struct{ crashes, violations, torn int }

func (c *crashTally) add(o crashTally) {
	c.crashes += o.crashes
	c.violations += o.violations
	c.torn += o.torn
}

// crashFatal fails t for err, unless err is the poisoning caused by the
// known bug of TestFaultSyncIntervalCompaction.
func crashFatal(t *testing.T, opts core.Options, err error, format string, args ...any) {
	t.Helper()
	if errors.Is(err, core.ErrPoisoned) && opts.Sync == core.SyncInterval {
		regression(t, "the database was poisoned without any fault injected (SyncInterval background sync vs. compaction, see TestFaultSyncIntervalCompaction): %v", err)
	}
	t.Fatalf(format, args...)
}

// crashRounds crashes fresh databases, four crash points each, until it
// has opened n crash images, and returns the tally. A violation fails t and
// ends its round.
func crashRounds(t *testing.T, opts core.Options, n int) crashTally {
	var tally crashTally
	maxSeq := 0
	modes := map[string]int{}
	for round := 0; tally.crashes < n; round++ {
		seed := *crashSeed*1000 + uint64(round)
		ok := t.Run(fmt.Sprint("round", round), func(t *testing.T) {
			t.Cleanup(func() {
				if t.Failed() {
					tally.violations++
					t.Logf("seed %d (rerun: go test -run '%s' -crash.seed=%d)", seed, t.Name(), *crashSeed)
				}
			})
			rng := rand.New(rand.NewPCG(seed, 0x6372617368))
			p := newCrashPlanner(seed)
			disk := crashtest.New()
			db, err := core.Open[modelSchema](disk, opts)
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				if db != nil {
					db.Close()
				}
			}()
			var acked atomic.Int64
			for epoch := range 4 {
				start := int64(p.planned())
				acked.Store(start)
				w := startCrashWorkers(db, p, 1+rng.IntN(4), seed<<8|uint64(epoch), &acked)
				w.startReader(db, p)
				target := start + 1 + int64(rng.IntN(25))
				progressed := func() bool { return acked.Load() >= target }
				var images []*crashtest.Disk
				var ackedBefore int64
				crash := func() {
					ackedBefore = acked.Load()
					for range crashImages {
						images = append(images, disk.Crash(rng))
					}
				}
				mode := []string{"concurrent", "concurrent", "after-compact", "during-compact", "quiescent"}[rng.IntN(5)]
				modes[mode]++
				var compactErr error
				var compactDone sync.WaitGroup
				switch mode {
				case "concurrent":
					if !crashWaitUntil(t, progressed) {
						w.stop()
						if w.err != nil {
							crashFatal(t, opts, w.err, "%v", w.err)
						}
						t.Fatalf("no progress: acked %d, want %d", acked.Load(), target)
					}
					crash()
				case "after-compact":
					crashWaitUntil(t, progressed)
					if err := db.Compact(); err != nil {
						crashFatal(t, opts, err, "Compact: %v", err)
					}
					crash()
				case "during-compact":
					crashWaitUntil(t, progressed)
					compactDone.Add(1)
					go func() {
						defer compactDone.Done()
						compactErr = db.Compact()
					}()
					// Not synchronisation: a random delay, so the crash
					// lands at a random point of the compaction rather
					// than always before it starts.
					for range rng.IntN(40) {
						time.Sleep(time.Microsecond)
					}
					crash()
				case "quiescent":
					crashWaitUntil(t, progressed)
					w.stop()
					crash()
				}
				w.stop()
				compactDone.Wait()
				if compactErr != nil {
					crashFatal(t, opts, compactErr, "Compact: %v", compactErr)
				}
				if w.err != nil {
					crashFatal(t, opts, w.err, "%v", w.err)
				}
				if err := db.Close(); err != nil {
					t.Fatalf("Close: %v", err)
				}
				what := fmt.Sprintf("epoch %d (%s crash; commits %d..%d planned, %d acknowledged)", epoch, mode, start, p.planned(), ackedBefore)
				if opts.Sync != core.SyncAlways {
					ackedBefore = 0 // acknowledged commits may be lost
				}
				// Every image but the first is checked and dropped; the
				// first goes on.
				for i := len(images) - 1; i >= 0; i-- {
					what := fmt.Sprintf("%s, image %d", what, i)
					tally.crashes++
					db, err = core.Open[modelSchema](images[i], opts)
					if err != nil {
						t.Fatalf("%s: reopen after the crash: %v", what, err)
					}
					k := crashCheck(t, db, p, ackedBefore, what)
					if db.OpenStats().TornBytes > 0 {
						tally.torn++
					}
					if i > 0 {
						if err := db.Close(); err != nil {
							t.Fatalf("%s: Close: %v", what, err)
						}
						continue
					}
					maxSeq = max(maxSeq, k)
					p.reset(k)
					disk = images[0]
					if rng.IntN(3) == 0 {
						// A clean reopen right away: the torn tail is gone.
						if err := db.Close(); err != nil {
							t.Fatal(err)
						}
						disk = disk.Reopen()
						if db, err = core.Open[modelSchema](disk, opts); err != nil {
							t.Fatalf("%s: clean reopen: %v", what, err)
						}
						if n := db.OpenStats().TornBytes; n != 0 {
							t.Fatalf("%s: clean reopen after the torn tail was cut found %d torn bytes", what, n)
						}
						crashCheck(t, db, p, int64(k), what+", clean reopen")
					}
				}
			}
		})
		if !ok {
			break
		}
	}
	t.Logf("%d simulated crashes (%d points: %v), %d violations, %d with a torn tail, longest chain %d",
		tally.crashes, tally.crashes/crashImages, modes, tally.violations, tally.torn, maxSeq)
	return tally
}

// TestCrashTornTail crashes a database whose commits are not synced (so the
// image often ends inside a record), checks that the torn tail is reported
// and cut, and that writing and crashing again stays consistent.
func TestCrashTornTail(t *testing.T) {
	seed := *crashSeed
	p := newCrashPlanner(seed)
	mem := crashtest.New()
	db, err := core.Open[modelSchema](mem, core.Options{Sync: core.SyncNever})
	if err != nil {
		t.Fatal(err)
	}
	const n = 20
	for range n {
		if _, err := crashCommit(db, p, false, false); err != nil {
			t.Fatal(err)
		}
	}
	rng := rand.New(rand.NewPCG(seed, 0x746f726e))
	torn := 0
	for i := range 30 {
		what := fmt.Sprintf("crash %d", i)
		crashed := mem.Crash(rng)
		db2, err := core.Open[modelSchema](crashed, core.Options{Sync: core.SyncAlways})
		if err != nil {
			t.Fatalf("%s: reopen: %v", what, err)
		}
		k := crashCheck(t, db2, p, 0, what)
		if db2.OpenStats().TornBytes > 0 {
			torn++
		}
		// More commits after the cut, then a second crash: they are synced,
		// so they all survive, and no torn bytes remain.
		p2 := newCrashPlanner(seed)
		for j := 1; j <= k; j++ {
			p2.plan(j)
		}
		p2.reset(k)
		for range 1 + rng.IntN(3) {
			if _, err := crashCommit(db2, p2, false, false); err != nil {
				t.Fatalf("%s: commit after reopen: %v", what, err)
			}
		}
		want := p2.planned()
		crashed2 := crashed.Crash(rng)
		db2.Close()
		db3, err := core.Open[modelSchema](crashed2, core.Options{})
		if err != nil {
			t.Fatalf("%s: second reopen: %v", what, err)
		}
		if k2 := crashCheck(t, db3, p2, int64(want), what+", second crash"); k2 != want {
			t.Fatalf("%s: second crash: reopened at commit %d, want %d", what, k2, want)
		}
		if n := db3.OpenStats().TornBytes; n != 0 {
			t.Fatalf("%s: second crash: %d torn bytes, but every commit since the cut was synced", what, n)
		}
		db3.Close()
	}
	if torn == 0 {
		t.Fatalf("none of 30 crashes of unsynced commits left a torn tail")
	}
	t.Logf("%d of 30 crashes left a torn tail", torn)
	db.Close()
}

// crashOlderSegmentTorn reports whether err is corruption in a segment other
// than the newest: the signature of the bug TestCrashCompactionCommitInFlight
// reproduces.
func crashOlderSegmentTorn(b core.Backend, err error) bool {
	var ce *core.CorruptError
	if !errors.As(err, &ce) {
		return false
	}
	ids, lerr := b.Segments()
	return lerr == nil && len(ids) > 0 && ce.Segment != ids[len(ids)-1]
}

// TestCrashCompactionCommitInFlight: a commit is appended to the active
// segment N and waits for its sync; a compaction seals N and creates N+2
// (and writes N+2's schema record); the power fails before N is synced.
// Reopening must work (the commit was not acknowledged, so it may be lost).
// The Backend contract makes it so: bytes appended to N before Create(N+2)
// become durable no later than any byte of N+2. So either N+2 kept nothing
// (all zero: N is the last segment with data, and may end torn) or N holds
// the commit whole.
func TestCrashCompactionCommitInFlight(t *testing.T) {
	p := newCrashPlanner(*crashSeed)
	f := crashtest.New()
	mem := f
	db, err := core.Open[modelSchema](f, core.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const acked = 10
	for range acked {
		if _, err := crashCommit(db, p, false, false); err != nil {
			t.Fatal(err)
		}
	}
	// Hold the next sync just before it reaches the backend.
	entered, release := make(chan uint64, 1), make(chan struct{})
	releaseOnce := sync.OnceFunc(func() { close(release) })
	defer releaseOnce()
	var first atomic.Bool
	f.SetBeforeSync(func(id uint64) {
		if first.CompareAndSwap(false, true) {
			entered <- id
			<-release
		}
	})
	commitDone := make(chan error, 1)
	go func() {
		_, err := crashCommit(db, p, false, false)
		commitDone <- err
	}()
	select {
	case <-entered:
	case <-time.After(5 * time.Second):
		t.Fatal("the commit never synced")
	}
	creates, appends := f.Count(crashtest.Create), f.Count(crashtest.Append)
	compactDone := make(chan error, 1)
	go func() { compactDone <- db.Compact() }()
	if !crashWaitUntil(t, func() bool { return f.Count(crashtest.Create) > creates && f.Count(crashtest.Append) > appends }) {
		// A compaction that waits for commits in flight before it starts a
		// segment has no such window; check the crash images anyway.
		t.Log("the compaction did not start a new segment while a commit was in flight")
	}

	// The power fails now, with the commit's bytes in N not yet synced.
	rng := rand.New(rand.NewPCG(*crashSeed, 0x636f6d70))
	var openErr error
	for i := range 20 {
		crashed := mem.Crash(rng)
		db2, err := core.Open[modelSchema](crashed, core.Options{})
		if err != nil {
			if !crashOlderSegmentTorn(crashed, err) {
				t.Fatalf("crash %d: reopen: %v", i, err)
			}
			openErr = fmt.Errorf("crash %d: %w", i, err)
			break
		}
		crashCheck(t, db2, p, acked, fmt.Sprintf("crash %d", i))
		db2.Close()
	}
	releaseOnce()
	if err := <-commitDone; err != nil {
		t.Fatalf("the held commit: %v", err)
	}
	if err := <-compactDone; err != nil {
		t.Fatalf("Compact: %v", err)
	}
	if openErr != nil {
		regression(t, "a crash during compaction with a commit in flight makes the database unopenable: %v", openErr)
	}
}
