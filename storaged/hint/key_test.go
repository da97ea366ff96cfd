package hint

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/shoalkv/shoal/ringsync/ring"
)

func TestKeyRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		key   string
		owner ring.NodeID
	}{
		{"k", "n"},
		{"user/42", "n2"},
		{strings.Repeat("x", MaxKey), ring.NodeID(strings.Repeat("o", MaxOwner))},
		{"\x00\x00", "é"},
	} {
		stored, err := Key([]byte(tc.key), tc.owner)
		if err != nil {
			t.Fatalf("Key(%d bytes, %q): %v", len(tc.key), tc.owner, err)
		}
		if want := 2 + len(tc.key) + len(tc.owner); len(stored) != want {
			t.Errorf("len(Key) = %d, want %d", len(stored), want)
		}
		prefix, err := Prefix([]byte(tc.key))
		if err != nil {
			t.Fatalf("Prefix: %v", err)
		}
		if !bytes.HasPrefix(stored, prefix) {
			t.Errorf("Key %x does not start with Prefix %x", stored, prefix)
		}
		key, owner, err := ParseKey(stored)
		if err != nil {
			t.Fatalf("ParseKey(%x): %v", stored, err)
		}
		if string(key) != tc.key || owner != tc.owner {
			t.Errorf("ParseKey = (%d bytes, %q), want (%d bytes, %q)", len(key), owner, len(tc.key), tc.owner)
		}
		if cap(key) != len(key) {
			t.Errorf("ParseKey's key has spare capacity %d: appending would overwrite the owner", cap(key)-len(key))
		}
	}
}

func TestKeyInvalid(t *testing.T) {
	for _, tc := range []struct {
		name  string
		key   []byte
		owner ring.NodeID
	}{
		{"empty key", nil, "n1"},
		{"key too long", make([]byte, MaxKey+1), "n1"},
		{"empty owner", []byte("k"), ""},
		{"owner too long", []byte("k"), ring.NodeID(strings.Repeat("o", MaxOwner+1))},
		{"owner not utf-8", []byte("k"), "\xff"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Key(tc.key, tc.owner); !errors.Is(err, ErrInvalid) {
				t.Errorf("Key = %v, want ErrInvalid", err)
			}
		})
	}
	if _, err := Prefix(nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("Prefix(nil) = %v, want ErrInvalid", err)
	}
	if _, err := Prefix(make([]byte, MaxKey+1)); !errors.Is(err, ErrInvalid) {
		t.Errorf("Prefix(too long) = %v, want ErrInvalid", err)
	}
}

func TestParseKeyMalformed(t *testing.T) {
	for _, tc := range []struct {
		name   string
		stored []byte
	}{
		{"empty", nil},
		{"one byte", []byte{0}},
		{"prefix only", []byte{0, 1}},
		{"zero length", []byte{0, 0, 'n'}},
		{"no owner", []byte{0, 1, 'k'}},
		{"length past end", []byte{0, 5, 'k', 'n'}},
		{"huge length", []byte{0xff, 0xff, 'k', 'n'}},
		{"owner too long", append([]byte{0, 1, 'k'}, strings.Repeat("o", MaxOwner+1)...)},
		{"owner not utf-8", []byte{0, 1, 'k', 0xff}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if k, o, err := ParseKey(tc.stored); !errors.Is(err, ErrMalformed) {
				t.Errorf("ParseKey(%x) = (%x, %q, %v), want ErrMalformed", tc.stored, k, o, err)
			}
		})
	}
}

// TestKeyOrder: the stored keys of one object key are contiguous in byte
// order and the prefix of one key matches no record of another, so a prefix
// seek finds exactly a key's hints.
func TestKeyOrder(t *testing.T) {
	keys := []string{"a", "ab", "b", "a\x00", "\x01"}
	owners := []ring.NodeID{"n1", "n2", "n10"}
	var stored [][]byte
	for _, k := range keys {
		for _, o := range owners {
			b, err := Key([]byte(k), o)
			if err != nil {
				t.Fatal(err)
			}
			stored = append(stored, b)
		}
	}
	slices.SortFunc(stored, bytes.Compare)
	for _, k := range keys {
		prefix, _ := Prefix([]byte(k))
		var at []int
		for i, s := range stored {
			if bytes.HasPrefix(s, prefix) {
				at = append(at, i)
				if got, _, err := ParseKey(s); err != nil || string(got) != k {
					t.Errorf("prefix of %q matches the record of %q (%v)", k, got, err)
				}
			}
		}
		if len(at) != len(owners) || at[len(at)-1]-at[0] != len(owners)-1 {
			t.Errorf("records of %q at sorted positions %v, want %d contiguous", k, at, len(owners))
		}
	}
}
