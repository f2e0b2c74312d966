package core

import "testing"

type acct struct {
	Name    string
	Balance int64
	Tags    []string
}

type smokeSchema struct {
	Owner  Single[string]
	Admins List[string]
	Users  LookupTable[string, acct] `dbrs:"users"`
	Posts  LookupList[string, string]
	Tags   LookupSet[string, string]
	Grid   LookupMap[int, int, float64]
}

func TestSmoke(t *testing.T) {
	b := NewMemBackend()
	db, err := Open[smokeSchema](b, Options{})
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(db.Tables.Owner.Insert("parth"))
	must(db.Tables.Admins.Push("a"))
	must(db.Tables.Users.Insert("p", acct{Name: "P", Balance: 3, Tags: []string{"x"}}))
	must(db.Tables.Posts.Push("p", "hello"))
	must(db.Tables.Tags.Insert("p", "t1"))
	must(db.Tables.Grid.Insert(1, 2, 3.5))
	must(db.Close())
	db, err = Open[smokeSchema](b.Reopen(), Options{})
	must(err)
	if v, ok := db.Tables.Owner.Get(); !ok || v != "parth" {
		t.Fatal(v, ok)
	}
	if u, ok := db.Tables.Users.Get("p"); !ok || u.Tags[0] != "x" {
		t.Fatal(u)
	}
	must(db.Compact())
	if u, ok := db.Tables.Users.Get("p"); !ok || u.Tags[0] != "x" {
		t.Fatal(u)
	}
	t.Logf("%+v %+v", db.Stats(), db.OpenStats())
	must(db.Close())
}
