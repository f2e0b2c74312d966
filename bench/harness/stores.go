package harness

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Variant is the Go type of values: dbrs stores LookupTable[string, string]
// or LookupTable[string, []byte]; the others store bytes and convert on read
// (string(v) or a copy), as a caller who must not alias store memory would.
type Variant string

const (
	VarString Variant = "string"
	VarBytes  Variant = "bytes"
)

// OpenOptions are what a workload asks of a store at open.
type OpenOptions struct {
	Variant Variant
	// Concurrent is set for P2; bbolt then commits through DB.Batch, its
	// group-commit API, instead of DB.Update.
	Concurrent bool
}

// LoadInfo says how a bulk load was done.
type LoadInfo struct {
	// Mode describes the transactions used, e.g. "one transaction".
	Mode string `json:"mode"`
	// Fallback is set when one transaction was refused and the load was
	// redone in batches; FailedAttempt is the time the refused try took
	// (not counted in the load rate).
	Fallback      bool          `json:"fallback,omitempty"`
	FailedAttempt time.Duration `json:"failed_attempt_ns,omitempty"`
}

// LoadOptions tune a bulk load.
type LoadOptions struct {
	// Batches skips the one-transaction attempt (dbrs only), for loads
	// whose timing is not the measurement.
	Batches bool
	// BatchSize is the fallback batch size; 0 means 100,000.
	BatchSize int
}

// Store is one key-value store under test. Every write is durable when it
// returns.
type Store interface {
	// Put commits one key as its own durable transaction.
	Put(k, v []byte) error
	// Load inserts records [0, n) and makes them durable once at the end.
	Load(n int, o LoadOptions) (LoadInfo, error)
	// Get reads a key (given as a string and as bytes, so that no store pays
	// a conversion the caller would not) and returns the value's length.
	Get(ks string, kb []byte) (int, bool, error)
	// SwitchVariant makes Get return the other value type, holding the n
	// records loaded with o.
	SwitchVariant(v Variant, n int, o LoadOptions) error
	Close() error
}

// StoreDef names a store and opens it in a folder.
type StoreDef struct {
	Name string
	// Desc is shown in the report.
	Desc string
	Open func(dir string, o OpenOptions) (Store, error)
	// WriteOnly stores (the raw preallocated loops) take part in P1/P2 only.
	WriteOnly bool
	// P1Only stores take part in P1 only.
	P1Only bool
}

var errUnsupported = errors.New("not supported by this store")

// Stores lists every store, dbrs first.
var Stores = []StoreDef{
	{Name: "dbrs", Desc: "dbrs, `core.LookupTable[string, string]` (`[]byte` for P4 bytes), `SyncAlways`", Open: openDBRS},
	{Name: "bbolt", Desc: "go.etcd.io/bbolt, one bucket, default options (fdatasync per commit); P2 through `DB.Batch`", Open: openBolt},
	{Name: "badger", Desc: "github.com/dgraph-io/badger/v4, `WithSyncWrites(true)`, otherwise defaults", Open: openBadger},
	{Name: "pebble", Desc: "github.com/cockroachdb/pebble/v2, writes with `pebble.Sync`, default options", Open: openPebble},
	{Name: "buntdb", Desc: "github.com/tidwall/buntdb, `SyncPolicy: buntdb.Always`", Open: openBunt},
	{Name: "raw", Desc: "append `[len][klen][key][value]` + fdatasync per commit (serialized, no group commit), `map[string][]byte` in memory; replay counts records first to size the map once", Open: openRaw},
	{Name: "raw-prealloc", Desc: "pwrite into a zero-filled, preallocated file + fdatasync (serialized): the physical limit of a durable commit", Open: openPrealloc(true), WriteOnly: true},
	{Name: "raw-fallocate", Desc: "as raw-prealloc, but the file is reserved with fallocate (unwritten extents, as dbrs does) instead of written with zeros", Open: openPrealloc(false), WriteOnly: true, P1Only: true},
}

// StoreNames lists the stores' names, comma-separated.
func StoreNames() string {
	var names []string
	for _, s := range Stores {
		names = append(names, s.Name)
	}
	return strings.Join(names, ",")
}

func storeByName(name string) (StoreDef, error) {
	for _, s := range Stores {
		if s.Name == name {
			return s, nil
		}
	}
	return StoreDef{}, fmt.Errorf("unknown store %q", name)
}

// Sinks keep the compiler from dropping the copies that reads make.
var (
	sinkString string
	sinkBytes  []byte
)

// copyOut copies v as the variant's type (string(v) or a fresh []byte), as a
// caller must when v is store memory that is only valid for a moment, and
// returns its length.
func copyOut(variant Variant, v []byte) int {
	if variant == VarBytes {
		sinkBytes = append([]byte(nil), v...)
		return len(sinkBytes)
	}
	sinkString = string(v)
	return len(sinkString)
}
