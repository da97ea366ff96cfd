package antientropy

import "github.com/shoalkv/shoal/ringsync/ring"

// Skips decides which exchanges of a scheduled cycle can be left out, so
// that a cycle costs round trips only where a difference can be. It keeps,
// for each pair (partition, peer) of this node, two facts that the shell
// reports, and the order in which they happened (a counter of the calls, not
// a clock):
//
//   - Found: this node's own exchange of the pair found the roots equal in
//     one round trip, from its tree at version seq (the tree's count of
//     applied changes, which the shell bumps on every change, a verify's
//     replacement included).
//   - Answered: this node answered the peer's exchange of the pair with
//     equal roots (the peer compared the pair).
//
// At its turn at a pair in a cycle, Turn says to skip it when either holds:
//
//	(U) unchanged: this node's tree is still at the seq of its latest Found
//	    for the pair;
//	(C) compared: the peer compared the pair (Answered) since this node's
//	    previous turn at it.
//
// Why nothing is missed. Say that at instant t a node X takes a write of a
// key in the pair's partition that the peer Y lacks, and that nothing else
// (hints, read repair) brings it to Y. Objects only grow (every write is a
// DVV merge or descends from what it replaces), so every tree of X from t
// on holds the write, and any exchange that compares such a tree with Y's
// finds the roots differing and repairs the key. Hence after t:
//
//   - X's tree changed at t, so (U) fails at each of X's turns until X finds
//     the pair equal again, which takes a snapshot of X from before t;
//     X runs one exchange at a time, so at most the one in flight at t can
//     still record such a Found, from a seq that X's tree has left.
//   - An exchange of Y's that X answers after t compares X's tree with the
//     write and finds a difference, so it records no Answered. So (C) can
//     skip X's first turn after t (for a comparison Y made before t), never
//     its second.
//
// So X compares the pair at its second turn after t at the latest (Y may
// repair it sooner): within two cycles, where a cycle that compares
// everything finds it within one. In exchange, of two replicas that both
// take every write (the common case), only the first to reach the pair in a
// cycle compares it, which halves a loaded cluster's exchanges, and a pair
// that no write touches costs nothing once each side has found it equal.
//
// (U) is exact on its own, too: if both nodes skip a pair by (U), their
// trees are equal. Say X found equality from its snapshot at instant x1
// against Y's tree at y1 > x1, and Y from its snapshot at y2 against X's at
// x2 > y2; X has not changed since x1, nor Y since y2. If y1 ≥ y2, Y's tree
// now is its tree at y1, equal to X's at x1, which is X's now. Otherwise
// x1 < y1 < y2 < x2, so X's tree now is its tree at x2, equal to Y's at y2,
// which is Y's now.
//
// The rest of the argument is the shell's: a node keeps its Skips in memory
// only, so a node that restarts (whose data may have gone back: an unclean
// stop, a wiped or restored data file) has no Found facts, and in its first
// cycle it skips only the pairs a peer compared since it started and found
// equal (C): a pair where a peer holds writes that it lost cannot be found
// equal, so it compares that pair at its first turn, whatever its peers
// skip (their trees may not have changed). A tree that verify
// replaces gets a new seq. An exchange that fails leaves no fact, so the
// pair is compared again at the next turn. And every few cycles the shell
// asks for a full cycle (Turn with full set), which skips nothing, so that
// a fault this argument does not foresee (a tree bug, a fact wrongly kept)
// is found within a bounded time anyway.
//
// The zero Skips is not usable: use NewSkips. A Skips is not safe for
// concurrent use; the shell guards it.
type Skips struct {
	pairs map[skipPair]*pairFacts // only looked up
	tick  uint64                  // calls so far: orders the facts
	// anyAnswer makes (C) skip after any Answered, however old: the bug
	// the property test's negative control plants.
	anyAnswer bool
}

type skipPair struct {
	part uint32
	peer ring.NodeID
}

// pairFacts are one pair's facts, each stamped with its tick (0: never).
type pairFacts struct {
	found    uint64 // tick of the latest Found
	foundSeq uint64 // the tree's seq then
	answered uint64 // tick of the latest Answered
	turn     uint64 // tick of the latest Turn
}

// Verdict is what Turn decided for a pair.
type Verdict uint8

// Verdicts.
const (
	// Compare: exchange the pair now.
	Compare Verdict = iota
	// SkipUnchanged: (U), this node's tree has not changed since its own
	// exchange found the pair equal.
	SkipUnchanged
	// SkipCompared: (C), the peer compared the pair since this node's
	// previous turn.
	SkipCompared
)

func (v Verdict) String() string {
	switch v {
	case Compare:
		return "compare"
	case SkipUnchanged:
		return "skip (unchanged)"
	case SkipCompared:
		return "skip (compared by the peer)"
	}
	return "verdict(?)"
}

// NewSkips returns a Skips with no facts: every pair's first turn exchanges.
func NewSkips() *Skips {
	return &Skips{pairs: make(map[skipPair]*pairFacts)}
}

func (s *Skips) facts(part uint32, peer ring.NodeID) *pairFacts {
	k := skipPair{part, peer}
	f := s.pairs[k]
	if f == nil {
		f = &pairFacts{}
		s.pairs[k] = f
	}
	return f
}

// Turn is this node's turn, in a scheduled cycle, at partition part with
// peer, its tree of part being at version seq now: it records the turn and
// says whether to compare it or why not. A full cycle (full) compares every
// pair.
func (s *Skips) Turn(part uint32, peer ring.NodeID, seq uint64, full bool) Verdict {
	s.tick++
	f := s.facts(part, peer)
	prev := f.turn
	f.turn = s.tick
	switch {
	case full:
		return Compare
	case f.found != 0 && f.foundSeq == seq:
		return SkipUnchanged
	case f.answered > prev, s.anyAnswer && f.answered != 0:
		return SkipCompared
	}
	return Compare
}

// Found records that this node's exchange of part with peer, from its tree
// at version seq (the snapshot it sent), found the roots equal. An exchange
// that descended, failed or was cut short records nothing.
func (s *Skips) Found(part uint32, peer ring.NodeID, seq uint64) {
	s.tick++
	f := s.facts(part, peer)
	f.found, f.foundSeq = s.tick, seq
}

// Answered records that this node answered peer's exchange of part with
// equal roots.
func (s *Skips) Answered(part uint32, peer ring.NodeID) {
	s.tick++
	s.facts(part, peer).answered = s.tick
}
