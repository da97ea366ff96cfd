package ring

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestNewRejects(t *testing.T) {
	ok := []Node{{ID: "a", Addr: "h:1"}}
	tests := []struct {
		name  string
		q     int
		nodes []Node
		want  error
	}{
		{"q not a power of two", 1000, ok, ErrPartitions},
		{"q zero", 0, ok, ErrPartitions},
		{"q negative", -1024, ok, ErrPartitions},
		{"q below range", 4, ok, ErrPartitions},
		{"q above range", 131072, ok, ErrPartitions},
		{"no nodes", 64, nil, ErrNoNodes},
		{"more nodes than partitions", 8, seqNodes(9), ErrTooManyNodes},
		{"more nodes than MaxNodes", 8192, seqNodes(MaxNodes + 1), ErrTooManyNodes},
		{"duplicate id", 64, []Node{{"a", "h:1"}, {"b", "h:2"}, {"a", "h:3"}}, ErrDuplicateNode},
		{"empty id", 64, []Node{{"", "h:1"}}, ErrInvalidNode},
		{"long id", 64, []Node{{NodeID(strings.Repeat("x", MaxIDLen+1)), "h:1"}}, ErrInvalidNode},
		{"id not utf-8", 64, []Node{{"\xff", "h:1"}}, ErrInvalidNode},
		{"empty addr", 64, []Node{{"a", ""}}, ErrInvalidNode},
		{"long addr", 64, []Node{{"a", strings.Repeat("h", MaxAddrLen) + ":1"}}, ErrInvalidNode},
		{"addr without port", 64, []Node{{"a", "host"}}, ErrInvalidNode},
		{"addr without host", 64, []Node{{"a", ":7000"}}, ErrInvalidNode},
		{"addr port zero", 64, []Node{{"a", "h:0"}}, ErrInvalidNode},
		{"addr port too big", 64, []Node{{"a", "h:65536"}}, ErrInvalidNode},
		{"addr port named", 64, []Node{{"a", "h:http"}}, ErrInvalidNode},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := New(tt.q, tt.nodes)
			if !errors.Is(err, tt.want) {
				t.Fatalf("New = %v, %v; want %v", r, err, tt.want)
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "ring: ") {
				t.Errorf("error %q lacks the package prefix", msg)
			}
		})
	}
}

func TestNewAcceptsLimits(t *testing.T) {
	for _, tt := range []struct {
		q, n int
	}{{MinPartitions, 1}, {MinPartitions, MinPartitions}, {MaxPartitions, 1}, {4096, MaxNodes}, {MaxPartitions, 3}} {
		r := mustNew(t, tt.q, seqNodes(tt.n))
		checkBalanced(t, r)
	}
	ipv6 := mustNew(t, 64, []Node{{ID: "ü-node", Addr: "[::1]:7000"}})
	if err := checkRing(ipv6); err != nil {
		t.Fatal(err)
	}
}

func TestAccessors(t *testing.T) {
	in := []Node{{"c", "h3:3"}, {"a", "h1:1"}, {"b", "h2:2"}}
	r := mustNew(t, 64, in)
	if r.Version() != 1 || r.Partitions() != 64 {
		t.Fatalf("Version, Partitions = %d, %d", r.Version(), r.Partitions())
	}
	want := []Node{{"a", "h1:1"}, {"b", "h2:2"}, {"c", "h3:3"}}
	if !slices.Equal(r.Nodes(), want) {
		t.Fatalf("Nodes = %v, want %v", r.Nodes(), want)
	}
	if in[0].ID != "c" {
		t.Fatal("New reordered its argument")
	}
	if n, ok := r.Node("b"); !ok || n != want[1] {
		t.Fatalf("Node(b) = %v, %v", n, ok)
	}
	if n, ok := r.Node("zz"); ok || n != (Node{}) {
		t.Fatalf("Node(zz) = %v, %v", n, ok)
	}
	total := 0
	for _, n := range r.Nodes() {
		ps := r.OwnedBy(n.ID)
		total += len(ps)
		if !slices.IsSorted(ps) {
			t.Fatalf("OwnedBy(%q) not sorted", n.ID)
		}
		for _, p := range ps {
			if r.Owner(p) != n.ID {
				t.Fatalf("OwnedBy(%q) has %d, owned by %q", n.ID, p, r.Owner(p))
			}
		}
	}
	if total != 64 || r.OwnedBy("zz") != nil {
		t.Fatalf("OwnedBy covers %d partitions", total)
	}
	if r.Moves(r) != 0 {
		t.Fatal("Moves(self) != 0")
	}
	other := mustNew(t, 128, in)
	if r.Moves(other) != 128 {
		t.Fatalf("Moves across partition counts = %d, want 128", r.Moves(other))
	}
}

func TestOwnerPanicsOutOfRange(t *testing.T) {
	r := mustNew(t, 64, seqNodes(3))
	for _, p := range []int{-1, 64, 1 << 40} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Owner(%d) did not panic", p)
				}
			}()
			r.Owner(p)
		}()
	}
}

// New depends only on q and the set of nodes: not on their order, the
// process, or anything else.
func TestNewDeterministic(t *testing.T) {
	for seed := range uint64(50) {
		rng := rand.New(rand.NewPCG(seed, 1))
		nodes := testNodes(rng, 1+rng.IntN(64))
		q := []int{64, 1024, 4096}[rng.IntN(3)]
		a := mustNew(t, q, nodes)
		rng.Shuffle(len(nodes), func(i, j int) { nodes[i], nodes[j] = nodes[j], nodes[i] })
		b := mustNew(t, q, nodes)
		if !a.Equal(b) || a.Moves(b) != 0 {
			t.Fatalf("seed %d: New differs with the same nodes in another order", seed)
		}
	}
}

// A pinned assignment: if this changes, rings built by different versions
// disagree about ownership. Update it only with a deliberate format change.
func TestNewGolden(t *testing.T) {
	r := mustNew(t, 16, seqNodes(5))
	var got strings.Builder
	for p := range r.Partitions() {
		got.WriteString(string(r.Owner(p)[4]))
	}
	const want = "1320431042142032"
	if got.String() != want {
		t.Fatalf("owners of New(16, n0000..n0004) = %s, want %s", got.String(), want)
	}
}

func TestEqual(t *testing.T) {
	a := mustNew(t, 64, seqNodes(4))
	if !a.Equal(mustNew(t, 64, seqNodes(4))) {
		t.Fatal("equal rings differ")
	}
	moved := seqNodes(4)
	moved[2].Addr = "127.0.0.1:1"
	if a.Equal(mustNew(t, 64, moved)) {
		t.Fatal("rings with different addresses are equal")
	}
	j, err := a.Join(Node{"zz", "h:1"})
	if err != nil {
		t.Fatal(err)
	}
	l, err := j.Leave("zz")
	if err != nil {
		t.Fatal(err)
	}
	if a.Equal(l) {
		t.Fatal("rings with different versions are equal")
	}
}
