package faulttest

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shoalkv/shoal/internal/testcluster"
	"github.com/shoalkv/shoal/ringsync/ring"
	"github.com/shoalkv/shoal/wire"
	"github.com/shoalkv/shoal/wire/pki"
)

// inspector asks storaged nodes directly, one at a time, for their own copy
// of keys and for their status, over a wire endpoint of its own with the
// test client's certificate. There is no quorum, no merge across nodes and
// no read repair (a node answers a Get from its own store and repairs
// nothing), so inspecting moves no data between nodes: a test that only
// inspects still makes "no reads" in the sense of the anti-entropy tests.
// It binds ClientIP(inspectorClient), which no partition of these tests
// names, so it reaches every running node, even one cut off from the rest.
type inspector struct {
	c  *testcluster.Cluster
	ep *wire.Endpoint
}

const (
	// inspectorClient is the inspector's testcluster.ClientIP index, apart
	// from the writers' (0 and up).
	inspectorClient = 9
	// inspectWorkers is how many Gets a sweep has in flight at once.
	inspectWorkers = 16
	// inspectTimeout bounds one call of the inspector.
	inspectTimeout = 5 * time.Second
	// sweepPause is the pause between two sweeps of await.
	sweepPause = 250 * time.Millisecond
)

// newInspector opens the inspector's endpoint; t.Cleanup closes it.
func newInspector(t *testing.T, c *testcluster.Cluster) *inspector {
	t.Helper()
	ep, err := wire.NewEndpoint(wire.EndpointConfig{
		Addr:      c.ClientIP(inspectorClient) + ":0",
		TLS:       c.Material(pki.RoleClient, "tester"),
		ClusterID: c.ClusterID,
	})
	if err != nil {
		t.Fatalf("inspector endpoint: %v", err)
	}
	t.Cleanup(func() { ep.Close() })
	return &inspector{c: c, ep: ep}
}

// call sends req to node id and decodes its answer into resp.
func (in *inspector) call(ctx context.Context, id ring.NodeID, req, resp any) error {
	i := slices.IndexFunc(in.c.Nodes, func(n *testcluster.Node) bool { return n.ID == id })
	if i < 0 {
		panic("faulttest: inspector asked for unknown node " + string(id)) // a broken test
	}
	ctx, cancel := context.WithTimeout(ctx, inspectTimeout)
	defer cancel()
	return in.ep.Call(ctx, in.c.Nodes[i].Addr, string(id), req, resp)
}

// status asks node id to describe itself.
func (in *inspector) status(ctx context.Context, id ring.NodeID) (wire.StatusOK, error) {
	var st wire.StatusOK
	err := in.call(ctx, id, &wire.StatusReq{}, &st)
	return st, err
}

// ring asks the cluster's first node for its ring; it fails the test if
// it cannot.
func (in *inspector) ring(t *testing.T, ctx context.Context) *ring.Ring {
	t.Helper()
	var resp wire.RingOK
	if err := in.call(ctx, in.c.Nodes[0].ID, &wire.RingReq{}, &resp); err != nil {
		t.Fatalf("ring of %s: %v", in.c.Nodes[0].ID, err)
	}
	return resp.Ring
}

// statuses asks every node of the cluster, in node order; a node that does
// not answer has a zero status and its error.
func (in *inspector) statuses(ctx context.Context) ([]wire.StatusOK, []error) {
	sts, errs := make([]wire.StatusOK, len(in.c.Nodes)), make([]error, len(in.c.Nodes))
	for i, n := range in.c.Nodes {
		sts[i], errs[i] = in.status(ctx, n.ID)
	}
	return sts, errs
}

// sweep asks each node named in refs for its copy of their writes and
// judges every answer. Each node is first asked for its status: its
// answers prove what its objects bucket holds only if it held no hint
// record then. That holds for the whole sweep because the tests sweep only
// once their writers are closed: with no writes, no hint record is made,
// and delivery only removes them. It returns the copies not judged held,
// in refs order, and the tally of all verdicts.
func (in *inspector) sweep(ctx context.Context, writes []write, refs []copyRef) ([]copyRef, tally) {
	hintFree := make(map[ring.NodeID]bool)
	for _, c := range refs {
		if _, asked := hintFree[c.node]; !asked {
			st, err := in.status(ctx, c.node)
			hintFree[c.node] = err == nil && st.Hints == 0
		}
	}
	answers := make([]answer, len(refs))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(inspectWorkers, len(refs)) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < len(refs); i = int(next.Add(1) - 1) {
				c := refs[i]
				a := answer{hintFree: hintFree[c.node]}
				a.err = in.call(ctx, c.node, &wire.Get{Key: writes[c.write].key}, &a.got)
				answers[i] = a
			}
		})
	}
	wg.Wait()
	var left []copyRef
	var t tally
	for i, c := range refs {
		v := judge(writes[c.write].value, answers[i])
		t.note(c, writes[c.write], answers[i], v)
		if v != held {
			left = append(left, c)
		}
	}
	return left, t
}

// await sweeps until every copy in refs is judged held or limit has passed
// since it began, asking each time only for the copies not yet held: a
// held copy stays held while nothing writes (objects change only by merge,
// which keeps every value nothing newer covers). It returns how long it
// took, the copies left (none on success) and the last sweep's tally.
func (in *inspector) await(ctx context.Context, writes []write, refs []copyRef, limit time.Duration) (time.Duration, []copyRef, tally) {
	start := time.Now()
	left := refs
	var last tally
	for {
		left, last = in.sweep(ctx, writes, left)
		if len(left) == 0 || time.Since(start) > limit || ctx.Err() != nil {
			return time.Since(start), left, last
		}
		time.Sleep(sweepPause)
	}
}
