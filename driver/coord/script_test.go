package coord

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/shoalkv/shoal/wire"
	"github.com/shoalkv/shoal/wire/dvv"
)

// Errors of each class the machines tell apart (see wire.ClassOf).
var (
	errDown     = &wire.CallError{Addr: "x:1", Op: "dial", Err: errors.New("connection refused")}             // not applied
	errShut     = &wire.RemoteError{Code: wire.CodeShuttingDown, Message: "stopping"}                         // not applied
	errLost     = &wire.CallError{Addr: "x:1", Op: "read", Err: context.DeadlineExceeded}                     // may have applied
	errSiblings = &wire.RemoteError{Code: wire.CodeSiblingLimit, Message: "too many"}                         // final
	errGarbled  = &wire.CallError{Addr: "x:1", Op: "decode", Err: fmt.Errorf("%w: junk", wire.ErrBadRequest)} // final, may have applied
)

// Objects: v1 then v2 by actor a; w concurrent with both, by actor b.
var (
	v1, v2, w1 dvv.Set
)

func init() {
	var empty dvv.Set
	v1, _ = empty.Update(dvv.Actor{Node: "a", Epoch: 1}, nil, []byte("x"), false)
	v2, _ = v1.Update(dvv.Actor{Node: "a", Epoch: 1}, v1.VV, []byte("y"), false)
	w1, _ = empty.Update(dvv.Actor{Node: "b", Epoch: 1}, nil, []byte("z"), false)
}

func sendString(s Send) string { return s.Kind.String() + " " + targetString(s.To) }

func causeStrings(cs []Cause) []string {
	var out []string
	for _, c := range cs {
		out = append(out, fmt.Sprintf("%s: %v", c.Node, c.Err))
	}
	return out
}

// inFlight keeps the sends a script has been handed, by target (as
// targetString writes it), to answer them by name.
type inFlight map[string]SendID

// take removes and returns the send in flight to name: a target as
// targetString writes it, or a node with exactly one send in flight.
func (f inFlight) take(t *testing.T, name string) SendID {
	t.Helper()
	key := name
	if _, ok := f[name]; !ok {
		var matches []string
		for k := range f {
			if strings.SplitN(strings.TrimSuffix(k, "(spare)"), ">", 2)[0] == name {
				matches = append(matches, k)
			}
		}
		if len(matches) != 1 {
			slices.Sort(matches)
			t.Fatalf("%d sends to %s in flight %v (in flight: %v); want one", len(matches), name, matches, f)
		}
		key = matches[0]
	}
	id := f[key]
	delete(f, key)
	return id
}

// record notes sends and checks them against want. A slot has one send
// in flight at a time, so a target never has two.
func (f inFlight) record(t *testing.T, sends []Send, want []string) {
	t.Helper()
	var got []string
	for _, s := range sends {
		name := targetString(s.To)
		got = append(got, sendString(s))
		if _, dup := f[name]; dup {
			t.Fatalf("a second send to %s while one is in flight", name)
		}
		if s.ID == 0 {
			t.Fatalf("send %s has the zero id", sendString(s))
		}
		f[name] = s.ID
	}
	if !slices.Equal(got, want) {
		t.Fatalf("sends %q, want %q", got, want)
	}
}

// writeScript drives a Write as the shell does: an input, then Ready.
type writeScript struct {
	t  *testing.T
	m  *Write
	f  inFlight
	rd WriteReady
}

func newWriteScript(t *testing.T, p *Plan, q Quorum) *writeScript {
	return &writeScript{t: t, m: NewWrite(p, q), f: inFlight{}}
}

// ready calls Ready and checks the sends it hands out.
func (s *writeScript) ready(want ...string) WriteReady {
	s.t.Helper()
	s.rd = s.m.Ready()
	s.f.record(s.t, s.rd.Sends, want)
	return s.rd
}

func (s *writeScript) ok(node string, obj dvv.Set) {
	s.t.Helper()
	s.m.Answer(s.f.take(s.t, node), Answer{Object: obj})
}

func (s *writeScript) fail(node string, err error) {
	s.t.Helper()
	s.m.Answer(s.f.take(s.t, node), Answer{Err: err})
}

func (s *writeScript) pending() {
	s.t.Helper()
	if v := s.rd.Result.Verdict; v != Pending || s.rd.Done {
		s.t.Fatalf("verdict %v, done %v; want pending", v, s.rd.Done)
	}
}

func (s *writeScript) succeeded(obj dvv.Set, done bool) {
	s.t.Helper()
	r := s.rd.Result
	if r.Verdict != Succeeded || !r.Object.Equal(obj) || s.rd.Done != done {
		s.t.Fatalf("result %+v, done %v; want succeeded with %v, done %v", r, s.rd.Done, obj, done)
	}
}

func (s *writeScript) failed(want Failure, done bool) {
	s.t.Helper()
	checkFailure(s.t, s.rd.Result.Verdict, s.rd.Result.Failure, want)
	if s.rd.Done != done {
		s.t.Fatalf("done %v, want %v", s.rd.Done, done)
	}
}

func (s *writeScript) done() {
	s.t.Helper()
	if !s.rd.Done || len(s.f) != 0 {
		s.t.Fatalf("done %v with %v in flight; want done", s.rd.Done, s.f)
	}
}

func checkFailure(t *testing.T, v Verdict, got, want Failure) {
	t.Helper()
	if v != Failed {
		t.Fatalf("verdict %v, want failed", v)
	}
	type counts struct {
		needed, acked, neededPrimary, ackedPrimary int
		ended                                      error
		unknown                                    bool
	}
	g := counts{got.Needed, got.Acked, got.NeededPrimary, got.AckedPrimary, got.Ended, got.Unknown}
	w := counts{want.Needed, want.Acked, want.NeededPrimary, want.AckedPrimary, want.Ended, want.Unknown}
	if g != w {
		t.Errorf("failure %+v, want %+v", g, w)
	}
	if gc, wc := causeStrings(got.Causes), causeStrings(want.Causes); !slices.Equal(gc, wc) {
		t.Errorf("causes\n  %s\nwant\n  %s", strings.Join(gc, "\n  "), strings.Join(wc, "\n  "))
	}
}

// readScript drives a Read as the shell does.
type readScript struct {
	t  *testing.T
	m  *Read
	f  inFlight
	rd ReadReady
}

func newReadScript(t *testing.T, p *Plan, q Quorum, o ReadOptions) *readScript {
	return &readScript{t: t, m: NewRead(p, q, o), f: inFlight{}}
}

// ready calls Ready and checks the sends it hands out and whether it arms
// the speculative timer.
func (s *readScript) ready(arm bool, want ...string) ReadReady {
	s.t.Helper()
	s.rd = s.m.Ready()
	s.f.record(s.t, s.rd.Sends, want)
	if s.rd.Arm != arm {
		s.t.Fatalf("arm %v, want %v", s.rd.Arm, arm)
	}
	return s.rd
}

func (s *readScript) found(node string, obj dvv.Set) {
	s.t.Helper()
	s.m.Answer(s.f.take(s.t, node), Answer{Found: true, Object: obj})
}

func (s *readScript) missing(node string) {
	s.t.Helper()
	s.m.Answer(s.f.take(s.t, node), Answer{})
}

func (s *readScript) fail(node string, err error) {
	s.t.Helper()
	s.m.Answer(s.f.take(s.t, node), Answer{Err: err})
}

func (s *readScript) pending() {
	s.t.Helper()
	if v := s.rd.Result.Verdict; v != Pending {
		s.t.Fatalf("verdict %v, want pending", v)
	}
}

func (s *readScript) succeeded(obj dvv.Set, repairs ...string) {
	s.t.Helper()
	r := s.rd.Result
	if r.Verdict != Succeeded || !r.Object.Equal(obj) {
		s.t.Fatalf("result %+v; want succeeded with %v", r, obj)
	}
	var got []string
	for _, n := range r.Repairs {
		got = append(got, string(n.ID))
	}
	if !slices.Equal(got, repairs) {
		s.t.Fatalf("repairs %v, want %v", got, repairs)
	}
}

func (s *readScript) failed(want Failure) {
	s.t.Helper()
	checkFailure(s.t, s.rd.Result.Verdict, s.rd.Result.Failure, want)
}

func mustPanic(t *testing.T, what string, fn func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("%s did not panic", what)
		}
	}()
	fn()
}
