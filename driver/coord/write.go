package coord

import (
	"fmt"

	"github.com/shoalkv/shoal/wire"
	"github.com/shoalkv/shoal/wire/dvv"
)

// Write runs one write over its plan (paper §4.5–4.6, client-driven
// coordination: DESIGN.md §2):
//
//  1. Coordinate at the first slot that accepts, one attempt at a time, in
//     coordination order (primaries believed up, then hinted stand-ins,
//     then primaries believed down). A slot whose attempt fails gets a
//     spare (a hinted stand-in for the same owner) and is tried again
//     after the others.
//  2. A refusal every node would repeat (wire.Class.Final) ends the write:
//     Refused, or Failed with Unknown when this attempt (an answer that
//     failed this side's checks) or an earlier one may have applied it
//     (such a write is not a plain refusal).
//  3. Replicate the coordinator's object to every other slot at once; a
//     slot whose node fails moves on to a spare, unless the failure was
//     final or the write's deadline passed (Expire).
//  4. Succeed at Need acknowledgements, the coordinator's included, with
//     NeedPrimary of them from primaries. A write that fails once a
//     coordinator accepted it is Unknown: the coordinator holds it durably.
//  5. Replication goes on after the result, until every slot has the
//     write or gave up (Done), so all N replicas get it though the caller
//     waited only for W.
//  6. A slot with no stand-in left for its owner (a primary believed down
//     when planned or failed while coordinating, no fallback left; or a
//     replication that failed with no spare left) also has the write kept
//     as a hint for its owner at the coordinator's node: an extra
//     Replicate to that node with HintFor the owner, so the owner gets the
//     write by hint delivery once it is back (storaged/delivery.go), not
//     only at its next read repair. That is what keeps a cluster of fewer
//     than N+1 live nodes converging (a 3-node cluster at N=3 with one
//     node down has no fallback at all). The coordinator holds it because
//     it is the one node this write has proven live, its object is
//     exactly what is sent (no other write merged in first), and its slot
//     makes no replication send of its own. The hinted copy counts toward
//     neither Need nor NeedPrimary (the node acknowledged the write once,
//     as coordinator), its failure is no cause of the write's and is not
//     retried elsewhere, and Done waits for it.
//
// The shell makes each Send, answers it with Answer, and calls Ready after
// every input. Abandon says the caller stopped waiting: it decides the
// result (once no coordination attempt is in flight), but the replication
// sends go on.
type Write struct {
	plan  *Plan
	tally Tally

	// Coordination.
	queue   []int  // slots still to try as coordinator, in order
	coord   int    // the coordinator's slot; -1 until one accepted
	asking  SendID // the coordination attempt in flight; 0 when none
	askSlot int    // its slot
	unknown bool   // a coordination attempt may have applied the write
	obj     dvv.Set

	// Replication.
	reps  []replica // per slot; the coordinator's stays idle
	left  int       // replication slots not yet ended
	hints int       // hint sends to make or in flight (step 6)

	causes  []Cause
	ended   error // Abandon's cause
	expired bool
	last    SendID
	out     []Send
	result  WriteResult
}

// replica is one slot's replication.
type replica struct {
	state  repState
	send   SendID  // in flight when state is repInFlight
	causes []Cause // the slot's failures, the write's once the slot ends
	// doubted: the slot's node is believed down or failed this write's
	// coordination, and no stand-in took its place; its owner gets a hint
	// at the coordinator as replication starts (step 6).
	doubted bool
	// hint is the hint kept for the slot's owner at the coordinator:
	// repIdle when none, then repToSend, repInFlight (hintSend), repEnded.
	hint     repState
	hintSend SendID
}

type repState uint8

const (
	repIdle     repState = iota // the coordinator's slot
	repToSend                   // a send to hand out in the next Ready
	repInFlight                 // a send is out
	repEnded                    // acknowledged, or gave up
)

// WriteResult is a write's outcome.
type WriteResult struct {
	Verdict Verdict
	// Object is the coordinator's stored object (Succeeded).
	Object dvv.Set
	// Refusal is the node that refused and its answer (Refused).
	Refusal Cause
	// Failure says how the write fell short (Failed).
	Failure Failure
}

// WriteReady is what a Write wants done now.
type WriteReady struct {
	// Sends are to be made, each exactly once. The slice belongs to the
	// machine and is valid until the next call of Ready.
	Sends []Send
	// Result is the outcome once decided (Verdict other than Pending); it
	// stays the same in every later Ready.
	Result WriteResult
	// Done: the result is decided and no send is in flight or will follow.
	// Nothing more is to be fed in.
	Done bool
}

// NewWrite starts a write over p, which it takes over, needing q. It
// panics unless q.Need >= 1 (WriteQuorum over an empty plan, or W < 1, is
// the caller's to refuse). The first Ready makes the first attempt.
func NewWrite(p *Plan, q Quorum) *Write {
	if q.Need < 1 {
		panic(fmt.Sprintf("coord: write quorum %+v needs nothing", q))
	}
	w := &Write{plan: p, tally: Tally{Quorum: q}, queue: p.coordinationOrder(), coord: -1,
		reps: make([]replica, p.Len()), out: make([]Send, 0, max(p.Len()-1, 1))}
	for i := range w.reps {
		w.reps[i].doubted = p.believedDown(i)
	}
	return w
}

// Ready makes the sends the inputs so far call for and reports the result.
// During coordination it makes the next attempt when none is in flight, or
// decides the write Failed when no slot is left to try or the caller
// abandoned it: the caller's end is checked between attempts.
func (w *Write) Ready() WriteReady {
	w.out = w.out[:0]
	if w.coord < 0 {
		w.coordinateNext()
	} else {
		for i := range w.reps {
			if r := &w.reps[i]; r.state == repToSend {
				r.state, r.send = repInFlight, w.send(Replicate, w.plan.slot(i))
			}
		}
		for i := range w.reps {
			if r := &w.reps[i]; r.hint == repToSend {
				t, _ := w.plan.hintAt(i, w.plan.slot(w.coord).Node)
				r.hint, r.hintSend = repInFlight, w.send(Replicate, t)
			}
		}
	}
	return WriteReady{Sends: w.out, Result: w.result, Done: w.done()}
}

// Answer feeds in how send id ended. It panics if id is not in flight.
func (w *Write) Answer(id SendID, a Answer) {
	if id != 0 && id == w.asking {
		w.coordinated(a)
		return
	}
	for i := range w.reps {
		r := &w.reps[i]
		switch {
		case r.state == repInFlight && r.send == id:
			w.replicated(i, a)
			return
		case r.hint == repInFlight && r.hintSend == id:
			r.hint, r.hintSend = repEnded, 0
			w.hints--
			return
		}
	}
	panic(fmt.Sprintf("coord: answer to write send %d, which is not in flight", id))
}

// Abandon says the caller stopped waiting (its context ended: cause is the
// context's error, not nil). A replicating write is decided Failed now,
// unless its quorum was met already. A coordinating one makes no further
// attempt: once the attempt in flight, if any, is answered, it fails (or,
// had that attempt been accepted, it fails as a replicating one does).
// Either way the sends in flight and the replication go on, and Done says
// when they are over. Only the first call counts.
func (w *Write) Abandon(cause error) {
	if cause == nil {
		panic("coord: Abandon with a nil cause")
	}
	if w.ended != nil {
		return
	}
	w.ended = cause
	if w.coord >= 0 {
		w.settle()
	}
}

// Expire says the write's deadline passed: a replication send that fails
// from now on is not moved to a spare, since its attempt could not be made
// in time. It decides nothing by itself (the caller's end does: Abandon).
func (w *Write) Expire() { w.expired = true }

func (w *Write) coordinateNext() {
	if w.asking != 0 || w.result.Verdict != Pending {
		return
	}
	if w.ended != nil || len(w.queue) == 0 {
		w.fail(Failure{Needed: w.tally.Need, Causes: w.causes, Ended: w.ended, Unknown: w.unknown})
		return
	}
	w.askSlot, w.queue = w.queue[0], w.queue[1:]
	w.asking = w.send(Coordinate, w.plan.slot(w.askSlot))
}

func (w *Write) coordinated(a Answer) {
	i := w.askSlot
	w.asking = 0
	if a.Err == nil {
		w.replicateFrom(i, a.Object)
		return
	}
	cause := Cause{Node: w.plan.slot(i).Node.ID, Err: a.Err}
	class := wire.ClassOf(a.Err)
	if class.Final() {
		if !w.unknown && !class.MayHaveApplied() {
			w.result = WriteResult{Verdict: Refused, Refusal: cause}
			return
		}
		// This node (a garbled answer) or an earlier one may hold the
		// write: not a plain refusal.
		w.causes = append(w.causes, cause)
		w.fail(Failure{Needed: w.tally.Need, Causes: w.causes, Unknown: true})
		return
	}
	w.causes = append(w.causes, cause)
	w.unknown = w.unknown || class.MayHaveApplied()
	if _, ok := w.plan.replace(i); ok {
		w.queue = append(w.queue, i)
	} else {
		w.reps[i].doubted = true
	}
}

// replicateFrom starts replication once slot i coordinated obj.
func (w *Write) replicateFrom(i int, obj dvv.Set) {
	w.coord, w.obj = i, obj
	w.tally.Add(w.plan.slot(i))
	for j := range w.reps {
		if j != i {
			w.reps[j].state = repToSend
			w.left++
			if w.reps[j].doubted {
				w.keepHint(j)
			}
		}
	}
	w.settle()
}

// keepHint has the coordinator's node keep a hint for slot i's owner (step
// 6), unless one was made already or that node is the owner.
func (w *Write) keepHint(i int) {
	r := &w.reps[i]
	if r.hint != repIdle {
		return
	}
	if _, ok := w.plan.hintAt(i, w.plan.slot(w.coord).Node); ok {
		r.hint = repToSend
		w.hints++
	}
}

func (w *Write) replicated(i int, a Answer) {
	r := &w.reps[i]
	r.send = 0
	if a.Err == nil {
		w.endSlot(i, true)
		return
	}
	if w.result.Verdict == Pending {
		r.causes = append(r.causes, Cause{Node: w.plan.slot(i).Node.ID, Err: a.Err})
	}
	if w.expired || wire.ClassOf(a.Err).Final() {
		w.endSlot(i, false)
		return
	}
	if _, ok := w.plan.replace(i); !ok {
		w.keepHint(i)
		w.endSlot(i, false)
		return
	}
	r.state = repToSend
}

// endSlot ends slot i's replication, acknowledged or not. Its failures
// become the write's only now, as its outcome counts only now.
func (w *Write) endSlot(i int, acked bool) {
	r := &w.reps[i]
	r.state = repEnded
	w.left--
	if w.result.Verdict != Pending {
		return
	}
	w.causes = append(w.causes, r.causes...)
	if acked {
		w.tally.Add(w.plan.slot(i))
	}
	w.settle()
}

// settle decides a replicating write when its outcome is known: the
// quorum met, every slot ended, or the caller gone.
func (w *Write) settle() {
	if w.result.Verdict != Pending {
		return
	}
	var ended error
	switch {
	case w.tally.Met():
		w.result = WriteResult{Verdict: Succeeded, Object: w.obj}
		return
	case w.left == 0:
	case w.ended != nil:
		ended = w.ended
	default:
		return
	}
	// The coordinator holds the write durably: it may yet spread (read
	// repair, hints), so the outcome is unknown rather than refused.
	w.fail(Failure{Needed: w.tally.Need, Acked: w.tally.Acked, NeededPrimary: w.tally.NeedPrimary,
		AckedPrimary: w.tally.Primaries, Causes: w.causes, Ended: ended, Unknown: true})
}

func (w *Write) fail(f Failure) { w.result = WriteResult{Verdict: Failed, Failure: f} }

func (w *Write) done() bool {
	switch {
	case w.result.Verdict == Pending:
		return false
	case w.coord < 0:
		return w.asking == 0
	}
	return w.left == 0 && w.hints == 0
}

func (w *Write) send(k Kind, t Target) SendID {
	w.last++
	w.out = append(w.out, Send{ID: w.last, Kind: k, To: t})
	return w.last
}
