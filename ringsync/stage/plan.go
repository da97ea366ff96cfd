package stage

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"slices"
	"strings"

	"github.com/shoalkv/shoal/ringsync/member"
	"github.com/shoalkv/shoal/ringsync/ring"
	"github.com/vmihailenco/msgpack/v5"
)

// Plan is what committing the staged changes would do. It is a report: the
// caller owns it and its slices.
type Plan struct {
	// Base is the ring version the plan starts from.
	Base uint64
	// N is the replica count the replica sets were computed for.
	N int
	// Changes are the staged changes, in the order they fold.
	Changes []member.Change
	// Target is the ring after every change.
	Target *ring.Ring
	// Owners is the number of partitions whose owner changes.
	Owners int
	// Moves lists, by increasing partition, every partition whose replica
	// set changes: owner changes and the neighbouring partitions whose
	// preference lists walk into them.
	Moves []Move
	// Transfers are the replica copies to make, sorted by partition then
	// receiver: one for each node that enters a partition's replica set.
	Transfers []member.Transfer
	// Bytes is the replica bytes the transfers copy (from Options.Size).
	Bytes int64
	// Nodes lists, sorted by id, every node that owns a partition before or
	// after, or sends or receives one.
	Nodes []Flow
	// Risk lists, by increasing partition, the partitions with fewer than N
	// live current replicas (by Options.Live, not counting removed nodes):
	// during the move they have fewer copies than N to read from and to
	// copy from. A partition with no live replica cannot be copied at all.
	Risk []Risk
	// Hash names the plan: base version, N, changes, target ring and
	// transfers. Commit recomputes it and refuses a different one.
	Hash Hash
}

// Hash is a plan's SHA-256.
type Hash [sha256.Size]byte

// String returns the first 8 bytes in hex, enough to tell plans apart.
func (h Hash) String() string { return fmt.Sprintf("%x", h[:8]) }

// Move is a partition whose replica set changes.
type Move struct {
	Partition int
	// Old and New are the replica sets in preference-list order.
	Old, New []ring.NodeID
}

// Flow is what one node owns and moves.
type Flow struct {
	ID ring.NodeID
	// Before and After are the partitions it owns now and in the target:
	// the balance.
	Before, After int
	Send, Receive Traffic
}

// Traffic counts one direction of a node's transfers.
type Traffic struct {
	// Partitions is the number of distinct partitions; Replicas the number of
	// copies (a node may send one partition to several receivers).
	Partitions, Replicas int
	Bytes                int64
}

// Risk is a partition short of live replicas during the move.
type Risk struct {
	Partition int
	// Live are its current replicas that are live and not removed.
	Live []ring.NodeID
}

// Make computes the plan of s's staged changes. It is deterministic: the
// same state and options give the same plan, hash included, on every node.
//
// Errors: [ErrNothing]; [ErrBusy] while an earlier plan is in progress;
// [ErrOptions]; the ring's errors for a change it refuses (too many nodes,
// an invalid address).
func Make(s *member.State, o Options) (*Plan, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	changes := s.Staged().Changes
	if len(changes) == 0 {
		return nil, ErrNothing
	}
	if s.Claim().Target != nil {
		return nil, fmt.Errorf("%w: plan of version %d", ErrBusy, s.Claim().Plan)
	}
	cur := s.Ring()
	target, err := fold(cur, changes)
	if err != nil {
		return nil, err
	}
	p := &Plan{Base: cur.Version(), N: o.n(), Changes: slices.Clone(changes), Target: target, Owners: cur.Moves(target)}
	removed := removedBy(s, changes)
	p.moves(ownersOf(cur), ownersOf(target), len(cur.Nodes()), len(target.Nodes()), removed)
	for _, t := range p.Transfers {
		p.Bytes += o.size(t.Partition)
	}
	p.Nodes = flows(cur, target, p.Transfers, o)
	p.Risk = risks(ownersOf(cur), p.N, len(cur.Nodes()), removed, o)
	p.Hash = hashOf(p)
	return p, nil
}

// fold applies changes to r in order.
func fold(r *ring.Ring, changes []member.Change) (*ring.Ring, error) {
	for _, c := range changes {
		var err error
		switch c.Kind {
		case member.Join:
			r, err = r.Join(c.Node)
		case member.Leave:
			r, err = r.Leave(c.ID)
		case member.Replace:
			r, err = r.Replace(c.ID, c.Node)
		case member.Remove:
			if _, ok := r.Node(c.ID); ok {
				r, err = r.Leave(c.ID)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("stage: %v: %w", c, err)
		}
	}
	return r, nil
}

// removedBy returns whether a node is removed, or will be by changes: it
// holds nothing anyone can copy.
func removedBy(s *member.State, changes []member.Change) func(ring.NodeID) bool {
	return func(id ring.NodeID) bool {
		return s.Status(id) == member.Removed || slices.ContainsFunc(changes, func(c member.Change) bool {
			return c.Kind == member.Remove && c.ID == id
		})
	}
}

// moves fills p.Moves and p.Transfers from the old and new ownership.
func (p *Plan) moves(from, to owners, fromNodes, toNodes int, removed func(ring.NodeID) bool) {
	for q := range from {
		old, nu := from.replicas(q, p.N, fromNodes), to.replicas(q, p.N, toNodes)
		if slices.Equal(old, nu) {
			continue
		}
		p.Moves = append(p.Moves, Move{Partition: q, Old: old, New: nu})
		recv := gained(old, nu)
		slices.Sort(recv)
		for _, x := range recv {
			p.Transfers = append(p.Transfers, member.Transfer{Partition: q, From: source(old, nu, removed), To: x})
		}
	}
}

// source picks whom to copy a gained replica from: a current replica that
// is not removed, preferring one that loses its replica (a leaver, or the
// node a joiner displaces), in preference order; none if all are removed.
func source(old, nu []ring.NodeID, removed func(ring.NodeID) bool) ring.NodeID {
	for _, losing := range []bool{true, false} {
		for _, id := range old {
			if !removed(id) && losing != slices.Contains(nu, id) {
				return id
			}
		}
	}
	return ""
}

// flows tallies per node ownership and transfers.
func flows(cur, target *ring.Ring, transfers []member.Transfer, o Options) []Flow {
	byID := map[ring.NodeID]*Flow{}
	at := func(id ring.NodeID) *Flow {
		f, ok := byID[id]
		if !ok {
			f = &Flow{ID: id}
			byID[id] = f
		}
		return f
	}
	for q := range cur.Partitions() {
		at(cur.Owner(q)).Before++
		at(target.Owner(q)).After++
	}
	sent := map[ring.NodeID]map[int]bool{}
	for _, t := range transfers {
		b := o.size(t.Partition)
		r := at(t.To)
		r.Receive.Partitions++
		r.Receive.Replicas++
		r.Receive.Bytes += b
		if t.From == "" {
			continue
		}
		s := at(t.From)
		s.Send.Replicas++
		s.Send.Bytes += b
		if sent[t.From] == nil {
			sent[t.From] = map[int]bool{}
		}
		if !sent[t.From][t.Partition] {
			sent[t.From][t.Partition] = true
			s.Send.Partitions++
		}
	}
	out := make([]Flow, 0, len(byID))
	for _, f := range byID {
		out = append(out, *f)
	}
	slices.SortFunc(out, func(a, b Flow) int { return strings.Compare(string(a.ID), string(b.ID)) })
	return out
}

// risks lists the partitions with fewer than n live, unremoved replicas.
func risks(cur owners, n, members int, removed func(ring.NodeID) bool, o Options) []Risk {
	var out []Risk
	for q := range cur {
		var live []ring.NodeID
		for _, id := range cur.replicas(q, n, members) {
			if !removed(id) && o.live(id) {
				live = append(live, id)
			}
		}
		if len(live) < n {
			out = append(out, Risk{Partition: q, Live: live})
		}
	}
	return out
}

// hashOf hashes what the plan commits to, in a canonical msgpack form.
func hashOf(p *Plan) Hash {
	var buf bytes.Buffer
	e := msgpack.NewEncoder(&buf)
	must := func(err error) {
		if err != nil {
			panic(fmt.Sprintf("stage: hashing a plan: %v", err))
		}
	}
	must(e.EncodeArrayLen(5))
	must(e.EncodeUint(p.Base))
	must(e.EncodeUint(uint64(p.N)))
	must(e.EncodeArrayLen(len(p.Changes)))
	for _, c := range p.Changes {
		must(e.EncodeArrayLen(4))
		must(e.EncodeUint(uint64(c.Kind)))
		must(e.EncodeString(string(c.ID)))
		must(e.EncodeString(string(c.Node.ID)))
		must(e.EncodeString(c.Node.Addr))
	}
	must(p.Target.EncodeMsgpack(e))
	must(e.EncodeArrayLen(len(p.Transfers)))
	for _, t := range p.Transfers {
		must(e.EncodeArrayLen(3))
		must(e.EncodeUint(uint64(t.Partition)))
		must(e.EncodeString(string(t.From)))
		must(e.EncodeString(string(t.To)))
	}
	return sha256.Sum256(buf.Bytes())
}
