package handoff

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"time"
)

// world simulates one transfer end to end in virtual time: a receiver
// shell with a crashable durable store, a sender shell over a fixed sorted
// source, and a network of streams that faults can cut; both shells drive
// the pure cores as storaged's will. Each tick delivers what was sent the
// tick before.
type world struct {
	rng *rand.Rand
	cfg Config
	id  ID
	src []Object
	now time.Time

	// Faults, drawn each tick until faultsUntil, per tick.
	faultsUntil            time.Time
	pCrashRx, pCrashTx     float64
	pCut, pExchangeFail    float64
	pMergeFail             float64 // per merge, while faults last
	mutCursorEarly         bool    // the shell stores the cursor when a merge is handed out, the objects at its commit
	mutIgnoreCursor        bool    // the shell restarts a transfer from the start, not its durable cursor
	mutAckOnReceipt        bool    // the shell acks a batch when it is handed out to merge, not once durable
	cutUntil, txDownUntil  time.Time
	crashes, cuts, txDowns int
	mergeFails             int

	// The receiver and its store.
	tr        *Transfer
	restartAt time.Time
	merged    map[string]int // durable: how many times each key was merged
	cursor    []byte         // durable
	merge     *Merge         // committing at mergeAt
	mergeAt   time.Time
	exchAt    time.Time // an exchange ends then (zero: none running)
	rxStream  int       // the receiver's current stream, 0: none
	rxSession uint64    // the session that stream carries
	wake      time.Time // the last Ready's Wake
	done      bool
	gaveUp    int
	onDone    func(Stats) // called with the successful end's Stats

	// The network: one stream alive at a time.
	streams   int          // streams made
	alive     map[int]bool // open streams
	senders   map[int]*Sender
	inflight  []msg       // delivered at their tick
	resent    map[int]int // stream → batches the sender re-sent on it
	sentHigh  []byte      // the furthest position any batch reached
	sentAny   bool
	sentTotal int
}

type msg struct {
	at     time.Time
	stream int
	toRx   bool
	body   any
}

const tick = 50 * time.Millisecond

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func testID() ID { return ID{Partition: 7, RingVersion: 3, From: "n1", To: "n4"} }

// source makes n objects with sorted distinct keys and values of 0..maxVal
// bytes.
func source(rng *rand.Rand, n, maxVal int) []Object {
	objs := make([]Object, n)
	for i := range objs {
		v := make([]byte, rng.IntN(maxVal+1))
		for j := range v {
			v[j] = byte(rng.Uint32())
		}
		objs[i] = Object{Key: fmt.Appendf(nil, "k%06d", i*3+rng.IntN(3)), Value: v}
	}
	return objs
}

func newWorld(seed uint64, cfg Config, src []Object) *world {
	return &world{rng: rand.New(rand.NewPCG(seed, 11)), cfg: cfg, id: testID(), src: src, now: epoch,
		merged: map[string]int{}, alive: map[int]bool{}, senders: map[int]*Sender{}, resent: map[int]int{}}
}

// run steps the world until the transfer is done or limit passes; it
// reports whether it finished.
func (w *world) run(limit time.Duration) bool {
	w.restart()
	for end := w.now.Add(limit); !w.done && w.now.Before(end); {
		w.step()
	}
	return w.done
}

func (w *world) chance(p float64) bool { return p > 0 && w.rng.Float64() < p }

func (w *world) step() {
	w.now = w.now.Add(tick)
	if w.now.Before(w.faultsUntil) {
		w.faults()
	}
	if w.tr == nil && !w.now.Before(w.restartAt) {
		w.restart()
	}
	w.deliver()
	if w.merge != nil && !w.now.Before(w.mergeAt) {
		w.commit()
	}
	if !w.exchAt.IsZero() && !w.now.Before(w.exchAt) {
		w.exchAt = time.Time{}
		var err error
		if w.linkDown() || w.chance(w.pExchangeFail) {
			err = errors.New("exchange failed")
		}
		w.tr.Exchanged(w.now, err)
		w.drain()
	}
	if w.tr != nil {
		if !w.wake.IsZero() && !w.now.Before(w.wake) {
			w.tr.Tick(w.now)
			w.drain()
		}
	}
	w.send()
}

func (w *world) linkDown() bool { return w.now.Before(w.cutUntil) || w.now.Before(w.txDownUntil) }

func (w *world) faults() {
	switch {
	case w.tr != nil && w.chance(w.pCrashRx):
		w.crashes++
		w.tr, w.merge, w.exchAt = nil, nil, time.Time{}
		w.kill(w.rxStream)
		w.rxStream = 0
		w.restartAt = w.now.Add(time.Duration(w.rng.IntN(40)) * tick)
	case w.chance(w.pCrashTx):
		w.txDowns++
		w.txDownUntil = w.now.Add(time.Duration(w.rng.IntN(60)) * tick)
		s := w.rxStream
		w.kill(s)
		if w.tr != nil && w.rng.IntN(2) == 0 { // the transport noticed
			w.tr.Fail(w.now, w.rxSession, errors.New("stream reset"))
			w.drain()
		}
	case w.chance(w.pCut):
		w.cuts++
		w.cutUntil = w.now.Add(time.Duration(1+w.rng.IntN(200)) * tick) // up to 10 s
		w.kill(w.rxStream)                                              // silently: only the deadline notices
	}
}

func (w *world) kill(stream int) {
	delete(w.alive, stream)
	delete(w.senders, stream)
}

// restart starts the receiver's transfer from its durable cursor.
func (w *world) restart() {
	cursor := w.cursor
	if w.mutIgnoreCursor {
		cursor = nil
	}
	tr, err := New(w.cfg, w.id, cursor, w.now)
	if err != nil {
		panic(err)
	}
	w.tr = tr
	w.drain()
}

// drain acts on the receiver's Ready, as its shell does after every input.
func (w *world) drain() {
	if w.tr == nil {
		return
	}
	rd := w.tr.Ready()
	w.wake = rd.Wake
	for _, a := range rd.Acks {
		if a.Session == w.rxSession {
			w.post(w.rxStream, false, &a)
		}
	}
	if rd.Close {
		w.kill(w.rxStream)
		w.rxStream = 0
	}
	if rd.Open != nil {
		w.streams++
		w.rxStream, w.rxSession = w.streams, rd.Open.Session
		w.alive[w.rxStream] = true
		w.post(w.rxStream, false, rd.Open)
	}
	if rd.Merge != nil {
		w.merge = rd.Merge
		w.mergeAt = w.now.Add(time.Duration(w.rng.IntN(3)) * tick)
		if w.mutCursorEarly {
			w.cursor = rd.Merge.Cursor
		}
		if w.mutAckOnReceipt && rd.Merge.Session == w.rxSession {
			w.post(w.rxStream, false, &Ack{Partition: w.id.Partition, Session: rd.Merge.Session, Seq: rd.Merge.Seq})
		}
	}
	if rd.Exchange {
		w.exchAt = w.now.Add(tick)
	}
	if rd.Done {
		w.tr = nil
		if rd.Err == nil {
			w.done = true
			if w.onDone != nil {
				w.onDone(rd.Stats)
			}
			return
		}
		w.gaveUp++ // as the Manager does: again later, from the durable cursor
		w.restartAt = w.now.Add(time.Second)
	}
}

func (w *world) post(stream int, toRx bool, body any) {
	if w.now.Before(w.cutUntil) {
		return
	}
	w.inflight = append(w.inflight, msg{at: w.now.Add(tick), stream: stream, toRx: toRx, body: body})
}

func (w *world) deliver() {
	var later []msg
	var now []msg
	for _, m := range w.inflight {
		if m.at.After(w.now) {
			later = append(later, m)
		} else {
			now = append(now, m)
		}
	}
	w.inflight = later
	for _, m := range now {
		if !w.alive[m.stream] || w.linkDown() {
			continue
		}
		if m.toRx {
			w.toReceiver(m)
		} else {
			w.toSender(m)
		}
	}
}

func (w *world) toReceiver(m msg) {
	if w.tr == nil || m.stream != w.rxStream {
		return
	}
	switch b := m.body.(type) {
	case *Batch:
		w.tr.Batch(w.now, b)
	case *Refused:
		w.tr.Refused(w.now, b)
	}
	w.drain()
}

func (w *world) toSender(m msg) {
	switch b := m.body.(type) {
	case *Open:
		if r := Refuse(b, w.id.RingVersion); r != RefuseNone {
			w.post(m.stream, true, &Refused{Partition: b.Partition, Session: b.Session, Reason: r, RingVersion: w.id.RingVersion})
			return
		}
		s, err := NewSender(Config{}, b)
		if err != nil {
			panic(err)
		}
		w.senders[m.stream] = s
	case *Ack:
		if s := w.senders[m.stream]; s != nil {
			if err := s.Ack(b); err != nil {
				panic(err)
			}
		}
	}
}

// send lets the sender of the live stream send what its window allows.
func (w *world) send() {
	streams := slices.Sorted(maps.Keys(w.senders))
	for _, stream := range streams {
		s := w.senders[stream]
		if w.linkDown() {
			return
		}
		for {
			r, ok := s.Next()
			if !ok {
				break
			}
			b := w.read(s, r)
			w.sentTotal++
			if w.sentAny && bytes.Compare(r.After, w.sentHigh) < 0 {
				w.resent[stream]++
			}
			if !w.sentAny || bytes.Compare(b.Last, w.sentHigh) > 0 {
				w.sentHigh, w.sentAny = b.Last, true
			}
			w.post(stream, true, b)
		}
	}
}

// read scans the source after r.After as the sender's shell does.
func (w *world) read(s *Sender, r Read) *Batch {
	i, _ := slices.BinarySearchFunc(w.src, r.After, func(o Object, k []byte) int { return bytes.Compare(o.Key, k) })
	if i < len(w.src) && bytes.Equal(w.src[i].Key, r.After) {
		i++
	}
	bt := r.Batcher()
	last := r.After
	for ; i < len(w.src) && bt.Add(w.src[i].Key, w.src[i].Value); i++ {
		last = w.src[i].Key
	}
	return s.Seal(bt.Objects(), last, i == len(w.src))
}

func (w *world) commit() {
	m := w.merge
	w.merge = nil
	if w.now.Before(w.faultsUntil) && w.chance(w.pMergeFail) {
		w.mergeFails++ // nothing of it is durable (but the mutant's early cursor)
		w.tr.MergeFailed(w.now, m.Session, m.Seq, errors.New("disk full"))
		w.drain()
		return
	}
	for _, o := range m.Objects {
		w.merged[string(o.Key)]++
	}
	w.cursor = m.Cursor
	w.tr.Durable(w.now, m.Session, m.Seq)
	w.drain()
}

// missing lists the source keys never merged.
func (w *world) missing() []string {
	var out []string
	for _, o := range w.src {
		if w.merged[string(o.Key)] == 0 {
			out = append(out, string(o.Key))
		}
	}
	return out
}

// maxResent is the most batches re-sent on one stream.
func (w *world) maxResent() int {
	m := 0
	for _, n := range w.resent {
		m = max(m, n)
	}
	return m
}
