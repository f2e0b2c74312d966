package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// server serves, on 127.0.0.1 only:
//
//	/                the benchmark page (page/index.html)
//	/bench/…         page/ (bench.js)
//	/dbrs/…          the shim, dbrs.wasm and wasm_exec.js (build/site/dbrs),
//	                 and the shim's bundle (bundle.go) as /dbrs/dbrs.bundle.mjs
//	/vendor/…        @msgpack/msgpack (build/site/vendor)
//	/dexie/…         Dexie's ESM build (node_modules/dexie/dist/modern)
//
// Nothing is cached (Cache-Control: no-store), so every page load fetches
// and compiles dbrs.wasm again, as a first visit would. An isolated server
// makes its pages cross-origin isolated (COOP and COEP headers), which
// gives them performance.now() at 5 µs instead of 100 µs: the -phases mode
// times parts of a millisecond.
type server struct {
	URL string
	srv *http.Server
}

func startServer(pageDir, siteDir, bundle, dexieDir string, isolated bool) (*server, error) {
	for _, f := range []string{
		filepath.Join(pageDir, "index.html"),
		filepath.Join(pageDir, "bench.js"),
		filepath.Join(siteDir, "dbrs", "index.js"),
		filepath.Join(siteDir, "dbrs", "dbrs.wasm"),
		filepath.Join(siteDir, "dbrs", "wasm_exec.js"),
		filepath.Join(siteDir, "vendor", "msgpack", "index.mjs"),
		filepath.Join(dexieDir, "dexie.min.mjs"),
	} {
		if _, err := os.Stat(f); err != nil {
			return nil, fmt.Errorf("missing %s (run `make site` and `npm ci` in bench/browser, or `make bench-browser`): %w", f, err)
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, filepath.Join(pageDir, "index.html"))
	})
	mux.Handle("/bench/", http.StripPrefix("/bench/", http.FileServer(http.Dir(pageDir))))
	mux.HandleFunc("/dbrs/"+bundleName, func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, bundle)
	})
	mux.Handle("/dbrs/", http.StripPrefix("/dbrs/", http.FileServer(http.Dir(filepath.Join(siteDir, "dbrs")))))
	mux.Handle("/vendor/", http.StripPrefix("/vendor/", http.FileServer(http.Dir(filepath.Join(siteDir, "vendor")))))
	mux.Handle("/dexie/", http.StripPrefix("/dexie/", http.FileServer(http.Dir(dexieDir))))

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if isolated {
			w.Header().Set("Cross-Origin-Opener-Policy", "same-origin")
			w.Header().Set("Cross-Origin-Embedder-Policy", "require-corp")
		}
		switch {
		case strings.HasSuffix(r.URL.Path, ".wasm"):
			w.Header().Set("Content-Type", "application/wasm")
		case strings.HasSuffix(r.URL.Path, ".js"), strings.HasSuffix(r.URL.Path, ".mjs"):
			w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		}
		mux.ServeHTTP(w, r)
	})}
	go func() { _ = srv.Serve(ln) }()
	return &server{URL: "http://" + ln.Addr().String(), srv: srv}, nil
}

func (s *server) Close() { _ = s.srv.Close() }
