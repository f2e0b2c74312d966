// Command wasmsize tells what dbrs.wasm is made of: it builds the wasm as
// `make wasm` does, once stripped (the shipped size, raw, gzip -9 and
// brotli) and once with its name section, and sums the code of every
// function by the package it belongs to, from the wasm's own sections (go
// tool nm cannot read wasm). It prints a Markdown table.
//
//	cd bench && go run ./cmd/wasmsize [-top 25] [-funcs package]
//
// With -funcs, it lists instead the largest functions of the packages
// whose path contains the given string (e.g. -funcs dbrs_core). With
// -index, it prints every function of the wasm's index space that has a
// body, as tab-separated index, body bytes and name, after a line
// "sha256 <hex>" that identifies the stripped build: the names of the
// function numbers that V8 prints for a stripped dbrs.wasm (the browser
// benchmark's -tiering uses it).
package main

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

func main() {
	top := flag.Int("top", 25, "packages (or functions, with -funcs) to list")
	funcs := flag.String("funcs", "", "list the largest functions of the packages whose path contains this")
	index := flag.Bool("index", false, "print every function's index, body bytes and name (tab-separated) after the stripped build's sha256")
	flag.Parse()
	dir, err := os.MkdirTemp("", "wasmsize")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	stripped := filepath.Join(dir, "dbrs.wasm")
	named := filepath.Join(dir, "dbrs-named.wasm")
	build(stripped, `-ldflags=-s -w`)
	build(named)
	raw, err := os.ReadFile(stripped)
	if err != nil {
		log.Fatal(err)
	}
	wasm, err := os.ReadFile(named)
	if err != nil {
		log.Fatal(err)
	}
	m, err := parse(wasm)
	if err != nil {
		log.Fatal(err)
	}
	if *index {
		fmt.Printf("sha256 %x\n", sha256.Sum256(raw))
		for i, size := range m.bodies {
			fmt.Printf("%d\t%d\t%s\n", m.imports+i, size, m.names[m.imports+i])
		}
		return
	}
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	zw.Write(raw)
	zw.Close()
	fmt.Printf("dbrs.wasm (as `make wasm` builds it): %d bytes raw, %d bytes gzip -9\n\n", len(raw), gz.Len())
	fmt.Printf("sections: code %d bytes, data %d bytes (%d segments), other %d bytes\n\n", m.code, m.data, m.dataSegments, len(raw)-m.code-m.data)
	if *funcs != "" {
		listFuncs(m, *funcs, *top)
		return
	}
	byPkg := map[string]int{}
	total := 0
	for i, size := range m.bodies {
		byPkg[pkgOf(m.names[m.imports+i])] += size
		total += size
	}
	type row struct {
		pkg  string
		size int
	}
	var rows []row
	for p, s := range byPkg {
		rows = append(rows, row{p, s})
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].size > rows[j].size })
	fmt.Println("| package | code bytes | share of code |")
	fmt.Println("| --- | ---: | ---: |")
	for i, r := range rows {
		if i == *top {
			rest := 0
			for _, r := range rows[i:] {
				rest += r.size
			}
			fmt.Printf("| (%d more) | %d | %.1f%% |\n", len(rows)-i, rest, 100*float64(rest)/float64(total))
			break
		}
		fmt.Printf("| %s | %d | %.1f%% |\n", r.pkg, r.size, 100*float64(r.size)/float64(total))
	}
}

// listFuncs prints the top largest functions of the packages whose path
// contains pkg, and their total.
func listFuncs(m *module, pkg string, top int) {
	type fn struct {
		name string
		size int
	}
	var fns []fn
	total := 0
	for i, size := range m.bodies {
		name := m.names[m.imports+i]
		if strings.Contains(pkgOf(name), pkg) {
			fns = append(fns, fn{name, size})
			total += size
		}
	}
	sort.Slice(fns, func(i, j int) bool { return fns[i].size > fns[j].size })
	fmt.Printf("%d functions, %d code bytes\n\n| function | code bytes |\n| --- | ---: |\n", len(fns), total)
	for _, f := range fns[:min(top, len(fns))] {
		fmt.Printf("| %s | %d |\n", f.name, f.size)
	}
}

// build builds dbrs.wasm from the repository root (the parent of bench/).
func build(out string, extra ...string) {
	args := append([]string{"build", "-tags", "dbrs_noreflect", "-trimpath", "-gcflags=fmt=-l", "-o", out}, extra...)
	args = append(args, "./platform/wasm/cmd/dbrs")
	cmd := exec.Command("go", args...)
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		log.Fatalf("go build: %v", err)
	}
}

// pkgOf returns the package of a Go symbol as the wasm name section spells
// it ("github.com_x_y.Func", "runtime.gcStart", "type:.eq...").
func pkgOf(name string) string {
	if name == "" {
		return "(unnamed)"
	}
	if strings.HasPrefix(name, "type:") || strings.HasPrefix(name, "go:") {
		return "(runtime type helpers)"
	}
	n := name
	if i := strings.IndexAny(n, "(["); i >= 0 {
		n = n[:i]
	}
	// The name section writes an import path with '_' for '/' (and '-'):
	// a path that starts with a domain ("github.com_x_y.F") keeps the
	// domain's dot, and the package ends at the first dot after it.
	from := 0
	if dot := strings.Index(n, "."); dot > 0 && dot+1 < len(n) && n[dot+1] != '_' {
		if us := strings.Index(n, "_"); us > dot && us-dot-1 <= 4 && strings.ToLower(n[dot+1:us]) == n[dot+1:us] && !strings.Contains(n[dot+1:us], ".") {
			from = us // a top-level domain: com, org, io, dev...
		}
	}
	if i := strings.Index(n[from:], "."); i >= 0 {
		n = n[:from+i]
	}
	return n
}

type module struct {
	imports      int // imported functions: they come first in the index space
	bodies       []int
	names        map[int]string
	code, data   int
	dataSegments int
}

// parse reads the sections of a wasm binary that wasmsize needs.
func parse(b []byte) (*module, error) {
	if len(b) < 8 || string(b[:4]) != "\x00asm" {
		return nil, errors.New("not a wasm binary")
	}
	m := &module{names: map[int]string{}}
	r := &reader{b: b, p: 8}
	for r.p < len(b) {
		id := r.byte()
		size := int(r.uleb())
		end := r.p + size
		if end > len(b) || r.err != nil {
			return nil, errors.New("truncated section")
		}
		sec := &reader{b: b[:end], p: r.p}
		switch id {
		case 2: // imports
			for range sec.uleb() {
				sec.name()
				sec.name()
				switch kind := sec.byte(); kind {
				case 0:
					sec.uleb()
					m.imports++
				case 1: // table
					sec.byte()
					sec.limits()
				case 2: // memory
					sec.limits()
				case 3: // global
					sec.byte()
					sec.byte()
				}
			}
		case 10: // code
			m.code = size
			for range sec.uleb() {
				n := int(sec.uleb())
				m.bodies = append(m.bodies, n)
				sec.p += n
			}
		case 11: // data
			m.data = size
			m.dataSegments = int(sec.uleb())
		case 0:
			if sec.name() == "name" {
				for sec.p < end {
					sub := sec.byte()
					n := int(sec.uleb())
					if sub != 1 {
						sec.p += n
						continue
					}
					for range sec.uleb() {
						idx := int(sec.uleb())
						m.names[idx] = sec.name()
					}
				}
			}
		}
		if sec.err != nil {
			return nil, sec.err
		}
		r.p = end
	}
	return m, nil
}

type reader struct {
	b   []byte
	p   int
	err error
}

func (r *reader) byte() byte {
	if r.p >= len(r.b) {
		r.err = errors.New("truncated")
		return 0
	}
	r.p++
	return r.b[r.p-1]
}

func (r *reader) uleb() uint64 {
	v, n := binary.Uvarint(r.b[min(r.p, len(r.b)):])
	if n <= 0 {
		r.err = errors.New("bad LEB128")
		return 0
	}
	r.p += n
	return v
}

func (r *reader) name() string {
	n := int(r.uleb())
	if r.p+n > len(r.b) {
		r.err = errors.New("truncated name")
		return ""
	}
	r.p += n
	return string(r.b[r.p-n : r.p])
}

func (r *reader) limits() {
	if r.byte() == 1 {
		r.uleb()
	}
	r.uleb()
}
