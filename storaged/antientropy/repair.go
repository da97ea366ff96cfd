package antientropy

import (
	"fmt"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/shoalkv/shoal/ringsync/ring"
	"github.com/shoalkv/shoal/wire"
)

// Repair is the tally of one on-demand repair (wire.Repair): a pass over
// some partitions, each exchanged with each of its other replicas. It
// decides nothing and reads no clock: the shell that runs the pass reports
// each key repaired, each exchange's outcome and each partition's end, and
// the instant it ended, and reads Progress (for wire.RepairOK and status).
//
// A Repair is not safe for concurrent use; the shell guards it.
type Repair struct {
	p       wire.RepairProgress
	started time.Time
	ended   time.Time // zero while running
}

// NewRepair starts the tally of repair id (not 0) over partitions
// partitions, at now.
func NewRepair(id uint64, partitions int, now time.Time) (*Repair, error) {
	if id == 0 {
		return nil, invalidf("repair id 0 (0 means none)")
	}
	if partitions < 0 || int64(partitions) > int64(ring.MaxPartitions) {
		return nil, invalidf("repair of %d partitions, want 0..%d", partitions, ring.MaxPartitions)
	}
	return &Repair{
		p:       wire.RepairProgress{ID: id, Running: true, Partitions: uint32(partitions), StartedMS: now.UnixMilli()},
		started: now,
	}, nil
}

// ID is the repair's id.
func (r *Repair) ID() uint64 { return r.p.ID }

// Running reports whether End has not been called yet.
func (r *Repair) Running() bool { return r.p.Running }

// Repaired counts keys repaired by an exchange in progress (they count even
// if the exchange later fails: the merges stand).
func (r *Repair) Repaired(keys uint64) {
	r.mustRun("Repaired")
	r.p.KeysRepaired += keys
}

// Exchanged records the end of the exchange of partition with peer: err nil
// for one that ran to the end, else why it failed or was skipped. The first
// wire.MaxRepairFailures failures are listed, their error text cut to
// wire.MaxRepairError bytes; every one is counted.
func (r *Repair) Exchanged(partition uint32, peer ring.NodeID, err error) {
	r.mustRun("Exchanged")
	if err == nil {
		r.p.Exchanges++
		return
	}
	r.p.Failed++
	if len(r.p.Failures) < wire.MaxRepairFailures {
		r.p.Failures = append(r.p.Failures, wire.RepairFailure{Partition: partition, Peer: peer, Error: cut(err.Error(), wire.MaxRepairError)})
	}
}

// PartitionDone records that a partition's exchanges are over. Calling it
// more often than the repair has partitions is a bug in the shell.
func (r *Repair) PartitionDone() {
	r.mustRun("PartitionDone")
	if r.p.PartitionsDone >= r.p.Partitions {
		panic(fmt.Sprintf("antientropy: repair %x: partition %d done of %d", r.p.ID, r.p.PartitionsDone+1, r.p.Partitions))
	}
	r.p.PartitionsDone++
}

// End records that the pass ended at now: every partition done, or the
// node stopped it.
func (r *Repair) End(now time.Time) {
	r.mustRun("End")
	r.p.Running = false
	r.ended = now
}

// Progress is where the repair stands at now (the duration so far, or its
// whole duration once it ended). The result shares nothing with r.
func (r *Repair) Progress(now time.Time) wire.RepairProgress {
	p := r.p
	p.Failures = slices.Clone(p.Failures)
	if !r.ended.IsZero() {
		now = r.ended
	}
	p.TookMS = uint64(max(now.Sub(r.started), 0).Milliseconds())
	return p
}

// mustRun panics if the repair has ended: the shell reported an outcome
// after the end.
func (r *Repair) mustRun(what string) {
	if !r.p.Running {
		panic(fmt.Sprintf("antientropy: repair %x: %s after its end", r.p.ID, what))
	}
}

// cut returns s cut to at most n bytes, at a rune boundary.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
