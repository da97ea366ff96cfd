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
	"github.com/shoalkv/shoal/storaged/merkle"
	"github.com/shoalkv/shoal/wire"
	"github.com/shoalkv/shoal/wire/pki"
)

// inspector asks storaged nodes directly, one at a time, for their own copy
// of keys and for their status, over a wire endpoint of its own with the
// test client's certificate. There is no quorum, no merge across nodes and
// no read repair (a node answers a Get from its own store and repairs
// nothing), so inspecting moves no data between nodes: a test that only
// inspects still makes "no reads" in the sense of the anti-entropy tests.
//
// A node's Get answer merges in the hints it holds for the key. Where that
// matters (the node holds hints) the inspector also lists the node's
// objects bucket through the anti-entropy exchange's key listing
// (wire.ExchangeKeys: key hashes from a scan of the bucket, nothing else).
// That request is node-only, so a second endpoint holds the certificate of
// member inspectorPeer, issued by the test's CA. Listing changes nothing
// either.
//
// The endpoints bind ClientIP(inspectorClient) and ClientIP(inspectorPeerIP),
// which no partition of these tests names, so they reach every running
// node, even one cut off from the rest.
type inspector struct {
	c    *testcluster.Cluster
	ep   *wire.Endpoint // the client certificate: Get, Status, Ring
	peer *wire.Endpoint // inspectorPeer's node certificate: ExchangeKeys
	r    *ring.Ring     // the cluster's ring, fixed in these tests
}

const (
	// inspectorClient and inspectorPeerIP are the inspector's
	// testcluster.ClientIP indexes, apart from the writers' (0 and up).
	inspectorClient, inspectorPeerIP = 9, 8
	// inspectorPeer is the member whose certificate lists objects.
	inspectorPeer = "n1"
	// inspectWorkers is how many calls a sweep has in flight at once.
	inspectWorkers = 16
	// inspectTimeout bounds one call of the inspector.
	inspectTimeout = 5 * time.Second
	// sweepPause is the pause between two sweeps of await.
	sweepPause = 250 * time.Millisecond
)

// newInspector opens the inspector's endpoints (t.Cleanup closes them) and
// takes the ring from the cluster's first node, which must be running.
func newInspector(t *testing.T, ctx context.Context, c *testcluster.Cluster) *inspector {
	t.Helper()
	endpoint := func(ip int, m pki.Material) *wire.Endpoint {
		ep, err := wire.NewEndpoint(wire.EndpointConfig{Addr: c.ClientIP(ip) + ":0", TLS: m, ClusterID: c.ClusterID})
		if err != nil {
			t.Fatalf("inspector endpoint: %v", err)
		}
		t.Cleanup(func() { ep.Close() })
		return ep
	}
	in := &inspector{
		c:    c,
		ep:   endpoint(inspectorClient, c.Material(pki.RoleClient, "tester")),
		peer: endpoint(inspectorPeerIP, c.Material(pki.RoleNode, inspectorPeer)),
	}
	var resp wire.RingOK
	if err := in.call(ctx, in.ep, c.Nodes[0].ID, &wire.RingReq{}, &resp); err != nil {
		t.Fatalf("ring of %s: %v", c.Nodes[0].ID, err)
	}
	in.r = resp.Ring
	return in
}

// call sends req through ep to node id and decodes its answer into resp.
func (in *inspector) call(ctx context.Context, ep *wire.Endpoint, id ring.NodeID, req, resp any) error {
	i := slices.IndexFunc(in.c.Nodes, func(n *testcluster.Node) bool { return n.ID == id })
	if i < 0 {
		panic("faulttest: inspector asked for unknown node " + string(id)) // a broken test
	}
	ctx, cancel := context.WithTimeout(ctx, inspectTimeout)
	defer cancel()
	return ep.Call(ctx, in.c.Nodes[i].Addr, string(id), req, resp)
}

// status asks node id to describe itself.
func (in *inspector) status(ctx context.Context, id ring.NodeID) (wire.StatusOK, error) {
	var st wire.StatusOK
	err := in.call(ctx, in.ep, id, &wire.StatusReq{}, &st)
	return st, err
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

// listObjects asks node id for the hashes of keys (all of partition part)
// in its objects bucket and returns them by key; a key absent there has no
// entry. It asks for the keys' leaves of a tree of merkle.MinLeaves leaves,
// page after page.
func (in *inspector) listObjects(ctx context.Context, id ring.NodeID, part int, keys [][]byte) (map[string]uint64, error) {
	var leaves wire.ExchangeIDs
	want := make(map[string]bool, len(keys))
	for _, k := range keys {
		leaves = append(leaves, uint32(merkle.LeafOf(k, merkle.MinLeaves)))
		want[string(k)] = true
	}
	slices.Sort(leaves)
	req := wire.ExchangeKeys{Partition: uint32(part), Leaves: merkle.MinLeaves, LeafIDs: slices.Compact(leaves)}
	out := make(map[string]uint64, len(keys))
	for {
		var page wire.ExchangeKeysOK
		if err := in.call(ctx, in.peer, id, &req, &page); err != nil {
			return nil, err
		}
		for _, kh := range page.Keys {
			if want[string(kh.Key)] {
				out[string(kh.Key)] = kh.Hash
			}
		}
		if !page.More {
			return out, nil
		}
		req.After = page.Keys[len(page.Keys)-1].Key
	}
}

// sweep asks each node named in refs for its copy of their writes and
// judges every answer. Each node is first asked for its status: if it held
// no hint record then, its answers are its objects bucket's. That holds for
// the whole sweep because the tests sweep only once their writers are
// closed: with no writes no hint record is made, and delivery only removes
// them. Answers with the value from a node holding hints are checked
// against a listing of its objects bucket. It returns the copies not judged
// held, in refs order, and the tally of all verdicts.
func (in *inspector) sweep(ctx context.Context, writes []write, refs []copyRef) ([]copyRef, tally) {
	hintFree := make(map[ring.NodeID]bool)
	for _, c := range refs {
		if _, asked := hintFree[c.node]; !asked {
			st, err := in.status(ctx, c.node)
			hintFree[c.node] = err == nil && st.Hints == 0
		}
	}
	answers := make([]answer, len(refs))
	parallel(len(refs), func(i int) {
		c := refs[i]
		answers[i].hintFree = hintFree[c.node]
		answers[i].err = in.call(ctx, in.ep, c.node, &wire.Get{Key: writes[c.write].key}, &answers[i].got)
	})
	in.checkObjects(ctx, writes, refs, answers)
	var left []copyRef
	var t tally
	for i, c := range refs {
		w := writes[c.write]
		v := judge(w, answers[i])
		t.note(c, w, answers[i], v)
		if v != held {
			left = append(left, c)
		}
	}
	return left, t
}

// checkObjects fills in, for each answer judged unproven (the value, from a
// node holding hints), what that node's objects bucket holds for the key:
// one listing per node and partition. A listing that fails leaves its
// answers unasked, so unproven.
func (in *inspector) checkObjects(ctx context.Context, writes []write, refs []copyRef, answers []answer) {
	type group struct {
		node ring.NodeID
		part int
	}
	members := make(map[group][]int) // indexes into refs
	var groups []group
	for i, c := range refs {
		if judge(writes[c.write], answers[i]) != unproven {
			continue
		}
		g := group{c.node, in.r.PartitionOf(writes[c.write].key)}
		if members[g] == nil {
			groups = append(groups, g)
		}
		members[g] = append(members[g], i)
	}
	parallel(len(groups), func(j int) {
		g := groups[j]
		keys := make([][]byte, len(members[g]))
		for n, i := range members[g] {
			keys[n] = writes[refs[i].write].key
		}
		hashes, err := in.listObjects(ctx, g.node, g.part, keys)
		if err != nil {
			return
		}
		for n, i := range members[g] {
			h, ok := hashes[string(keys[n])]
			answers[i].objects = objectsCopy{asked: true, found: ok, hash: h}
		}
	})
}

// parallel runs do(0), ..., do(n-1), inspectWorkers at a time, and waits
// for them all.
func parallel(n int, do func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(inspectWorkers, n) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				do(i)
			}
		})
	}
	wg.Wait()
}

// await sweeps until every copy in refs is judged held or limit has passed
// since it began, asking each time only for the copies not yet held (a held
// copy stays held while nothing writes: see judge). It returns how long it
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
