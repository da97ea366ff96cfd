package memstore

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestTreeMatchesMap applies random puts and deletes to a tree and to a
// map, checking after each step that they agree, that the tree is a valid
// treap, and that every snapshot taken along the way is unchanged.
func TestTreeMatchesMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	type snapshot struct {
		root *node
		want map[string]string
	}
	var snaps []snapshot
	var root *node
	want := map[string]string{}
	for step := range 3000 {
		key := fmt.Sprintf("k%03d", rng.IntN(300))
		if rng.IntN(3) == 0 {
			root = root.del([]byte(key))
			delete(want, key)
		} else {
			v := fmt.Sprint(step)
			root = root.put([]byte(key), []byte(v))
			want[key] = v
		}
		if step%100 == 0 {
			snaps = append(snaps, snapshot{root, clone(want)})
			checkTreap(t, root)
		}
		if v, ok := root.get([]byte(key)); ok != (want[key] != "") || string(v) != want[key] {
			t.Fatalf("step %d: get(%s) = %q, %v; want %q", step, key, v, ok, want[key])
		}
	}
	snaps = append(snaps, snapshot{root, want})
	for i, s := range snaps {
		if got := contents(s.root, nil); !slices.Equal(got, sorted(s.want)) {
			t.Fatalf("snapshot %d changed: %v, want %v", i, got, sorted(s.want))
		}
		if s.root.len() != len(s.want) {
			t.Fatalf("snapshot %d: len %d, want %d", i, s.root.len(), len(s.want))
		}
	}
}

// TestTreeAscendFrom: ascend starts at the first key not before from and
// stops when fn says so.
func TestTreeAscendFrom(t *testing.T) {
	var root *node
	for _, k := range []string{"d", "b", "a", "c", "e"} {
		root = root.put([]byte(k), []byte("v"))
	}
	for _, tc := range []struct {
		from  string
		limit int
		want  []string
	}{
		{"", 10, []string{"a", "b", "c", "d", "e"}},
		{"c", 10, []string{"c", "d", "e"}},
		{"bb", 10, []string{"c", "d", "e"}},
		{"a", 2, []string{"a", "b"}},
		{"f", 10, nil},
	} {
		var got []string
		root.ascend([]byte(tc.from), func(k, v []byte) bool {
			got = append(got, string(k))
			return len(got) < tc.limit
		})
		if !slices.Equal(got, tc.want) {
			t.Errorf("ascend(from %q, limit %d) = %q, want %q", tc.from, tc.limit, got, tc.want)
		}
	}
	if again := root.del([]byte("zz")); again != root {
		t.Error("deleting an absent key copied the tree")
	}
}

// checkTreap fails the test unless n is ordered by key, a heap by prio, and
// every size is right.
func checkTreap(t *testing.T, n *node) {
	t.Helper()
	var walk func(n *node, lo, hi []byte) int
	walk = func(n *node, lo, hi []byte) int {
		if n == nil {
			return 0
		}
		if (lo != nil && bytes.Compare(n.key, lo) <= 0) || (hi != nil && bytes.Compare(n.key, hi) >= 0) {
			t.Fatalf("key %q out of order", n.key)
		}
		for _, c := range []*node{n.left, n.right} {
			if c != nil && c.prio > n.prio {
				t.Fatalf("child %q outranks parent %q", c.key, n.key)
			}
		}
		size := 1 + walk(n.left, lo, n.key) + walk(n.right, n.key, hi)
		if size != n.size {
			t.Fatalf("size of %q = %d, want %d", n.key, n.size, size)
		}
		return size
	}
	walk(n, nil, nil)
}

func contents(n *node, from []byte) []string {
	var out []string
	n.ascend(from, func(k, v []byte) bool {
		out = append(out, string(k)+"="+string(v))
		return true
	})
	return out
}

func sorted(m map[string]string) []string {
	var out []string
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return out
}

func clone(m map[string]string) map[string]string {
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}
