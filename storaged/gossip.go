package storaged

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shoalkv/shoal/ringsync/member"
	"github.com/shoalkv/shoal/ringsync/ring"
	"github.com/shoalkv/shoal/storaged/store"
	"github.com/shoalkv/shoal/wire"
)

// The cluster state (ringsync/member) that every node keeps, persists and
// gossips. This file is its shell: the pure merge is member.Merge.
//
// Persistence: the state lives in the store's Meta bucket under
// clusterStateKey, rewritten (one Apply, fsynced unless NoSync) on every
// change before anything else sees the change. At start a node loads it;
// the first time, it makes one with member.New from InitialCluster, unless
// it was given seeds (Config.Join).
//
// Gossip: every GossipInterval the node picks a random other member (or
// seed) and runs a round of wire.Gossip: digests first, and the full states
// only when they differ (push-pull); it merges what it gets and persists the
// merge if it changed. A state it cannot merge, of another cluster id
// (member.ErrCluster) or conflicting with its own (member.ErrConflict), is
// logged, counted (wire.StatusOK.GossipRefused) and never applied.
//
// Two groups started apart. The rule that keeps them from silently
// becoming one cluster, or from being taken for one:
//
//   - A node started with seeds and no state never mints a cluster of its
//     own: it takes the first state a peer gives it whole (whatever members
//     that state lists) and has none until then, so nodes joined through
//     seeds are always in the seeds' cluster.
//   - Two groups each started with InitialCluster under one cluster id mint
//     two states whose claims (ring and members) differ at the same ring
//     version, 1: when a node of one group gossips with a node of the other,
//     member.Merge reports member.ErrConflict, and both keep their own state.
//     Groups with different cluster ids never even connect (wire.Hello).
//
// The serving ring is not taken from the state yet: there is no commit path
// to change it (issue 11); the node only keeps and converges the state, and
// keeps its own record current (address, store epoch, the ring version it
// serves as Seen).

// clusterStateKey is the Meta key the cluster state is kept under.
var clusterStateKey = []byte("cluster-state")

// held is one state with its encoding and digest, computed once.
type held struct {
	state  *member.State
	enc    []byte
	digest member.Digest
}

// gossip is a node's cluster state and its gossip loop's counters.
type gossip struct {
	// changing serialises changes to the state and their persistence: a
	// channel of one slot rather than a mutex, because its holder waits
	// for a durable write, and a waiter must be able to give up with its
	// context (a request handler) and, in the simulator, must count as
	// durably blocked so that virtual time can reach the write's end.
	changing chan struct{}
	cur      atomic.Pointer[held] // nil: a node with seeds that has no state yet

	rounds, failed, refused atomic.Uint64

	runMu sync.Mutex
	stop  context.CancelFunc
	done  chan struct{}
}

// ErrClusterState is returned by New when the data directory holds the
// cluster state of another cluster id, or one that cannot be read.
var ErrClusterState = errors.New("storaged: cluster state")

// loadState loads the persisted cluster state, or makes one from r (the
// ring of InitialCluster) when there is none and no seeds, and writes this
// node's record into it under a new incarnation (a restart).
func (s *Server) loadState(r *ring.Ring) error {
	s.gsp.changing = make(chan struct{}, 1)
	var st *member.State
	b, err := s.st.Get(store.Meta, clusterStateKey)
	switch {
	case err == nil:
		if st, err = member.Decode(b); err != nil {
			return fmt.Errorf("%w: the stored state cannot be read: %w", ErrClusterState, err)
		}
		if st.Cluster() != member.ClusterID(s.cfg.ClusterID) {
			return fmt.Errorf("%w: the data directory belongs to cluster %q, this node is configured for %q",
				ErrClusterState, st.Cluster(), s.cfg.ClusterID)
		}
	case !errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("%w: %w", ErrClusterState, err)
	case len(s.cfg.Join) > 0:
		s.log.Info("no cluster state yet: taking it from the seeds", "seeds", s.cfg.Join)
		return nil
	default:
		if st, err = member.New(member.ClusterID(s.cfg.ClusterID), r); err != nil {
			return fmt.Errorf("%w: %w", ErrClusterState, err)
		}
	}
	return s.adopt(context.Background(), st, true)
}

// adopt makes st (merged with the current state, if any) the node's state,
// with this node's record refreshed (with a new incarnation if restart),
// and persists it if it changed. It reports a merge error unchanged.
func (s *Server) adopt(ctx context.Context, st *member.State, restart bool) error {
	select {
	case s.gsp.changing <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.gsp.changing }()
	cur := s.gsp.cur.Load()
	if cur != nil {
		m, err := member.Merge(cur.state, st)
		if err != nil {
			return err
		}
		st = m
	}
	st, err := s.withOwnRecord(st, restart)
	if err != nil {
		return err
	}
	enc, err := member.Encode(st)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrClusterState, err)
	}
	h := &held{state: st, enc: enc, digest: st.Digest()}
	if cur != nil && h.digest == cur.digest {
		return nil
	}
	if err := s.st.Apply(ctx, store.Meta, clusterStateKey, func([]byte) ([]byte, error) { return enc, nil }); err != nil {
		return fmt.Errorf("%w: persist: %w", ErrClusterState, err)
	}
	s.gsp.cur.Store(h)
	return nil
}

// withOwnRecord returns st with this node's record current: its address,
// store epoch and the ring version it serves as Seen; after a restart also
// one more incarnation. Only this node writes its record; a record of it at
// a higher store epoch than its own (written before it lost its data
// directory) is left as it is, and logged at start.
func (s *Server) withOwnRecord(st *member.State, restart bool) (*member.State, error) {
	self, _ := s.cfg.self()
	want := member.Record{ID: s.cfg.ID, Addr: self.Addr, Epoch: s.st.Epoch(), Seen: s.ring.Load().Version()}
	old, ok := st.Record(s.cfg.ID)
	switch {
	case !ok:
		return st.WithRecord(want)
	case old.Epoch > want.Epoch:
		// Store epochs are random: a wiped node's new one may be lower than
		// its old one, and its records could never win. Reported, not fixed
		// here (issue 11 item 8 gives a returning node a new identity).
		// Logged once a start, not at every merge.
		if restart {
			s.log.Error("gossip: the cluster holds a record of this node at a higher store epoch; this node's record cannot replace it",
				"held_epoch", fmt.Sprintf("%016x", old.Epoch), "epoch", fmt.Sprintf("%016x", want.Epoch))
		}
		return st, nil
	case old.Epoch < want.Epoch:
		return st.WithRecord(want)
	}
	if !restart && old.Addr == want.Addr && old.Seen >= want.Seen {
		return st, nil
	}
	rec := old
	rec.Addr, rec.Seen = want.Addr, max(old.Seen, want.Seen)
	if restart {
		rec.Incarnation, rec.Seq = old.Incarnation+1, 0
	} else {
		rec.Seq++
	}
	return st.WithRecord(rec)
}

// refusedMerge reports whether err is a merge that must never be applied, and
// counts and logs it.
func (s *Server) refusedMerge(err error, peer string) bool {
	if !errors.Is(err, member.ErrCluster) && !errors.Is(err, member.ErrConflict) {
		return false
	}
	s.gsp.refused.Add(1)
	s.log.Error("gossip: refused a cluster state that cannot merge with this node's", "peer", peer, "err", err)
	return true
}

// serveGossip answers wire.Gossip: it merges the state it was sent, if any,
// and answers with its digest, and its state when that differs from the
// sender's.
func (s *Server) serveGossip(ctx context.Context, p wire.Peer, body []byte) (any, error) {
	var req wire.Gossip
	if err := wire.Decode(body, &req); err != nil {
		return nil, err
	}
	if len(req.State) > 0 {
		in, err := member.Decode(req.State)
		if err != nil {
			return nil, fmt.Errorf("%w: cluster state: %w", wire.ErrBadRequest, err)
		}
		if err := s.adopt(ctx, in, false); err != nil {
			if s.refusedMerge(err, p.ID) {
				return nil, fmt.Errorf("%w: %w", wire.ErrMismatch, err)
			}
			return nil, fmt.Errorf("%w: %w", wire.ErrStorage, err)
		}
	}
	h := s.gsp.cur.Load()
	resp := &wire.GossipOK{Digest: wireDigest(h)}
	if h != nil && resp.Digest != req.Digest {
		resp.State = h.enc
	}
	return resp, nil
}

// wireDigest is h's digest on the wire (the zero digest if h is nil).
func wireDigest(h *held) wire.GossipDigest {
	if h == nil {
		return wire.GossipDigest{}
	}
	return wire.GossipDigest{Version: h.digest.Version, Hash: h.digest.Hash}
}

// gossipPeer is an address to gossip with and the node id expected there
// ("" for a seed).
type gossipPeer struct{ addr, id string }

// gossipPeers returns, sorted by address, the other members the state
// lists (claim entries not removed, and announced records), and the seeds
// at other addresses than this node's.
func (s *Server) gossipPeers() []gossipPeer {
	self, _ := s.cfg.self()
	seen := map[string]bool{self.Addr: true}
	var out []gossipPeer
	add := func(addr string, id ring.NodeID) {
		if id == s.cfg.ID || seen[addr] {
			return
		}
		seen[addr] = true
		out = append(out, gossipPeer{addr: addr, id: string(id)})
	}
	if h := s.gsp.cur.Load(); h != nil {
		for _, e := range h.state.Claim().Members {
			if e.Status != member.Removed {
				add(e.Addr, e.ID)
			}
		}
		for _, r := range h.state.Records() {
			if h.state.Status(r.ID) != member.Removed {
				add(r.Addr, r.ID)
			}
		}
	}
	for _, j := range s.cfg.Join {
		add(j, "")
	}
	slices.SortFunc(out, func(a, b gossipPeer) int { return strings.Compare(a.addr, b.addr) })
	return out
}

// gossipRoundTimeout bounds one round (both its calls): a peer that does
// not answer (cut off, or down with its connection not yet timed out)
// costs this node at most that much of its gossip, and its next round picks
// again.
func gossipRoundTimeout(interval time.Duration) time.Duration {
	return max(3*interval, time.Second)
}

// gossipRound runs one round with a peer picked by rnd: a digest, the
// peer's state if it differs (merged here), and this node's merged state
// pushed back if the peer still lacks some of it.
func (s *Server) gossipRound(ctx context.Context, rnd *rand.Rand) {
	peers := s.gossipPeers()
	if len(peers) == 0 {
		return
	}
	loop := ctx // ends when the node stops; ctx also when the round takes too long
	ctx, cancel := context.WithTimeout(ctx, gossipRoundTimeout(s.cfg.GossipInterval))
	defer cancel()
	p := peers[rnd.IntN(len(peers))]
	h := s.gsp.cur.Load()
	req := &wire.Gossip{Digest: wireDigest(h)}
	var resp wire.GossipOK
	if err := s.ep.Call(ctx, p.addr, p.id, req, &resp); err != nil {
		s.gossipFailed(loop, p, err)
		return
	}
	if len(resp.State) > 0 {
		in, err := member.Decode(resp.State)
		if err != nil {
			s.gossipFailed(loop, p, err)
			return
		}
		if err := s.adopt(ctx, in, false); err != nil {
			if !s.refusedMerge(err, p.addr) {
				s.gossipFailed(loop, p, err)
			}
			return
		}
	}
	if h = s.gsp.cur.Load(); h != nil && wireDigest(h) != resp.Digest {
		req = &wire.Gossip{Digest: wireDigest(h), State: h.enc}
		if err := s.ep.Call(ctx, p.addr, p.id, req, &resp); err != nil {
			s.gossipFailed(loop, p, err)
			return
		}
	}
	s.gsp.rounds.Add(1)
}

// gossipFailed counts and logs a round that failed, unless the node is
// stopping (loop ended).
func (s *Server) gossipFailed(loop context.Context, p gossipPeer, err error) {
	if loop.Err() != nil {
		return
	}
	s.gsp.failed.Add(1)
	s.log.Debug("gossip: round failed", "peer", p.addr, "id", p.id, "err", err)
}

// gossipRand returns the loop's random source, seeded from Config.Rand.
func (s *Server) gossipRand() (*rand.Rand, error) {
	var seed [32]byte
	if _, err := s.cfg.Rand.Read(seed[:]); err != nil {
		return nil, fmt.Errorf("storaged: gossip seed: %w", err)
	}
	return rand.New(rand.NewChaCha8(seed)), nil
}

// startGossip starts the gossip loop (a round every GossipInterval, the
// first one interval after Run), unless gossip is off.
func (s *Server) startGossip() error {
	s.gsp.runMu.Lock()
	defer s.gsp.runMu.Unlock()
	if s.closed.Load() {
		return errors.New("storaged: server is closed")
	}
	if s.gsp.done != nil || s.cfg.GossipInterval < 0 {
		return nil
	}
	rnd, err := s.gossipRand()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	s.gsp.stop, s.gsp.done = cancel, done
	go func() {
		defer close(done)
		for sleep(ctx, s.clock, s.cfg.GossipInterval) == nil {
			s.gossipRound(ctx, rnd)
		}
	}()
	return nil
}

// stopGossip stops the gossip loop, if it runs, and waits for it.
func (s *Server) stopGossip() {
	s.gsp.runMu.Lock()
	stop, done := s.gsp.stop, s.gsp.done
	s.gsp.stop = nil
	s.gsp.runMu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
}

// gossipStatus fills the cluster state figures of st.
func (s *Server) gossipStatus(st *wire.StatusOK) {
	h := s.gsp.cur.Load()
	st.Cluster = wireDigest(h)
	if h != nil {
		st.ClusterMembers, st.ClusterRecords = uint64(len(h.state.Claim().Members)), uint64(len(h.state.Records()))
	}
	st.GossipRounds, st.GossipFailed, st.GossipRefused = s.gsp.rounds.Load(), s.gsp.failed.Load(), s.gsp.refused.Load()
}
