package core_test

import (
	"fmt"
	"strings"

	"github.com/dbrs-db/dbrs/core"
)

// Version 1 of an app's schema: a user's name under their email.
type schemaV1 struct {
	Names core.LookupTable[string, string] `dbrs:"names"`
	Cache core.List[string]                `dbrs:"cache"`
}

type Profile struct {
	First, Last string
}

// Version 2: the table is called profiles and holds a struct; the cache is
// gone.
type schemaV2 struct {
	Profiles core.LookupTable[string, Profile] `dbrs:"profiles"`
}

func ExampleOptions_upgrade() {
	mem := core.NewMemBackend()
	v1, _ := core.Open[schemaV1](mem, core.Options{Version: 1})
	_ = v1.Tables.Names.Insert("ada@example.com", "Ada Lovelace")
	_ = v1.Tables.Cache.Push("stale")
	v1.Close()

	// Opening at version 2 upgrades the log once, atomically: if the
	// function fails, Open returns its error and the log stays at version 1.
	upgrade := func(u *core.Upgrade) error {
		if err := u.Rename("names", "profiles"); err != nil {
			return err
		}
		if err := core.Transform(u, "profiles", func(email, name string) (Profile, error) {
			first, last, _ := strings.Cut(name, " ")
			return Profile{First: first, Last: last}, nil
		}); err != nil {
			return err
		}
		return u.Drop("cache")
	}
	mem = mem.Reopen() // a closed MemBackend reopens as a folder would
	v2, err := core.Open[schemaV2](mem, core.Options{Version: 2, Upgrade: upgrade})
	if err != nil {
		panic(err)
	}
	p, _ := v2.Tables.Profiles.Get("ada@example.com")
	fmt.Println(v2.Version(), p.First, p.Last)
	v2.Close()

	// A program that expects an older version is refused: no downgrade.
	_, err = core.Open[schemaV1](mem.Reopen(), core.Options{Version: 1})
	fmt.Println(err)
	// Output:
	// 2 Ada Lovelace
	// dbrs: schema version: the database is at version 2, newer than this program's 1, and dbrs does not downgrade
}

func ExampleTransformList() {
	type before struct {
		Temps core.List[int64] `dbrs:"temps"` // tenths of a degree
	}
	type after struct {
		Temps core.List[float64] `dbrs:"temps"` // degrees
	}
	mem := core.NewMemBackend()
	db, _ := core.Open[before](mem, core.Options{})
	_ = db.Tables.Temps.Push(215)
	_ = db.Tables.Temps.Push(-30)
	db.Close()

	db2, err := core.Open[after](mem.Reopen(), core.Options{Version: 1, Upgrade: func(u *core.Upgrade) error {
		return core.TransformList(u, "temps", func(i int, v int64) (float64, error) { return float64(v) / 10, nil })
	}})
	if err != nil {
		panic(err)
	}
	defer db2.Close()
	fmt.Println(db2.Tables.Temps.Slice())
	// Output: [21.5 -3]
}
