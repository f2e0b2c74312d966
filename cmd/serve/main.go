// Command serve serves a folder over HTTP on the loopback interface, with
// the application/wasm type that WebAssembly.instantiateStreaming needs and
// caching turned off, so a rebuilt dbrs.wasm is always picked up.
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
)

func main() {
	dir := flag.String("dir", "build/site", "folder to serve")
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	flag.Parse()
	if _, err := os.Stat(*dir); err != nil {
		log.Fatalf("serve: %v (run make demo, which builds it)", err)
	}
	for ext, typ := range map[string]string{
		".wasm": "application/wasm",
		".js":   "text/javascript; charset=utf-8",
		".mjs":  "text/javascript; charset=utf-8",
		".css":  "text/css; charset=utf-8",
		".json": "application/json",
	} {
		_ = mime.AddExtensionType(ext, typ)
	}
	files := http.FileServer(http.Dir(*dir))
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		files.ServeHTTP(w, r)
	})
	fmt.Printf("dbrs demo: http://%s/\n", *addr)
	log.Fatal(http.ListenAndServe(*addr, handler))
}
