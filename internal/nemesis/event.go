package nemesis

import (
	"fmt"
	"time"

	"github.com/shoalkv/shoal/internal/history"
)

// Phase says where in a fault an Event is.
type Phase int

// The phases.
const (
	Begin Phase = iota + 1 // the fault was injected
	End                    // the fault was undone
	Final                  // Run's closing heal of the whole cluster
)

func (p Phase) String() string {
	switch p {
	case Begin:
		return "begin"
	case End:
		return "end"
	case Final:
		return "final"
	}
	return fmt.Sprintf("Phase(%d)", int(p))
}

// Event reports a fault starting or ending to Plan.Observe.
type Event struct {
	At    time.Duration // since Run started
	Phase Phase
	Fault Fault  // the zero Fault for Final
	Text  string // what was done, as "kill -9 n2 (pid 4242)"
	Err   error  // what failed, if anything
}

func (e Event) String() string {
	s := fmt.Sprintf("nemesis %s", e.Phase)
	if e.Phase != Final {
		s += " " + e.Fault.Kind.String()
	}
	if e.Text != "" {
		s += ": " + e.Text
	}
	if e.Err != nil {
		s += fmt.Sprintf(" (error: %v)", e.Err)
	}
	return s
}

// Process is the history process id under which NoteTo records events.
const Process = -1

// NoteTo returns a Plan.Observe that records each event as a note of
// Process in r, so faults appear in the history among client operations.
func NoteTo(r *history.Recorder) func(Event) {
	return func(e Event) { r.Note(Process, e.String()) }
}
