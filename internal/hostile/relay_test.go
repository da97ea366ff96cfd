package hostile

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/shoalkv/shoal/driver"
	"github.com/shoalkv/shoal/internal/testcluster"
	"github.com/shoalkv/shoal/wire"
	"github.com/shoalkv/shoal/wire/dvv"
	"github.com/shoalkv/shoal/wire/pki"
)

// victimKey is the key each relay attack tries to change; victimValue is
// what the benign client wrote there.
var (
	victimKey   = []byte("victim")
	victimValue = []byte("original")
)

// victim writes victimValue under victimKey on every node and returns the
// attacked node's copy, read directly from it with reader.
func (s *scenario) victim(reader *raw) wire.GetOK {
	s.t.Helper()
	ctx := testcluster.Context(s.t, time.Minute)
	if _, err := s.cl.Put(ctx, victimKey, victimValue, nil, driver.WithW(len(s.c.Nodes))); err != nil {
		s.t.Fatalf("%s: set-up put: %v", s.class, err)
	}
	g, err := reader.Get(ctx, victimKey)
	if err != nil || !g.Found {
		s.t.Fatalf("%s: set-up read of %q from %s: found %v, %v", s.class, victimKey, s.node(), g.Found, err)
	}
	return g
}

// actor is node i's actor (its id and current epoch), from its status.
func (s *scenario) actor(i int) dvv.Actor {
	s.t.Helper()
	ctx := testcluster.Context(s.t, time.Minute)
	for _, st := range s.cl.Status(ctx) {
		if st.Node.ID == s.c.Nodes[i].ID {
			if st.Err != nil {
				s.t.Fatalf("%s: status of %s: %v", s.class, st.Node.ID, st.Err)
			}
			return dvv.Actor{Node: string(st.Node.ID), Epoch: st.Info.Epoch}
		}
	}
	s.t.Fatalf("%s: no status for %s", s.class, s.c.Nodes[i].ID)
	return dvv.Actor{}
}

// expectRefused sends msg as a request of type typ on r and fails the test
// unless the node answers with an error; it logs the error's message (the
// exact sentinels are being built).
func (s *scenario) expectRefused(r *raw, what string, typ wire.Type, msg any) {
	s.t.Helper()
	frame := frameOf(typ, msg)
	if len(frame) > wire.MaxFrame {
		s.t.Fatalf("%s: %s is a %d-byte frame, over the %d-byte cap: a broken test", s.class, what, len(frame), wire.MaxFrame)
	}
	at, body, err := r.Exchange(s.ctx, frame)
	if err != nil {
		s.t.Errorf("%s: %s (%d-byte frame): no answer: %v", s.class, what, len(frame), err)
		return
	}
	e, err := refusal(at, body)
	if err != nil {
		s.t.Errorf("%s: %s (%d-byte frame) was not refused: %v", s.class, what, len(frame), err)
		return
	}
	s.t.Logf("%s: %s refused: %s: %s", s.class, what, e.Code, e.Message)
}

// expectUnchanged reads the victim from the attacked node directly and
// through the driver (all replicas) and fails the test if either differs
// from before the attack.
func (s *scenario) expectUnchanged(reader *raw, before wire.GetOK) {
	s.t.Helper()
	ctx := testcluster.Context(s.t, time.Minute)
	after, err := reader.Get(ctx, victimKey)
	if err != nil {
		s.t.Errorf("%s: read %q from %s after the attack: %v", s.class, victimKey, s.node(), err)
	} else if err := unchanged(s.class, victimKey, before, after); err != nil {
		s.t.Errorf("on %s: %v", s.node(), err)
	}
	v, err := s.cl.Get(ctx, victimKey, driver.WithR(len(s.c.Nodes)))
	if err != nil {
		s.t.Errorf("%s: driver read of %q after the attack: %v", s.class, victimKey, err)
	} else if len(v.Values) != 1 || !bytes.Equal(v.Values[0], victimValue) {
		s.t.Errorf("%s: driver reads %q as %d values %s after the attack, want only %q",
			s.class, victimKey, len(v.Values), short(v.Values), victimValue)
	}
}

// short renders values for a message, each cut to 16 bytes.
func short(vs [][]byte) string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = fmt.Sprintf("%q", v[:min(len(v), 16)])
	}
	if len(out) > 4 {
		out = append(out[:4], fmt.Sprintf("... %d more", len(vs)-4))
	}
	return fmt.Sprint(out)
}

// relayScenario starts a relay class: the cluster, the victim, a reader
// and an attacker connection with the client certificate, then the attack.
func relayScenario(t *testing.T, class string) (s *scenario, attacker, reader *raw, before wire.GetOK) {
	s = begin(t, class)
	reader = s.mustDial(1, s.client())
	attacker = s.mustDial(0, s.client())
	before = s.victim(reader)
	s.attack()
	return s, attacker, reader, before
}

// TestOverCapRelay: a client Replicate of the victim with 200 more siblings
// (cap 64). Today: stored.
func TestOverCapRelay(t *testing.T) {
	s, attacker, reader, before := relayScenario(t, "over-cap-relay")
	a := s.actor(1)
	obj := withSiblings(before.Object, a, before.Object.VV.Get(a), 200, func(i int) []byte { return fmt.Appendf(nil, "sibling %d", i) })
	s.expectRefused(attacker, fmt.Sprintf("replicate with %d siblings (cap %d)", len(obj.Siblings), wire.DefaultMaxSiblings),
		wire.TypeReplicate, &wire.Replicate{Key: victimKey, Object: obj})
	s.expectUnchanged(reader, before)
	s.finish()
}

// TestOversizedRelay: a client Replicate of the victim holding an object
// of about 12 MiB: over MaxObject (8 MiB), under the 16 MiB frame cap, each
// value within MaxValue. Today: stored, and then no reader can read the key
// through the driver.
func TestOversizedRelay(t *testing.T) {
	s, attacker, reader, before := relayScenario(t, "oversized-relay")
	a := s.actor(1)
	n := (12 << 20) / wire.DefaultMaxValue
	obj := withSiblings(before.Object, a, before.Object.VV.Get(a), n, func(i int) []byte {
		return bytes.Repeat([]byte{byte('A' + i)}, wire.DefaultMaxValue)
	})
	if size := obj.Size(); size <= wire.DefaultMaxObject || size >= wire.MaxFrame {
		t.Fatalf("%s: object is %d bytes, want between MaxObject %d and MaxFrame %d", s.class, size, wire.DefaultMaxObject, wire.MaxFrame)
	}
	s.expectRefused(attacker, fmt.Sprintf("replicate of a %d-byte object (limit %d)", obj.Size(), wire.DefaultMaxObject),
		wire.TypeReplicate, &wire.Replicate{Key: victimKey, Object: obj})
	s.expectUnchanged(reader, before)
	s.finish()
}

// TestSameDotRewrite: a client Replicate of the victim whose only sibling
// keeps its dot and clock but carries different bytes (bytewise smaller, so
// that a merge keeping the smaller content would take it). Today: replaced
// silently.
func TestSameDotRewrite(t *testing.T) {
	s, attacker, reader, before := relayScenario(t, "same-dot-rewrite")
	obj := dvv.Set{Siblings: slices.Clone(before.Object.Siblings), VV: before.Object.VV.Clone()}
	obj.Siblings[0].Value = []byte("!forged")
	s.expectRefused(attacker, fmt.Sprintf("replicate of dot %s with %q instead of %q", obj.Siblings[0].Dot, obj.Siblings[0].Value, before.Object.Siblings[0].Value),
		wire.TypeReplicate, &wire.Replicate{Key: victimKey, Object: obj})
	s.expectUnchanged(reader, before)
	s.finish()
}

// TestForgedOwnActorCounter: a Replicate whose object claims the attacked
// node's own actor for the victim key at counter 2^64-2, far beyond what it
// issued, must be refused (a client cannot show what the node issued), and
// a Coordinate whose context claims it must not exhaust the key: the write
// goes ahead under a fresh actor for the key (the node cannot tell a
// forged claim from its own lost writes, kv679_dataloss), and the next
// write takes that actor's next counter. Before per-key actors: both
// accepted, after which every write of the key there failed "counter
// exhausted".
func TestForgedOwnActorCounter(t *testing.T) {
	s, attacker, reader, before := relayScenario(t, "forged-own-actor-counter")
	// The node's actor for the key: the one a write coordinated there takes
	// (the same value again, so that readers still find only it).
	own := s.coordinateAt(reader, string(victimValue), before.Object.VV)
	ownActor := own.Siblings[len(own.Siblings)-1].Dot.Actor
	held, err := reader.Get(s.ctx, victimKey)
	if err != nil {
		t.Fatalf("%s: read after the set-up write: %v", s.class, err)
	}
	const forged = math.MaxUint64 - 1
	obj := withSiblings(held.Object, ownActor, forged-1, 1, func(int) []byte { return []byte("forged") })
	s.expectRefused(attacker, fmt.Sprintf("replicate of a sibling at %s:%d", ownActor, uint64(forged)),
		wire.TypeReplicate, &wire.Replicate{Key: victimKey, Object: obj})
	s.expectUnchanged(reader, held)

	ctxVV := held.Object.VV.Merge(dvv.VV{{Actor: ownActor, Counter: forged}})
	next := s.coordinateAt(attacker, "forged", ctxVV)
	fresh := next.Siblings[len(next.Siblings)-1].Dot
	if fresh.Actor == ownActor || fresh.Counter != 1 {
		t.Errorf("%s: a write over a context claiming %s:%d took dot %s, want counter 1 of a fresh actor", s.class, ownActor, uint64(forged), fresh)
	}
	after := s.coordinateAt(reader, "after", next.VV)
	if got := after.VV.Get(fresh.Actor); got != 2 {
		t.Errorf("%s: the write after the attack took %s counter %d, want 2 (the next it issues)", s.class, fresh.Actor, got)
	}
	s.finish()
}

// coordinateAt writes value over ctx to the victim key through the node
// conn reaches and returns the object it answers.
func (s *scenario) coordinateAt(conn *raw, value string, ctx dvv.VV) dvv.Set {
	s.t.Helper()
	at, body, err := conn.Call(s.ctx, wire.TypeCoordinate, &wire.Coordinate{Key: victimKey, Value: []byte(value), Context: ctx})
	switch {
	case err != nil:
		s.t.Fatalf("%s: write %q of %q: %v", s.class, value, victimKey, err)
	case at != wire.TypeObject:
		s.t.Fatalf("%s: write %q of %q on %s answered %s", s.class, value, victimKey, s.node(), describe(at, body))
	}
	var o wire.Object
	if err := wire.Decode(body, &o); err != nil {
		s.t.Fatalf("%s: decode object: %v", s.class, err)
	}
	return o.Object
}

// TestNonMemberNodeCertificate: a node certificate from the cluster CA for
// "n9", not a member, sends a Handoff (a node-only request) of the victim
// with a sibling of its own. It must be refused: at the handshake, the
// hello, or the request. Today: accepted.
func TestNonMemberNodeCertificate(t *testing.T) {
	s := begin(t, "non-member-node-certificate")
	reader := s.mustDial(1, s.client())
	before := s.victim(reader)
	ca, err := pki.LoadCA(s.c.CertsDir)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Issue(pki.RoleNode, "n9", []string{s.attackerIP(0)}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cert, err := leaf.TLS()
	if err != nil {
		t.Fatal(err)
	}
	n9 := pki.Material{CA: s.client().CA, Cert: cert}
	s.attack()
	obj := withSiblings(before.Object, dvv.Actor{Node: "n9", Epoch: 1}, 0, 1, func(int) []byte { return []byte("from n9") })
	r, err := s.dial(0, n9, false)
	if err != nil {
		t.Logf("%s: refused at the handshake: %v", s.class, err)
	} else {
		at, body, err := r.Exchange(s.ctx, frameOf(wire.TypeHello, &wire.Hello{Version: wire.ProtocolVersion, ClusterID: s.c.ClusterID}))
		switch {
		case err != nil:
			t.Logf("%s: hello got no answer (connection refused): %v", s.class, err)
		case at != wire.TypeHelloOK:
			t.Logf("%s: hello refused: %s", s.class, describe(at, body))
		default:
			s.expectRefused(r, "handoff from node certificate n9 (not a member)", wire.TypeHandoff, &wire.Handoff{Key: victimKey, Object: obj})
		}
	}
	s.expectUnchanged(reader, before)
	s.finish()
}
