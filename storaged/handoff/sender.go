package handoff

import (
	"bytes"
	"fmt"
)

// Sender is the sender's side of one session: which range to read next,
// how far ahead of the acks it may run, and the batches it sends. Its shell
// accepts an Open (after Refuse and its own checks), then loops: while Next
// names a read, scan that range in one short read transaction through a
// Batcher, Seal the result, wait what the node's byte throttle
// (hint.TokenBucket.Reserve of Batch.Bytes) says and send it; feed each Ack
// to Ack.
type Sender struct {
	open     Open
	pos      []byte
	seq      uint64 // batches sealed
	acked    uint64
	done     bool
	reading  bool
	maxObjs  int
	maxBytes int
	sent     SenderStats
}

// SenderStats count what a Sender sent, for status.
type SenderStats struct {
	Batches, Objects, Bytes int64 // Bytes as Batch.Bytes
}

// Read is the range a Sender wants read next: keys strictly after After
// (empty: from the start), with the limits to hand a Batcher.
type Read struct {
	After                []byte
	MaxObjects, MaxBytes int
}

// NewSender accepts o under the sender's own cfg: the batch limits are the
// smaller of o's and cfg's, the window o's capped by cfg's. o must pass
// Open.Check (else the error wraps ErrMalformed); the Sender copies what it
// keeps.
func NewSender(cfg Config, o *Open) (*Sender, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := o.Check(); err != nil {
		return nil, err
	}
	cfg = cfg.WithDefaults()
	s := &Sender{open: *o, pos: bytes.Clone(o.After),
		maxObjs: min(int(o.MaxObjects), cfg.MaxObjects), maxBytes: min(int(o.MaxBytes), cfg.MaxBytes)}
	s.open.After = nil
	s.open.Window = min(o.Window, uint32(cfg.Window))
	return s, nil
}

// Next returns the range to read next, and false when none may be read
// now: the window is full (wait for an Ack), a read is out (Seal it) or the
// range is done.
func (s *Sender) Next() (Read, bool) {
	if s.done || s.reading || s.seq-s.acked >= uint64(s.open.Window) {
		return Read{}, false
	}
	s.reading = true
	return Read{After: s.pos, MaxObjects: s.maxObjs, MaxBytes: s.maxBytes}, true
}

// Seal makes the batch of the read Next named: objects (what the Batcher
// took, ascending; the Batch holds them), last the position reached (the
// last key read, taken or not, or the end of the range) and done whether
// the range ended there. It panics unless a read is out, or if last goes
// back (a broken scan).
func (s *Sender) Seal(objects []Object, last []byte, done bool) *Batch {
	if !s.reading {
		panic("handoff: Seal with no read out")
	}
	if bytes.Compare(last, s.pos) < 0 || (!done && bytes.Equal(last, s.pos)) {
		panic(fmt.Sprintf("handoff: sender position %q does not advance past %q", last, s.pos))
	}
	s.reading = false
	s.seq++
	s.pos = bytes.Clone(last)
	s.done = done
	b := &Batch{Partition: s.open.Partition, Session: s.open.Session, Seq: s.seq,
		Objects: objects, Last: bytes.Clone(last), Done: done}
	s.sent.Batches++
	s.sent.Objects += int64(len(objects))
	s.sent.Bytes += int64(b.Bytes())
	return b
}

// Stats returns what the Sender sealed so far.
func (s *Sender) Stats() SenderStats { return s.sent }

// Ack takes the receiver's ack: batches up to a.Seq are durable there, and
// as many more may be sent. An ack for another session, or for a batch not
// sent, is an error wrapping ErrMalformed (close the session); an ack for a
// batch acked already is ignored.
func (s *Sender) Ack(a *Ack) error {
	switch {
	case a.Session != s.open.Session || a.Partition != s.open.Partition:
		return malformedf("ack for p%d session %d on p%d session %d", a.Partition, a.Session, s.open.Partition, s.open.Session)
	case a.Seq > s.seq:
		return malformedf("ack of batch %d, %d sent", a.Seq, s.seq)
	}
	s.acked = max(s.acked, a.Seq)
	return nil
}

// Finished reports whether the done batch was sealed and every batch acked:
// the session may close.
func (s *Sender) Finished() bool { return s.done && s.acked == s.seq }

// Batcher fills one batch during a scan: the shell offers each object in
// key order and stops at the first Add that returns false (that object
// goes in the next batch; its key is not part of this batch's position).
// The zero value is not usable: use Read.Batcher.
type Batcher struct {
	maxObjs, maxBytes int
	objs              []Object
	bytes             int
}

// Batcher returns an empty Batcher with r's limits.
func (r Read) Batcher() *Batcher {
	return &Batcher{maxObjs: r.MaxObjects, maxBytes: r.MaxBytes}
}

// Add takes the object (key, value), keeping the slices, and reports
// whether it fit: the batch has room for one more object and holds fewer
// than MaxBytes so far. The first object always fits, whatever its size.
func (b *Batcher) Add(key, value []byte) bool {
	if len(b.objs) >= b.maxObjs || b.bytes >= b.maxBytes {
		return false
	}
	b.objs = append(b.objs, Object{Key: key, Value: value})
	b.bytes += ObjectSize(key, value)
	return true
}

// Full reports whether the next Add will refuse: scanning on is useless.
func (b *Batcher) Full() bool { return len(b.objs) >= b.maxObjs || b.bytes >= b.maxBytes }

// Objects returns what was taken, in order; the slice belongs to the caller.
func (b *Batcher) Objects() []Object { return b.objs }

// Bytes is the ObjectSize sum of what was taken.
func (b *Batcher) Bytes() int { return b.bytes }
