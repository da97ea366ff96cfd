package swim

import "github.com/shoalkv/shoal/ringsync/ring"

// Kind is a message's type. It is an append-only enum; zero is invalid.
type Kind uint8

const (
	// KindPing asks Target (the receiver) for an ack of Seq.
	KindPing Kind = iota + 1
	// KindPingReq asks the receiver to ping Target and pass its ack (or a
	// nack) back to the sender under Seq.
	KindPingReq
	// KindAck answers a ping (or relays a target's ack to a ping-req's
	// sender) under Seq.
	KindAck
	// KindNack tells a ping-req's sender that the receiver is up but heard
	// no ack from Target in time.
	KindNack
	// KindGossip carries only Updates.
	KindGossip
)

func (k Kind) String() string {
	switch k {
	case KindPing:
		return "ping"
	case KindPingReq:
		return "ping-req"
	case KindAck:
		return "ack"
	case KindNack:
		return "nack"
	case KindGossip:
		return "gossip"
	}
	return "invalid"
}

// Msg is everything that passes between nodes: a plain struct for the shell
// to encode. Its size is bounded: at most Config.MaxPiggyback updates, and
// node ids of at most ring.MaxIDLen bytes.
type Msg struct {
	Kind Kind
	// Seq matches an ack or nack to the ping or ping-req it answers.
	Seq uint64
	// Target is the member a ping is meant for (a ping that reaches someone
	// else, e.g. after an address was reused, is ignored) or a ping-req
	// asks about.
	Target ring.NodeID
	// Updates are piggybacked gossip, most urgent first.
	Updates []Update
}

// Out is a message to send. The shell sends it best-effort (loss is
// expected and tolerated).
type Out struct {
	To  ring.NodeID
	Msg Msg
}
