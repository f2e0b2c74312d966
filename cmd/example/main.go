// Command example creates a dbrs database in a folder, writes to it,
// reopens it and prints what it finds: the native quick start as a program.
//
//	go run ./cmd/example [folder]
package main

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/dbrs-db/dbrs/core"
	"github.com/dbrs-db/dbrs/platform/native"
)

type Account struct {
	Name    string
	Balance int64
}

type Schema struct {
	Owner  core.Single[string]
	Admins core.List[string]
	Users  core.LookupTable[string, Account] `dbrs:"users"`
}

func main() {
	dir := filepath.Join(os.TempDir(), "dbrs-example")
	if len(os.Args) > 1 {
		dir = os.Args[1]
	}
	db, err := native.Open[Schema](dir, core.Options{Sync: core.SyncAlways})
	if err != nil {
		log.Fatal(err)
	}
	runs, _ := db.Tables.Users.Get("parth")
	err = db.Update(func(tx *Schema) error {
		if err := tx.Owner.Insert("parth"); err != nil {
			return err
		}
		if err := tx.Admins.Push(fmt.Sprint("admin-", tx.Admins.Len())); err != nil {
			return err
		}
		return tx.Users.Insert("parth", Account{Name: "Parth", Balance: runs.Balance + 10})
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := db.Close(); err != nil {
		log.Fatal(err)
	}

	db, err = native.Open[Schema](dir, core.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	owner, _ := db.Tables.Owner.Get()
	user, _ := db.Tables.Users.Get("parth")
	st := db.OpenStats()
	fmt.Printf("folder:  %s\n", dir)
	fmt.Printf("owner:   %s\n", owner)
	fmt.Printf("admins:  %v\n", db.Tables.Admins.Slice())
	fmt.Printf("parth:   %+v\n", user)
	fmt.Printf("replay:  %d records, %d bytes in %v\n", st.Records, st.Bytes, st.Duration)
}
