package antientropy

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/shoalkv/shoal/wire"
	"github.com/shoalkv/shoal/wire/dvv"
)

// The clock round (step 4 of the package doc). Key hashes tell which keys
// differ but not which side is newer. A key one side lacks goes to that side
// at once; a key both sides hold differently waits in unclear until the
// peer's version vector of it came (wire.ExchangeClocks), and then moves
// only in the direction(s) its clocks call for (Direction).

// LocalKey is one key of this node's scan (Ready.Scan): its hash
// (merkle.Hash of the key and its object) and its object's version vector.
type LocalKey struct {
	Key  []byte
	Hash uint64
	VV   dvv.VV
}

// unclear is a key both sides hold differently, whose direction waits for
// the peer's clock: the peer's hash of its object (from the key listing) and
// this node's version vector (from its scan).
type unclear struct {
	key    []byte
	theirs uint64
	vv     dvv.VV
}

// Direction says which way a key both replicas hold, with different hashes,
// must move, from this node's version vector of it (local) and the peer's
// (peer, empty if the peer no longer holds it): fetch (get the peer's object
// and merge it here) and push (send this node's object to merge there).
//
//   - peer descends local, strictly: the peer has seen everything this node
//     has, so merging this node's object there adds nothing: fetch only.
//   - local descends peer, strictly: push only, by the same argument.
//   - concurrent clocks: each side holds what the other lacks: both.
//   - equal clocks (the hashes differ all the same: a dot issued twice, a
//     corrupted value): the clocks cannot tell, and the merges decide: both.
//
// Every repair remains a DVV merge, so a wrong guess here never loses data:
// at worst a later exchange finds the key again, and equal clocks are
// always repaired both ways.
func Direction(local, peer dvv.VV) (fetch, push bool) {
	switch {
	case local.Equal(peer):
		return true, true
	case peer.Descends(local):
		return true, false
	case local.Descends(peer):
		return false, true
	}
	return true, true
}

// clocksDue reports whether the keys waiting for their clocks fill a
// request: then it goes before more key rounds.
func (x *Exchange) clocksDue() bool {
	return len(x.unclear) >= x.cfg.MaxClocks || x.unclearBytes >= wire.ExchangeKeysBudget
}

// sendClocks asks for the clocks of the first waiting keys: at most
// MaxClocks of them, and the key bytes cut at wire.ExchangeKeysBudget (at
// least one key).
func (x *Exchange) sendClocks() {
	n, size := 0, 0
	for n < len(x.unclear) && n < x.cfg.MaxClocks && (n == 0 || size+len(x.unclear[n].key) <= wire.ExchangeKeysBudget) {
		size += len(x.unclear[n].key)
		n++
	}
	x.clocksAsked, x.unclear = x.unclear[:n:n], x.unclear[n:]
	x.unclearBytes -= size
	// Key rounds go by leaf, so the keys waiting are sorted only within
	// each round; a key is in one round only, so none comes twice.
	slices.SortFunc(x.clocksAsked, func(a, b unclear) int { return bytes.Compare(a.key, b.key) })
	keys := make(wire.ExchangeKeyList, n)
	for i, u := range x.clocksAsked {
		keys[i] = u.key
	}
	x.send(&wire.ExchangeClocks{Partition: x.part, Keys: keys})
}

// onClocks decides the keys whose clocks came, and puts those the peer left
// out of its answer (a prefix) back at the front of the queue.
func (x *Exchange) onClocks(ok *wire.ExchangeClocksOK) error {
	asked := x.clocksAsked
	x.clocksAsked = nil
	if len(ok.Clocks) == 0 || len(ok.Clocks) > len(asked) {
		return malformedf("clocks: %d clocks for %d keys asked, want 1 to %d", len(ok.Clocks), len(asked), len(asked))
	}
	for i, vv := range ok.Clocks {
		if err := vv.Validate(); err != nil {
			return malformedf("clocks: clock %d: %w", i, err)
		}
	}
	for i, vv := range ok.Clocks {
		u := asked[i]
		fetch, push := Direction(u.vv, vv)
		x.stats.Clocks++
		x.move(u.key, fetch, push)
		if fetch && push {
			if x.out.Theirs == nil {
				x.out.Theirs = make(map[string]uint64)
			}
			x.out.Theirs[string(u.key)] = u.theirs
		}
	}
	rest := asked[len(ok.Clocks):]
	for _, u := range rest {
		x.unclearBytes += len(u.key)
	}
	x.unclear = append(rest, x.unclear...)
	return nil
}

// ClockPage builds the peer's answer to an ExchangeClocks while its shell
// reads the keys asked in order: Add each key's version vector (empty for a
// key it does not hold) until Add reports the answer full or the keys run
// out, then OK. The shell checks first that every key is of the partition
// asked.
type ClockPage struct {
	keys   int
	bytes  int
	clocks wire.ExchangeVVs
}

// NewClockPage checks req (keys sorted strictly, so none twice) and starts
// its answer.
func NewClockPage(req *wire.ExchangeClocks) (*ClockPage, error) {
	if len(req.Keys) > wire.MaxExchangeClocks {
		return nil, fmt.Errorf("%w: %d keys, limit %d", wire.ErrTooLarge, len(req.Keys), wire.MaxExchangeClocks)
	}
	for i := 1; i < len(req.Keys); i++ {
		if bytes.Compare(req.Keys[i-1], req.Keys[i]) >= 0 {
			return nil, fmt.Errorf("%w: key %d (%q) not after %q", wire.ErrBadRequest, i, req.Keys[i], req.Keys[i-1])
		}
	}
	return &ClockPage{keys: len(req.Keys), clocks: make(wire.ExchangeVVs, 0, len(req.Keys))}, nil
}

// Add appends the next key's version vector (the page keeps it) and reports
// whether the answer is full: every key answered, or
// wire.ExchangeClocksBudget bytes of clocks.
func (c *ClockPage) Add(vv dvv.VV) (full bool) {
	c.clocks = append(c.clocks, vv)
	c.bytes += vvBytes(vv)
	return len(c.clocks) >= c.keys || c.bytes >= wire.ExchangeClocksBudget
}

// OK returns the answer.
func (c *ClockPage) OK() *wire.ExchangeClocksOK {
	return &wire.ExchangeClocksOK{Clocks: c.clocks}
}

// vvBytes bounds the encoded size of vv: per entry two array headers, an
// actor's node (a str8 header at most, MaxActorNode bytes) and two uint64s.
func vvBytes(vv dvv.VV) int {
	n := 5
	for _, e := range vv {
		n += 1 + 1 + 2 + len(e.Actor.Node) + 9 + 9
	}
	return n
}
