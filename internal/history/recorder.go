package history

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Recorder appends events to a history. It is safe for concurrent use; the
// zero value is not usable, call New.
type Recorder struct {
	mu     sync.Mutex
	now    func() time.Duration
	events []Event
	ops    int // ops invoked so far; the last Op id
}

// New returns an empty recorder whose clock starts now.
func New() *Recorder {
	start := time.Now()
	return &Recorder{now: func() time.Duration { return time.Since(start) }}
}

// Op is an operation in flight, returned by Invoke. Exactly one of Ok, Fail
// or Unknown must be called on it, once, from any goroutine; a second call
// panics (a broken test, not a broken system). An Op never completed counts
// as Unknown for checkers.
type Op struct {
	r       *Recorder
	id      int
	process int
	f, key  string
	value   uint64
	done    atomic.Bool
}

// Invoke records that process starts operation f on key with value.
func (r *Recorder) Invoke(process int, f, key string, value uint64) *Op {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ops++
	op := &Op{r: r, id: r.ops, process: process, f: f, key: key, value: value}
	r.appendLocked(Event{Type: Invoke, Process: process, Op: op.id, F: f, Key: key, Value: value})
	return op
}

// InvokeDelete records that process starts a delete of key (DeleteF) whose
// tombstone supersedes what it read: the elements covered. The recorder
// keeps covered.
func (r *Recorder) InvokeDelete(process int, key string, covered []uint64) *Op {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ops++
	op := &Op{r: r, id: r.ops, process: process, f: DeleteF, key: key}
	r.appendLocked(Event{Type: Invoke, Process: process, Op: op.id, F: DeleteF, Key: key, Covered: covered})
	return op
}

// Ok records that the operation took effect.
func (o *Op) Ok() { o.complete(Ok, nil) }

// Fail records that the operation definitely did not take effect (the write
// was refused before anything was stored). err says why.
func (o *Op) Fail(err error) { o.complete(Fail, err) }

// Unknown records that the operation may or may not have taken effect (a
// timeout, a quorum not reached after some replica stored it). err says why.
func (o *Op) Unknown(err error) { o.complete(Unknown, err) }

func (o *Op) complete(t Type, err error) {
	if o.done.Swap(true) {
		panic(fmt.Sprintf("history: op %d (%s %s %d) completed twice; second as %s", o.id, o.f, o.key, o.value, t))
	}
	e := Event{Type: t, Process: o.process, Op: o.id, F: o.f, Key: o.key, Value: o.value}
	if err != nil {
		e.Err = err.Error()
	}
	o.r.mu.Lock()
	defer o.r.mu.Unlock()
	o.r.appendLocked(e)
}

// Note records free text for process, such as a fault starting or ending.
func (r *Recorder) Note(process int, text string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.appendLocked(Event{Type: Note, Process: process, Text: text})
}

// appendLocked stamps e with the next index and the time, under r.mu, so
// that times never decrease with the index.
func (r *Recorder) appendLocked(e Event) {
	e.Index = len(r.events)
	e.Time = r.now()
	r.events = append(r.events, e)
}

// Events returns a copy of the history so far, in order; the caller owns it.
func (r *Recorder) Events() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.events...)
}

// WriteJSONL writes the history so far to path, one JSON object per line,
// creating or truncating the file; ReadJSONL reads it back.
func (r *Recorder) WriteJSONL(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	for _, e := range r.Events() {
		if err = enc.Encode(e); err != nil {
			break
		}
	}
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("history: write %s: %w", path, err)
	}
	return nil
}

// ReadJSONL parses a history written by WriteJSONL, so a saved run can be
// checked again.
func ReadJSONL(r io.Reader) ([]Event, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var events []Event
	for {
		var e Event
		err := dec.Decode(&e)
		if errors.Is(err, io.EOF) {
			return events, nil
		}
		if err != nil {
			return events, fmt.Errorf("history: event %d: %w", len(events), err)
		}
		events = append(events, e)
	}
}
