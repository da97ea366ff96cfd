package handoff

import (
	"bytes"
	"cmp"
	"fmt"

	"github.com/shoalkv/shoal/ringsync/ring"
)

// Bounds of the messages, for their wire forms and decoders: a decoder
// refuses anything beyond them before allocating.
const (
	// MaxWindow bounds Open.Window.
	MaxWindow = 16
	// MaxBatchObjects bounds Open.MaxObjects and len(Batch.Objects).
	MaxBatchObjects = 10000
	// MaxBatchBytes bounds Open.MaxBytes. A batch holds at most MaxBytes
	// before its last object, plus that object: under 4 MiB + one object of
	// MaxValueCeiling, which keeps a batch under wire.MaxFrame.
	MaxBatchBytes = 4 << 20
	// MaxKeyCeiling bounds an object's key (bbolt's key limit less the
	// store's 2-byte partition prefix), Open.After, Batch.Last and
	// Ack.Cursor.
	MaxKeyCeiling = 32<<10 - 2
	// MaxValueCeiling bounds an object's value: wire.DefaultMaxObject.
	MaxValueCeiling = 8 << 20
	// objectOverhead is what ObjectSize adds to an object's key and value
	// for its framing in a batch (an array header and two length-prefixed
	// byte strings, rounded up).
	objectOverhead = 16
)

// ID names one transfer: partition Partition of ring version RingVersion,
// from the node From that holds it to the node To that gains a replica of
// it. The receiver's durable cursor is keyed by it.
type ID struct {
	Partition   uint32
	RingVersion uint64
	From, To    ring.NodeID
}

func (id ID) String() string {
	return fmt.Sprintf("p%d@v%d %s→%s", id.Partition, id.RingVersion, id.From, id.To)
}

// Compare orders ids by partition, then ring version, from and to: the
// order the Manager breaks ties in and Status lists them in.
func (id ID) Compare(o ID) int {
	return cmp.Or(cmp.Compare(id.Partition, o.Partition), cmp.Compare(id.RingVersion, o.RingVersion),
		cmp.Compare(id.From, o.From), cmp.Compare(id.To, o.To))
}

// Object is one record of the range: its key (without the store's
// partition prefix) and its value (the encoded dvv.Set), opaque here.
type Object struct {
	Key, Value []byte
}

// ObjectSize is what an object counts for against a batch's MaxBytes and
// the byte throttle: its key and value plus a fixed framing overhead.
func ObjectSize(key, value []byte) int { return len(key) + len(value) + objectOverhead }

// Open asks the sender (From) for the objects of Partition after After, in
// batches. It opens session Session of the transfer (1 for the first of a
// Transfer's life, one more for each reopen). A session lives on one
// stream: the shell feeds a Transfer only the answers that come on the
// stream of its current session, so sessions of an earlier process life,
// numbered from 1 again, never meet it.
type Open struct {
	ID
	Session uint64
	// After is the receiver's durable cursor: send keys strictly after it.
	// Empty: from the start of the range. At most MaxKeyCeiling bytes.
	After []byte
	// Window is how many batches the sender may send beyond the acks
	// (1..MaxWindow); MaxObjects and MaxBytes bound each batch
	// (1..MaxBatchObjects, 1..MaxBatchBytes).
	Window, MaxObjects, MaxBytes uint32
}

// Check reports whether o is within the bounds, wrapping ErrMalformed.
func (o *Open) Check() error {
	switch {
	case o.From == "" || o.To == "" || len(o.From) > ring.MaxIDLen || len(o.To) > ring.MaxIDLen:
		return malformedf("open: node ids %q, %q", o.From, o.To)
	case o.Session == 0:
		return malformedf("open: session 0")
	case len(o.After) > MaxKeyCeiling:
		return malformedf("open: cursor of %d bytes", len(o.After))
	case o.Window < 1 || o.Window > MaxWindow:
		return malformedf("open: window %d", o.Window)
	case o.MaxObjects < 1 || o.MaxObjects > MaxBatchObjects:
		return malformedf("open: max objects %d", o.MaxObjects)
	case o.MaxBytes < 1 || o.MaxBytes > MaxBatchBytes:
		return malformedf("open: max bytes %d", o.MaxBytes)
	}
	return nil
}

// Batch is the sender's seq-th batch of a session (from 1, one more each).
type Batch struct {
	Partition uint32
	Session   uint64
	Seq       uint64
	// Objects are ascending by key, every key after the session's previous
	// position (Open.After, then each batch's Last); at most the Open's
	// MaxObjects, and their ObjectSize sum before the last one under its
	// MaxBytes. The slices belong to whoever holds the Batch.
	Objects []Object
	// Last is the sender's position after this batch: every key of the
	// range up to and including Last has been sent. It is at or after the
	// last object's key, and after the previous position unless Done (a
	// sender may skip keys, never stand still). The receiver's cursor.
	Last []byte
	// Done marks the last batch of the range.
	Done bool
}

// Bytes is what b counts for against the byte throttle: the ObjectSize sum
// of its objects.
func (b *Batch) Bytes() int {
	n := 0
	for _, o := range b.Objects {
		n += ObjectSize(o.Key, o.Value)
	}
	return n
}

// check reports whether b is a well-formed batch after position pos under
// cfg's and open's limits.
func (b *Batch) check(cfg Config, open *Open, pos []byte) error {
	if len(b.Objects) > int(open.MaxObjects) {
		return malformedf("batch %d: %d objects, at most %d", b.Seq, len(b.Objects), open.MaxObjects)
	}
	if len(b.Last) > MaxKeyCeiling {
		return malformedf("batch %d: position of %d bytes", b.Seq, len(b.Last))
	}
	prev, size := pos, 0
	for i, o := range b.Objects {
		switch {
		case size >= int(open.MaxBytes):
			return malformedf("batch %d: over %d bytes before object %d", b.Seq, open.MaxBytes, i)
		case len(o.Key) < 1 || len(o.Key) > cfg.MaxKey:
			return malformedf("batch %d: key of %d bytes", b.Seq, len(o.Key))
		case len(o.Value) > cfg.MaxValue:
			return malformedf("batch %d: value of %d bytes", b.Seq, len(o.Value))
		case bytes.Compare(o.Key, prev) <= 0 && (i > 0 || len(prev) > 0):
			return malformedf("batch %d: key %q not after %q", b.Seq, o.Key, prev)
		}
		prev, size = o.Key, size+ObjectSize(o.Key, o.Value)
	}
	if len(b.Objects) > 0 && bytes.Compare(b.Last, prev) < 0 {
		return malformedf("batch %d: position %q before its last key %q", b.Seq, b.Last, prev)
	}
	if !b.Done && bytes.Compare(b.Last, pos) <= 0 {
		return malformedf("batch %d: position %q does not advance past %q", b.Seq, b.Last, pos)
	}
	if b.Done && bytes.Compare(b.Last, pos) < 0 {
		return malformedf("batch %d: position %q goes back before %q", b.Seq, b.Last, pos)
	}
	return nil
}

// Ack tells the sender that batches up to Seq of Session are durable at the
// receiver, Cursor being the last one's Last; each acked batch lets the
// sender send one more.
type Ack struct {
	Partition uint32
	Session   uint64
	Seq       uint64
	Cursor    []byte // at most MaxKeyCeiling bytes
}

// Refusal is why a sender refuses an Open. The zero value is none.
type Refusal uint8

// Refusals. Stale and NotHeld end the transfer (its plan is outdated);
// Behind and Busy are retried after a back-off.
const (
	RefuseNone    Refusal = iota
	RefuseStale           // the receiver's ring version is older than the sender's
	RefuseBehind          // the sender's ring version is older than the receiver's
	RefuseNotHeld         // the sender holds no replica of the partition
	RefuseBusy            // the sender runs as many transfers as it allows
	refuseEnd
)

var refusalNames = [...]string{"none", "stale ring version", "sender behind", "partition not held", "sender busy"}

func (r Refusal) String() string {
	if r < refuseEnd {
		return refusalNames[r]
	}
	return fmt.Sprintf("refusal(%d)", uint8(r))
}

// Final reports whether r ends the transfer rather than being retried.
func (r Refusal) Final() bool { return r == RefuseStale || r == RefuseNotHeld }

// Refused is the sender's answer to an Open it will not serve, instead of
// batches.
type Refused struct {
	Partition   uint32
	Session     uint64
	Reason      Refusal // not RefuseNone
	RingVersion uint64  // the sender's
}

// Refuse is the sender's check of o against its own ring version: the
// refusal to answer with, or RefuseNone to serve it. Whether it holds the
// partition (RefuseNotHeld) and its concurrency (RefuseBusy) are its shell's
// checks.
func Refuse(o *Open, ringVersion uint64) Refusal {
	switch {
	case o.RingVersion < ringVersion:
		return RefuseStale
	case o.RingVersion > ringVersion:
		return RefuseBehind
	}
	return RefuseNone
}
