package native_test

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"testing"

	"github.com/dbrs-db/dbrs/core"
	"github.com/dbrs-db/dbrs/platform/native"
)

// TestOpen_Upgrade upgrades a folder: the old segment files are replaced by
// the upgraded snapshot, the upgrade runs once, and a failed upgrade leaves
// the files as they were.
func TestOpen_Upgrade(t *testing.T) {
	type v1 struct {
		Balances core.LookupTable[string, int64] `dbrs:"balances"`
		Old      core.List[string]               `dbrs:"old"`
	}
	type v2 struct {
		Accounts core.LookupTable[string, Account] `dbrs:"accounts"`
	}
	dir := t.TempDir()
	db, err := native.Open[v1](dir, core.Options{Version: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Tables.Balances.Insert("ann", 10); err != nil {
		t.Fatal(err)
	}
	if err := db.Tables.Old.Push("x"); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	runs := 0
	upgrade := func(u *core.Upgrade) error {
		runs++
		if err := u.Rename("balances", "accounts"); err != nil {
			return err
		}
		if err := core.Transform(u, "accounts", func(k string, v int64) (Account, error) {
			return Account{Name: k, Balance: v}, nil
		}); err != nil {
			return err
		}
		return u.Drop("old")
	}

	// A failing upgrade changes no file.
	before := folderFiles(t, dir)
	boom := errors.New("boom")
	_, err = native.Open[v2](dir, core.Options{Version: 2, Upgrade: func(u *core.Upgrade) error {
		if err := upgrade(u); err != nil {
			return err
		}
		return boom
	}})
	if !errors.Is(err, boom) {
		t.Fatalf("Open with a failing upgrade: %v", err)
	}
	if after := folderFiles(t, dir); !maps.Equal(before, after) {
		t.Fatalf("a failed upgrade changed the folder: %v, then %v", before, after)
	}

	runs = 0
	for i := range 2 {
		db, err := native.Open[v2](dir, core.Options{Version: 2, Upgrade: upgrade})
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		if a, _ := db.Tables.Accounts.Get("ann"); a != (Account{"ann", 10}) || db.Version() != 2 {
			t.Errorf("open %d: accounts[ann] = %v, version %d", i, a, db.Version())
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if runs != 1 {
		t.Fatalf("the upgrade ran %d times over two opens", runs)
	}
	if _, err := native.Open[v1](dir, core.Options{Version: 1}); !errors.Is(err, core.ErrVersion) {
		t.Fatalf("open at version 1 after the upgrade: %v, want ErrVersion", err)
	}
}

// folderFiles maps each file of dir to its contents.
func folderFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = string(b)
	}
	return out
}
