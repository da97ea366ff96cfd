package store

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
)

// FuzzOpenRecord: OpenRecord never panics on any bytes, and what it accepts
// is exactly a record AppendRecord makes for that bucket and key.
func FuzzOpenRecord(f *testing.F) {
	f.Add(uint8(Objects), []byte("k"), AppendRecord(nil, Objects, []byte("k"), []byte("value")))
	f.Add(uint8(Meta), []byte("epoch"), AppendRecord(nil, Meta, []byte("epoch"), nil))
	f.Add(uint8(Hints), []byte("k"), []byte{})
	f.Add(uint8(Objects), []byte("k"), []byte{0xff, 0, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, b uint8, key, rec []byte) {
		v, err := OpenRecord(Bucket(b), key, rec)
		if err != nil {
			return
		}
		if again := AppendRecord(nil, Bucket(b), key, v); !bytes.Equal(again, rec) {
			t.Fatalf("OpenRecord accepted %x as %q, which AppendRecord frames as %x", rec, v, again)
		}
	})
}

// FuzzPreflight: the page check that runs before bbolt maps a data file
// never panics, loops or allocates without bound on any file contents. The
// corpus starts from a real small store, so mutations explore damaged
// pages rather than only bad magic numbers.
func FuzzPreflight(f *testing.F) {
	dir := f.TempDir()
	s, err := Open(dir, Options{NoSync: true})
	if err != nil {
		f.Fatal(err)
	}
	for i := range 50 {
		v := bytes.Repeat([]byte{byte(i)}, 100)
		if err := s.Apply(context.Background(), Objects, []byte{byte(i), 'k'}, func([]byte) ([]byte, error) { return v, nil }); err != nil {
			f.Fatal(err)
		}
	}
	s.Close()
	good, err := os.ReadFile(filepath.Join(dir, dbName))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, file []byte) {
		p := filepath.Join(t.TempDir(), "f.db")
		if err := os.WriteFile(p, file, 0o600); err != nil {
			t.Fatal(err)
		}
		fh, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		defer fh.Close()
		_ = preflight(fh) // an error is the expected answer to most inputs
	})
}
