package runner

import (
	"context"
	"math/rand/v2"

	"github.com/shoalkv/shoal/bench/workload"
)

// Source supplies the operations of a phase.
type Source interface {
	// Next returns operation i (0-based) of the phase.
	Next(r *rand.Rand, i int64) workload.Request
	// Exec performs req against db.
	Exec(ctx context.Context, db workload.DB, req workload.Request) error
	// Done is called once req has been executed.
	Done(req workload.Request)
}

// Load is the load phase of plan: insert records InsertStart.. in order.
// Its operation count is plan.LoadCount().
func Load(plan *workload.Plan) Source { return load{plan} }

type load struct{ p *workload.Plan }

func (l load) Next(r *rand.Rand, i int64) workload.Request { return l.p.LoadRequest(r, i) }
func (l load) Exec(ctx context.Context, db workload.DB, req workload.Request) error {
	return l.p.Exec(ctx, db, req)
}
func (l load) Done(workload.Request) {}

// Transactions is the run phase of plan: its operation mix.
func Transactions(plan *workload.Plan) Source { return transactions{plan} }

type transactions struct{ p *workload.Plan }

func (t transactions) Next(r *rand.Rand, _ int64) workload.Request { return t.p.Next(r) }
func (t transactions) Exec(ctx context.Context, db workload.DB, req workload.Request) error {
	return t.p.Exec(ctx, db, req)
}
func (t transactions) Done(req workload.Request) { t.p.Done(req) }
