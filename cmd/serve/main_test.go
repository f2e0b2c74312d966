package main

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

// A client that accepts brotli gets the .br sibling, one that accepts only
// gzip gets the .gz, and one that accepts neither gets the file itself,
// each with the original's Content-Type.
func TestHandler_ServesPrecompressedSiblings(t *testing.T) {
	dir := t.TempDir()
	raw := bytes.Repeat([]byte("\x00asm"), 100)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw)
	zw.Close()
	for name, data := range map[string][]byte{"dbrs.wasm": raw, "dbrs.wasm.gz": gz.Bytes(), "dbrs.wasm.br": []byte("brotli bytes"), "page.js": []byte("x")} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	h := newHandler(dir)
	get := func(path, accept string) *http.Response {
		req := httptest.NewRequest("GET", path, nil)
		if accept != "" {
			req.Header.Set("Accept-Encoding", accept)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Result()
	}
	cases := []struct {
		accept, encoding string
		body             []byte
	}{
		{"gzip, deflate, br, zstd", "br", []byte("brotli bytes")},
		{"gzip", "gzip", gz.Bytes()},
		{"br;q=0, gzip", "gzip", gz.Bytes()},
		{"", "", raw},
		{"identity", "", raw},
	}
	for _, c := range cases {
		resp := get("/dbrs.wasm", c.accept)
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Encoding") != c.encoding || !bytes.Equal(body, c.body) {
			t.Errorf("Accept-Encoding %q: status %d, Content-Encoding %q, %d bytes", c.accept, resp.StatusCode, resp.Header.Get("Content-Encoding"), len(body))
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/wasm" {
			t.Errorf("Accept-Encoding %q: Content-Type %q", c.accept, ct)
		}
		if resp.Header.Get("Vary") != "Accept-Encoding" {
			t.Errorf("Accept-Encoding %q: no Vary", c.accept)
		}
	}
	if resp := get("/page.js", "br"); resp.Header.Get("Content-Encoding") != "" {
		t.Errorf("page.js has no sibling but came encoded %q", resp.Header.Get("Content-Encoding"))
	}
}
