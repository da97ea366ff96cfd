package measure

import (
	"sync"
	"time"

	"github.com/shoalkv/shoal/bench/workload"
)

// maxOps bounds the workload.Op values a Recorder indexes.
const maxOps = int(workload.ReadModifyWrite) + 1

// OpStats holds one operation's measurements.
type OpStats struct {
	Op workload.Op
	// OK holds the latencies of operations that returned OK or NOT_FOUND
	// ([READ]); Failed those that returned ERROR ([READ-FAILED]). This
	// differs from YCSB, whose Status.isOk() is true for OK only, so it
	// files NOT_FOUND under [READ-FAILED]: here a read that correctly
	// reports a missing record is a served request, timed with the others,
	// and still counted apart as Return=NOT_FOUND. In an open loop these are
	// measured from each operation's intended start.
	OK, Failed *Histogram
	// Service holds every operation's latency from its actual start; open
	// loop only ([READ-SERVICE]), nil otherwise.
	Service *Histogram
	// Returns counts the operations by status (Return=OK ...).
	Returns [workload.NumStatuses]int64
}

// Count returns the number of operations, whatever their status.
func (s *OpStats) Count() int64 {
	var n int64
	for _, c := range s.Returns {
		n += c
	}
	return n
}

func (s *OpStats) merge(o *OpStats) {
	mergeInto(&s.OK, o.OK)
	mergeInto(&s.Failed, o.Failed)
	mergeInto(&s.Service, o.Service)
	for i, c := range o.Returns {
		s.Returns[i] += c
	}
}

func mergeInto(dst **Histogram, src *Histogram) {
	if src == nil {
		return
	}
	if *dst == nil {
		*dst = NewHistogram()
	}
	(*dst).Merge(src)
}

// Recorder holds one worker's measurements. Record is called by the worker;
// the status reporter takes interval figures concurrently, so both hold a
// mutex that is uncontended almost always. Histograms are made on first
// use, so a worker costs memory only for the operations it performs.
type Recorder struct {
	mu       sync.Mutex
	open     bool
	ops      [maxOps]*OpStats
	interval [maxOps]*Histogram
}

// NewRecorder returns an empty recorder; open selects open-loop recording
// (service times kept too).
func NewRecorder(open bool) *Recorder { return &Recorder{open: open} }

// Record adds one operation: its status, its latency (from the intended
// start in an open loop, from the actual start otherwise) and its service
// time (from the actual start).
func (r *Recorder) Record(op workload.Op, st workload.Status, latency, service time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.ops[op]
	if s == nil {
		s = &OpStats{Op: op}
		r.ops[op] = s
		r.interval[op] = newHistogram(intervalSigFigs)
	}
	s.Returns[st]++
	h := &s.OK
	if st == workload.Error {
		h = &s.Failed
	}
	if *h == nil {
		*h = NewHistogram()
	}
	(*h).Record(latency)
	if r.open {
		if s.Service == nil {
			s.Service = NewHistogram()
		}
		s.Service.Record(service)
	}
	r.interval[op].Record(latency)
}

// Interval is what happened since the previous interval, per operation.
type Interval struct {
	Ops [maxOps]*Histogram
}

// Count returns the operations of the interval.
func (iv *Interval) Count() int64 {
	var n int64
	for _, h := range iv.Ops {
		if h != nil {
			n += h.Count()
		}
	}
	return n
}

// Get returns op's histogram, or nil when op did not run.
func (iv *Interval) Get(op workload.Op) *Histogram { return iv.Ops[op] }

// TakeInterval moves the worker's interval figures into iv.
func (r *Recorder) TakeInterval(iv *Interval) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for op, h := range r.interval {
		if h == nil || h.Count() == 0 {
			continue
		}
		if iv.Ops[op] == nil {
			iv.Ops[op] = newHistogram(intervalSigFigs)
		}
		iv.Ops[op].Merge(h)
		h.Reset()
	}
}

// Summary is the merge of every worker's measurements.
type Summary struct {
	// Ops lists the operations that ran, in workload.Ops order.
	Ops []*OpStats
}

// Count returns the operations of every kind.
func (s *Summary) Count() int64 {
	var n int64
	for _, o := range s.Ops {
		n += o.Count()
	}
	return n
}

// Get returns op's figures, or nil when op did not run.
func (s *Summary) Get(op workload.Op) *OpStats {
	for _, o := range s.Ops {
		if o.Op == op {
			return o
		}
	}
	return nil
}

// Merge combines the recorders' measurements. The recorders' workers must
// have stopped.
func Merge(recs []*Recorder) *Summary {
	var all [maxOps]*OpStats
	for _, r := range recs {
		r.mu.Lock()
		for op, s := range r.ops {
			if s == nil {
				continue
			}
			if all[op] == nil {
				all[op] = &OpStats{Op: workload.Op(op)}
			}
			all[op].merge(s)
		}
		r.mu.Unlock()
	}
	sum := &Summary{}
	for _, op := range workload.Ops {
		if all[op] != nil {
			sum.Ops = append(sum.Ops, all[op])
		}
	}
	return sum
}
