package core

import (
	"sync"
	"testing"
)

// List.All must read t.s.items under the read lock (it once read it before
// taking the lock): the race detector catches a concurrent Push.
func TestList_All_ConcurrentPush(t *testing.T) {
	type S struct{ L List[int] }
	db, err := Open[S](NewMemBackend(), Options{Sync: SyncNever, CompactRatio: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := 0; i < 2000; i++ {
			db.Tables.L.Push(i)
		}
	}()
	go func() {
		defer wg.Done()
		for i := 0; i < 2000; i++ {
			for range db.Tables.L.All() {
				break
			}
		}
	}()
	wg.Wait()
}
