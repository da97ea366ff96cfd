package storaged

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"

	"github.com/shoalkv/shoal/ringsync/ring"
	"github.com/shoalkv/shoal/storaged/antientropy"
	"github.com/shoalkv/shoal/storaged/merkle"
	"github.com/shoalkv/shoal/storaged/replica"
	"github.com/shoalkv/shoal/storaged/store"
	"github.com/shoalkv/shoal/wire"
	"github.com/shoalkv/shoal/wire/dvv"
)

// The peer's side of an anti-entropy exchange (storaged/antientropy): the
// four node-only requests, answered from the partition's live tree (read
// under the trees' mutex, not copied), from a scan of the partition in the
// store, and from reads of the keys whose clocks are asked. An ExchangeTop answered with equal roots is a fact for this
// node's own cycles: the peer compared the pair (antientropy.Skips). Only members may ask
// (the wire layer has already refused client certificates), and only for a
// partition this node replicates; ExchangeTop, which opens an exchange, must
// also come from this node's ring version.

// replicates reports whether this node is among the first N distinct owners
// of partition p's preference list in r.
func (s *Server) replicates(r *ring.Ring, p int) bool {
	primaries, _ := r.PreferenceOf(p, s.cfg.N)
	return slices.ContainsFunc(primaries, func(n ring.Node) bool { return n.ID == s.cfg.ID })
}

// checkExchange refuses an exchange request for a partition out of range,
// one whose tree is not rebuilt yet since the node started (wire.ErrBusy:
// ask again later) or one this node does not replicate in r, and every one
// while this node runs without hash trees (errNoTrees).
func (s *Server) checkExchange(r *ring.Ring, part uint32) error {
	if s.trees.off {
		return s.errNoTrees()
	}
	if int64(part) >= int64(r.Partitions()) {
		return fmt.Errorf("%w: exchange of partition %d: the ring has %d partitions", wire.ErrBadRequest, part, r.Partitions())
	}
	if !s.trees.ready(int(part)) {
		return fmt.Errorf("%w: node %q is rebuilding its hash trees since it started (%d partitions not ready, partition %d among them)",
			wire.ErrBusy, s.cfg.ID, s.trees.notReady(), part)
	}
	if !s.replicates(r, int(part)) {
		return fmt.Errorf("%w: node %q does not replicate partition %d (ring version %d, n=%d)",
			wire.ErrMismatch, s.cfg.ID, part, r.Version(), s.cfg.N)
	}
	return nil
}

// errNoTrees is the refusal of an exchange, asked or started, by a node
// without hash trees (Config.NoTrees): a mismatch of configuration, which
// waiting does not mend.
func (s *Server) errNoTrees() error {
	return fmt.Errorf("%w: node %q runs without hash trees (storaged --trees=false): no anti-entropy", wire.ErrMismatch, s.cfg.ID)
}

// treeSnapshot returns a copy of partition p's live tree (an empty tree if
// the partition holds nothing here) and its seq, taken under the trees'
// mutex so that writes go on meanwhile.
func (s *Server) treeSnapshot(p int) (*merkle.Tree, uint64) {
	var snap *merkle.Tree
	var seq uint64
	s.trees.read(p, func(t *merkle.Tree, q uint64) { snap, seq = t.Clone(), q })
	return snap, seq
}

// exchangeRequest checks that p is a member, decodes body into req, and
// refuses a partition (part of the decoded request) this node does not
// replicate; it returns the ring it checked against.
func exchangeRequest[T any](s *Server, p wire.Peer, body []byte, req *T, part func(*T) uint32) (*ring.Ring, error) {
	if err := s.member(p); err != nil {
		return nil, err
	}
	if err := wire.Decode(body, req); err != nil {
		return nil, err
	}
	r := s.ring.Load()
	return r, s.checkExchange(r, part(req))
}

// exchangeTop answers the request that opens an exchange, which must come
// from this node's ring version.
func (s *Server) exchangeTop(p wire.Peer, body []byte) (any, error) {
	var req wire.ExchangeTop
	r, err := exchangeRequest(s, p, body, &req, func(q *wire.ExchangeTop) uint32 { return q.Partition })
	if err != nil {
		return nil, err
	}
	if req.RingVersion != r.Version() {
		return nil, fmt.Errorf("%w: exchange of partition %d at ring version %d; this node is at %d",
			wire.ErrMismatch, req.Partition, req.RingVersion, r.Version())
	}
	var ok *wire.ExchangeTopOK
	s.trees.read(int(req.Partition), func(t *merkle.Tree, _ uint64) { ok, err = antientropy.AnswerTop(t, &req) })
	if err == nil && len(ok.Part) == 0 {
		s.aex.marks.answered(req.Partition, ring.NodeID(p.ID)) // the peer compared the pair: equal
	}
	return badRequest(ok, err)
}

// exchangeLeaves answers a request for the leaf hashes under some branches.
func (s *Server) exchangeLeaves(p wire.Peer, body []byte) (any, error) {
	var req wire.ExchangeLeaves
	if _, err := exchangeRequest(s, p, body, &req, func(q *wire.ExchangeLeaves) uint32 { return q.Partition }); err != nil {
		return nil, err
	}
	var ok *wire.ExchangeLeavesOK
	var err error
	s.trees.read(int(req.Partition), func(t *merkle.Tree, _ uint64) { ok, err = antientropy.AnswerLeaves(t, &req) })
	return badRequest(ok, err)
}

// badRequest passes an answer on, or tags the error of a request the
// antientropy package found invalid as a bad request.
func badRequest[T any](ok *T, err error) (any, error) {
	if err != nil {
		return nil, fmt.Errorf("%w: %w", wire.ErrBadRequest, err)
	}
	return ok, nil
}

// exchangeKeys answers one page of key hashes of some leaves, from one scan
// of the partition starting at the request's cursor. An object that does
// not decode is left out, as the trees leave it out (rebuild.go).
func (s *Server) exchangeKeys(p wire.Peer, body []byte) (any, error) {
	var req wire.ExchangeKeys
	if _, err := exchangeRequest(s, p, body, &req, func(q *wire.ExchangeKeys) uint32 { return q.Partition }); err != nil {
		return nil, err
	}
	pg, err := antientropy.NewPage(&req)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", wire.ErrBadRequest, err)
	}
	full := false
	err = s.st.ScanPartition(int(req.Partition), req.After, func(key, value []byte) bool {
		if !pg.Want(key) {
			return true
		}
		obj, err := replica.ObjectOf(value)
		if err != nil {
			return true
		}
		full = pg.Add(bytes.Clone(key), merkle.Hash(key, obj))
		return !full
	})
	if err != nil {
		return nil, storeErr(err)
	}
	return pg.OK(full), nil
}

// exchangeClocks answers the version vectors of the keys asked, each of the
// partition asked, in order, from one read of each; a key this node does not
// hold, or holds in an object that does not decode (left out of the trees
// too), has the empty clock. The answer ends early at
// wire.ExchangeClocksBudget bytes of clocks.
func (s *Server) exchangeClocks(p wire.Peer, body []byte) (any, error) {
	var req wire.ExchangeClocks
	r, err := exchangeRequest(s, p, body, &req, func(q *wire.ExchangeClocks) uint32 { return q.Partition })
	if err != nil {
		return nil, err
	}
	cp, err := antientropy.NewClockPage(&req)
	if err != nil {
		return nil, err
	}
	for i, key := range req.Keys {
		if got := r.PartitionOf(key); got != int(req.Partition) {
			return nil, fmt.Errorf("%w: clock of key %d asked in partition %d; it is of partition %d", wire.ErrBadRequest, i, req.Partition, got)
		}
	}
	for _, key := range req.Keys {
		var vv dvv.VV
		b, err := s.st.Get(store.Objects, key)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return nil, storeErr(err)
		default:
			if obj, err := replica.ObjectOf(b); err == nil {
				vv = obj.VV
			}
		}
		if testClocksEmpty.Load() {
			vv = nil // the negative control's mutant: every key as if not held
		}
		if cp.Add(vv) {
			break
		}
	}
	return cp.OK(), nil
}

// testClocksEmpty, set by tests, makes exchangeClocks answer the empty clock
// for every key: the mutant the tests of the clock round must catch.
var testClocksEmpty atomic.Bool
