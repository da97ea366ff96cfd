package swim

import (
	"slices"
	"time"

	"github.com/shoalkv/shoal/ringsync/ring"
)

// probe is one probe period's ping of one member.
type probe struct {
	target  ring.NodeID
	seq     uint64
	timeout time.Time // the direct ping's deadline: ping-reqs go out then
	end     time.Time // the period's end: no ack by then, the target is suspect
	// indirect is set once the ping-reqs went out, to asked members.
	indirect bool
	asked    int
	nacks    int
	acked    bool
}

// relay is a ping sent on behalf of another member's ping-req.
type relay struct {
	requester ring.NodeID
	seq       uint64 // the requester's
	nackAt    time.Time
}

// enlist puts id at a random place in what remains of the current round,
// unless it is there already.
func (n *Node) enlist(id ring.NodeID) {
	if slices.Contains(n.round[n.next:], id) {
		return
	}
	pos := n.next + n.rng.IntN(len(n.round)-n.next+1)
	n.round = slices.Insert(n.round, pos, id)
}

// target returns the next member to probe, or "" when there is none. The
// round is the probeable members in a random order; a new round is drawn
// when one ends. Members no longer probeable are skipped, so a round never
// lasts more periods than it has members, and a probeable member is probed
// once per round: at most 2m−1 periods apart, for m members.
func (n *Node) target() ring.NodeID {
	for range 2 {
		for n.next < len(n.round) {
			id := n.round[n.next]
			n.next++
			if m := n.members[id]; m != nil && m.probeable() {
				return id
			}
		}
		n.round = n.sortedIDs((*member).probeable)
		n.rng.Shuffle(len(n.round), func(i, j int) { n.round[i], n.round[j] = n.round[j], n.round[i] })
		n.next = 0
	}
	return ""
}

func (n *Node) nextSeq() uint64 {
	n.seq++
	return n.seq
}

// tickProbe advances the probe in progress and starts the next one when due.
func (n *Node) tickProbe(now time.Time, out []Out) []Out {
	if p := n.probe; p != nil {
		if !now.Before(p.end) {
			n.finish(now)
		} else if !p.acked && !p.indirect && !now.Before(p.timeout) {
			out = n.askOthers(p, out)
		}
	}
	if n.left || n.probe != nil || now.Before(n.nextProbe) {
		return out
	}
	id := n.target()
	if id == "" {
		n.nextProbe = now.Add(n.cfg.ProbeInterval)
		return out
	}
	p := &probe{target: id, seq: n.nextSeq(),
		timeout: now.Add(n.aware.scale(n.cfg.ProbeTimeout)), end: now.Add(n.aware.scale(n.cfg.ProbeInterval))}
	n.probe = p
	n.nextProbe = p.end
	return append(out, Out{To: id, Msg: Msg{Kind: KindPing, Seq: p.seq, Target: id, Updates: n.piggyback(id)}})
}

// askOthers sends p's ping-reqs to up to IndirectChecks random alive
// members other than the target.
func (n *Node) askOthers(p *probe, out []Out) []Out {
	p.indirect = true
	ids := n.sortedIDs(func(m *member) bool { return m.state == Alive && m.id != p.target })
	n.rng.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	ids = ids[:min(len(ids), n.cfg.IndirectChecks)]
	p.asked = len(ids)
	for _, id := range ids {
		out = append(out, Out{To: id, Msg: Msg{Kind: KindPingReq, Seq: p.seq, Target: p.target, Updates: n.piggyback(id)}})
	}
	return out
}

// finish ends the probe in progress at the end of its period. Unacked, its
// target becomes suspect (or this node confirms its own suspicion), unless
// local health awareness finds the failure is this node's: a period that
// ended before this node ran to send its ping-reqs proves nothing of the
// target. Answers missing from the asked members raise the local-health
// score.
func (n *Node) finish(now time.Time) {
	p := n.probe
	n.probe = nil
	if p.acked {
		return
	}
	if n.aware.enabled() {
		if !p.indirect {
			n.aware.apply(1)
			return
		}
		n.aware.apply(p.asked - p.nacks)
	}
	m := n.members[p.target]
	if m == nil || !m.probeable() {
		return
	}
	if m.state == Suspect {
		if m.susp.confirm(n.self) {
			n.queue.push(Update{Node: m.id, Incarnation: m.inc, State: Suspect, From: n.self})
		}
		return
	}
	n.suspect(now, m, m.inc, n.self)
}

// acked records an ack of the probe in progress at now: a direct one within
// the probe timeout is evidence of good health.
func (n *Node) acked(now time.Time, from ring.NodeID) {
	p := n.probe
	p.acked = true
	if from == p.target && !now.After(p.timeout) {
		n.aware.apply(-1)
	}
}

// tickRelays nacks the ping-reqs whose target did not ack in time.
func (n *Node) tickRelays(now time.Time, out []Out) []Out {
	var due []uint64
	for seq, r := range n.relays {
		if !now.Before(r.nackAt) {
			due = append(due, seq)
		}
	}
	slices.Sort(due)
	for _, seq := range due {
		r := n.relays[seq]
		delete(n.relays, seq)
		out = append(out, Out{To: r.requester, Msg: Msg{Kind: KindNack, Seq: r.seq, Updates: n.piggyback(r.requester)}})
	}
	return out
}
