package native_test

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dbrs-db/dbrs/core"
	"github.com/dbrs-db/dbrs/platform/native"
)

// killRounds is how many times TestKill9 kills its child: a few in `make
// test`, 1000 in `make reliability` (-dbrs.kills=1000).
var killRounds = flag.Int("dbrs.kills", 8, "kills of a writing child process in TestKill9")

type killSchema struct {
	Counter core.Single[int]
	Seen    core.LookupTable[int, string]
	Order   core.List[int]
	Bulk    core.LookupTable[int, string] // bulkEntries per committed bulk transaction
}

// Every bulkEvery-th commit of killChild is a large transaction that also
// writes bulkEntries entries of 100 bytes to Bulk: over 256 KiB, so it
// streams its records into the log while it runs (core/stream.go). Before
// each one, a transaction as large is rolled back. A kill may land in
// either.
const (
	bulkEvery   = 10
	bulkEntries = 3000
)

// killSyncModes are the sync modes TestKill9's rounds take in turn: a
// killed process loses nothing in any of them, since a commit is written to
// the OS before it is acknowledged and the page cache survives the kill.
var killSyncModes = []core.SyncMode{core.SyncAlways, core.SyncInterval, core.SyncNever}

// killChild runs in the child process: it commits transactions that write
// the same number to three tables (and, every bulkEvery-th, many entries
// to Bulk, after rolling back as many), printing each number once
// acknowledged, and compacts now and then, until it is killed. DBRS_KILL_SYNC is the
// index of its sync mode in killSyncModes.
func killChild(dir string) {
	mode, err := strconv.Atoi(os.Getenv("DBRS_KILL_SYNC"))
	if err != nil || mode < 0 || mode >= len(killSyncModes) {
		fmt.Println("bad DBRS_KILL_SYNC:", os.Getenv("DBRS_KILL_SYNC"))
		os.Exit(2)
	}
	db, err := native.Open[killSchema](dir, core.Options{Sync: killSyncModes[mode], CompactMinBytes: 32 << 10, CompactRatio: 2})
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(2)
	}
	start, _ := db.Tables.Counter.Get()
	out := bufio.NewWriter(os.Stdout)
	errRollBack := errors.New("rolled back")
	fillBulk := func(tx *killSchema, i int) error {
		for j := range bulkEntries {
			if err := tx.Bulk.Insert(i*bulkEntries+j, strings.Repeat("b", 100)); err != nil {
				return err
			}
		}
		return nil
	}
	for i := start + 1; ; i++ {
		if i%bulkEvery == 0 {
			err := db.Update(func(tx *killSchema) error {
				if err := fillBulk(tx, -i); err != nil {
					return err
				}
				return errRollBack
			})
			if err != errRollBack {
				fmt.Println("rollback:", err)
				os.Exit(2)
			}
		}
		err := db.Update(func(tx *killSchema) error {
			if i%bulkEvery == 0 {
				if err := fillBulk(tx, i); err != nil {
					return err
				}
			}
			if err := tx.Counter.Insert(i); err != nil {
				return err
			}
			if err := tx.Seen.Insert(i, strings.Repeat("x", i%50)); err != nil {
				return err
			}
			return tx.Order.Push(i)
		})
		if err != nil {
			fmt.Println("commit:", err)
			os.Exit(2)
		}
		fmt.Fprintln(out, i)
		out.Flush()
		if i%97 == 0 {
			if err := db.Compact(); err != nil {
				fmt.Println("compact:", err)
				os.Exit(2)
			}
		}
	}
}

func TestMain(m *testing.M) {
	if dir := os.Getenv("DBRS_KILL_CHILD"); dir != "" {
		killChild(dir)
		return
	}
	os.Exit(m.Run())
}

// TestKill9 kills a writing child process at random moments and checks that
// every acknowledged commit survives and no transaction is half there. The
// rounds cycle through the sync modes.
func TestKill9(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 9))
	acked, torn := 0, 0
	for round := range *killRounds {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "DBRS_KILL_CHILD="+dir, fmt.Sprint("DBRS_KILL_SYNC=", round%len(killSyncModes)))
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 1024)
		go func() {
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		// Odd rounds may kill the child while it opens; even rounds let it
		// commit first.
		wait := time.Duration(20+rng.IntN(300)) * time.Millisecond
		var deadline <-chan time.Time
		if round%2 == 1 {
			deadline = time.After(wait)
		}
	read:
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					break read
				}
				n, err := strconv.Atoi(l)
				if err != nil {
					t.Fatalf("child: %s", l)
				}
				acked = max(acked, n)
				if deadline == nil && cmd.ProcessState == nil {
					deadline = time.After(wait)
				}
			case <-deadline:
				_ = cmd.Process.Signal(syscall.SIGKILL)
				deadline = make(chan time.Time) // never again
			}
		}
		_ = cmd.Wait()

		db, err := native.Open[killSchema](dir, core.Options{})
		if err != nil {
			t.Fatalf("round %d: reopen after kill: %v", round, err)
		}
		n, _ := db.Tables.Counter.Get()
		if n < acked {
			t.Fatalf("round %d: counter %d, but commit %d was acknowledged", round, n, acked)
		}
		if db.Tables.Seen.Len() != n || db.Tables.Order.Len() != n {
			t.Fatalf("round %d: half a transaction: counter %d, seen %d, order %d", round, n, db.Tables.Seen.Len(), db.Tables.Order.Len())
		}
		if got, want := db.Tables.Bulk.Len(), n/bulkEvery*bulkEntries; got != want {
			t.Fatalf("round %d: counter %d, so %d bulk entries, but %d", round, n, want, got)
		}
		for k := range db.Tables.Bulk.Keys() {
			if k < 0 {
				t.Fatalf("round %d: bulk key %d of a rolled-back transaction", round, k)
			}
		}
		for i, v := range db.Tables.Order.All() {
			if v != i+1 {
				t.Fatalf("round %d: order[%d] = %d", round, i, v)
			}
		}
		if testing.Verbose() && *killRounds <= 20 {
			t.Logf("round %d: %d commits, torn bytes %d", round, n, db.OpenStats().TornBytes)
		}
		if db.OpenStats().TornBytes > 0 {
			torn++
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		acked = n
	}
	// Any violation has failed the test above, so a logged figure has none.
	t.Logf("reliability: kill -9: %d kills of a writing process (SyncAlways, SyncInterval and SyncNever in turn), %d commits acknowledged, %d reopens cut a torn tail, 0 violations", *killRounds, acked, torn)
}
