// Command serve serves a folder over HTTP on the loopback interface, as a
// production server would serve the demo: with the application/wasm type
// that WebAssembly.instantiateStreaming needs, and with the precompressed
// siblings that the build writes (name.br, name.gz) sent with their
// Content-Encoding to clients that accept it. Caching is turned off, so a
// rebuilt dbrs.wasm is always picked up.
//
//	go run ./cmd/serve -dir build/site -addr 127.0.0.1:8080
package main

import (
	"flag"
	"fmt"
	"log"
	"mime"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
)

func main() {
	dir := flag.String("dir", "build/site", "folder to serve")
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	flag.Parse()
	if _, err := os.Stat(*dir); err != nil {
		log.Fatalf("serve: %v (run make demo, which builds it)", err)
	}
	fmt.Printf("dbrs demo: http://%s/\n", *addr)
	log.Fatal(http.ListenAndServe(*addr, newHandler(*dir)))
}

func init() {
	for ext, typ := range map[string]string{
		".wasm": "application/wasm",
		".js":   "text/javascript; charset=utf-8",
		".mjs":  "text/javascript; charset=utf-8",
		".css":  "text/css; charset=utf-8",
		".json": "application/json",
	} {
		_ = mime.AddExtensionType(ext, typ)
	}
}

// encodings are the precompressed forms the build writes, best first.
var encodings = []struct{ name, ext string }{{"br", ".br"}, {"gzip", ".gz"}}

// newHandler serves dir. A request for a file that has a precompressed
// sibling the client accepts gets the sibling's bytes, with the original's
// Content-Type and a Content-Encoding; Vary tells caches why.
func newHandler(dir string) http.Handler {
	files := http.FileServer(http.Dir(dir))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		name := path.Clean("/" + r.URL.Path)
		if !strings.HasSuffix(name, "/") {
			w.Header().Add("Vary", "Accept-Encoding")
			accept := r.Header.Get("Accept-Encoding")
			for _, e := range encodings {
				if !accepts(accept, e.name) {
					continue
				}
				f := filepath.Join(dir, filepath.FromSlash(name)+e.ext)
				if st, err := os.Stat(f); err == nil && st.Mode().IsRegular() {
					if typ := mime.TypeByExtension(path.Ext(name)); typ != "" {
						w.Header().Set("Content-Type", typ)
					}
					w.Header().Set("Content-Encoding", e.name)
					http.ServeFile(w, r, f)
					return
				}
			}
		}
		files.ServeHTTP(w, r)
	})
}

// accepts reports whether an Accept-Encoding header value allows coding.
func accepts(header, coding string) bool {
	for part := range strings.SplitSeq(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(name), coding) {
			continue
		}
		q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
		return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
	}
	return false
}
