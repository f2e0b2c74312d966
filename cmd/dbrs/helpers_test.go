package main

import (
	"encoding/binary"
	"flag"
	"hash/crc32"
	"io"
	"strconv"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/dbrs-db/dbrs/core"
)

func newFlagSet() *flag.FlagSet {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

func itoa(n int) string { return strconv.Itoa(n) }

// frameRecord returns payload as one record of the log format: length,
// CRC-32C of the payload, payload.
func frameRecord(payload []byte) []byte {
	out := binary.LittleEndian.AppendUint32(nil, uint32(len(payload)))
	out = binary.LittleEndian.AppendUint32(out, crc32.Checksum(payload, crc32.MakeTable(crc32.Castagnoli)))
	return append(out, payload...)
}

// counterState is a table of a custom kind: a running total whose entries
// are amounts to add.
type counterState struct{ total int64 }

func (c *counterState) Kind() string { return "test.counter" }

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

type Counter struct {
	core.Custom[counterState, *counterState]
}

func (c *Counter) Add(n int64) error {
	entry, err := msgpack.Marshal(n)
	if err != nil {
		return err
	}
	return c.Apply(entry)
}

func (c *Counter) Total() (total int64) {
	c.Read(func(s *counterState) { total = s.total })
	return total
}

type customSchema struct {
	Hits Counter
	Name core.Single[string]
}

type onlyCustom struct {
	Hits Counter
}
