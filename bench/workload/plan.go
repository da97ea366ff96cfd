package workload

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/shoalkv/shoal/bench/generator"
)

// Plan holds a workload's shared generators: the operation mix, the record
// chooser and the counter of inserted records. Safe for concurrent use, with
// a *rand.Rand per worker.
type Plan struct {
	w       Workload
	ops     *generator.Discrete[Op]
	chooser generator.Chooser
	inserts *generator.Counter
}

// Request is one operation for a worker to perform. Its slices are new and
// belong to whoever executes it.
type Request struct {
	Op  Op
	Key []byte
	// Value is the whole record of an insert or update, and the new field of
	// a read-modify-write.
	Value []byte
	// Field is the field a read-modify-write replaces.
	Field int
	// item is the record number of an insert, acknowledged by Done.
	item int64
}

// NewPlan checks w and builds its generators.
func NewPlan(w Workload) (*Plan, error) {
	if err := w.Validate(); err != nil {
		return nil, err
	}
	ops, err := generator.NewDiscrete(
		[]Op{Read, Update, Insert, ReadModifyWrite},
		[]float64{w.ReadProportion, w.UpdateProportion, w.InsertProportion, w.ReadModifyWriteProportion})
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalid, w.Name, err)
	}
	z, err := generator.NewZipfian(w.ZipfianConstant)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalid, w.Name, err)
	}
	p := &Plan{w: w, ops: ops, inserts: generator.NewCounter(w.RecordCount)}
	switch w.Distribution {
	case Uniform:
		p.chooser = generator.Uniform{}
	case Zipfian:
		// Like YCSB, the zipfian domain leaves room for the inserts the run
		// is expected to make (twice the expectation); records inserted
		// beyond it are never chosen.
		expected := int64(float64(w.OperationCount) * w.InsertProportion * 2)
		if w.ZipfianYCSB {
			p.chooser = generator.NewYCSBScrambled(z, w.RecordCount+expected)
		} else {
			p.chooser = generator.NewScrambled(z, w.RecordCount+expected)
		}
	case Latest:
		p.chooser = generator.Latest{Z: z}
	}
	return p, nil
}

// Workload returns the plan's workload.
func (p *Plan) Workload() Workload { return p.w }

// LoadCount is the number of inserts of the load phase.
func (p *Plan) LoadCount() int64 { return p.w.LoadCount() }

// LoadRequest returns the i-th insert of the load phase, i in [0, LoadCount).
func (p *Plan) LoadRequest(r *rand.Rand, i int64) Request {
	item := p.w.InsertStart + i
	return Request{Op: Insert, Key: p.w.Key(item), Value: p.value(r, p.w.ValueSize()), item: -1}
}

// Next returns the next operation of the run phase. A worker must call Done
// with it once it has been executed (or abandoned).
func (p *Plan) Next(r *rand.Rand) Request {
	op := p.ops.Next(r)
	switch op {
	case Insert:
		item := p.inserts.Reserve()
		return Request{Op: Insert, Key: p.w.Key(item), Value: p.value(r, p.w.ValueSize()), item: item}
	case Update:
		return Request{Op: Update, Key: p.choose(r), Value: p.value(r, p.w.ValueSize())}
	case ReadModifyWrite:
		return Request{Op: ReadModifyWrite, Key: p.choose(r), Value: p.value(r, p.w.FieldLength), Field: r.IntN(p.w.FieldCount)}
	}
	return Request{Op: Read, Key: p.choose(r)}
}

// Done finishes a request from Next: an insert's record may now be chosen
// (YCSB acknowledges failed inserts too, so a later read reports them as not
// found instead of stalling the chooser).
func (p *Plan) Done(req Request) {
	if req.Op == Insert && req.item >= 0 {
		p.inserts.Ack(req.item)
	}
}

func (p *Plan) choose(r *rand.Rand) []byte {
	return p.w.Key(p.chooser.Next(r, p.inserts.Limit()))
}

// value returns n random bytes (incompressible, as a store may compress).
func (p *Plan) value(r *rand.Rand, n int) []byte {
	b := make([]byte, n+7)
	for i := 0; i < n; i += 8 {
		v := r.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b[:n:n]
}

// Exec performs req against db and returns db's error.
func (p *Plan) Exec(ctx context.Context, db DB, req Request) error {
	switch req.Op {
	case Read:
		return db.Read(ctx, req.Key)
	case Update:
		return db.Update(ctx, req.Key, req.Value)
	case Insert:
		return db.Insert(ctx, req.Key, req.Value)
	case ReadModifyWrite:
		return db.ReadModifyWrite(ctx, req.Key, p.modifier(req))
	}
	panic(fmt.Sprintf("workload: cannot execute %v", req.Op))
}

// modifier returns the deterministic modification of a read-modify-write:
// the record with field req.Field replaced by req.Value. A missing or short
// record is padded with zeros to the record size.
func (p *Plan) modifier(req Request) func(old []byte) []byte {
	size := max(p.w.ValueSize(), (req.Field+1)*p.w.FieldLength)
	return func(old []byte) []byte {
		out := make([]byte, max(size, len(old)))
		copy(out, old)
		copy(out[req.Field*p.w.FieldLength:], req.Value)
		return out
	}
}
