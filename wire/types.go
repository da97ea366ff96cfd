package wire

import "fmt"

// Type identifies a message. The numbering is an append-only enum: values are
// never reused or renumbered, and 0 is invalid so that a zeroed frame is never
// mistaken for a request.
type Type uint8

const (
	TypeInvalid    Type = 0
	TypeHello      Type = 1  // Hello → HelloOK: first request of every connection
	TypeHelloOK    Type = 2  // response to Hello
	TypeError      Type = 3  // response carrying an Error
	TypeCoordinate Type = 4  // Coordinate → Object: assign a dot, merge, persist
	TypeObject     Type = 5  // response carrying the resulting object
	TypeReplicate  Type = 6  // Replicate → Ack: merge an object and persist
	TypeAck        Type = 7  // empty success response
	TypeGet        Type = 8  // Get → GetOK
	TypeGetOK      Type = 9  // response to Get
	TypeRing       Type = 10 // Ring → RingOK
	TypeRingOK     Type = 11 // response to Ring
	TypeStatus     Type = 12 // Status → StatusOK
	TypeStatusOK   Type = 13 // response to Status
	TypeHandoff    Type = 14 // Handoff → Ack: node-to-node transfer of objects

	TypeExchangeTop      Type = 15 // ExchangeTop → ExchangeTopOK: anti-entropy, a partition's top level
	TypeExchangeTopOK    Type = 16 // response to ExchangeTop
	TypeExchangeLeaves   Type = 17 // ExchangeLeaves → ExchangeLeavesOK: leaves under some branches
	TypeExchangeLeavesOK Type = 18 // response to ExchangeLeaves
	TypeExchangeKeys     Type = 19 // ExchangeKeys → ExchangeKeysOK: key hashes in some leaves
	TypeExchangeKeysOK   Type = 20 // response to ExchangeKeys

	TypeRepair       Type = 21 // Repair → RepairOK: start a full anti-entropy pass now
	TypeRepairStatus Type = 22 // RepairStatus → RepairOK: how a repair goes
	TypeRepairOK     Type = 23 // response to Repair and RepairStatus

	TypeExchangeClocks   Type = 24 // ExchangeClocks → ExchangeClocksOK: version vectors of some keys
	TypeExchangeClocksOK Type = 25 // response to ExchangeClocks

	TypeGossip   Type = 26 // Gossip → GossipOK: cluster state digest, and the state on a mismatch
	TypeGossipOK Type = 27 // response to Gossip

	TypeSwim Type = 28 // Swim → Ack: one failure-detector message, node to node

	typeUpperBound Type = 29 // above every assigned value (some below may be unassigned)
)

var typeNames = [...]string{
	TypeInvalid:    "invalid",
	TypeHello:      "hello",
	TypeHelloOK:    "hello-ok",
	TypeError:      "error",
	TypeCoordinate: "coordinate",
	TypeObject:     "object",
	TypeReplicate:  "replicate",
	TypeAck:        "ack",
	TypeGet:        "get",
	TypeGetOK:      "get-ok",
	TypeRing:       "ring",
	TypeRingOK:     "ring-ok",
	TypeStatus:     "status",
	TypeStatusOK:   "status-ok",
	TypeHandoff:    "handoff",

	TypeExchangeTop:      "exchange-top",
	TypeExchangeTopOK:    "exchange-top-ok",
	TypeExchangeLeaves:   "exchange-leaves",
	TypeExchangeLeavesOK: "exchange-leaves-ok",
	TypeExchangeKeys:     "exchange-keys",
	TypeExchangeKeysOK:   "exchange-keys-ok",

	TypeRepair:       "repair",
	TypeRepairStatus: "repair-status",
	TypeRepairOK:     "repair-ok",

	TypeExchangeClocks:   "exchange-clocks",
	TypeExchangeClocksOK: "exchange-clocks-ok",

	TypeGossip:   "gossip",
	TypeGossipOK: "gossip-ok",
	TypeSwim:     "swim",
}

// Known reports whether t is an assigned, valid message type.
func (t Type) Known() bool {
	return t > TypeInvalid && t < typeUpperBound && int(t) < len(typeNames) && typeNames[t] != ""
}

func (t Type) String() string {
	if int(t) < len(typeNames) && typeNames[t] != "" {
		return typeNames[t]
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}
