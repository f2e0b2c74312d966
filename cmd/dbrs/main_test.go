package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/dbrs-db/dbrs/core"
	"github.com/dbrs-db/dbrs/platform/native"
)

// The commands run in-process through run, with buffers for the streams.

type Account struct {
	Name    string
	Balance int64
	Tags    []string
}

type Point struct{ X, Y int }

type Pair struct {
	A int
	B string
}

type Schema struct {
	Owner core.Single[string]
	Log   core.List[string]
	Users core.LookupTable[string, Account] `dbrs:"users"`
	Posts core.LookupList[string, string]
	Tags  core.LookupSet[string, int]
	Grid  core.LookupMap[int, string, Point]
	ByID  core.LookupTable[int, string]
	ByKey core.LookupTable[Pair, string]
}

// result is what one run of the command printed and returned.
type result struct {
	stdout, stderr string
	code           int
}

func dbrs(t *testing.T, args ...string) result {
	t.Helper()
	return dbrsStdin(t, nil, args...)
}

func dbrsStdin(t *testing.T, stdin io.Reader, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	code := run(args, stdin, &out, &errOut)
	return result{out.String(), errOut.String(), code}
}

// want fails t unless r exited with code and its stdout holds every string
// in stdout.
func (r result) want(t *testing.T, code int, stdout ...string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit status %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
	for _, s := range stdout {
		if !strings.Contains(r.stdout, s) {
			t.Fatalf("stdout does not contain %q:\n%s\nstderr:\n%s", s, r.stdout, r.stderr)
		}
	}
}

// wantErr fails t unless r exited with code and its stderr holds every
// string in stderr.
func (r result) wantErr(t *testing.T, code int, stderr ...string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit status %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
	for _, s := range stderr {
		if !strings.Contains(r.stderr, s) {
			t.Fatalf("stderr does not contain %q:\n%s", s, r.stderr)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// fill writes the sample data.
func fill(t *testing.T, db *core.DB[Schema]) {
	t.Helper()
	s := db.Tables
	must(t, s.Owner.Insert("parth <admin> & co"))
	must(t, s.Log.Push("created"))
	must(t, s.Log.Push("second"))
	must(t, s.Users.Insert("parth", Account{Name: "Parth", Balance: 10, Tags: []string{"a"}}))
	must(t, s.Users.Insert("alice", Account{Name: "Alice", Balance: -5}))
	must(t, s.Posts.Push("parth", "hello"))
	must(t, s.Posts.Push("parth", "world"))
	must(t, s.Tags.Insert("x", 3))
	must(t, s.Tags.Insert("x", 1))
	must(t, s.Grid.Insert(1, "a", Point{1, 2}))
	must(t, s.Grid.Insert(300, "b", Point{3, 4}))
	must(t, s.ByID.Insert(42, "answer"))
	must(t, s.ByKey.Insert(Pair{A: 1, B: "x"}, "by struct"))
}

// newDB makes a database of sample data in a new folder and returns it.
func newDB(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "db")
	db, err := native.Open[Schema](dir, core.Options{})
	must(t, err)
	fill(t, db)
	must(t, db.Close())
	return dir
}

// segFile returns the path of the newest segment file of dir.
func segFile(t *testing.T, dir string) string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.seg"))
	must(t, err)
	if len(files) == 0 {
		t.Fatalf("no segment file in %s", dir)
	}
	return files[len(files)-1]
}

// damage flips a byte of the record holding s in the newest segment, a
// record that valid ones follow: corruption, not a torn tail.
func damage(t *testing.T, dir, s string) (path string, at int) {
	t.Helper()
	path = segFile(t, dir)
	data, err := os.ReadFile(path)
	must(t, err)
	i := bytes.Index(data, []byte(s))
	if i < 0 {
		t.Fatalf("%q is not in %s", s, path)
	}
	data[i] ^= 0xff
	must(t, os.WriteFile(path, data, 0o600))
	// The record starts at the last record boundary before i.
	for off := 0; off < len(data); {
		n := int(data[off]) | int(data[off+1])<<8 | int(data[off+2])<<16 | int(data[off+3])<<24
		if off+8+n > i {
			return path, off
		}
		off += 8 + n
	}
	t.Fatal("no record boundary found")
	return "", 0
}

// tear appends a torn record to the data of the newest segment of dir.
func tear(t *testing.T, dir string) {
	t.Helper()
	path := segFile(t, dir)
	data, err := os.ReadFile(path)
	must(t, err)
	end := len(bytes.TrimRight(data, "\x00"))
	torn := []byte{9, 0, 0, 0, 1, 2, 3, 4, 0x93}
	// A crash leaves the segment's preallocated zeros after the torn
	// record (a clean Close cut them: put some back).
	data = append(append(data[:end:end], torn...), make([]byte, 1024)...)
	must(t, os.WriteFile(path, data, 0o600))
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	must(t, err)
	return b
}

// folderBytes returns every file of dir with its contents.
func folderBytes(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	must(t, err)
	out := map[string]string{}
	for _, e := range entries {
		out[e.Name()] = string(readFile(t, filepath.Join(dir, e.Name())))
	}
	return out
}

func TestHelp(t *testing.T) {
	dbrs(t, "help").want(t, exitOK, "Commands:", "stat", "dump", "get", "keys", "verify", "compact", "repair", "export", "import")
	dbrs(t, "--help").want(t, exitOK, "Commands:")
	for _, cmd := range commands {
		r := dbrs(t, cmd.name, "--help")
		r.want(t, exitOK, "usage: dbrs "+cmd.name, cmd.summary)
		dbrs(t, "help", cmd.name).want(t, exitOK, "usage: dbrs "+cmd.name)
		dbrs(t, cmd.name, "-h").want(t, exitOK, "usage: dbrs "+cmd.name)
	}
	dbrs(t, "get", "--help").want(t, exitOK, "--json-key")
	dbrs(t, "repair", "--help").want(t, exitOK, "--yes", "--backup FILE")
	dbrs(t).wantErr(t, exitError, "Commands:")
	dbrs(t, "frobnicate").wantErr(t, exitError, `unknown command "frobnicate"`)
	dbrs(t, "stat").wantErr(t, exitError, "want DIR", "usage: dbrs stat")
	dbrs(t, "stat", "a", "b").wantErr(t, exitError, "want DIR")
	dbrs(t, "stat", "--bogus", "a").wantErr(t, exitError, "flag provided but not defined")
}

func TestParseInterspersed(t *testing.T) {
	for _, c := range []struct {
		args      []string
		pos       []string
		table     string
		jsonValue bool
	}{
		{[]string{"d", "--table", "T", "--json"}, []string{"d"}, "T", true},
		{[]string{"--json", "d", "x"}, []string{"d", "x"}, "", true},
		{[]string{"d", "--", "--json"}, []string{"d", "--json"}, "", false},
		{[]string{"d", "--table", "--", "x"}, []string{"d", "x"}, "--", false},
		{[]string{"d", "--table=T", "--", "-5"}, []string{"d", "-5"}, "T", false},
	} {
		fs := newFlagSet()
		table := fs.String("table", "", "")
		j := fs.Bool("json", false, "")
		pos, err := parseInterspersed(fs, c.args)
		must(t, err)
		if !reflect.DeepEqual(pos, c.pos) || *table != c.table || *j != c.jsonValue {
			t.Errorf("%q: positional %q, table %q, json %v; want %q, %q, %v", c.args, pos, *table, *j, c.pos, c.table, c.jsonValue)
		}
	}
}

func TestStat(t *testing.T) {
	dir := newDB(t)
	dbrs(t, "stat", dir).want(t, exitOK,
		"segments:", "1 live, 0 stale", "records:", "log bytes:", "live bytes:", "file bytes:",
		"torn tail:        none", "last compaction:  never",
		"users  lookup_table  2      2", "Grid   lookup_map    2      2", "Posts  lookup_list   1      2")

	db, err := native.Open[Schema](dir, core.Options{})
	must(t, err)
	must(t, db.Compact())
	live := db.Stats().LiveBytes
	must(t, db.Close())
	r := dbrs(t, "stat", "--json", dir)
	r.want(t, exitOK)
	var st statResult
	must(t, json.Unmarshal([]byte(r.stdout), &st))
	if st.SnapshotSegment == nil || st.LastCompaction == nil || time.Since(*st.LastCompaction) > time.Hour {
		t.Fatalf("stat --json after a compaction: %+v", st)
	}
	var sum int64
	for _, tb := range st.Tables {
		sum += tb.Bytes
	}
	if st.LiveBytes != live || sum != live || len(st.Tables) != 8 {
		t.Fatalf("live bytes %d, tables' bytes %d, want %d (%+v)", st.LiveBytes, sum, live, st)
	}
	dbrs(t, "stat", dir).want(t, exitOK, "last compaction:  snapshot segment ")
}

func TestDump(t *testing.T) {
	dir := newDB(t)
	dbrs(t, "dump", dir).want(t, exitOK,
		"Owner (single)\n  \"parth <admin> & co\"\n",
		"Log (list, 2 items)\n  [0] \"created\"\n  [1] \"second\"\n",
		"users (lookup_table, 2 keys)\n  \"alice\": {\"Name\":\"Alice\",\"Balance\":-5,\"Tags\":null}\n  \"parth\": {\"Name\":\"Parth\",\"Balance\":10,\"Tags\":[\"a\"]}\n",
		"Posts (lookup_list, 1 key)\n  \"parth\": [\"hello\",\"world\"]\n",
		"Tags (lookup_set, 1 key)\n  \"x\": [1,3]\n",
		"Grid (lookup_map, 2 keys)\n  1, \"a\": {\"X\":1,\"Y\":2}\n  300, \"b\": {\"X\":3,\"Y\":4}\n",
		"ByKey (lookup_table, 1 key)\n  {\"A\":1,\"B\":\"x\"}: \"by struct\"")

	r := dbrs(t, "dump", dir, "--json")
	r.want(t, exitOK)
	var got map[string]map[string]any
	must(t, json.Unmarshal([]byte(r.stdout), &got))
	want := map[string]any{
		"Owner": map[string]any{"kind": "single", "value": "parth <admin> & co"},
		"Log":   map[string]any{"kind": "list", "items": []any{"created", "second"}},
		"users": map[string]any{"kind": "lookup_table", "entries": []any{
			map[string]any{"key": "alice", "value": map[string]any{"Name": "Alice", "Balance": -5.0, "Tags": nil}},
			map[string]any{"key": "parth", "value": map[string]any{"Name": "Parth", "Balance": 10.0, "Tags": []any{"a"}}},
		}},
		"Posts": map[string]any{"kind": "lookup_list", "entries": []any{map[string]any{"key": "parth", "values": []any{"hello", "world"}}}},
		"Tags":  map[string]any{"kind": "lookup_set", "entries": []any{map[string]any{"key": "x", "members": []any{1.0, 3.0}}}},
		"Grid": map[string]any{"kind": "lookup_map", "entries": []any{
			map[string]any{"key": 1.0, "entries": []any{map[string]any{"key": "a", "value": map[string]any{"X": 1.0, "Y": 2.0}}}},
			map[string]any{"key": 300.0, "entries": []any{map[string]any{"key": "b", "value": map[string]any{"X": 3.0, "Y": 4.0}}}},
		}},
		"ByID":  map[string]any{"kind": "lookup_table", "entries": []any{map[string]any{"key": 42.0, "value": "answer"}}},
		"ByKey": map[string]any{"kind": "lookup_table", "entries": []any{map[string]any{"key": map[string]any{"A": 1.0, "B": "x"}, "value": "by struct"}}},
	}
	if !reflect.DeepEqual(got["tables"], want) {
		t.Fatalf("dump --json:\n%v\nwant\n%v", got["tables"], want)
	}
	if !strings.Contains(r.stdout, "parth <admin> & co") {
		t.Fatal("dump --json escapes <, > or &")
	}

	r = dbrs(t, "dump", "--table", "Tags", "--json", dir)
	r.want(t, exitOK)
	must(t, json.Unmarshal([]byte(r.stdout), &got))
	if len(got["tables"]) != 1 || got["tables"]["Tags"] == nil {
		t.Fatalf("dump --table Tags: %v", got)
	}
	dbrs(t, "dump", "--table", "nope", dir).wantErr(t, exitError, `unknown table: "nope"; the log holds`)
}

func TestDumpRecords(t *testing.T) {
	dir := newDB(t)
	dbrs(t, "dump", "--records", dir).want(t, exitOK,
		"segment 1 offset 0: schema, ", "  table 0: ByID (lookup_table)",
		": commit, ", "  Owner [1,\"parth <admin> & co\"]", "  Grid [1,300,\"b\",{\"X\":3,\"Y\":4}]")

	r := dbrs(t, "dump", "--records", "--json", dir)
	r.want(t, exitOK)
	var recs []recordJSON
	sc := bufio.NewScanner(strings.NewReader(r.stdout))
	for sc.Scan() {
		var rec recordJSON
		must(t, json.Unmarshal(sc.Bytes(), &rec))
		recs = append(recs, rec)
	}
	// A schema record and the synced record that follows it, then one
	// commit per auto-committed operation, each after a synced record
	// (every one is synced before the next, under SyncAlways).
	if len(recs) != 28 || recs[0].Kind != "schema" || len(recs[0].Tables) != 8 || recs[1].Kind != "synced" ||
		string(recs[1].Payload) != "[6,0]" || recs[2].Kind != "synced" || recs[3].Kind != "commit" ||
		recs[3].Entries[0].Table != "Owner" || string(recs[3].Entries[0].Entry) != `[1,"parth <admin> & co"]` {
		t.Fatalf("dump --records --json: %d records: %+v", len(recs), recs)
	}
	for i := 1; i < len(recs); i++ {
		if recs[i].Offset != recs[i-1].Offset+recs[i-1].Size {
			t.Fatalf("record %d at %d does not follow the one before", i, recs[i].Offset)
		}
	}

	r = dbrs(t, "dump", "--records", "--table", "Log", dir)
	r.want(t, exitOK, "  Log [1,\"created\"]", "  Log [1,\"second\"]")
	if strings.Contains(r.stdout, "Owner") || strings.Contains(r.stdout, "schema") {
		t.Fatalf("dump --records --table Log shows other tables:\n%s", r.stdout)
	}

	// On a damaged log it shows the records before the damage.
	_, at := damage(t, dir, "world")
	r = dbrs(t, "dump", "--records", dir)
	r.wantErr(t, exitNo, "dbrs: log is corrupt: segment 1 offset", "nothing after it is shown")
	r.want(t, exitNo, "  Posts [1,\"parth\",\"hello\"]")
	if strings.Contains(r.stdout, "world") || strings.Contains(r.stdout, "  Tags [") {
		t.Fatalf("dump --records shows records after the damage at %d:\n%s", at, r.stdout)
	}
}

func TestGetAndKeys(t *testing.T) {
	dir := newDB(t)
	dbrs(t, "get", dir, "users", "parth").want(t, exitOK, "{\n  \"Name\": \"Parth\",\n  \"Balance\": 10,\n  \"Tags\": [\n    \"a\"\n  ]\n}\n")
	dbrs(t, "get", dir, "Owner").want(t, exitOK, "\"parth <admin> & co\"\n")
	dbrs(t, "get", dir, "Log", "1").want(t, exitOK, "\"second\"\n")
	dbrs(t, "get", dir, "Posts", "parth").want(t, exitOK, "[\n  \"hello\",\n  \"world\"\n]\n")
	dbrs(t, "get", dir, "Tags", "x").want(t, exitOK, "[\n  1,\n  3\n]\n")
	dbrs(t, "get", "--json-key", dir, "ByID", "42").want(t, exitOK, "\"answer\"\n")
	dbrs(t, "get", dir, "ByKey", "--json-key", `{"A":1,"B":"x"}`).want(t, exitOK, "\"by struct\"\n")
	dbrs(t, "get", dir, "Grid", "--json-key", "1", `"a"`).want(t, exitOK, "{\n  \"X\": 1,\n  \"Y\": 2\n}\n")
	dbrs(t, "get", dir, "Grid", "--json-key", "300").want(t, exitOK, "\"key\": \"b\"")

	dbrs(t, "get", dir, "users", "nobody").wantErr(t, exitNo, `dbrs: table "users" has no key "nobody"`)
	dbrs(t, "get", dir, "ByID", "42").wantErr(t, exitNo, "the table's keys are not strings (one is 42): give KEY as JSON with --json-key")
	dbrs(t, "get", dir, "ByKey", "--json-key", `{"B":"x","A":1}`).wantErr(t, exitNo, "has no key")
	dbrs(t, "get", dir, "Log", "7").wantErr(t, exitNo, `list "Log" has no index 7 (its length is 2)`)
	dbrs(t, "get", dir, "Log", "x").wantErr(t, exitError, "is not a number")
	dbrs(t, "get", dir, "Owner", "x").wantErr(t, exitError, "which takes no KEY")
	dbrs(t, "get", dir, "users").wantErr(t, exitError, "which takes one KEY")
	dbrs(t, "get", dir, "ByID", "--json-key", "1.5").wantErr(t, exitError, "keys cannot be floats")
	dbrs(t, "get", dir, "ByID", "--json-key", "{").wantErr(t, exitError, "not JSON")
	dbrs(t, "get", dir, "nope", "x").wantErr(t, exitError, "unknown table")

	dbrs(t, "keys", dir, "users").want(t, exitOK, "\"alice\"\n\"parth\"\n")
	dbrs(t, "keys", dir, "Grid").want(t, exitOK, "1\n300\n")
	dbrs(t, "keys", dir, "Grid", "--json-key", "300").want(t, exitOK, "\"b\"\n")
	dbrs(t, "keys", dir, "ByKey").want(t, exitOK, "{\"A\":1,\"B\":\"x\"}\n")
	dbrs(t, "keys", dir, "Tags").want(t, exitOK, "\"x\"\n")
	dbrs(t, "keys", dir, "Log").wantErr(t, exitError, "has no keys")
	dbrs(t, "keys", dir, "users", "x").wantErr(t, exitError, "only a lookup_map table takes a KEY")
}

func TestVerify(t *testing.T) {
	dir := newDB(t)
	dbrs(t, "verify", dir).want(t, exitOK, "records:    14", "torn tail:  none", "damage:     none", "replay:     ok, 8 tables decoded")

	// Beside an application that has the database open and writes.
	db, err := native.Open[Schema](dir, core.Options{})
	must(t, err)
	done := make(chan error)
	stop := make(chan struct{})
	go func() {
		var err error
		for i := 0; err == nil; i++ {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			err = db.Tables.Log.Push(strings.Repeat("x", i%300))
		}
		done <- err
	}()
	for range 5 {
		dbrs(t, "verify", dir).want(t, exitOK, "damage:     none")
	}
	close(stop)
	must(t, <-done)
	must(t, db.Close())

	torn := newDB(t)
	tear(t, torn)
	dbrs(t, "verify", torn).want(t, exitOK, "torn tail:  9 bytes of a record cut short (and ", "damage:     none", "replay:     ok")

	_, at := damage(t, dir, "hello")
	r := dbrs(t, "verify", dir)
	r.want(t, exitNo, "damage:     dbrs: log is corrupt: segment 1 offset ", "CRC mismatch", "replay:     skipped", "dbrs repair "+dir)
	if !strings.Contains(r.stdout, "offset "+itoa(at)+":") {
		t.Fatalf("verify does not report the damage at %d:\n%s", at, r.stdout)
	}

	empty := t.TempDir()
	dbrs(t, "verify", empty).wantErr(t, exitError, "dbrs: database does not exist")
	dbrs(t, "verify", filepath.Join(empty, "missing")).wantErr(t, exitError, "dbrs: database does not exist")
	if entries, _ := os.ReadDir(empty); len(entries) != 0 {
		t.Fatalf("verify wrote into an empty folder: %v", entries)
	}
}

// A log whose records are intact but whose entries do not replay.
func TestVerify_BadEntry(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db")
	db, err := native.OpenDynamic(dir, []core.TableSpec{{Name: "l", Kind: core.KindList}}, core.Options{})
	must(t, err)
	l, err := db.Tables.List("l")
	must(t, err)
	must(t, l.Push([]byte{0x01}))
	must(t, l.RemoveAt(0))
	must(t, db.Close())
	// Rewrite the log so that the removal comes first: intact records, an
	// entry that does not apply.
	var recs []core.LogRecord
	nb, err := native.NewBackend(dir, native.BackendOptions{ReadOnly: true})
	must(t, err)
	_, err = core.WalkLog(nb, func(r core.LogRecord) error { recs = append(recs, r); return nil })
	must(t, err)
	must(t, nb.Close())
	var commits []core.LogRecord
	for _, r := range recs {
		if r.Kind == core.RecordCommit {
			commits = append(commits, r)
		}
	}
	if len(commits) != 2 {
		t.Fatalf("%d commit records, want the push and the removal", len(commits))
	}
	seg := frameRecord(recs[0].Payload) // the schema record
	for _, r := range []core.LogRecord{commits[1], commits[0]} {
		seg = append(seg, frameRecord(r.Payload)...)
	}
	must(t, os.WriteFile(segFile(t, dir), seg, 0o600))
	dbrs(t, "verify", dir).want(t, exitNo, "damage:     none", "replay:     failed: dbrs: bad table entry")
}

func TestRepair(t *testing.T) {
	dir := newDB(t)
	path, at := damage(t, dir, "hello")
	before := folderBytes(t, dir)
	data := readFile(t, path)
	dataEnd := len(bytes.TrimRight(data, "\x00"))
	lost := dataEnd - at

	// A dry run changes nothing and shows the data bytes it would cut.
	r := dbrs(t, "repair", dir)
	r.want(t, exitNo, "damage:      dbrs: log is corrupt", "would cut:   segment 1 from offset "+itoa(at)+": "+itoa(lost)+" bytes of data",
		"would lose:  "+itoa(lost)+" bytes of data in 1 segment (and "+itoa(len(data)-dataEnd)+" preallocated zero bytes)", "Nothing was changed")
	if after := folderBytes(t, dir); !reflect.DeepEqual(after, before) {
		t.Fatal("a dry run changed the folder")
	}

	// --yes needs the folder to itself.
	locked := newDB(t)
	damage(t, locked, "hello")
	nb, err := native.NewBackend(locked, native.BackendOptions{})
	must(t, err)
	dbrs(t, "repair", "--yes", locked).wantErr(t, exitError, "dbrs: database is locked", "close the program")
	must(t, nb.Close())

	backup := filepath.Join(t.TempDir(), "cut.tar")
	r = dbrs(t, "repair", "--yes", "--backup", backup, dir)
	r.want(t, exitOK, "cut:     segment 1 from offset "+itoa(at), "Saved the bytes to cut in "+backup, "The log opens again")
	if got := readFile(t, path); len(got) != at || !bytes.Equal(got, data[:at]) {
		t.Fatalf("segment after repair: %d bytes, want the %d before the damage", len(got), at)
	}
	members := readTar(t, backup)
	if m := members["0000000000000001.seg+"+itoa(at)]; !bytes.Equal(m, data[at:dataEnd]) {
		t.Fatalf("backup holds %d bytes for the cut, want the %d cut (members %v)", len(m), lost, keys(members))
	}
	if !bytes.Contains(members["REPAIR.txt"], []byte("CRC mismatch")) {
		t.Fatalf("REPAIR.txt: %q", members["REPAIR.txt"])
	}
	// The prefix opens: the posts before the damage remain.
	db2, err := native.Open[Schema](dir, core.Options{ReadOnly: true})
	must(t, err)
	if db2.Tables.Posts.Len() != 0 || db2.Tables.Log.Len() != 2 {
		t.Fatalf("after repair: Posts %v, Log %v", db2.Tables.Posts.Get("parth"), db2.Tables.Log.Slice())
	}
	must(t, db2.Close())
	dbrs(t, "verify", dir).want(t, exitOK, "damage:     none")

	// The default backup goes into the folder; an existing backup is
	// never overwritten.
	again := newDB(t)
	damage(t, again, "hello")
	dbrs(t, "repair", "--yes", "--backup", backup, again).wantErr(t, exitError, "dbrs: create backup")
	dbrs(t, "repair", "--yes", again).want(t, exitOK, "Saved the bytes to cut in "+filepath.Join(again, "repair-"))
	if files, _ := filepath.Glob(filepath.Join(again, "repair-*.tar")); len(files) != 1 {
		t.Fatalf("backups in the folder: %v", files)
	}
	dbrs(t, "repair", again).want(t, exitOK, "damage: none; nothing to repair")
}

func TestRepair_TornTail(t *testing.T) {
	dir := newDB(t)
	tear(t, dir)
	before := folderBytes(t, dir)
	dbrs(t, "repair", dir).want(t, exitOK, "damage: none; nothing to repair", "torn tail (9 bytes of a record cut short")
	dbrs(t, "repair", "--yes", dir).want(t, exitOK, "nothing to repair")
	after := folderBytes(t, dir)
	delete(before, "LOCK")
	delete(after, "LOCK")
	if !reflect.DeepEqual(after, before) {
		t.Fatal("repair changed a log whose only flaw is a torn tail")
	}
}

func TestCompact(t *testing.T) {
	dir := newDB(t)
	before := dbrs(t, "dump", "--json", dir).stdout
	r := dbrs(t, "compact", dir)
	r.want(t, exitOK, "log bytes:", "records:    14 -> 4", "segments:   1 -> 2")
	if after := dbrs(t, "dump", "--json", dir).stdout; after != before {
		t.Fatalf("compaction changed the state:\n%s\n%s", before, after)
	}
	dbrs(t, "stat", dir).want(t, exitOK, "last compaction:  snapshot segment 2")

	db, err := native.Open[Schema](dir, core.Options{})
	must(t, err)
	dbrs(t, "compact", dir).wantErr(t, exitError, "dbrs: database is locked", "close the program")
	// The read-only commands run beside it.
	dbrs(t, "stat", dir).want(t, exitOK)
	dbrs(t, "get", dir, "users", "alice").want(t, exitOK, "Alice")
	must(t, db.Close())

	dbrs(t, "compact", t.TempDir()).wantErr(t, exitError, "dbrs: database does not exist")
}

func TestExportImport(t *testing.T) {
	dir := newDB(t)
	state := dbrs(t, "dump", "--json", dir).stdout
	file := filepath.Join(t.TempDir(), "backup.seg")
	dbrs(t, "export", dir, file).want(t, exitOK, "exported "+dir+": 8 tables, ", "to "+file)

	// The file is the segment compaction writes (of the same size: the
	// order of entries within a table follows Go's map order).
	db, err := native.Open[Schema](dir, core.Options{ReadOnly: true})
	must(t, err)
	snap, err := db.SnapshotSegment()
	must(t, err)
	must(t, db.Close())
	if got := readFile(t, file); len(got) != len(snap) || !bytes.Equal(got[:20], snap[:20]) {
		t.Fatal("the exported file is not the snapshot segment")
	}
	dbrs(t, "export", dir, file).wantErr(t, exitError, "exists; remove it or pass --force")
	dbrs(t, "export", "--force", dir, file).want(t, exitOK)

	copyDir := filepath.Join(t.TempDir(), "copy")
	dbrs(t, "import", file, copyDir).want(t, exitOK, "imported "+file+" into "+copyDir+": 8 tables, 3 records")
	if got := dbrs(t, "dump", "--json", copyDir).stdout; got != state {
		t.Fatalf("the imported database differs:\n%s\nwant\n%s", got, state)
	}
	// It opens and takes writes.
	db, err = native.Open[Schema](copyDir, core.Options{MustExist: true})
	must(t, err)
	must(t, db.Tables.Log.Push("after import"))
	must(t, db.Close())

	dbrs(t, "import", file, copyDir).wantErr(t, exitError, "already holds a database")
	dbrs(t, "import", file, dir).wantErr(t, exitError, "already holds a database")
	notes := t.TempDir()
	must(t, os.WriteFile(filepath.Join(notes, "notes.txt"), []byte("mine"), 0o600))
	dbrs(t, "import", file, notes).wantErr(t, exitError, "dbrs: not a dbrs database")

	junk := filepath.Join(t.TempDir(), "junk")
	must(t, os.WriteFile(junk, []byte("hello, not a log"), 0o600))
	dbrs(t, "import", junk, filepath.Join(t.TempDir(), "x")).wantErr(t, exitError, "dbrs: not a dbrs database", "holds no dbrs records")
	half := filepath.Join(t.TempDir(), "half")
	must(t, os.WriteFile(half, snap[:len(snap)-3], 0o600))
	dbrs(t, "import", half, filepath.Join(t.TempDir(), "x")).wantErr(t, exitError, "an incomplete snapshot")
	tornLog := filepath.Join(t.TempDir(), "torn")
	seg := readFile(t, segFile(t, dir))
	seg = bytes.TrimRight(seg, "\x00")
	must(t, os.WriteFile(tornLog, seg[:len(seg)-3], 0o600))
	dbrs(t, "import", tornLog, filepath.Join(t.TempDir(), "x")).wantErr(t, exitError, "torn record")

	// Through stdout and stdin.
	r := dbrs(t, "export", dir, "-")
	r.wantErr(t, exitOK, "exported "+dir)
	viaPipe := filepath.Join(t.TempDir(), "pipe")
	dbrsStdin(t, strings.NewReader(r.stdout), "import", "-", viaPipe).want(t, exitOK)
	if got := dbrs(t, "dump", "--json", viaPipe).stdout; got != state {
		t.Fatal("the database imported from stdin differs")
	}
}

// Tables of a custom kind are shown as their raw entries, kept by export
// and import, and left alone by compaction.
func TestCustomKind(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db")
	db, err := native.Open[customSchema](dir, core.Options{})
	must(t, err)
	must(t, db.Tables.Hits.Add(2))
	must(t, db.Tables.Hits.Add(40))
	must(t, db.Tables.Name.Insert("n"))
	must(t, db.Close())

	dbrs(t, "dump", dir).want(t, exitOK, "Hits (test.counter, a custom kind: 2 raw entries)\n  2\n  40\n")
	dbrs(t, "stat", dir).want(t, exitOK, "Hits   test.counter  -")
	dbrs(t, "get", dir, "Hits").wantErr(t, exitError, "custom kind")
	dbrs(t, "verify", dir).want(t, exitOK, "1 of custom kinds kept as raw entries")
	dbrs(t, "compact", dir).want(t, exitOK)
	file := filepath.Join(t.TempDir(), "f")
	dbrs(t, "export", dir, file).want(t, exitOK)
	copyDir := filepath.Join(t.TempDir(), "copy")
	dbrs(t, "import", file, copyDir).want(t, exitOK)
	for _, d := range []string{dir, copyDir} {
		db, err := native.Open[customSchema](d, core.Options{})
		must(t, err)
		if n := db.Tables.Hits.Total(); n != 42 {
			t.Fatalf("%s: counter %d after compact/export/import, want 42", d, n)
		}
		must(t, db.Close())
	}

	only := filepath.Join(t.TempDir(), "only")
	db2, err := native.Open[onlyCustom](only, core.Options{})
	must(t, err)
	must(t, db2.Tables.Hits.Add(1))
	must(t, db2.Close())
	dbrs(t, "dump", only).want(t, exitOK, "Hits (test.counter")
	dbrs(t, "compact", only).wantErr(t, exitError, "only tables of custom kinds")
}

// A folder of other files is not a database: every command refuses it and
// leaves it as it is.
func TestNotADatabase(t *testing.T) {
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o600))
	before := folderBytes(t, dir)
	for _, args := range [][]string{
		{"stat", dir}, {"dump", dir}, {"dump", "--records", dir}, {"get", dir, "t", "k"}, {"keys", dir, "t"},
		{"verify", dir}, {"compact", dir}, {"repair", dir}, {"repair", "--yes", dir}, {"export", dir, filepath.Join(t.TempDir(), "f")},
	} {
		dbrs(t, args...).wantErr(t, exitError, "dbrs: not a dbrs database", `"notes.txt"`)
	}
	if after := folderBytes(t, dir); !reflect.DeepEqual(after, before) {
		t.Fatalf("a refused command changed the folder: %v", keys(after))
	}
}

// An open that fails on corruption names the commands that inspect and
// repair the log.
func TestCorruptOpenNamesVerifyAndRepair(t *testing.T) {
	dir := newDB(t)
	damage(t, dir, "hello")
	for _, args := range [][]string{{"stat", dir}, {"dump", dir}, {"get", dir, "users", "x"}, {"export", dir, filepath.Join(t.TempDir(), "f")}} {
		dbrs(t, args...).wantErr(t, exitError, "dbrs: log is corrupt", "dbrs verify "+dir, "dbrs repair "+dir)
	}
}

func TestProgress(t *testing.T) {
	saved := progressDelay
	progressDelay = 0
	t.Cleanup(func() { progressDelay = saved })
	var buf bytes.Buffer
	c := &cli{stderr: &buf, progress: true}
	p := c.newProgress("reading log", 1000)
	p.phase("reading log", 1000) // shows at once: the delay is 0
	p.add(500)
	p.phase("replaying log", -1)
	p.stop()
	p.stop()
	p.add(1) // after stop: nothing
	out := buf.String()
	if !strings.Contains(out, "reading log") || !strings.Contains(out, "replaying log") {
		t.Fatalf("progress output %q", out)
	}
	if !strings.HasSuffix(out, "\r") {
		t.Fatalf("progress does not clear its line at the end: %q", out)
	}
	var quiet bytes.Buffer
	q := (&cli{stderr: &quiet}).newProgress("x", 10)
	q.add(5)
	q.stop()
	if q != nil || quiet.Len() != 0 {
		t.Fatal("progress shown although stderr is not a terminal")
	}
}

func TestJSONConversion(t *testing.T) {
	enc := func(v any) []byte {
		var buf bytes.Buffer
		e := msgpack.NewEncoder(&buf)
		e.UseCompactInts(true)
		must(t, e.Encode(v))
		return buf.Bytes()
	}
	for _, c := range []struct {
		v    any
		want string
	}{
		{nil, "null"},
		{true, "true"},
		{int64(-1 << 63), "-9223372036854775808"},
		{uint64(1<<64 - 1), "18446744073709551615"},
		{1.5, "1.5"},
		{float32(0.1), "0.1"},
		{"a\"<b>", `"a\"<b>"`},
		{[]byte{1, 2}, `{"$bin":"AQI="}`},
		{map[int]string{1: "a"}, `{"1":"a"}`},
		{[]any{1, "x", nil}, `[1,"x",null]`},
		{time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC), `"2026-01-02T03:04:05.000000006Z"`},
	} {
		got, err := msgpackJSON(enc(c.v))
		if err != nil || string(got) != c.want {
			t.Errorf("msgpackJSON(%v) = %s, %v; want %s", c.v, got, err, c.want)
		}
	}
	for raw, want := range map[string]string{
		"\xcb\x7f\xf8\x00\x00\x00\x00\x00\x01": `"NaN"`,
		"\xd4\x05\x07":                         `{"$ext":5,"data":"Bw=="}`,
		"\x82\xa1b\x01\xa1a\x02":               `{"b":1,"a":2}`, // map order kept
	} {
		if got, err := msgpackJSON([]byte(raw)); err != nil || string(got) != want {
			t.Errorf("msgpackJSON(%x) = %s, %v; want %s", raw, got, err, want)
		}
	}
	for _, raw := range []string{"", "\xc1", "\x92\x01", "\x01\x02"} {
		if _, err := msgpackJSON([]byte(raw)); err == nil || !strings.HasPrefix(err.Error(), "dbrs: ") {
			t.Errorf("msgpackJSON(%x) = %v, want a dbrs: error", raw, err)
		}
	}

	// Keys from JSON have the bytes core writes for the same Go values.
	for text, v := range map[string]any{
		`"parth"`:               "parth",
		`42`:                    42,
		`-3`:                    -3,
		`300`:                   300,
		`18446744073709551615`:  uint64(1<<64 - 1),
		`true`:                  true,
		`[1,"a"]`:               [2]any{1, "a"},
		`{"A":1,"B":"x"}`:       Pair{A: 1, B: "x"},
		` {"A": 1, "B": "x"} `:  Pair{A: 1, B: "x"},
		`{"A":{"X":1,"Y":-2}}`:  struct{ A Point }{Point{1, -2}},
		`null`:                  nil,
		`["nested",["deeper"]]`: []any{"nested", []any{"deeper"}},
	} {
		got, err := jsonMsgpack(text)
		if err != nil || !bytes.Equal(got, enc(v)) {
			t.Errorf("jsonMsgpack(%s) = %x, %v; want %x", text, got, err, enc(v))
		}
	}
	for _, text := range []string{"", "1.5", "1e3", "{", "[1,", "1 2", "99999999999999999999"} {
		if _, err := jsonMsgpack(text); err == nil || !strings.HasPrefix(err.Error(), "dbrs: ") {
			t.Errorf("jsonMsgpack(%q) = %v, want a dbrs: error", text, err)
		}
	}
}

func readTar(t *testing.T, path string) map[string][]byte {
	t.Helper()
	f, err := os.Open(path)
	must(t, err)
	defer f.Close()
	tr := tar.NewReader(f)
	out := map[string][]byte{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		must(t, err)
		b, err := io.ReadAll(tr)
		must(t, err)
		out[h.Name] = b
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestVersionedLog reads a database upgraded to a schema version: the
// command opens it at the log's own version, so stat, dump and compact work,
// and the version survives compact.
func TestVersionedLog(t *testing.T) {
	dir := newDB(t)
	db, err := native.Open[Schema](dir, core.Options{Version: 4})
	must(t, err)
	must(t, db.Close())
	dbrs(t, "stat", dir).want(t, exitOK, "version:          4")
	dbrs(t, "dump", "--records", dir).want(t, exitOK, ": schema, ", "  Owner [1,\"parth <admin> & co\"]")
	dbrs(t, "compact", dir).want(t, exitOK)
	db, err = native.Open[Schema](dir, core.Options{Version: 4})
	must(t, err)
	if v, _ := db.Tables.Owner.Get(); v != "parth <admin> & co" || db.Version() != 4 {
		t.Fatalf("after dbrs compact: owner %q, version %d", v, db.Version())
	}
	must(t, db.Close())
}
