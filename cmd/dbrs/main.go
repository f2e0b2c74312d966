// Command dbrs inspects and repairs a native dbrs folder.
//
//	dbrs verify DIR   read the log (read-only, shared lock) and report its
//	                  records and its first damage; exit 1 if damaged
//	dbrs repair DIR   cut the log at its first damage so it opens again
//	                  (destructive: commits at and after the damage are lost)
//
// Neither needs the schema. repair takes the folder's exclusive lock, so no
// program may have the database open.
package main

import (
	"fmt"
	"os"

	"github.com/dbrs-db/dbrs/core"
	"github.com/dbrs-db/dbrs/platform/native"
)

func main() {
	if len(os.Args) != 3 || (os.Args[1] != "verify" && os.Args[1] != "repair") {
		fmt.Fprintln(os.Stderr, "usage: dbrs verify|repair DIR")
		os.Exit(2)
	}
	cmd, dir := os.Args[1], os.Args[2]
	if _, err := os.Stat(dir); err != nil {
		fail(err)
	}
	b, err := native.NewBackend(dir, native.BackendOptions{ReadOnly: cmd == "verify"})
	if err != nil {
		fail(err)
	}
	defer b.Close()
	var rep core.LogReport
	if cmd == "verify" {
		rep, err = core.Verify(b)
	} else {
		rep, err = core.Repair(b)
	}
	if err != nil {
		fail(err)
	}
	fmt.Printf("segments:   %d\nrecords:    %d\nbytes:      %d\ntorn bytes: %d\n", rep.Segments, rep.Records, rep.Bytes, rep.TornBytes)
	if rep.Corrupt == nil {
		fmt.Println("damage:     none")
		return
	}
	fmt.Printf("damage:     %v\n", rep.Corrupt)
	if cmd == "repair" {
		fmt.Printf("cut:        %d bytes from segments %v; the log now opens\n", rep.CutBytes, rep.CutSegments)
		return
	}
	os.Exit(1)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(2)
}
