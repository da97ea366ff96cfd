package member

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/shoalkv/shoal/ringsync/ring"
	"github.com/shoalkv/shoal/wire/mpcheck"
	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// The wire form of a state is one msgpack array:
//
//	[cluster str,
//	 [ring, target ring | nil, plan uint, [[id str, addr str, status uint], ...],
//	  [[partition uint, from str, to str], ...]],
//	 [rev uint, [[kind uint, id str, node id str, node addr str], ...]],
//	 [[id str, addr str, epoch uint, incarnation uint, seq uint, seen uint,
//	   plan uint, [partition uint, ...]], ...]]
//
// with rings in package ring's wire form and every list in the order the
// state keeps it. Every value is in msgpack's shortest form, so the encoding
// is canonical: equal states have equal bytes, which is what [State.Digest]
// hashes, and Decode accepts exactly the bytes Encode produces.

// maxDepth is the deepest nesting of the wire form: top, claim, ring, ring
// nodes, one node.
const maxDepth = 5

// Encode returns the canonical msgpack form of s.
func Encode(s *State) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(64 + 3*s.claim.Ring.Partitions() + 64*len(s.records))
	e := msgpack.NewEncoder(&buf)
	w := writer{e: e}
	w.arr(4)
	w.str(string(s.cluster))
	w.claim(s.claim)
	w.arr(2)
	w.uint(s.staged.Rev)
	w.arr(len(s.staged.Changes))
	for _, c := range s.staged.Changes {
		w.arr(4)
		w.uint(uint64(c.Kind))
		w.str(string(c.ID))
		w.str(string(c.Node.ID))
		w.str(c.Node.Addr)
	}
	w.arr(len(s.records))
	for _, r := range s.records {
		w.arr(8)
		w.str(string(r.ID))
		w.str(r.Addr)
		for _, v := range []uint64{r.Epoch, r.Incarnation, r.Seq, r.Seen, r.Plan} {
			w.uint(v)
		}
		w.arr(len(r.Received))
		for _, p := range r.Received {
			w.uint(uint64(p))
		}
	}
	if w.err != nil {
		return nil, w.err
	}
	return buf.Bytes(), nil
}

// writer encodes with a sticky error.
type writer struct {
	e   *msgpack.Encoder
	err error
}

func (w *writer) do(err error) {
	if w.err == nil {
		w.err = err
	}
}
func (w *writer) arr(n int)     { w.do(w.e.EncodeArrayLen(n)) }
func (w *writer) uint(v uint64) { w.do(w.e.EncodeUint(v)) }
func (w *writer) str(s string)  { w.do(w.e.EncodeString(s)) }
func (w *writer) ring(r *ring.Ring) {
	if r == nil {
		w.do(w.e.EncodeNil())
		return
	}
	w.do(r.EncodeMsgpack(w.e))
}

func (w *writer) claim(c Claim) {
	w.arr(5)
	w.ring(c.Ring)
	w.ring(c.Target)
	w.uint(c.Plan)
	w.arr(len(c.Members))
	for _, m := range c.Members {
		w.arr(3)
		w.str(string(m.ID))
		w.str(m.Addr)
		w.uint(uint64(m.Status))
	}
	w.arr(len(c.Transfers))
	for _, t := range c.Transfers {
		w.arr(3)
		w.uint(uint64(t.Partition))
		w.str(string(t.From))
		w.str(string(t.To))
	}
}

// Decode parses a state from untrusted bytes. It accepts exactly what Encode
// produces for a well-formed state, and returns an error matching
// [ErrMalformed] for anything else (also matching [ErrInvalid] when the
// bytes are well formed but the state they describe is not). Every declared
// length is checked against the bytes that remain before anything is
// allocated, and against this package's limits.
func Decode(b []byte) (*State, error) {
	if err := mpcheck.Check(b, mpcheck.Limits{MaxDepth: maxDepth, MaxLen: MaxTransfers}); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	r := reader{d: msgpack.NewDecoder(bytes.NewReader(b))}
	s := r.state()
	if r.err != nil {
		return nil, r.err
	}
	if err := s.check(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	again, err := Encode(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if !bytes.Equal(again, b) {
		return nil, fmt.Errorf("%w: not in canonical form", ErrMalformed)
	}
	return s, nil
}

// reader decodes with a sticky error. Shortest forms are not checked here:
// Decode compares the re-encoding with its input instead.
type reader struct {
	d   *msgpack.Decoder
	err error
}

func (r *reader) fail(what string, err error) {
	if r.err == nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		r.err = fmt.Errorf("%w: %s: %w", ErrMalformed, what, err)
	}
}

// arr reads an array header of lo to hi elements.
func (r *reader) arr(what string, lo, hi int) int {
	if r.err != nil {
		return 0
	}
	n, err := r.d.DecodeArrayLen()
	if err == nil && (n < lo || n > hi) {
		err = fmt.Errorf("%d elements, want %d to %d", n, lo, hi)
	}
	if err != nil {
		r.fail(what, err)
		return 0
	}
	return n
}

// uint reads an unsigned integer of at most hi.
func (r *reader) uint(what string, hi uint64) uint64 {
	if r.err != nil {
		return 0
	}
	c, err := r.d.PeekCode()
	if err == nil && c > msgpcode.PosFixedNumHigh && (c < msgpcode.Uint8 || c > msgpcode.Uint64) {
		err = fmt.Errorf("code %#x is not an unsigned integer", c)
	}
	var v uint64
	if err == nil {
		v, err = r.d.DecodeUint64()
	}
	if err == nil && v > hi {
		err = fmt.Errorf("%d exceeds %d", v, hi)
	}
	if err != nil {
		r.fail(what, err)
		return 0
	}
	return v
}

// str reads a string of at most hi bytes.
func (r *reader) str(what string, hi int) string {
	if r.err != nil {
		return ""
	}
	c, err := r.d.PeekCode()
	if err == nil && !msgpcode.IsFixedString(c) && c != msgpcode.Str8 && c != msgpcode.Str16 {
		err = fmt.Errorf("code %#x is not a string of at most %d bytes", c, hi)
	}
	var s string
	if err == nil {
		s, err = r.d.DecodeString()
	}
	if err == nil && len(s) > hi {
		err = fmt.Errorf("%d bytes, at most %d", len(s), hi)
	}
	if err != nil {
		r.fail(what, err)
		return ""
	}
	return s
}

// ring reads a ring, or nil if nilable and the value is nil.
func (r *reader) ring(what string, nilable bool) *ring.Ring {
	if r.err != nil {
		return nil
	}
	if c, err := r.d.PeekCode(); err == nil && c == msgpcode.Nil && nilable {
		if err := r.d.DecodeNil(); err != nil {
			r.fail(what, err)
		}
		return nil
	}
	var g ring.Ring
	if err := g.DecodeMsgpack(r.d); err != nil {
		r.fail(what, err)
		return nil
	}
	return &g
}

func (r *reader) state() *State {
	s := &State{}
	r.arr("state", 4, 4)
	s.cluster = ClusterID(r.str("cluster id", MaxClusterIDLen))
	s.claim = r.claim()
	r.arr("staged", 2, 2)
	s.staged.Rev = r.uint("staged revision", math.MaxUint64)
	for range r.arr("staged changes", 0, MaxStaged) {
		r.arr("change", 4, 4)
		c := Change{Kind: ChangeKind(r.uint("change kind", math.MaxUint8))}
		c.ID = ring.NodeID(r.str("change id", ring.MaxIDLen))
		c.Node.ID = ring.NodeID(r.str("change node id", ring.MaxIDLen))
		c.Node.Addr = r.str("change node address", ring.MaxAddrLen)
		s.staged.Changes = append(s.staged.Changes, c)
	}
	for range r.arr("records", 0, MaxMembers) {
		r.arr("record", 8, 8)
		rec := Record{ID: ring.NodeID(r.str("record id", ring.MaxIDLen)), Addr: r.str("record address", ring.MaxAddrLen)}
		for _, v := range []*uint64{&rec.Epoch, &rec.Incarnation, &rec.Seq, &rec.Seen, &rec.Plan} {
			*v = r.uint("record counter", math.MaxUint64)
		}
		for range r.arr("received", 0, ring.MaxPartitions) {
			rec.Received = append(rec.Received, int(r.uint("received partition", ring.MaxPartitions-1)))
		}
		s.records = append(s.records, rec)
	}
	return s
}

func (r *reader) claim() Claim {
	var c Claim
	r.arr("claim", 5, 5)
	c.Ring = r.ring("ring", false)
	c.Target = r.ring("target ring", true)
	c.Plan = r.uint("plan", math.MaxUint64)
	for range r.arr("members", 0, MaxMembers) {
		r.arr("member", 3, 3)
		e := Entry{ID: ring.NodeID(r.str("member id", ring.MaxIDLen)), Addr: r.str("member address", ring.MaxAddrLen)}
		e.Status = Status(r.uint("status", math.MaxUint8))
		c.Members = append(c.Members, e)
	}
	for range r.arr("transfers", 0, MaxTransfers) {
		r.arr("transfer", 3, 3)
		t := Transfer{Partition: int(r.uint("transfer partition", ring.MaxPartitions-1))}
		t.From = ring.NodeID(r.str("transfer source", ring.MaxIDLen))
		t.To = ring.NodeID(r.str("transfer receiver", ring.MaxIDLen))
		c.Transfers = append(c.Transfers, t)
	}
	return c
}
