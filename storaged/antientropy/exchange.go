package antientropy

import (
	"fmt"

	"github.com/shoalkv/shoal/storaged/merkle"
	"github.com/shoalkv/shoal/wire"
)

// frameOverhead is what framing adds to a body: the length prefix and the
// type byte (wire.AppendFrame).
const frameOverhead = 5

// Exchange compares one partition with one peer replica. The initiator's
// shell starts it with New, then loops: take Ready, make its Send (one at a
// time) and feed the decoded answer to Answer (or the failure to Fail), run
// its Scan and feed the result to Local, repair Fetch and Push, until
// Ready.Done.
type Exchange struct {
	cfg   Config
	part  uint32
	local *merkle.Tree
	size  int // the size both trees are compared at, once the top came in

	branches []int // differing branches not asked yet, ascending
	leaves   []int // differing leaves not asked yet, ascending

	// The request in flight (nil: none) and the branches it asked.
	inflight any
	asked    []int

	// The key round in progress (round nil: none).
	round     leafSet
	scanning  bool       // Scan handed out, Local not in yet
	localKeys []LocalKey // sorted by key, from Local
	li        int        // next local key to compare
	page      *wire.ExchangeKeysOK
	cursor    []byte

	// Keys both sides hold differently, waiting for the peer's clocks
	// (unclearBytes: their key bytes), and those of the ExchangeClocks in
	// flight.
	unclear      []unclear
	unclearBytes int
	clocksAsked  []unclear

	out   Ready
	stats Stats
	equal bool // the roots were equal
}

// Ready is what an Exchange wants done now.
type Ready struct {
	// Send is the request to make to the peer, nil when none is new: a
	// *wire.ExchangeTop, *wire.ExchangeLeaves, *wire.ExchangeKeys or
	// *wire.ExchangeClocks. Its answer, decoded, goes to Answer. At most one
	// is in flight.
	Send any
	// Scan, when not nil, asks for this node's key hashes and clocks of
	// some leaves; the result goes to Local.
	Scan *Scan
	// Fetch are keys to get from the peer and merge here; Push keys to send
	// to the peer to merge there. A key only the peer holds is fetched, one
	// only this node holds pushed; a key both hold differently moves as its
	// clocks say (Direction), and one in both lists is fetched and merged
	// first, then the merge pushed, so both end with the union. The slices
	// belong to the caller.
	Fetch, Push [][]byte
	// Theirs holds, for each key in both Fetch and Push, the peer's hash of
	// its object (merkle.Hash): once the fetched object is merged here, a
	// push is needed only if this side's object no longer hashes to it.
	Theirs map[string]uint64
	// Done is set once the exchange ended, with Err nil when it ran to the
	// end. After a failure, the repairs already handed out are still sound
	// (merges never lose data); no more come.
	Done bool
	Err  error
	// Equal is set with Done, Err nil, when the peer's root equalled ours:
	// the exchange ended after its first round trip with nothing to repair
	// (Skips.Found).
	Equal bool
	// Stats count the exchange so far.
	Stats Stats
}

// Stats count an exchange. Hash counts are what was compared: Branches and
// Leaves the peer's hashes, Keys the distinct keys seen on either side.
type Stats struct {
	RoundTrips               int
	Branches, BranchesDiffer int
	Leaves, LeavesDiffer     int
	Keys, KeysDiffer         int // KeysDiffer: keys to repair (Fetch ∪ Push)
	Clocks                   int // keys both sides held differently, whose clocks were compared
	Fetch, Push              int
	BytesSent, BytesReceived int64 // bodies plus frame headers
}

// New starts the exchange of partition part, whose ring version is
// ringVersion, against local: this node's tree of that partition, which the
// exchange reads and never changes (pass a snapshot, merkle.Tree.Clone, if
// writes go on). The first Ready holds the ExchangeTop to send.
func New(cfg Config, part uint32, ringVersion uint64, local *merkle.Tree) (*Exchange, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if local == nil {
		return nil, invalidf("nil tree")
	}
	x := &Exchange{cfg: cfg.WithDefaults(), part: part, local: local}
	x.send(&wire.ExchangeTop{Partition: part, RingVersion: ringVersion,
		Leaves: uint32(local.Size()), Root: local.Root()})
	return x, nil
}

// Ready hands over what the inputs so far call for.
func (x *Exchange) Ready() Ready {
	rd := x.out
	rd.Stats = x.stats
	rd.Equal = rd.Done && rd.Err == nil && x.equal
	x.out = Ready{Done: rd.Done, Err: rd.Err}
	return rd
}

// Answer feeds in the peer's decoded answer to the request in flight; size
// is the length of its body in bytes (for Stats). An answer of the wrong
// type or content ends the exchange with an error wrapping ErrMalformed.
// It panics if no request is in flight.
func (x *Exchange) Answer(msg any, size int) {
	req := x.inflight
	if req == nil {
		panic(fmt.Sprintf("antientropy: answer %T with no request in flight", msg))
	}
	x.inflight = nil
	if x.out.Done {
		return
	}
	x.stats.RoundTrips++
	x.stats.BytesReceived += int64(size + frameOverhead)
	var err error
	switch r := req.(type) {
	case *wire.ExchangeTop:
		ok, isOK := msg.(*wire.ExchangeTopOK)
		err = wrongType(isOK, msg, r)
		if err == nil {
			err = x.onTop(ok)
		}
	case *wire.ExchangeLeaves:
		ok, isOK := msg.(*wire.ExchangeLeavesOK)
		err = wrongType(isOK, msg, r)
		if err == nil {
			err = x.onLeaves(ok)
		}
	case *wire.ExchangeKeys:
		ok, isOK := msg.(*wire.ExchangeKeysOK)
		err = wrongType(isOK, msg, r)
		if err == nil {
			err = x.onPage(ok)
		}
	case *wire.ExchangeClocks:
		ok, isOK := msg.(*wire.ExchangeClocksOK)
		err = wrongType(isOK, msg, r)
		if err == nil {
			err = x.onClocks(ok)
		}
	}
	x.after(err)
}

// Fail says the request in flight failed (an error answer, a transport
// failure, the shell's context ended): the exchange ends with an error
// wrapping ErrPeer and err. It panics if no request is in flight or err is
// nil.
func (x *Exchange) Fail(err error) {
	if err == nil || x.inflight == nil {
		panic(fmt.Sprintf("antientropy: Fail(%v) with request %T in flight", err, x.inflight))
	}
	req := x.inflight
	x.inflight = nil
	x.finish(fmt.Errorf("%w: %s: %w", ErrPeer, wire.TypeOf(req), err))
}

// Local feeds in the result of Ready.Scan: this node's key hashes and clocks
// of the leaves asked, in any order (the exchange sorts them; it takes keys
// and clocks over).
// A key twice or outside the leaves ends the exchange with an error
// wrapping ErrLocal. It panics if no Scan is outstanding.
func (x *Exchange) Local(keys []LocalKey) {
	if !x.scanning {
		panic("antientropy: Local with no scan outstanding")
	}
	x.scanning = false
	if x.out.Done {
		return
	}
	sorted, err := x.round.sortLocal(keys, x.size)
	if err == nil {
		x.localKeys = sorted
		if x.page != nil {
			err = x.compare()
		}
	}
	x.after(err)
}

// after ends the exchange on err, or else moves on when nothing is pending.
func (x *Exchange) after(err error) {
	if err != nil {
		x.finish(err)
		return
	}
	x.advance()
}

func wrongType(ok bool, msg, req any) error {
	if ok {
		return nil
	}
	return malformedf("answer %T to %s", msg, wire.TypeOf(req))
}

// finish ends the exchange; the first end stands.
func (x *Exchange) finish(err error) {
	if !x.out.Done {
		x.out.Done, x.out.Err = true, err
	}
}

// send queues req as the request in flight and counts its bytes.
func (x *Exchange) send(req any) {
	body, err := wire.Encode(req)
	if err != nil {
		panic(fmt.Sprintf("antientropy: encode %T: %v", req, err)) // our own requests always encode
	}
	x.stats.BytesSent += int64(len(body) + frameOverhead)
	x.inflight, x.out.Send = req, req
}

// advance makes the next request once nothing is in flight: the clocks of a
// full request's worth of waiting keys, the next page or key round, the next
// branches, the clocks of the keys still waiting, else the end.
func (x *Exchange) advance() {
	if x.out.Done || x.inflight != nil || x.scanning {
		return
	}
	switch {
	case x.round != nil && x.page != nil:
		return // waiting for Local to compare the page
	case x.clocksDue():
		x.sendClocks()
	case x.round != nil:
		x.send(&wire.ExchangeKeys{Partition: x.part, Leaves: uint32(x.size), LeafIDs: ids32(x.round),
			After: x.cursor, Max: uint32(x.cfg.MaxKeys)})
	case len(x.leaves) > 0:
		n := min(len(x.leaves), x.cfg.MaxLeaves)
		x.round, x.leaves = leafSet(x.leaves[:n:n]), x.leaves[n:]
		x.localKeys, x.li, x.cursor = nil, 0, nil
		x.scanning = true
		x.out.Scan = &Scan{Leaves: x.size, IDs: append([]int(nil), x.round...)}
		x.send(&wire.ExchangeKeys{Partition: x.part, Leaves: uint32(x.size), LeafIDs: ids32(x.round),
			Max: uint32(x.cfg.MaxKeys)})
	case len(x.branches) > 0:
		n := min(len(x.branches), x.cfg.MaxBranches)
		x.asked, x.branches = x.branches[:n:n], x.branches[n:]
		x.send(&wire.ExchangeLeaves{Partition: x.part, Leaves: uint32(x.size), Branches: ids32(x.asked)})
	case len(x.unclear) > 0:
		x.sendClocks()
	default:
		x.finish(nil)
	}
}

func ids32(ids []int) wire.ExchangeIDs {
	out := make(wire.ExchangeIDs, len(ids))
	for i, id := range ids {
		out[i] = uint32(id)
	}
	return out
}
