package handoff

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/shoalkv/shoal/storaged/hint"
)

// Transfer is the receiver's side of one transfer (one ID) for one process
// life: it opens sessions, takes batches, hands them to its shell to merge
// with the cursor, acks what is durable, reopens after failures, and ends
// with one anti-entropy exchange. The shell starts it with New from the
// durable cursor it stored for the ID, then loops: take Ready and act on it
// in field order (Acks, Close, Open, Merge, Exchange), feed in what
// happens (Batch, Refused, Fail, Durable, Exchanged) and call Tick at
// Ready.Wake, until Ready.Done.
type Transfer struct {
	cfg Config
	id  ID

	durable []byte // the cursor durable in the shell's store
	st      state
	retryAt time.Time
	fails   int // consecutive failures without progress

	// The session (valid in streaming).
	session  uint64
	open     Open
	pos      []byte    // the last accepted batch's Last, or open.After
	granted  uint64    // batches the sender may have sent: Window + acks
	received uint64    // batches accepted, in order
	heard    time.Time // the open or the last accepted batch
	doneRecv bool      // the done batch was accepted

	queue   []*Batch // accepted, not handed out
	merging *Merge   // handed out, Durable not in yet

	high    []byte // the furthest Last accepted in this life
	highSet bool

	out   Ready
	stats Stats
}

type state uint8

const (
	streaming    state = iota // a session is open
	waiting                   // no session: reopen at retryAt
	exchanging                // Exchange handed out, Exchanged not in yet
	exchangeWait              // the exchange failed: retry it at retryAt
	finished
)

// Ready is what a Transfer wants done now. The slices belong to the caller.
type Ready struct {
	// Open, when not nil, is the request that opens a new session: make a
	// stream to ID.From and send it; feed in the batches (Batch) or the
	// refusal (Refused) that answer it, or the stream's failure (Fail).
	Open *Open
	// Acks are to send, in order, on the stream of their session; an ack
	// of a session no longer current may be dropped.
	Acks []Ack
	// Close asks to close the current session's stream (stalled, failed or
	// finished), after sending Acks and before Open.
	Close bool
	// Merge, when not nil, is the batch to merge now: merge its objects
	// (never overwrite) and write its Cursor as the durable cursor of the
	// transfer's ID in the same transaction, then call Durable. At most one
	// is out at a time. A shell that crashes before the commit loses
	// nothing: it restarts from the cursor stored before.
	Merge *Merge
	// Exchange asks for one anti-entropy exchange of the partition with
	// ID.From, all batches being durable; report its end to Exchanged.
	Exchange bool
	// Wake is when to call Tick, zero when no timer is needed.
	Wake time.Time
	// Done is set once the transfer ended, Err nil when the range is all
	// here and the exchange ran: report the transfer done. Err wraps
	// ErrRefused (a final refusal) or ErrStalled (gave up; the Manager
	// retries later from the durable cursor). A Merge handed out before
	// may still commit (report it to Durable) or be dropped: both are safe.
	Done bool
	Err  error
	// Stats count the transfer so far.
	Stats Stats
}

// Merge is a batch to merge, with the cursor to store with it.
type Merge struct {
	Session, Seq uint64
	Objects      []Object
	Cursor       []byte
	Done         bool // the last batch of the range
}

// Stats count a transfer in one process life.
type Stats struct {
	Objects, Bytes int64 // merged durably (Bytes as ObjectSize)
	Batches        int64 // merged durably
	Resent         int64 // batches accepted again after a reopen (at or before the furthest position accepted)
	ResentObjects  int64
	Ignored        int64 // batches of an old session or seen already
	Sessions       int64 // Opens made
	Failures       int64 // sessions and exchanges failed
	Exchanges      int64 // exchanges asked
}

// Add returns the sum of s and o.
func (s Stats) Add(o Stats) Stats {
	return Stats{Objects: s.Objects + o.Objects, Bytes: s.Bytes + o.Bytes, Batches: s.Batches + o.Batches,
		Resent: s.Resent + o.Resent, ResentObjects: s.ResentObjects + o.ResentObjects,
		Ignored: s.Ignored + o.Ignored, Sessions: s.Sessions + o.Sessions,
		Failures: s.Failures + o.Failures, Exchanges: s.Exchanges + o.Exchanges}
}

// New starts transfer id at now, resuming after cursor: the durable cursor
// stored for id (nil or empty: from the start). The first Ready holds the
// Open of session 1.
func New(cfg Config, id ID, cursor []byte, now time.Time) (*Transfer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if id.From == "" || id.To == "" || id.From == id.To {
		return nil, invalidf("transfer %v: from and to must be two node ids", id)
	}
	if len(cursor) > MaxKeyCeiling {
		return nil, invalidf("cursor of %d bytes", len(cursor))
	}
	t := &Transfer{cfg: cfg.WithDefaults(), id: id, durable: bytes.Clone(cursor)}
	t.reopen(now)
	return t, nil
}

// ID returns the transfer's id.
func (t *Transfer) ID() ID { return t.id }

// Cursor returns the durable cursor as the Transfer knows it (the last
// Durable's); the slice belongs to the Transfer.
func (t *Transfer) Cursor() []byte { return t.durable }

// Ready hands over what the inputs so far call for.
func (t *Transfer) Ready() Ready {
	rd := t.out
	rd.Stats = t.stats
	rd.Wake = t.wake()
	t.out = Ready{Done: rd.Done, Err: rd.Err}
	return rd
}

func (t *Transfer) wake() time.Time {
	switch t.st {
	case streaming:
		if t.expecting() {
			return t.heard.Add(t.cfg.BatchDeadline)
		}
	case waiting:
		if t.merging == nil { // else Durable reopens
			return t.retryAt
		}
	case exchangeWait:
		return t.retryAt
	}
	return time.Time{}
}

// expecting reports whether the receiver waits for a batch from the sender.
func (t *Transfer) expecting() bool { return !t.doneRecv && t.received < t.granted }

// Batch feeds in a decoded batch that arrived at now. A batch of another
// session, or one accepted already, is ignored (Stats.Ignored). A batch
// that breaks the protocol (out of order, over the window or the limits,
// keys not ascending after the position) closes the session as failed.
// The Transfer keeps b and its slices: the caller must not change them.
func (t *Transfer) Batch(now time.Time, b *Batch) {
	if t.st != streaming || b.Session != t.session || b.Partition != t.id.Partition || b.Seq <= t.received {
		t.stats.Ignored++
		return
	}
	err := t.accept(b)
	if err != nil {
		t.failSession(now, err)
		return
	}
	t.heard = now
	t.pump()
}

func (t *Transfer) accept(b *Batch) error {
	switch {
	case t.doneRecv:
		return malformedf("batch %d after the done batch %d", b.Seq, t.received)
	case b.Seq != t.received+1:
		return malformedf("batch %d, expected %d", b.Seq, t.received+1)
	case b.Seq > t.granted:
		return malformedf("batch %d beyond the window (%d granted)", b.Seq, t.granted)
	}
	if err := b.check(t.cfg, &t.open, t.pos); err != nil {
		return err
	}
	t.received++
	t.pos = b.Last
	t.doneRecv = b.Done
	if t.highSet && bytes.Compare(b.Last, t.high) <= 0 {
		t.stats.Resent++
		t.stats.ResentObjects += int64(len(b.Objects))
	} else {
		t.high, t.highSet = b.Last, true
	}
	t.queue = append(t.queue, b)
	return nil
}

// pump hands out the next merge when none is out.
func (t *Transfer) pump() {
	if t.merging != nil || len(t.queue) == 0 {
		return
	}
	b := t.queue[0]
	t.queue[0] = nil
	t.queue = t.queue[1:]
	t.merging = &Merge{Session: b.Session, Seq: b.Seq, Objects: b.Objects, Cursor: bytes.Clone(b.Last), Done: b.Done}
	t.out.Merge = t.merging
}

// Durable says the merge handed out (session, seq) committed with its
// cursor at now. The transfer acks it if its session is still open, and
// after the done batch moves on to the exchange. It panics unless that
// merge is out: a shell bug.
func (t *Transfer) Durable(now time.Time, session, seq uint64) {
	m := t.merging
	if m == nil || m.Session != session || m.Seq != seq {
		panic(fmt.Sprintf("handoff: Durable(%d, %d) with merge %+v out", session, seq, m))
	}
	t.merging = nil
	t.durable = m.Cursor
	t.stats.Batches++
	t.stats.Objects += int64(len(m.Objects))
	for _, o := range m.Objects {
		t.stats.Bytes += int64(ObjectSize(o.Key, o.Value))
	}
	t.fails = 0 // progress
	if t.st == finished {
		return
	}
	if t.st == streaming && session == t.session {
		t.out.Acks = append(t.out.Acks, Ack{Partition: t.id.Partition, Session: session, Seq: seq, Cursor: m.Cursor})
		if !m.Done {
			if !t.expecting() { // the sender owed nothing: its time starts now
				t.heard = now
			}
			t.granted++
		}
	}
	if m.Done {
		if t.st == streaming {
			t.out.Close = true
		}
		t.queue = nil
		t.startExchange()
		return
	}
	if t.st == waiting && !now.Before(t.retryAt) {
		t.reopen(now)
		return
	}
	t.pump()
}

// MergeFailed says the merge handed out (session, seq) did not commit
// (a write error, a full disk): nothing of it is durable. The session
// fails as a stalled one does, and the transfer reopens from the durable
// cursor after its back-off, or gives up after Config.MaxFailures. It
// panics unless that merge is out, or if err is nil.
func (t *Transfer) MergeFailed(now time.Time, session, seq uint64, err error) {
	m := t.merging
	if err == nil || m == nil || m.Session != session || m.Seq != seq {
		panic(fmt.Sprintf("handoff: MergeFailed(%d, %d, %v) with merge %+v out", session, seq, err, m))
	}
	t.merging = nil
	if t.st == finished {
		return
	}
	err = fmt.Errorf("handoff: merge of batch %d: %w", seq, err)
	switch t.st {
	case streaming:
		t.failSession(now, err)
	case waiting: // failed already: count this one too
		t.failed(now, err)
	default:
		panic(fmt.Sprintf("handoff: merge out in state %d", t.st))
	}
}

// Refused feeds in the sender's refusal of the session's Open: a final
// one ends the transfer with a *RefusedError, another fails the session
// (back off, reopen). One for another session is ignored.
func (t *Transfer) Refused(now time.Time, r *Refused) {
	if t.st != streaming || r.Session != t.session || r.Partition != t.id.Partition {
		t.stats.Ignored++
		return
	}
	if r.Reason.Final() {
		t.out.Close = true
		t.finish(&RefusedError{Reason: r.Reason, RingVersion: r.RingVersion})
		return
	}
	t.failSession(now, fmt.Errorf("handoff: sender at ring version %d: %s", r.RingVersion, r.Reason))
}

// Fail says session's stream failed at now (it could not be opened, it
// broke, the peer answered an error): back off and reopen. A failure of a
// session no longer current is ignored. It panics if err is nil.
func (t *Transfer) Fail(now time.Time, session uint64, err error) {
	if err == nil {
		panic("handoff: Fail with a nil error")
	}
	if t.st != streaming || session != t.session {
		return
	}
	t.failSession(now, err)
}

// Exchanged says the exchange Ready.Exchange asked for ended at now, err
// nil when it ran to the end: the transfer is done. A failed exchange is
// retried after a back-off, up to Config.MaxFailures times in a row. It
// panics unless an exchange was asked.
func (t *Transfer) Exchanged(now time.Time, err error) {
	if t.st != exchanging {
		panic("handoff: Exchanged with no exchange asked")
	}
	if err == nil {
		t.finish(nil)
		return
	}
	if t.failed(now, err) {
		t.st = exchangeWait
	}
}

// Tick runs the timers at now: the batch deadline, the back-off.
func (t *Transfer) Tick(now time.Time) {
	switch t.st {
	case streaming:
		if t.expecting() && !now.Before(t.heard.Add(t.cfg.BatchDeadline)) {
			t.failSession(now, fmt.Errorf("%w: no batch %d within %v", ErrStalled, t.received+1, t.cfg.BatchDeadline))
		}
	case waiting:
		if t.merging == nil && !now.Before(t.retryAt) {
			t.reopen(now)
		}
	case exchangeWait:
		if !now.Before(t.retryAt) {
			t.startExchange()
		}
	}
}

// failSession closes the session: the batches accepted and not handed out
// are dropped (the next session re-sends them), the merge out goes on.
func (t *Transfer) failSession(now time.Time, err error) {
	t.out.Close = true
	t.queue = nil
	if t.failed(now, err) {
		t.st = waiting
	}
}

// failed counts a failure at now and sets the back-off; it reports false
// when the transfer gave up instead.
func (t *Transfer) failed(now time.Time, err error) bool {
	t.fails++
	t.stats.Failures++
	if t.fails > t.cfg.MaxFailures {
		t.finish(fmt.Errorf("%w: %d failures in a row, the last: %w", ErrStalled, t.fails, err))
		return false
	}
	t.retryAt = now.Add(hint.Backoff(t.fails))
	return true
}

// reopen opens the next session, after the durable cursor.
func (t *Transfer) reopen(now time.Time) {
	t.session++
	t.stats.Sessions++
	t.st = streaming
	t.pos = t.durable
	t.granted, t.received, t.doneRecv = uint64(t.cfg.Window), 0, false
	t.heard = now
	t.open = Open{ID: t.id, Session: t.session, After: bytes.Clone(t.durable), Window: uint32(t.cfg.Window),
		MaxObjects: uint32(t.cfg.MaxObjects), MaxBytes: uint32(t.cfg.MaxBytes)}
	o := t.open
	o.After = bytes.Clone(t.durable)
	t.out.Open = &o
}

func (t *Transfer) startExchange() {
	t.st = exchanging
	t.stats.Exchanges++
	t.out.Exchange = true
}

// finish ends the transfer; the first end stands.
func (t *Transfer) finish(err error) {
	if t.st == finished {
		return
	}
	t.st = finished
	t.queue = nil
	t.out.Done, t.out.Err = true, err
}

// Final reports whether err, a Transfer's end, is a final refusal: the
// Manager drops such a transfer rather than retrying it.
func Final(err error) bool { return errors.Is(err, ErrRefused) }
