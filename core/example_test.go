package core_test

import (
	"fmt"

	"github.com/dbrs-db/dbrs/core"
	"github.com/vmihailenco/msgpack/v5"
)

type User struct {
	Name  string
	Email string
}

type AppSchema struct {
	Owner  core.Single[string]
	Admins core.List[string]
	Users  core.LookupTable[string, User] `dbrs:"users"`
	Hits   Counter
}

func ExampleOpen() {
	// core.NewMemBackend keeps the log in memory; native.Open stores it in a
	// folder instead, with the same API.
	db, err := core.Open[AppSchema](core.NewMemBackend(), core.Options{})
	if err != nil {
		panic(err)
	}
	defer db.Close()

	if err := db.Tables.Owner.Insert("parth"); err != nil { // durable when it returns
		panic(err)
	}
	owner, _ := db.Tables.Owner.Get()
	fmt.Println(owner)
	// Output: parth
}

func ExampleDB_Update() {
	db, _ := core.Open[AppSchema](core.NewMemBackend(), core.Options{})
	defer db.Close()

	err := db.Update(func(tx *AppSchema) error {
		if err := tx.Admins.Push("parth"); err != nil {
			return err
		}
		return tx.Users.Insert("parth", User{Name: "Parth", Email: "p@example.com"})
	})
	fmt.Println(err, db.Tables.Admins.Len(), db.Tables.Users.Has("parth"))

	// A transaction that fails leaves no trace.
	err = db.Update(func(tx *AppSchema) error {
		_ = tx.Admins.Push("mallory")
		return tx.Users.Remove("nobody") // ErrNotFound: everything rolls back
	})
	fmt.Println(err, db.Tables.Admins.Len())
	// Output:
	// <nil> 1 true
	// dbrs: key not found: nobody 1
}

func ExampleDB_View() {
	db, _ := core.Open[AppSchema](core.NewMemBackend(), core.Options{})
	defer db.Close()
	_ = db.Tables.Users.Insert("a", User{Name: "Ann"})
	_ = db.Tables.Users.Insert("b", User{Name: "Bob"})

	_ = db.View(func(s *AppSchema) error {
		fmt.Println(s.Users.Len(), s.Admins.Len())
		return nil
	})
	// Output: 2 0
}

func ExampleDB_Compact() {
	mem := core.NewMemBackend()
	db, _ := core.Open[AppSchema](mem, core.Options{})
	for i := range 1000 {
		_ = db.Tables.Owner.Insert(fmt.Sprint("owner ", i))
	}
	before := db.Stats().LogBytes
	_ = db.Compact()
	fmt.Println(db.Stats().LogBytes < before/10)
	_ = db.Close()

	db, _ = core.Open[AppSchema](mem.Reopen(), core.Options{})
	owner, _ := db.Tables.Owner.Get()
	fmt.Println(owner)
	// Output:
	// true
	// owner 999
}

func ExampleOpenDynamic() {
	specs := []core.TableSpec{{Name: "users", Kind: core.KindLookupTable}}
	db, _ := core.OpenDynamic(core.NewMemBackend(), specs, core.Options{})
	defer db.Close()

	users, _ := db.Tables.LookupTable("users")
	key, _ := msgpack.Marshal("parth")
	val, _ := msgpack.Marshal(map[string]any{"Name": "Parth"})
	_ = users.Insert(core.RawKey(key), val)

	raw, _ := users.Get(core.RawKey(key))
	var u User
	_ = msgpack.Unmarshal(raw, &u)
	fmt.Println(u.Name)
	// Output: Parth
}

// counterState is the state of a user-defined table kind: a running total.
// Its entries are msgpack integers, each one an amount to add.
type counterState struct{ total int64 }

func (c *counterState) Kind() string { return "example.counter/v1" }

func (c *counterState) Apply(entry []byte) (undo func(), err error) {
	var n int64
	if err := msgpack.Unmarshal(entry, &n); err != nil {
		return nil, err
	}
	c.total += n
	return func() { c.total -= n }, nil
}

func (c *counterState) Compact(emit func(entry []byte) error) error {
	if c.total == 0 {
		return nil
	}
	entry, err := msgpack.Marshal(c.total)
	if err != nil {
		return err
	}
	return emit(entry)
}

// Counter is a custom table: embed core.Custom and add typed methods.
type Counter struct {
	core.Custom[counterState, *counterState]
}

// Add adds n to the counter.
func (c *Counter) Add(n int64) error {
	entry, err := msgpack.Marshal(n)
	if err != nil {
		return err
	}
	return c.Apply(entry)
}

// Total returns the current value.
func (c *Counter) Total() (total int64) {
	c.Read(func(s *counterState) { total = s.total })
	return total
}

func ExampleCustom() {
	mem := core.NewMemBackend()
	db, _ := core.Open[AppSchema](mem, core.Options{})
	_ = db.Tables.Hits.Add(2)
	_ = db.Update(func(tx *AppSchema) error {
		_ = tx.Hits.Add(40)
		return nil
	})
	_ = db.Update(func(tx *AppSchema) error {
		_ = tx.Hits.Add(1000)
		return fmt.Errorf("changed my mind") // rolled back through undo
	})
	_ = db.Compact()
	_ = db.Close()

	db, _ = core.Open[AppSchema](mem.Reopen(), core.Options{})
	defer db.Close()
	fmt.Println(db.Tables.Hits.Total())
	// Output: 42
}

// Subscribe delivers each durable commit, with the tables it wrote, on a
// goroutine of its own.
func ExampleDB_Subscribe() {
	type Schema struct {
		Users core.LookupTable[string, string]
		Log   core.List[string]
	}
	db, err := core.Open[Schema](core.NewMemBackend(), core.Options{})
	if err != nil {
		panic(err)
	}
	changes := make(chan core.Change, 1)
	cancel := db.Subscribe(func(c core.Change) { changes <- c })
	_ = db.Update(func(s *Schema) error {
		if err := s.Users.Insert("ada", "Ada"); err != nil {
			return err
		}
		return s.Log.Push("added ada")
	})
	c := <-changes
	fmt.Println(c.Seq, c.Tables)
	cancel()
	_ = db.Close()
	// Output: 1 [Log Users]
}
