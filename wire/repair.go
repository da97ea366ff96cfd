package wire

import (
	"fmt"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/shoalkv/shoal/ringsync/ring"
)

// On-demand repair (`shoal repair`): a full anti-entropy pass run now, on one
// node, over the partitions it replicates (or some of them), each exchanged
// with each of its other replicas as the scheduled cycle does. Two requests,
// both answered by RepairOK:
//
//	Repair       → RepairOK   start a repair; the answer carries its id
//	RepairStatus → RepairOK   how a repair goes (poll until !Running)
//
// A long repair holds no request open: the caller polls. Client and node
// certificates may ask. The node runs at most one repair at a time (a second
// is refused with ErrBusy, naming the running one), and a repair's exchanges
// take the node's one exchange slot and its anti-entropy byte throttle in
// turn with the scheduled cycle: asking for a repair never moves bytes
// faster than AntiEntropyRate.
const (
	// MaxRepairFailures is the most failed exchanges a RepairProgress
	// lists (the first ones); RepairProgress.Failed counts all.
	MaxRepairFailures = 64
	// MaxRepairError is the longest error text a RepairFailure carries; a
	// node cuts longer ones.
	MaxRepairError = 1024
)

// Repair asks a node to run a full exchange now of Partitions (any order,
// repeats ignored, at most MaxExchangeIDs; empty: every partition the node
// replicates). A partition out of the ring's range is refused
// (ErrBadRequest), one the node does not replicate too (ErrMismatch), and so
// is any repair while one runs (ErrBusy).
type Repair struct {
	_msgpack   struct{} `msgpack:",as_array"`
	Partitions ExchangeIDs
}

// RepairStatus asks how repair ID goes; ID 0 asks for the node's latest.
// A node keeps its last few repairs since it started; an id it does not
// hold is refused (ErrBadRequest).
type RepairStatus struct {
	_msgpack struct{} `msgpack:",as_array"`
	ID       uint64
}

// RepairOK answers Repair (the repair as it started) and RepairStatus.
type RepairOK struct {
	_msgpack struct{} `msgpack:",as_array"`
	Repair   RepairProgress
}

// RepairProgress is where one repair stands. The zero value (ID 0) means no
// repair since the node started.
type RepairProgress struct {
	_msgpack struct{} `msgpack:",as_array"`
	// ID names the repair on its node (random, never 0).
	ID uint64
	// Running is true until the repair has run every exchange it set out
	// to (a node that stops abandons it, and forgets it).
	Running bool
	// Partitions is how many partitions the repair exchanges, and
	// PartitionsDone how many it has finished (each with all of its other
	// replicas, failed or not).
	Partitions, PartitionsDone uint32
	// Exchanges counts the exchanges (one partition with one peer) that ran
	// to the end; Failed those that failed, or were skipped because their
	// peer had failed earlier in the repair.
	Exchanges, Failed uint64
	// KeysRepaired counts keys fetched and merged here or pushed to a peer.
	KeysRepaired uint64
	// StartedMS is when the repair started (unix milliseconds, the node's
	// clock), and TookMS how long it has run, or ran once done.
	StartedMS int64
	TookMS    uint64
	// Failures lists the first MaxRepairFailures failed exchanges, in the
	// order they failed.
	Failures RepairFailures
}

// RepairFailure is one failed exchange of a repair.
type RepairFailure struct {
	Partition uint32
	Peer      ring.NodeID
	// Error says why, cut to MaxRepairError bytes.
	Error string
}

// RepairFailures encode as an array of [partition, peer, error] triples;
// decoding refuses more than MaxRepairFailures of them, or an error text
// over MaxRepairError bytes. Empty decodes as nil.
type RepairFailures []RepairFailure

// EncodeMsgpack implements msgpack.CustomEncoder.
func (fs RepairFailures) EncodeMsgpack(e *msgpack.Encoder) error {
	if err := e.EncodeArrayLen(len(fs)); err != nil {
		return err
	}
	for _, f := range fs {
		if err := e.EncodeArrayLen(3); err != nil {
			return err
		}
		if err := e.EncodeUint32(f.Partition); err != nil {
			return err
		}
		if err := e.EncodeString(string(f.Peer)); err != nil {
			return err
		}
		if err := e.EncodeString(f.Error); err != nil {
			return err
		}
	}
	return nil
}

// DecodeMsgpack implements msgpack.CustomDecoder. Strings are bounded by the
// bytes present (Decode's structural check ran first).
func (fs *RepairFailures) DecodeMsgpack(d *msgpack.Decoder) error {
	n, err := exchangeList(d, "repair failures", MaxRepairFailures)
	if err != nil || n == 0 {
		*fs = nil
		return err
	}
	out := make(RepairFailures, n)
	for i := range out {
		if m, err := d.DecodeArrayLen(); err != nil || m != 3 {
			return fmt.Errorf("%w: repair failure %d: want 3 fields, found %d (%v)", ErrBadRequest, i, m, err)
		}
		f := &out[i]
		if f.Partition, err = d.DecodeUint32(); err != nil {
			return fmt.Errorf("%w: repair failure %d: partition: %w", ErrBadRequest, i, err)
		}
		peer, err := d.DecodeString()
		if err != nil {
			return fmt.Errorf("%w: repair failure %d: peer: %w", ErrBadRequest, i, err)
		}
		f.Peer = ring.NodeID(peer)
		if f.Error, err = d.DecodeString(); err != nil {
			return fmt.Errorf("%w: repair failure %d: error: %w", ErrBadRequest, i, err)
		}
		if len(f.Error) > MaxRepairError {
			return fmt.Errorf("%w: repair failure %d: error text: %d bytes, limit %d", ErrTooLarge, i, len(f.Error), MaxRepairError)
		}
	}
	*fs = out
	return nil
}
