package storaged_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/shoalkv/shoal/internal/sim"
	"github.com/shoalkv/shoal/storaged"
	"github.com/shoalkv/shoal/wire"
	"github.com/shoalkv/shoal/wire/dvv"
	"github.com/shoalkv/shoal/wire/pki"
)

// The trust given to relayed objects (DESIGN §2 "Trust"): a client relays
// the coordinator's object to the other replicas, and every write path
// validates what it would store the same way, so a relay cannot get past a
// limit, rewrite a value under a dot a node holds, or claim a node's own
// dots beyond what it issued.

// smallLimits keep the over-limit objects of these tests small.
func smallLimits(cfg *storaged.Config) {
	cfg.Limits = wire.Limits{MaxSiblings: 4, MaxValue: 100, MaxObject: 400, MaxContext: 8}
}

// manySiblings makes an object of n concurrent values of size bytes, each
// written by another actor named prefix and a number.
func manySiblings(prefix string, n, size int) dvv.Set {
	var s dvv.Set
	for i := range n {
		s = dvv.Merge(s, object(fmt.Sprintf("%s%d", prefix, i), 1, strings.Repeat("v", size)))
	}
	return s
}

// writePaths are the ways an object reaches a node's store from the
// network, each as a request carrying obj for key.
var writePaths = []struct {
	name string
	node bool // sent with a member's node certificate
	req  func(key string, obj dvv.Set) any
}{
	{"replicate", false, func(k string, o dvv.Set) any { return &wire.Replicate{Key: []byte(k), Object: o} }},
	{"hinted replicate", false, func(k string, o dvv.Set) any { return &wire.Replicate{Key: []byte(k), Object: o, HintFor: "n2"} }},
	{"hint delivery", true, func(k string, o dvv.Set) any { return &wire.Handoff{Key: []byte(k), Object: o} }},
}

// nodeClient makes an endpoint holding a node certificate for id.
func (c *testCluster) nodeClient(id string, i int) *wire.Endpoint {
	c.t.Helper()
	ep, err := wire.NewEndpoint(wire.EndpointConfig{
		PacketConn: c.net.Listen(sim.ClientAddr(i)), TLS: c.material(pki.RoleNode, id),
		ClusterID: testClusterID, Logger: testLogger(),
	})
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { ep.Close() })
	return ep
}

func callOn(ep *wire.Endpoint, addr, id string, req, resp any) error {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	return ep.Call(ctx, addr, id, req, resp)
}

// stored returns what n1 answers for key, hints included.
func (c *testCluster) stored(key string) dvv.Set { return c.get("n1", key).Object }

func TestEveryWritePathEnforcesTheLimits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 2, smallLimits)
		c.start("n1")
		peer := c.nodeClient("n2", 1)
		before := manySiblings("a", 3, 10) // within every limit
		for _, tc := range []struct {
			name string
			obj  dvv.Set
			code wire.Code
			says string
		}{
			{"five siblings", manySiblings("b", 5, 1), wire.CodeSiblingLimit, "5 siblings (limit 4)"},
			{"a value over the limit", manySiblings("b", 1, 101), wire.CodeTooLarge, "value is 101 bytes, limit 100"},
			{"an object over the limit", manySiblings("b", 4, 95), wire.CodeTooLarge, "limit 400"},
			{"a clock over the limit", dvv.Set{VV: manySiblings("b", 6, 1).VV}, wire.CodeTooLarge, "9 entries, limit 8"},
		} {
			for _, p := range writePaths {
				key := "k-" + p.name
				send := func(obj dvv.Set) error {
					if p.node {
						return callOn(peer, c.addr("n1"), "n1", p.req(key, obj), &wire.Ack{})
					}
					return c.call("n1", p.req(key, obj), &wire.Ack{})
				}
				if err := send(before); err != nil {
					t.Fatalf("%s of a valid object: %v", p.name, err)
				}
				// The relay claims to have seen before, so the merge
				// keeps only its own siblings.
				err := send(dvv.Set{Siblings: tc.obj.Siblings, VV: tc.obj.VV.Merge(before.VV)})
				var re *wire.RemoteError
				if !errors.As(err, &re) || re.Code != tc.code || !strings.Contains(err.Error(), tc.says) {
					t.Errorf("%s of %s: %v, want %s saying %q", p.name, tc.name, err, tc.code, tc.says)
				}
				if got := c.stored(key); !got.Equal(before) {
					t.Errorf("%s of %s changed what is stored: %v", p.name, tc.name, values(got))
				}
			}
		}
		if st := c.status("n1"); st.RefusedLimit != 12 {
			t.Errorf("status counts %d writes refused over a limit, want 12", st.RefusedLimit)
		}
	})
}

func TestRelayCannotRewriteAHeldDot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 2, nil)
		c.start("n1")
		held := c.coordinate("n1", "", "k", "good", nil)
		forged := dvv.Set{Siblings: []dvv.Sibling{{Dot: held.Siblings[0].Dot, Value: []byte("evil")}}, VV: held.VV}
		err := c.call("n1", &wire.Replicate{Key: []byte("k"), Object: forged}, &wire.Ack{})
		if !errors.Is(err, wire.ErrDotConflict) {
			t.Fatalf("replicate of other bytes under a held dot: %v, want ErrDotConflict", err)
		}
		if got := values(c.stored("k")); len(got) != 1 || got[0] != "good" {
			t.Fatalf("after the forged replicate n1 holds %q, want [good]", got)
		}
		// Control: the coordinator's own object relayed again is accepted.
		if err := c.call("n1", &wire.Replicate{Key: []byte("k"), Object: held}, &wire.Ack{}); err != nil {
			t.Fatalf("relaying the coordinator's object: %v", err)
		}
		if st := c.status("n1"); st.RefusedConflict != 1 {
			t.Errorf("status counts %d dot conflicts, want 1", st.RefusedConflict)
		}
	})
}

// TestForgedOwnCounter: a client's claim of the node's own actor for a key
// beyond what the node issued. In a relayed object it is refused (a client
// cannot show what the node issued); in a context it is taken as the node's
// possible amnesia, and the write goes ahead under a fresh actor, so that
// neither a forged counter near 2^64 exhausts the key nor a real one
// (kv679_dataloss) swallows the write.
func TestForgedOwnCounter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 2, nil)
		c.start("n1")
		held := c.coordinate("n1", "", "k", "v1", nil)
		self := held.Siblings[0].Dot.Actor
		hinted := c.coordinate("n1", "n2", "k", "h1", nil)
		hintActor := hinted.Siblings[0].Dot.Actor
		forge := func(a dvv.Actor, base dvv.Set) dvv.Set {
			vv := base.VV.Merge(dvv.VV{{Actor: a, Counter: math.MaxUint64 - 1}})
			return dvv.Set{Siblings: []dvv.Sibling{{Dot: dvv.Dot{Actor: a, Counter: math.MaxUint64 - 1}, Value: []byte("x")}}, VV: vv}
		}
		for _, tc := range []struct {
			name  string
			key   string
			actor dvv.Actor
			req   any
		}{
			{"relayed object of a held key", "k", self, &wire.Replicate{Key: []byte("k"), Object: forge(self, held)}},
			{"hinted relay", "k", hintActor, &wire.Replicate{Key: []byte("k"), Object: forge(hintActor, hinted), HintFor: "n2"}},
		} {
			before, beforeHint := c.stored(tc.key), c.get("n1", tc.key).Object
			err := c.call("n1", tc.req, &wire.Ack{})
			if !errors.Is(err, wire.ErrBadRequest) || !strings.Contains(err.Error(), tc.actor.String()) {
				t.Errorf("%s claiming %s:%d: %v, want a bad request naming the actor", tc.name, tc.actor, uint64(math.MaxUint64-1), err)
			}
			if got := c.stored(tc.key); !got.Equal(before) || !c.get("n1", tc.key).Object.Equal(beforeHint) {
				t.Errorf("%s changed what is stored: %v", tc.name, values(got))
			}
		}
		if st := c.status("n1"); st.RefusedClaim != 2 {
			t.Errorf("status counts %d forged claims, want 2", st.RefusedClaim)
		}
		// A context that claims the key's actor near the end of its counter:
		// the write takes a fresh actor, and the key's later writes work.
		forgedVV := held.VV.Merge(dvv.VV{{Actor: self, Counter: math.MaxUint64 - 1}})
		next := c.coordinate("n1", "", "k", "v2", forgedVV)
		fresh := next.Siblings[0].Dot.Actor
		if got := values(next); len(got) != 1 || got[0] != "v2" || fresh == self || next.VV.Get(fresh) != 1 {
			t.Fatalf("write over a forged context: %q, clock %v; want v2 alone under a fresh actor at 1", got, next.VV)
		}
		after := c.coordinate("n1", "", "k", "v3", next.VV)
		if got := values(after); len(got) != 1 || got[0] != "v3" || after.VV.Get(fresh) != 2 {
			t.Fatalf("the write after it: %q, clock %v; want v3 at %s:2", got, after.VV, fresh)
		}
	})
}

func TestNodeCallsOnlyFromMembers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 2, nil)
		c.start("n1")
		obj := object("n2", 1, "v")
		stranger := c.nodeClient("n9", 1)
		err := callOn(stranger, c.addr("n1"), "n1", &wire.Handoff{Key: []byte("k"), Object: obj}, &wire.Ack{})
		if !errors.Is(err, wire.ErrForbidden) || !strings.Contains(err.Error(), `"n9"`) || !strings.Contains(err.Error(), "not a member") {
			t.Fatalf("handoff from a non-member node certificate: %v, want ErrForbidden naming n9", err)
		}
		if g := c.get("n1", "k"); g.Found {
			t.Fatalf("the refused handoff stored %v", values(g.Object))
		}
		if st := c.status("n1"); st.RefusedNonMember != 1 {
			t.Errorf("status counts %d node calls from non-members, want 1", st.RefusedNonMember)
		}
		// Control: a member's certificate is accepted.
		member := c.nodeClient("n2", 2)
		if err := callOn(member, c.addr("n1"), "n1", &wire.Handoff{Key: []byte("k"), Object: obj}, &wire.Ack{}); err != nil {
			t.Fatalf("handoff from member n2: %v", err)
		}
		if got := c.stored("k"); !bytes.Equal(got.Siblings[0].Value, []byte("v")) {
			t.Fatalf("member's handoff not stored: %v", values(got))
		}
	})
}
