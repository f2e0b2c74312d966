package core_test

// A model-based randomized test: random operations on every table kind,
// random transactions (committed, failed, panicking), compaction, reopening
// and cloning, checked after every step against a plain Go model.
//
//	go test -race -run TestModel ./core/ -model.seed=7 -model.ops=20000 -v
//
// The helpers here (modelSchema, modelState, modelOp, modelGenOp, modelDump)
// are shared by crash_test.go and fault_test.go.

import (
	"errors"
	"flag"
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/dbrs-db/dbrs/core"
)

var (
	modelSeed = flag.Uint64("model.seed", 1, "random seed of TestModel")
	modelOps  = flag.Int("model.ops", 700, "steps of each TestModel subtest")
)

// modelRec holds a slice, so the database keeps it as its msgpack encoding
// rather than as a Go value.
type modelRec struct {
	Name string
	N    int64
	Tags []string
}

// modelSchema has one table of each kind.
type modelSchema struct {
	One   core.Single[string]
	Nums  core.List[int]
	Recs  core.LookupTable[string, modelRec] `dbrs:"recs"`
	Lists core.LookupList[string, int]
	Sets  core.LookupSet[string, string]
	Maps  core.LookupMap[string, int, string]
}

// modelState is the plain Go model of a modelSchema database. It is kept in
// canonical form (see canon), so reflect.DeepEqual compares two states.
type modelState struct {
	One    string
	HasOne bool
	Nums   []int
	Recs   map[string]modelRec
	Lists  map[string][]int
	Sets   map[string]map[string]bool
	Maps   map[string]map[int]string
}

func newModelState() modelState {
	return modelState{
		Recs:  map[string]modelRec{},
		Lists: map[string][]int{},
		Sets:  map[string]map[string]bool{},
		Maps:  map[string]map[int]string{},
	}
}

// clone returns a deep copy.
func (m modelState) clone() modelState {
	c := newModelState()
	c.One, c.HasOne = m.One, m.HasOne
	c.Nums = slices.Clone(m.Nums)
	for k, v := range m.Recs {
		v.Tags = slices.Clone(v.Tags)
		c.Recs[k] = v
	}
	for k, v := range m.Lists {
		c.Lists[k] = slices.Clone(v)
	}
	for k, v := range m.Sets {
		c.Sets[k] = maps.Clone(v)
	}
	for k, v := range m.Maps {
		c.Maps[k] = maps.Clone(v)
	}
	return c
}

// canon makes empty slices nil, so that an empty slice that went through
// msgpack (which may come back as nil or as empty) compares equal.
func (m modelState) canon() modelState {
	if len(m.Nums) == 0 {
		m.Nums = nil
	}
	for k, v := range m.Recs {
		if len(v.Tags) == 0 {
			v.Tags = nil
			m.Recs[k] = v
		}
	}
	return m
}

func (m modelState) equal(o modelState) bool {
	return reflect.DeepEqual(m.clone().canon(), o.clone().canon())
}

// diff describes how got differs from m, table by table.
func (m modelState) diff(got modelState) string {
	want, g := m.clone().canon(), got.clone().canon()
	var b strings.Builder
	if want.One != g.One || want.HasOne != g.HasOne {
		fmt.Fprintf(&b, "One: got %q,%v want %q,%v\n", g.One, g.HasOne, want.One, want.HasOne)
	}
	if !reflect.DeepEqual(want.Nums, g.Nums) {
		fmt.Fprintf(&b, "Nums: got %v\n      want %v\n", g.Nums, want.Nums)
	}
	modelDiffMap(&b, "Recs", want.Recs, g.Recs)
	modelDiffMap(&b, "Lists", want.Lists, g.Lists)
	modelDiffMap(&b, "Sets", want.Sets, g.Sets)
	modelDiffMap(&b, "Maps", want.Maps, g.Maps)
	return b.String()
}

func modelDiffMap[K comparable, V any](b *strings.Builder, name string, want, got map[K]V) {
	keys := map[K]bool{}
	for k := range want {
		keys[k] = true
	}
	for k := range got {
		keys[k] = true
	}
	var lines []string
	for k := range keys {
		w, wok := want[k]
		g, gok := got[k]
		if wok != gok || !reflect.DeepEqual(w, g) {
			lines = append(lines, fmt.Sprintf("%s[%v]: got %v (present %v), want %v (present %v)", name, k, g, gok, w, wok))
		}
	}
	sort.Strings(lines)
	for _, l := range lines {
		b.WriteString(l + "\n")
	}
}

// modelDump reads every table through the handles in s (auto-commit
// handles, a transaction's or View's) into a modelState.
func modelDump(s *modelSchema) modelState {
	m := newModelState()
	m.One, m.HasOne = s.One.Get()
	m.Nums = s.Nums.Slice()
	for k, v := range s.Recs.All() {
		m.Recs[k] = v
	}
	for k := range s.Lists.Keys() {
		m.Lists[k] = s.Lists.Get(k)
	}
	for k := range s.Sets.Keys() {
		set := map[string]bool{}
		for _, v := range s.Sets.Get(k) {
			set[v] = true
		}
		m.Sets[k] = set
	}
	for k := range s.Maps.Keys() {
		m.Maps[k] = s.Maps.GetInner(k)
	}
	return m.canon()
}

// modelViewDump reads a consistent state of every table.
func modelViewDump(t testing.TB, db *core.DB[modelSchema]) modelState {
	t.Helper()
	var m modelState
	if err := db.View(func(s *modelSchema) error {
		m = modelDump(s)
		return nil
	}); err != nil {
		t.Fatalf("View: %v", err)
	}
	return m
}

// modelCheckReads checks the point reads (Len, At, Has, Get) of s against
// want, and that values returned by reads are copies.
func modelCheckReads(t testing.TB, s *modelSchema, want modelState) {
	t.Helper()
	if n := s.Nums.Len(); n != len(want.Nums) {
		t.Fatalf("Nums.Len() = %d, want %d", n, len(want.Nums))
	}
	for i, w := range want.Nums {
		if g, err := s.Nums.At(i); err != nil || g != w {
			t.Fatalf("Nums.At(%d) = %d, %v; want %d", i, g, err, w)
		}
	}
	if _, err := s.Nums.At(len(want.Nums)); !errors.Is(err, core.ErrIndex) {
		t.Fatalf("Nums.At(len) error = %v, want ErrIndex", err)
	}
	if n := s.Recs.Len(); n != len(want.Recs) {
		t.Fatalf("Recs.Len() = %d, want %d", n, len(want.Recs))
	}
	for _, k := range modelKeys {
		w, wok := want.Recs[k]
		g, gok := s.Recs.Get(k)
		if gok != wok || s.Recs.Has(k) != wok || (wok && !modelRecEqual(g, w)) {
			t.Fatalf("Recs.Get(%q) = %v, %v; want %v, %v", k, g, gok, w, wok)
		}
		if gok && len(g.Tags) > 0 {
			g.Tags[0] = "mutated by caller"
			if again, _ := s.Recs.Get(k); again.Tags[0] == "mutated by caller" {
				t.Fatalf("Recs.Get(%q) returned a slice aliasing the table", k)
			}
		}
		if g, w := s.Lists.Has(k), len(want.Lists[k]) > 0; g != w {
			t.Fatalf("Lists.Has(%q) = %v, want %v", k, g, w)
		}
		if l := s.Lists.Get(k); len(l) > 0 {
			l[0] = -12345
			if again := s.Lists.Get(k); again[0] == -12345 {
				t.Fatalf("Lists.Get(%q) returned a slice aliasing the table", k)
			}
		}
		for _, v := range modelMembers {
			if g, w := s.Sets.Has(k, v), want.Sets[k][v]; g != w {
				t.Fatalf("Sets.Has(%q, %q) = %v, want %v", k, v, g, w)
			}
		}
		for k2 := range modelInnerKeys {
			w, wok := want.Maps[k][k2]
			if g, gok := s.Maps.Get(k, k2); g != w || gok != wok {
				t.Fatalf("Maps.Get(%q, %d) = %q, %v; want %q, %v", k, k2, g, gok, w, wok)
			}
		}
	}
	if n := s.Lists.Len(); n != len(want.Lists) {
		t.Fatalf("Lists.Len() = %d, want %d", n, len(want.Lists))
	}
	if n := s.Sets.Len(); n != len(want.Sets) {
		t.Fatalf("Sets.Len() = %d, want %d", n, len(want.Sets))
	}
	if n := s.Maps.Len(); n != len(want.Maps) {
		t.Fatalf("Maps.Len() = %d, want %d", n, len(want.Maps))
	}
}

func modelRecEqual(a, b modelRec) bool {
	if len(a.Tags) == 0 && len(b.Tags) == 0 {
		a.Tags, b.Tags = nil, nil
	}
	return reflect.DeepEqual(a, b)
}

var (
	modelKeys      = []string{"k0", "k1", "k2", "k3", "k4", "k5"}
	modelMembers   = []string{"a", "b", "c", "d", "e"}
	modelInnerKeys = 5
)

// modelOp is one table operation, applied to the database through db and to
// the model through model. model changes m only when it returns a nil error;
// the database must return an error matching model's (errors.Is) and the
// same result.
type modelOp struct {
	desc  string
	db    func(s *modelSchema) (any, error)
	model func(m *modelState) (any, error)
}

// apply applies op to the database (through s) and to m, and reports any
// difference in error or result.
func (op modelOp) apply(s *modelSchema, m *modelState) error {
	wantRes, wantErr := op.model(m)
	gotRes, gotErr := op.db(s)
	switch {
	case wantErr == nil && gotErr != nil:
		return fmt.Errorf("%s: unexpected error %w", op.desc, gotErr)
	case wantErr != nil && !errors.Is(gotErr, wantErr):
		return fmt.Errorf("%s: error %w, want one matching %v", op.desc, gotErr, wantErr)
	case wantErr == nil && !reflect.DeepEqual(gotRes, wantRes):
		return fmt.Errorf("%s: result %v, want %v", op.desc, gotRes, wantRes)
	}
	return nil
}

func modelStr(rng *rand.Rand) string { return fmt.Sprintf("v%d", rng.IntN(1000)) }

func modelRandRec(rng *rand.Rand) modelRec {
	r := modelRec{Name: modelStr(rng), N: rng.Int64N(1<<40) - 1<<39}
	switch rng.IntN(4) {
	case 0: // nil Tags
	case 1:
		r.Tags = []string{}
	default:
		for range 1 + rng.IntN(3) {
			r.Tags = append(r.Tags, modelStr(rng))
		}
	}
	return r
}

// pick returns an element of xs.
func modelPick[T any](rng *rand.Rand, xs []T) T { return xs[rng.IntN(len(xs))] }

// modelIndex returns an index around [0, n): sometimes one out of range.
func modelIndex(rng *rand.Rand, n int, end bool) int {
	if rng.IntN(8) == 0 {
		return modelPick(rng, []int{-1, n, n + 1, n + 7})
	}
	hi := n
	if end {
		hi++
	}
	if hi == 0 {
		return 0
	}
	return rng.IntN(hi)
}

// modelGenOp returns a random operation suited to the state m. With noOne it
// never touches the One table (crash_test keeps a sequence number there).
func modelGenOp(rng *rand.Rand, m *modelState, noOne bool) modelOp {
	for {
		switch n := rng.IntN(100); {
		case n < 4:
			if noOne {
				continue
			}
			v := modelStr(rng)
			return modelOp{fmt.Sprintf("One.Insert(%q)", v),
				func(s *modelSchema) (any, error) { return nil, s.One.Insert(v) },
				func(m *modelState) (any, error) { m.One, m.HasOne = v, true; return nil, nil }}
		case n < 5:
			if noOne {
				continue
			}
			return modelOp{"One.Clear()",
				func(s *modelSchema) (any, error) { return nil, s.One.Clear() },
				func(m *modelState) (any, error) { m.One, m.HasOne = "", false; return nil, nil }}
		case n < 12:
			v := rng.IntN(1000) - 500
			return modelOp{fmt.Sprintf("Nums.Push(%d)", v),
				func(s *modelSchema) (any, error) { return nil, s.Nums.Push(v) },
				func(m *modelState) (any, error) { m.Nums = append(m.Nums, v); return nil, nil }}
		case n < 16:
			return modelOp{"Nums.Pop()",
				func(s *modelSchema) (any, error) { return s.Nums.Pop() },
				func(m *modelState) (any, error) {
					if len(m.Nums) == 0 {
						return nil, core.ErrEmpty
					}
					v := m.Nums[len(m.Nums)-1]
					m.Nums = m.Nums[:len(m.Nums)-1]
					return v, nil
				}}
		case n < 19:
			i, v := modelIndex(rng, len(m.Nums), true), rng.IntN(1000)
			return modelOp{fmt.Sprintf("Nums.InsertAt(%d, %d)", i, v),
				func(s *modelSchema) (any, error) { return nil, s.Nums.InsertAt(i, v) },
				func(m *modelState) (any, error) {
					if i < 0 || i > len(m.Nums) {
						return nil, core.ErrIndex
					}
					m.Nums = slices.Insert(m.Nums, i, v)
					return nil, nil
				}}
		case n < 22:
			i, v := modelIndex(rng, len(m.Nums), false), rng.IntN(1000)
			return modelOp{fmt.Sprintf("Nums.SetAt(%d, %d)", i, v),
				func(s *modelSchema) (any, error) { return nil, s.Nums.SetAt(i, v) },
				func(m *modelState) (any, error) {
					if i < 0 || i >= len(m.Nums) {
						return nil, core.ErrIndex
					}
					m.Nums[i] = v
					return nil, nil
				}}
		case n < 26:
			i := modelIndex(rng, len(m.Nums), false)
			return modelOp{fmt.Sprintf("Nums.RemoveAt(%d)", i),
				func(s *modelSchema) (any, error) { return nil, s.Nums.RemoveAt(i) },
				func(m *modelState) (any, error) {
					if i < 0 || i >= len(m.Nums) {
						return nil, core.ErrIndex
					}
					m.Nums = slices.Delete(m.Nums, i, i+1)
					return nil, nil
				}}
		case n < 27:
			return modelOp{"Nums.Clear()",
				func(s *modelSchema) (any, error) { return nil, s.Nums.Clear() },
				func(m *modelState) (any, error) { m.Nums = nil; return nil, nil }}
		case n < 37:
			k, v := modelPick(rng, modelKeys), modelRandRec(rng)
			return modelOp{fmt.Sprintf("Recs.Insert(%q, %+v)", k, v),
				func(s *modelSchema) (any, error) { return nil, s.Recs.Insert(k, v) },
				func(m *modelState) (any, error) {
					v.Tags = slices.Clone(v.Tags)
					m.Recs[k] = v
					return nil, nil
				}}
		case n < 43:
			k := modelPick(rng, modelKeys)
			return modelOp{fmt.Sprintf("Recs.Remove(%q)", k),
				func(s *modelSchema) (any, error) { return nil, s.Recs.Remove(k) },
				func(m *modelState) (any, error) {
					if _, ok := m.Recs[k]; !ok {
						return nil, core.ErrNotFound
					}
					delete(m.Recs, k)
					return nil, nil
				}}
		case n < 44:
			return modelOp{"Recs.Clear()",
				func(s *modelSchema) (any, error) { return nil, s.Recs.Clear() },
				func(m *modelState) (any, error) { clear(m.Recs); return nil, nil }}
		case n < 53:
			k, v := modelPick(rng, modelKeys), rng.IntN(100)
			return modelOp{fmt.Sprintf("Lists.Push(%q, %d)", k, v),
				func(s *modelSchema) (any, error) { return nil, s.Lists.Push(k, v) },
				func(m *modelState) (any, error) { m.Lists[k] = append(m.Lists[k], v); return nil, nil }}
		case n < 59:
			k := modelPick(rng, modelKeys)
			i := modelIndex(rng, len(m.Lists[k]), false)
			return modelOp{fmt.Sprintf("Lists.RemoveAt(%q, %d)", k, i),
				func(s *modelSchema) (any, error) { return nil, s.Lists.RemoveAt(k, i) },
				func(m *modelState) (any, error) {
					l, ok := m.Lists[k]
					if !ok {
						return nil, core.ErrNotFound
					}
					if i < 0 || i >= len(l) {
						return nil, core.ErrIndex
					}
					l = slices.Delete(l, i, i+1)
					if len(l) == 0 {
						delete(m.Lists, k)
					} else {
						m.Lists[k] = l
					}
					return nil, nil
				}}
		case n < 61:
			k := modelPick(rng, modelKeys)
			return modelOp{fmt.Sprintf("Lists.ClearKey(%q)", k),
				func(s *modelSchema) (any, error) { return nil, s.Lists.ClearKey(k) },
				func(m *modelState) (any, error) {
					if _, ok := m.Lists[k]; !ok {
						return nil, core.ErrNotFound
					}
					delete(m.Lists, k)
					return nil, nil
				}}
		case n < 62:
			return modelOp{"Lists.Clear()",
				func(s *modelSchema) (any, error) { return nil, s.Lists.Clear() },
				func(m *modelState) (any, error) { clear(m.Lists); return nil, nil }}
		case n < 71:
			k, v := modelPick(rng, modelKeys), modelPick(rng, modelMembers)
			return modelOp{fmt.Sprintf("Sets.Insert(%q, %q)", k, v),
				func(s *modelSchema) (any, error) { return nil, s.Sets.Insert(k, v) },
				func(m *modelState) (any, error) {
					if m.Sets[k] == nil {
						m.Sets[k] = map[string]bool{}
					}
					m.Sets[k][v] = true
					return nil, nil
				}}
		case n < 77:
			k, v := modelPick(rng, modelKeys), modelPick(rng, modelMembers)
			return modelOp{fmt.Sprintf("Sets.Remove(%q, %q)", k, v),
				func(s *modelSchema) (any, error) { return nil, s.Sets.Remove(k, v) },
				func(m *modelState) (any, error) {
					if !m.Sets[k][v] {
						return nil, core.ErrNotFound
					}
					delete(m.Sets[k], v)
					if len(m.Sets[k]) == 0 {
						delete(m.Sets, k)
					}
					return nil, nil
				}}
		case n < 79:
			k := modelPick(rng, modelKeys)
			return modelOp{fmt.Sprintf("Sets.ClearKey(%q)", k),
				func(s *modelSchema) (any, error) { return nil, s.Sets.ClearKey(k) },
				func(m *modelState) (any, error) {
					if _, ok := m.Sets[k]; !ok {
						return nil, core.ErrNotFound
					}
					delete(m.Sets, k)
					return nil, nil
				}}
		case n < 80:
			return modelOp{"Sets.Clear()",
				func(s *modelSchema) (any, error) { return nil, s.Sets.Clear() },
				func(m *modelState) (any, error) { clear(m.Sets); return nil, nil }}
		case n < 90:
			k1, k2, v := modelPick(rng, modelKeys), rng.IntN(modelInnerKeys), modelStr(rng)
			return modelOp{fmt.Sprintf("Maps.Insert(%q, %d, %q)", k1, k2, v),
				func(s *modelSchema) (any, error) { return nil, s.Maps.Insert(k1, k2, v) },
				func(m *modelState) (any, error) {
					if m.Maps[k1] == nil {
						m.Maps[k1] = map[int]string{}
					}
					m.Maps[k1][k2] = v
					return nil, nil
				}}
		case n < 96:
			k1, k2 := modelPick(rng, modelKeys), rng.IntN(modelInnerKeys)
			return modelOp{fmt.Sprintf("Maps.Remove(%q, %d)", k1, k2),
				func(s *modelSchema) (any, error) { return nil, s.Maps.Remove(k1, k2) },
				func(m *modelState) (any, error) {
					if _, ok := m.Maps[k1][k2]; !ok {
						return nil, core.ErrNotFound
					}
					delete(m.Maps[k1], k2)
					if len(m.Maps[k1]) == 0 {
						delete(m.Maps, k1)
					}
					return nil, nil
				}}
		case n < 99:
			k1 := modelPick(rng, modelKeys)
			return modelOp{fmt.Sprintf("Maps.ClearKey(%q)", k1),
				func(s *modelSchema) (any, error) { return nil, s.Maps.ClearKey(k1) },
				func(m *modelState) (any, error) {
					if _, ok := m.Maps[k1]; !ok {
						return nil, core.ErrNotFound
					}
					delete(m.Maps, k1)
					return nil, nil
				}}
		default:
			return modelOp{"Maps.Clear()",
				func(s *modelSchema) (any, error) { return nil, s.Maps.Clear() },
				func(m *modelState) (any, error) { clear(m.Maps); return nil, nil }}
		}
	}
}

// errModelAbort is what a transaction returns to roll back.
var errModelAbort = errors.New("model: transaction aborted on purpose")

// modelPanic is what a transaction panics with to roll back.
type modelPanic struct{ step int }

// modelRun is one randomized run against one database.
type modelRun struct {
	t     *testing.T
	rng   *rand.Rand
	opts  core.Options
	mem   *core.MemBackend
	db    *core.DB[modelSchema]
	m     modelState
	step  int
	trace []string // the most recent steps, for failure reports
	count map[string]int
}

func (r *modelRun) logf(format string, args ...any) {
	s := fmt.Sprintf("step %d: ", r.step) + fmt.Sprintf(format, args...)
	r.trace = append(r.trace, s)
	if len(r.trace) > 40 {
		r.trace = r.trace[len(r.trace)-40:]
	}
}

// fatal fails the test for err, unless err is the poisoning caused by a
// known core bug (see TestFaultSyncIntervalCompaction): nothing in this test
// injects faults, so a poisoned database is always a bug.
func (r *modelRun) fatal(err error, format string, args ...any) {
	r.t.Helper()
	if errors.Is(err, core.ErrPoisoned) && r.opts.Sync == core.SyncInterval {
		regression(r.t, "the database was poisoned without any fault injected (SyncInterval background sync vs. compaction, see TestFaultSyncIntervalCompaction): %v", err)
	}
	r.t.Fatalf(format, args...)
}

func (r *modelRun) open() {
	r.t.Helper()
	db, err := core.Open[modelSchema](r.mem, r.opts)
	if err != nil {
		r.t.Fatalf("Open: %v", err)
	}
	r.db = db
}

// verify compares the whole database with the model.
func (r *modelRun) verify(what string) {
	r.t.Helper()
	var got modelState
	if r.rng.IntN(2) == 0 {
		got = modelViewDump(r.t, r.db)
	} else {
		got = modelDump(r.db.Tables)
	}
	if !r.m.equal(got) {
		r.t.Fatalf("after %s: database differs from the model:\n%s", what, r.m.diff(got))
	}
	if r.rng.IntN(8) == 0 {
		modelCheckReads(r.t, r.db.Tables, r.m)
	}
}

func (r *modelRun) autoOp() {
	op := modelGenOp(r.rng, &r.m, false)
	r.logf("auto %s", op.desc)
	if err := op.apply(r.db.Tables, &r.m); err != nil {
		r.fatal(err, "%v", err)
	}
}

// txOps runs n random ops on the handles in s, against scratch.
func (r *modelRun) txOps(s *modelSchema, scratch *modelState, n int) {
	r.t.Helper()
	for range n {
		op := modelGenOp(r.rng, scratch, false)
		r.logf("  tx %s", op.desc)
		if err := op.apply(s, scratch); err != nil {
			r.fatal(err, "%v", err)
		}
		if r.rng.IntN(6) == 0 {
			if got := modelDump(s); !scratch.equal(got) {
				r.t.Fatalf("inside the transaction, its handles differ from the model:\n%s", scratch.diff(got))
			}
		}
	}
}

func (r *modelRun) update() {
	scratch := r.m.clone()
	end := r.rng.IntN(100)
	n := 1 + r.rng.IntN(6)
	r.logf("Update, %d ops, end %d", n, end)
	var err error
	var recovered any
	func() {
		defer func() { recovered = recover() }()
		err = r.db.Update(func(s *modelSchema) error {
			r.txOps(s, &scratch, n)
			switch {
			case end < 70:
				return nil
			case end < 85:
				return errModelAbort
			default:
				panic(modelPanic{r.step})
			}
		})
	}()
	switch {
	case end < 70:
		r.count["update-commit"]++
		if err != nil || recovered != nil {
			r.fatal(err, "Update: %v (panic %v), want nil", err, recovered)
		}
		r.m = scratch
	case end < 85:
		r.count["update-error"]++
		if !errors.Is(err, errModelAbort) || recovered != nil {
			r.t.Fatalf("Update: %v (panic %v), want errModelAbort", err, recovered)
		}
	default:
		r.count["update-panic"]++
		if p, ok := recovered.(modelPanic); !ok || p.step != r.step {
			r.t.Fatalf("Update: recovered %v (err %v), want modelPanic{%d}", recovered, err, r.step)
		}
	}
}

// beginTx uses Begin / Commit / CommitAsync / Rollback directly.
func (r *modelRun) beginTx() {
	tx, err := r.db.Begin()
	if err != nil {
		r.fatal(err, "Begin: %v", err)
	}
	scratch := r.m.clone()
	n := 1 + r.rng.IntN(4)
	end := r.rng.IntN(3)
	r.logf("Begin, %d ops, end %d", n, end)
	r.txOps(tx.Tables, &scratch, n)
	switch end {
	case 0:
		if err := tx.Commit(); err != nil {
			r.fatal(err, "Commit: %v", err)
		}
		r.m = scratch
	case 1:
		wait, err := tx.CommitAsync()
		if err != nil {
			r.fatal(err, "CommitAsync: %v", err)
		}
		if err := wait(); err != nil {
			r.fatal(err, "CommitAsync wait: %v", err)
		}
		r.m = scratch
	default:
		tx.Rollback()
		tx.Rollback() // a second Rollback does nothing
	}
	if err := tx.Commit(); !errors.Is(err, core.ErrTxClosed) {
		r.t.Fatalf("Commit of a finished transaction: %v, want ErrTxClosed", err)
	}
	if err := tx.Tables.Nums.Push(1); !errors.Is(err, core.ErrTxClosed) {
		r.t.Fatalf("write through a finished transaction's handle: %v, want ErrTxClosed", err)
	}
}

func (r *modelRun) view() {
	r.logf("View")
	err := r.db.View(func(s *modelSchema) error {
		if got := modelDump(s); !r.m.equal(got) {
			r.t.Fatalf("View differs from the model:\n%s", r.m.diff(got))
		}
		modelCheckReads(r.t, s, r.m)
		op := modelGenOp(r.rng, new(modelState), false)
		if _, err := op.db(s); !errors.Is(err, core.ErrReadOnly) {
			r.t.Fatalf("%s inside View: %v, want ErrReadOnly", op.desc, err)
		}
		return errModelAbort
	})
	if !errors.Is(err, errModelAbort) {
		r.t.Fatalf("View returned %v, want fn's error", err)
	}
}

func (r *modelRun) compact() {
	r.logf("Compact")
	before := r.db.Stats().Compactions
	if err := r.db.Compact(); err != nil {
		r.fatal(err, "Compact: %v", err)
	}
	if after := r.db.Stats().Compactions; after <= before {
		r.t.Fatalf("Stats().Compactions went from %d to %d across Compact", before, after)
	}
}

func (r *modelRun) reopen() {
	r.logf("Close + reopen")
	st := r.db.Stats()
	r.count["compactions(stats)"] += int(st.Compactions)
	if st.LastCompactError != "" {
		r.t.Fatalf("automatic compaction failed: %s", st.LastCompactError)
	}
	if err := r.db.Close(); err != nil {
		r.t.Fatalf("Close: %v", err)
	}
	if _, ok := r.db.Tables.One.Get(); ok != r.m.HasOne {
		r.t.Fatalf("read after Close: One present %v, want %v", ok, r.m.HasOne)
	}
	if err := r.db.Tables.Nums.Push(1); !errors.Is(err, core.ErrClosed) {
		r.t.Fatalf("write after Close: %v, want ErrClosed", err)
	}
	r.mem = r.mem.Reopen()
	r.open()
	if torn := r.db.OpenStats().TornBytes; torn != 0 {
		r.t.Fatalf("reopen after a clean Close found %d torn bytes", torn)
	}
}

func (r *modelRun) cloneCheck() {
	r.logf("Clone")
	c, err := r.db.Clone()
	if err != nil {
		r.t.Fatalf("Clone: %v", err)
	}
	defer c.Close()
	if got := modelViewDump(r.t, c); !r.m.equal(got) {
		r.t.Fatalf("Clone differs from the model:\n%s", r.m.diff(got))
	}
	// Changes to the clone must not reach the original, and the reverse.
	cm := r.m.clone()
	for range 3 {
		op := modelGenOp(r.rng, &cm, false)
		r.logf("  clone %s", op.desc)
		if err := op.apply(c.Tables, &cm); err != nil {
			r.fatal(err, "on the clone: %v", err)
		}
	}
	if err := c.Tables.Nums.Push(424242); err != nil {
		r.fatal(err, "on the clone: %v", err)
	}
	cm.Nums = append(cm.Nums, 424242)
	r.verify("changing the clone")
	r.autoOp()
	if got := modelViewDump(r.t, c); !cm.equal(got) {
		r.t.Fatalf("Clone changed by a write to the original:\n%s", cm.diff(got))
	}
	if err := c.Close(); err != nil {
		r.t.Fatalf("Close of the clone: %v", err)
	}
}

func TestModel(t *testing.T) {
	for i, tc := range []struct {
		name string
		opts core.Options
	}{
		{"SyncAlways", core.Options{}},
		{"SyncInterval", core.Options{Sync: core.SyncInterval, SyncInterval: time.Millisecond}},
		{"SyncNever", core.Options{Sync: core.SyncNever}},
		// Background compaction triggered after every few hundred bytes of log.
		{"AutoCompact", core.Options{Sync: core.SyncNever, CompactRatio: 1.2, CompactMinBytes: 512}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seed := *modelSeed + uint64(i)
			r := &modelRun{
				t:     t,
				rng:   rand.New(rand.NewPCG(seed, 0x6d6f64656c)),
				opts:  tc.opts,
				mem:   core.NewMemBackend(),
				m:     newModelState(),
				count: map[string]int{},
			}
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("seed %d (rerun: go test -run 'TestModel/%s' -model.seed=%d); last steps:\n%s",
						seed, tc.name, *modelSeed, strings.Join(r.trace, "\n"))
				}
				if r.db != nil {
					r.db.Close()
				}
			})
			r.open()
			for r.step = 0; r.step < *modelOps; r.step++ {
				var what string
				switch n := r.rng.IntN(100); {
				case n < 50:
					what = "auto-commit op"
					r.count["auto"]++
					r.autoOp()
				case n < 75:
					what = "Update"
					r.update()
				case n < 81:
					what = "Begin"
					r.count["begin"]++
					r.beginTx()
				case n < 86:
					what = "View"
					r.count["view"]++
					r.view()
				case n < 91:
					what = "Compact"
					r.count["compact"]++
					r.compact()
				case n < 97:
					what = "reopen"
					r.count["reopen"]++
					r.reopen()
				default:
					what = "Clone"
					r.count["clone"]++
					r.cloneCheck()
				}
				r.verify(what)
			}
			// A final reopen must give the same state.
			r.reopen()
			r.verify("final reopen")
			t.Logf("seed %d: %v", seed, r.count)
		})
	}
}
