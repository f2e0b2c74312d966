package core

import (
	"encoding/binary"
	"testing"
	"time"
)

// A damaged tail in the newest segment makes validRecordAfter CRC up to
// MaxRecordSize bytes at every offset: open time is quadratic in the tail.
func openWithHostileTail(t *testing.T, tail int) time.Duration {
	type S struct{ T LookupTable[string, int] }
	mem := NewMemBackend()
	db, err := Open[S](mem, Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Tables.T.Insert("a", 1)
	ids, _ := mem.Segments()
	last := ids[len(ids)-1]
	data, _ := mem.ReadSegment(last)
	db.Close()
	mem = mem.Reopen()
	g := make([]byte, tail)
	for p := 0; p+16 <= tail; p += 16 {
		binary.LittleEndian.PutUint32(g[p:], uint32(tail/2)) // plausible length
		g[p+4] = 0xff                                        // bad CRC
		g[p+8] = 0x91                                        // payload looks like an array
	}
	if err := mem.Append(last, int64(len(data)), g); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	db2, err := Open[S](mem, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	d := time.Since(start)
	t.Logf("tail %d KiB: open took %v, torn %d", tail>>10, d, db2.OpenStats().TornBytes)
	return d
}

func TestRecord_HostileTailOpenNotQuadratic(t *testing.T) {
	d1 := openWithHostileTail(t, 512<<10)
	d2 := openWithHostileTail(t, 2<<20)
	if d2 > 8*d1 && d2 > time.Second {
		t.Errorf("open time grows quadratically with a garbage tail: %v -> %v for 4x the bytes", d1, d2)
	}
}
