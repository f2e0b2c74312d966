package main

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/dbrs-db/dbrs/core"
)

// Reading record payloads (the format is in core/record.go): a schema
// record [1, [[tableID, name, kind], ...]]; a commit or snapshot record
// [kind, tableID, entry, tableID, entry, ...]; a snapshot-end record
// [4, records, entries, ...]; a synced record [6, offset].

// kindNames names the record kinds.
var kindNames = map[int]string{
	core.RecordSchema:      "schema",
	core.RecordCommit:      "commit",
	core.RecordSnapshot:    "snapshot",
	core.RecordSnapshotEnd: "snapshot-end",
	core.RecordCommitPart:  "commit-part",
	core.RecordSynced:      "synced",
}

// schemaTable is one table of a schema record.
type schemaTable struct {
	ID   uint32
	Name string
	Kind string
}

// logEntry is one table entry of a commit or snapshot record.
type logEntry struct {
	table uint32
	entry []byte // the entry's msgpack, [op, args...]
	size  int64  // bytes of the table ID and the entry
}

// recordReader decodes records in log order, naming tables as the schema
// records seen so far define them.
type recordReader struct {
	tables map[uint32]schemaTable
}

func newRecordReader() *recordReader { return &recordReader{tables: map[uint32]schemaTable{}} }

// name returns the name of table id, or a placeholder for an undefined one.
func (r *recordReader) name(id uint32) string {
	if t, ok := r.tables[id]; ok {
		return t.Name
	}
	return fmt.Sprintf("#%d", id)
}

// schema decodes a schema record and learns its tables.
func (r *recordReader) schema(rec core.LogRecord) ([]schemaTable, error) {
	// [kind, tables] or [kind, tables, version] (core/record.go).
	var fields []msgpack.RawMessage
	var payload struct {
		Tables []struct {
			_msgpack struct{} `msgpack:",as_array"`
			ID       uint32
			Name     string
			Kind     string
		}
	}
	err := msgpack.Unmarshal(rec.Payload, &fields)
	if err == nil && len(fields) < 2 {
		err = fmt.Errorf("%d elements", len(fields))
	}
	if err == nil {
		err = msgpack.Unmarshal(fields[1], &payload.Tables)
	}
	if err != nil {
		return nil, fmt.Errorf("dbrs: segment %d offset %d: schema record: %w", rec.Segment, rec.Offset, err)
	}
	tables := make([]schemaTable, len(payload.Tables))
	for i, t := range payload.Tables {
		tables[i] = schemaTable{ID: t.ID, Name: t.Name, Kind: t.Kind}
		r.tables[t.ID] = tables[i]
	}
	return tables, nil
}

// entries decodes a commit or snapshot record's entries.
func (r *recordReader) entries(rec core.LogRecord) ([]logEntry, error) {
	bad := func(err error) error {
		return fmt.Errorf("dbrs: segment %d offset %d: %s record: %w", rec.Segment, rec.Offset, kindNames[rec.Kind], err)
	}
	d := msgpack.NewDecoder(bytes.NewReader(rec.Payload))
	n, err := d.DecodeArrayLen()
	if err != nil {
		return nil, bad(err)
	}
	if _, err := d.DecodeInt(); err != nil {
		return nil, bad(err)
	}
	if n < 1 || (n-1)%2 != 0 {
		return nil, bad(fmt.Errorf("%d elements, want the kind and pairs", n))
	}
	out := make([]logEntry, 0, (n-1)/2)
	for range (n - 1) / 2 {
		idRaw, err := d.DecodeRaw()
		if err != nil {
			return nil, bad(err)
		}
		var id uint32
		if err := msgpack.Unmarshal(idRaw, &id); err != nil {
			return nil, bad(fmt.Errorf("table ID: %w", err))
		}
		entry, err := d.DecodeRaw()
		if err != nil {
			return nil, bad(err)
		}
		out = append(out, logEntry{table: id, entry: entry, size: int64(len(idRaw) + len(entry))})
	}
	return out, nil
}

// tableUsage is what a snapshot holds of one table.
type tableUsage struct {
	entries []logEntry
	bytes   int64
}

// snapshotUsage returns the entries of each table, by name, in the
// snapshot of the current state of db: what compaction would write for
// it. The bytes of a table's entries are the live bytes it costs.
func snapshotUsage(db *core.DB[core.Dynamic]) (map[string]*tableUsage, error) {
	snap, err := db.SnapshotSegment()
	if err != nil {
		return nil, err
	}
	mem := core.NewMemBackend()
	if err := mem.Install(1, [][]byte{snap}, nil); err != nil {
		return nil, err
	}
	r := newRecordReader()
	usage := map[string]*tableUsage{}
	_, err = core.WalkLog(mem, func(rec core.LogRecord) error {
		switch rec.Kind {
		case core.RecordSchema:
			_, err := r.schema(rec)
			return err
		case core.RecordSnapshot:
			entries, err := r.entries(rec)
			for _, e := range entries {
				u := usage[r.name(e.table)]
				if u == nil {
					u = &tableUsage{}
					usage[r.name(e.table)] = u
				}
				u.entries = append(u.entries, e)
				u.bytes += e.size
			}
			return err
		}
		return nil
	})
	return usage, err
}

// recordJSON is one record as dump --records --json prints it.
type recordJSON struct {
	Segment uint64            `json:"segment"`
	Offset  int64             `json:"offset"`
	Size    int64             `json:"size"`
	Kind    string            `json:"kind"`
	Tables  []schemaTableJSON `json:"tables,omitempty"`
	Entries []entryJSON       `json:"entries,omitempty"`
	Payload json.RawMessage   `json:"payload,omitempty"`
}

type schemaTableJSON struct {
	ID   uint32 `json:"id"`
	Name string `json:"name"`
	Kind string `json:"kind"`
}

type entryJSON struct {
	Table string          `json:"table"`
	ID    uint32          `json:"id"`
	Entry json.RawMessage `json:"entry"`
}
