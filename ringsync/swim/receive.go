package swim

import (
	"time"

	"github.com/shoalkv/shoal/ringsync/ring"
)

// maxRelays bounds the ping-reqs served at once (each lives one probe
// timeout), so a flood of them cannot grow this node's state without bound.
const maxRelays = 256

// Receive handles msg from member from at now and returns the messages to
// send in answer. It merges the piggybacked updates first (at most
// MaxPiggyback of them; invalid ones are dropped), so an answer carries
// what they changed, such as this node's refutation of a suspicion of it.
// A message from self, or of an invalid kind, is ignored.
func (n *Node) Receive(now time.Time, from ring.NodeID, msg Msg) []Out {
	if from == n.self || from == "" || msg.Kind < KindPing || msg.Kind > KindGossip {
		return nil
	}
	ups := msg.Updates[:min(len(msg.Updates), n.cfg.MaxPiggyback)]
	for _, u := range ups {
		if u.valid() {
			n.apply(now, u)
		}
	}
	if n.members[from] == nil {
		n.Add(now, from)
	}
	out := n.answer(now, from, msg)
	if n.urgent {
		// This node just refuted a suspicion of itself: spread the news now
		// rather than at the next gossip tick (the suspicion's timeout is
		// running everywhere).
		n.urgent = false
		out = n.gossip(out)
	}
	return out
}

// answer handles msg's kind, after its updates were merged.
func (n *Node) answer(now time.Time, from ring.NodeID, msg Msg) []Out {
	switch msg.Kind {
	case KindPing:
		if msg.Target != n.self {
			return nil
		}
		return []Out{{To: from, Msg: Msg{Kind: KindAck, Seq: msg.Seq, Updates: n.piggyback(from)}}}
	case KindPingReq:
		if msg.Target == n.self || msg.Target == from || msg.Target == "" || len(msg.Target) > ring.MaxIDLen || len(n.relays) >= maxRelays {
			return nil
		}
		seq := n.nextSeq()
		n.relays[seq] = &relay{requester: from, seq: msg.Seq, nackAt: now.Add(n.aware.scale(n.cfg.ProbeTimeout))}
		return []Out{{To: msg.Target, Msg: Msg{Kind: KindPing, Seq: seq, Target: msg.Target, Updates: n.piggyback(msg.Target)}}}
	case KindAck:
		if p := n.probe; p != nil && p.seq == msg.Seq && !p.acked {
			n.acked(now, from)
			return nil
		}
		if r := n.relays[msg.Seq]; r != nil {
			delete(n.relays, msg.Seq)
			return []Out{{To: r.requester, Msg: Msg{Kind: KindAck, Seq: r.seq, Updates: n.piggyback(r.requester)}}}
		}
	case KindNack:
		if p := n.probe; p != nil && p.seq == msg.Seq && p.nacks < p.asked {
			p.nacks++
		}
	}
	return nil
}

// apply merges one update.
func (n *Node) apply(now time.Time, u Update) {
	if u.Node == n.self {
		n.applySelf(u)
		return
	}
	m := n.members[u.Node]
	switch {
	case m == nil:
		n.learn(now, u)
	case m.state == Suspect && u.State == Suspect && u.Incarnation == m.inc:
		if !m.susp.confirm(u.From) {
			return
		}
	case !u.Overrides(m.inc, m.state):
		return
	case u.State == Suspect:
		n.suspect(now, m, u.Incarnation, u.From)
		return
	default:
		n.set(now, m, u.Incarnation, u.State, u.From)
	}
	n.queue.push(u)
}

// applySelf handles news of this node. A claim that it is suspect, dead or
// left at its incarnation or above is refuted by raising the incarnation
// past it (this node alone raises its own); so is a claim of an alive
// incarnation above its own (a previous life's). A claim below its
// incarnation was refuted already, but its sender missed the refutation
// (its spreading is bounded): the refutation is queued again, so the
// answer carries it. Being suspected is evidence of poor local health.
func (n *Node) applySelf(u Update) {
	if n.left || (u.State == Alive && u.Incarnation <= n.inc) {
		return
	}
	if u.Incarnation < n.inc {
		n.queue.push(n.selfUpdate())
		return
	}
	if u.State != Alive {
		n.aware.apply(1)
		n.urgent = true
	}
	n.inc = u.Incarnation + 1
	n.queue.push(n.selfUpdate())
}
