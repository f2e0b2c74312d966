package core_test

import (
	"errors"
	"testing"

	"github.com/dbrs-db/dbrs/core"
)

func TestSchemaErrors(t *testing.T) {
	type notATable struct {
		Name string
	}
	type dup struct {
		A core.Single[int] `dbrs:"x"`
		B core.List[int]   `dbrs:"x"`
	}
	type empty struct{}
	type badKey struct {
		M core.LookupTable[*int, int]
	}
	type badValue struct {
		S core.Single[chan int]
	}
	check := func(name string, open func() error) {
		t.Run(name, func(t *testing.T) {
			if err := open(); !errors.Is(err, core.ErrSchema) {
				t.Fatalf("Open = %v, want ErrSchema", err)
			}
		})
	}
	mem := core.NewMemBackend()
	check("not a table", func() error { _, err := core.Open[notATable](mem, core.Options{}); return err })
	check("duplicate name", func() error { _, err := core.Open[dup](mem, core.Options{}); return err })
	check("no tables", func() error { _, err := core.Open[empty](mem, core.Options{}); return err })
	check("not a struct", func() error { _, err := core.Open[int](mem, core.Options{}); return err })
	check("pointer key", func() error { _, err := core.Open[badKey](mem, core.Options{}); return err })
	check("channel value", func() error { _, err := core.Open[badValue](mem, core.Options{}); return err })
	check("dynamic: unknown kind", func() error {
		_, err := core.OpenDynamic(mem, []core.TableSpec{{Name: "a", Kind: "tree"}}, core.Options{})
		return err
	})
	check("dynamic: no tables", func() error { _, err := core.OpenDynamic(mem, nil, core.Options{}); return err })
}

// The same tables in another field order, under other field names, plus a
// new table.
type SchemaReordered struct {
	Grid   core.LookupMap[int, string, Point]
	Users  core.LookupTable[string, Account] `dbrs:"users"`
	Brand  core.Single[string]               `dbrs:"Owner"`
	Admins core.List[string]
	Added  core.LookupTable[int, int]
}

func TestSchema_ReorderAndAdd(t *testing.T) {
	mem, db := openMem(t)
	must(t, db.Tables.Owner.Insert("o"))
	must(t, db.Tables.Users.Insert("u", Account{Name: "U"}))
	must(t, db.Tables.Grid.Insert(1, "a", Point{1, 2}))
	must(t, db.Close())

	mem = mem.Reopen()
	db2, err := core.Open[SchemaReordered](mem, core.Options{KeepUnknownTables: true})
	must(t, err)
	if v, _ := db2.Tables.Brand.Get(); v != "o" {
		t.Fatalf("renamed field lost its table: %q", v)
	}
	if v, _ := db2.Tables.Grid.Get(1, "a"); v != (Point{1, 2}) {
		t.Fatal("reordered field lost its table")
	}
	must(t, db2.Tables.Added.Insert(1, 2))
	must(t, db2.Compact()) // keeps the tables SchemaReordered lacks
	must(t, db2.Close())

	mem = mem.Reopen()
	db3, err := core.Open[SchemaReordered](mem, core.Options{KeepUnknownTables: true})
	must(t, err)
	if v, ok := db3.Tables.Added.Get(1); !ok || v != 2 {
		t.Fatal("added table lost")
	}
	must(t, db3.Close())

	mem = mem.Reopen()
	db4, err := core.Open[Schema](mem, core.Options{KeepUnknownTables: true})
	must(t, err)
	if u, ok := db4.Tables.Users.Get("u"); !ok || u.Name != "U" {
		t.Fatal("table lost across schemas")
	}
	db4.Close()
}

func TestSchema_UnknownTable(t *testing.T) {
	mem, db := openMem(t)
	must(t, db.Tables.Owner.Insert("o"))
	must(t, db.Close())
	type small struct {
		Owner core.Single[string]
	}
	_, err := core.Open[small](mem.Reopen(), core.Options{})
	if !errors.Is(err, core.ErrUnknownTable) {
		t.Fatalf("Open = %v, want ErrUnknownTable", err)
	}
}

func TestSchema_KindMismatch(t *testing.T) {
	mem, db := openMem(t)
	must(t, db.Close())
	type wrongKind struct {
		Owner core.List[string]
	}
	_, err := core.Open[wrongKind](mem.Reopen(), core.Options{KeepUnknownTables: true})
	if !errors.Is(err, core.ErrSchema) {
		t.Fatalf("Open = %v, want ErrSchema", err)
	}
}

func TestSchema_WrongValueTypeInLog(t *testing.T) {
	type v1 struct {
		Counts core.LookupTable[string, int]
	}
	type v2 struct {
		Counts core.LookupTable[string, string]
	}
	mem := core.NewMemBackend()
	db, err := core.Open[v1](mem, core.Options{})
	must(t, err)
	must(t, db.Tables.Counts.Insert("a", 1))
	must(t, db.Close())
	if _, err := core.Open[v2](mem.Reopen(), core.Options{}); !errors.Is(err, core.ErrBadEntry) {
		t.Fatalf("Open = %v, want ErrBadEntry", err)
	}
}
