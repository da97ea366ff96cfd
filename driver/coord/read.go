package coord

import (
	"fmt"
	"slices"

	"github.com/shoalkv/shoal/ringsync/ring"
	"github.com/shoalkv/shoal/wire/dvv"
)

// Read runs one read over its plan (paper §4.5–4.6). Its candidates are the
// plan's slots (nodes believed up first, rotated by ReadOptions.Rotate so
// that which of them are asked first varies from read to read), then the
// unused fallbacks as
// spares (a fallback answers with what it holds for the key, hints
// included, so a read finds a write that only stand-ins hold while its
// primaries are down), then the primaries believed down whose slots went to
// stand-ins, for a read that needs primaries. The rules:
//
//  1. Ask the first Need candidates (every slot with all).
//  2. Whenever those outstanding cannot make the quorum even if they all
//     answer, ask another: the next primary when only primaries are short,
//     the next candidate when answers are.
//  3. On each Tick (the speculative delay passed with the read pending),
//     ask one more: a primary while the primaries asked cannot make
//     NeedPrimary, anyone otherwise; and re-arm the timer only if someone
//     was asked.
//  4. Merge the objects of the answers; succeed at Need answers with
//     NeedPrimary from primaries; fail when the quorum is out of reach (no
//     one left to ask who could make up the shortfall, and no answer
//     outstanding) or when the caller abandons the read.
//  5. On success, name the primaries whose answer lacked part of the merge
//     for read repair. Spares and stand-ins are not repaired: they do not
//     own the key.
//
// Answers after the result are ignored: the shell may drop them. Each
// candidate is asked at most once.
type Read struct {
	q     Quorum
	cands []Target
	st    []candidate // per candidate

	asked, askedP   int // sends made, and those to primaries
	got, gotP       int // successful answers, and those from primaries
	failed, failedP int
	merged          dvv.Set
	causes          []Cause

	out    []Send
	arm    bool
	result ReadResult
}

// candidate is what became of one candidate.
type candidate struct {
	state candState
	// A primary's successful answer, kept for read repair: the order it
	// came in among the primaries' (1 for the first; 0 for none), whether
	// it held the key, and its copy.
	order  int
	found  bool
	object dvv.Set
}

type candState uint8

const (
	candIdle candState = iota
	candAsked
	candAnswered
)

// ReadResult is a read's outcome.
type ReadResult struct {
	Verdict Verdict // Pending, Succeeded or Failed
	// Object is the merge of every answer counted (Succeeded); the zero Set
	// when none held the key.
	Object dvv.Set
	// Repairs are the primaries whose answer lacked part of Object, in
	// the order they answered (Succeeded): read repair sends them Object,
	// which they merge. The slice belongs to the machine.
	Repairs []ring.Node
	// Failure says how the read fell short (Failed); Unknown is never set.
	Failure Failure
}

// ReadReady is what a Read wants done now.
type ReadReady struct {
	// Sends are to be made, each exactly once. The slice belongs to the
	// machine, which does not change it afterwards.
	Sends []Send
	// Arm asks for the speculative timer to be started, or restarted,
	// from now; its expiry is fed in as Tick. Set by the first Ready and
	// after every Tick that asked another candidate (a Tick that found
	// no one to ask leaves the timer stopped).
	Arm bool
	// Result is the outcome once decided; it stays the same in every
	// later Ready.
	Result ReadResult
}

// ReadOptions are the choices a read's shell makes for it.
type ReadOptions struct {
	// All asks every slot at once (Config.ReadAll) rather than only Need
	// of them.
	All bool
	// Rotate picks where among the slots believed up the read starts: it
	// asks them from slot Rotate mod (their count) round to the one before
	// it, then the rest as before. Drawn at random per read, it asks each
	// replica believed up with the same chance (Need of them), so a stale
	// one is asked, and read-repaired, within a few reads of its key
	// rather than never; 0 keeps preference order.
	Rotate uint64
}

// NewRead starts a read over p, which it takes over (it takes the plan's
// spares as its own candidates), needing q, with the choices o. It panics
// unless q.Need >= 1.
func NewRead(p *Plan, q Quorum, o ReadOptions) *Read {
	if q.Need < 1 {
		panic(fmt.Sprintf("coord: read quorum %+v needs nothing", q))
	}
	cands := p.readCandidates()
	if p.nUp > 1 {
		rotate(cands[:p.nUp], int(o.Rotate%uint64(p.nUp)))
	}
	r := &Read{q: q, cands: cands, st: make([]candidate, len(cands)), out: make([]Send, 0, len(cands)), arm: true}
	first := q.Need
	if o.All {
		first = p.Len()
	}
	for r.asked < first {
		r.ask(r.next(false))
	}
	r.step()
	return r
}

// Candidates is how many nodes the read may ask: at most this many sends
// are ever made.
func (r *Read) Candidates() int { return len(r.cands) }

// Ready hands over the sends the inputs so far call for, and the result.
func (r *Read) Ready() ReadReady {
	rd := ReadReady{Sends: r.out, Arm: r.arm && r.result.Verdict == Pending, Result: r.result}
	r.out, r.arm = r.out[len(r.out):], false
	return rd
}

// Answer feeds in how send id ended. Answers after the result are ignored;
// it panics if id was never sent or was answered before.
func (r *Read) Answer(id SendID, a Answer) {
	i := int(id) - 1 // a read's send ids are its candidates' indexes + 1
	if i < 0 || i >= len(r.st) || r.st[i].state != candAsked {
		panic(fmt.Sprintf("coord: answer to read send %d, which is not in flight", id))
	}
	c := &r.st[i]
	c.state = candAnswered
	if r.result.Verdict != Pending {
		return
	}
	t := r.cands[i]
	if a.Err != nil {
		r.failed++
		if t.Primary() {
			r.failedP++
		}
		r.causes = append(r.causes, Cause{Node: t.Node.ID, Err: a.Err})
		r.step()
		return
	}
	r.got++
	if t.Primary() {
		r.gotP++
		c.order, c.found, c.object = r.gotP, a.Found, a.Object
	}
	if a.Found {
		r.merged = dvv.Merge(r.merged, a.Object)
	}
	r.step()
}

// Tick says the speculative delay passed since the timer was last armed:
// ask one more candidate (rule 3).
func (r *Read) Tick() {
	if r.result.Verdict != Pending {
		return
	}
	if i := r.next(r.askedP-r.failedP < r.q.NeedPrimary); i >= 0 {
		r.ask(i)
		r.arm = true
	}
	r.step()
}

// Abandon says the caller stopped waiting (its context ended: cause is the
// context's error, not nil): the read fails now unless it was decided.
func (r *Read) Abandon(cause error) {
	if cause == nil {
		panic("coord: Abandon with a nil cause")
	}
	if r.result.Verdict == Pending {
		r.fail(cause)
	}
}

// step applies rules 2 and 4 after an input.
func (r *Read) step() {
	for r.result.Verdict == Pending {
		if r.got >= r.q.Need && r.gotP >= r.q.NeedPrimary {
			r.result = ReadResult{Verdict: Succeeded, Object: r.merged, Repairs: r.repairs()}
			return
		}
		out, outP := r.asked-r.got-r.failed, r.askedP-r.gotP-r.failedP
		short, shortP := r.got+out < r.q.Need, r.gotP+outP < r.q.NeedPrimary
		if !short && !shortP {
			return
		}
		if i := r.next(shortP && !short); i >= 0 {
			r.ask(i)
			continue
		}
		if out == 0 {
			r.fail(nil)
		}
		return
	}
}

// next is the first candidate not yet asked, or with primary set the first
// such primary; -1 when there is none.
func (r *Read) next(primary bool) int {
	for i, t := range r.cands {
		if r.st[i].state == candIdle && (!primary || t.Primary()) {
			return i
		}
	}
	return -1
}

func (r *Read) ask(i int) {
	t := r.cands[i]
	r.st[i].state = candAsked
	r.asked++
	if t.Primary() {
		r.askedP++
	}
	r.out = append(r.out, Send{ID: SendID(i + 1), Kind: Get, To: t})
}

func (r *Read) fail(ended error) {
	r.result = ReadResult{Verdict: Failed, Failure: Failure{Needed: r.q.Need, Acked: r.got,
		NeededPrimary: r.q.NeedPrimary, AckedPrimary: r.gotP, Causes: r.causes, Ended: ended}}
}

// repairs lists the primaries that answered with less than the merge, in
// the order they answered (over a handful of candidates, a scan per answer
// spares the read a slice of its own to keep that order in).
func (r *Read) repairs() []ring.Node {
	var out []ring.Node
	for k := 1; k <= r.gotP; k++ {
		for i, c := range r.st {
			if c.order == k && stale(c.found, c.object, r.merged) {
				out = append(out, r.cands[i].Node)
			}
		}
	}
	return out
}

// rotate moves ts[k:] to the front, in place: ts[k] comes first, ts[k-1]
// last. 0 <= k <= len(ts).
func rotate(ts []Target, k int) {
	slices.Reverse(ts[:k])
	slices.Reverse(ts[k:])
	slices.Reverse(ts)
}
