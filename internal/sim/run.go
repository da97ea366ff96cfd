package sim

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/shoalkv/shoal/driver"
	"github.com/shoalkv/shoal/internal/history"
	"github.com/shoalkv/shoal/internal/setvalue"
)

// Config describes one simulated run. The zero value of each field is the
// default given.
type Config struct {
	Seed     uint64
	Duration time.Duration // of the workload and its faults (default 60s)
	Nodes    int           // default 5
	Clients  int           // default 3
	Keys     int           // default 6
	// Think is the range of a client's pause between adds (default 40ms
	// to 160ms): enough load to race, little enough to run fast.
	Think [2]time.Duration
	// Resolve folds siblings (default setvalue.Union).
	Resolve Resolver
	// Deletes is the share of a client's operations that read a key and
	// delete what they read. Negative means none; 0 lets the seed choose:
	// half the seeds delete (3% of operations), half do not.
	Deletes float64
	// Link is how the network behaves outside Loss faults (default 0.5ms
	// latency, 1ms jitter, 1% duplicates).
	Link *Link
	// NoFaults runs the workload on a healthy cluster.
	NoFaults bool
	Logger   *slog.Logger
	// Log receives the run's progress lines (faults, phases); nil drops them.
	Log func(string)
}

func (c *Config) setDefaults() {
	if c.Duration == 0 {
		c.Duration = 60 * time.Second
	}
	if c.Nodes == 0 {
		c.Nodes = 5
	}
	if c.Clients == 0 {
		c.Clients = 3
	}
	if c.Keys == 0 {
		c.Keys = 6
	}
	if c.Think == [2]time.Duration{} {
		c.Think = [2]time.Duration{40 * time.Millisecond, 160 * time.Millisecond}
	}
	if c.Resolve == nil {
		c.Resolve = setvalue.Union
	}
	if c.Link == nil {
		c.Link = &Link{Latency: 500 * time.Microsecond, Jitter: time.Millisecond, Dup: 0.01}
	}
	if c.Log == nil {
		c.Log = func(string) {}
	}
}

// Result is what a run found.
type Result struct {
	Plan   Plan
	Report history.SetReport
	// Ops counts adds by outcome; MaxSiblings is the most siblings an
	// Update saw.
	Acked, NotAcked int64
	MaxSiblings     int64
	// Deletes is the share of operations that deleted (see Config.Deletes);
	// DeletesAcked how many deletes were acknowledged.
	Deletes      float64
	DeletesAcked int64
	// Drained is how long after healing every hint was delivered; HintsLeft
	// the hints still held when the quiet period gave up.
	Drained   time.Duration
	HintsLeft uint64
	// Ledger lists the nodes whose hint accounts disagree with their disk
	// once drained: pending plus kept records must be the records stored.
	Ledger []string
	Net    NetStats
	// Fingerprint hashes the history's events and times: equal across runs
	// of a seed only if the interleaving was the same.
	Fingerprint uint64
}

// Valid reports whether the run kept every promise: no acknowledged add
// lost, nothing invented, nothing that failed definitely applied, and every
// hint delivered.
func (r Result) Valid() bool { return r.Report.Valid() && r.HintsLeft == 0 && len(r.Ledger) == 0 }

func (r Result) String() string {
	return fmt.Sprintf("adds acked %d, not acked %d; deletes %.0f%% (%d acked); max siblings %d; hints drained in %v (left %d); hint accounts off: %v; packets %+v\nplan: %s\n%s",
		r.Acked, r.NotAcked, r.Deletes*100, r.DeletesAcked, r.MaxSiblings, r.Drained, r.HintsLeft, r.Ledger, r.Net, r.Plan, r.Report)
}

// Run runs the set workload on a simulated cluster under the seed's fault
// plan. Call it inside a testing/synctest bubble: it waits on virtual time.
func Run(cfg Config) (Result, error) {
	cfg.setDefaults()
	stream := func(k uint64) *rand.Rand { return rand.New(rand.NewPCG(cfg.Seed, k)) }
	net := NewNetwork(stream(1), *cfg.Link)
	c, err := NewCluster(net, stream(2), Options{Nodes: cfg.Nodes, Logger: cfg.Logger})
	if err != nil {
		return Result{}, err
	}
	defer c.Close()
	var res Result
	if !cfg.NoFaults {
		res.Plan = NewPlan(stream(3), cfg.Duration, cfg.Nodes, cfg.Clients)
	}
	clients := make([]*driver.Client, cfg.Clients)
	rngs := make([]*rand.Rand, cfg.Clients)
	for i := range clients {
		octx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		clients[i], err = c.Client(octx, i, nil)
		cancel()
		if err != nil {
			return Result{}, fmt.Errorf("sim: client %d: %w", i, err)
		}
		rngs[i] = stream(100 + uint64(i))
	}
	deletes := cfg.Deletes
	if deletes == 0 && stream(4).IntN(2) == 0 {
		deletes = 0.03
	}
	res.Deletes = max(deletes, 0)
	w := &setWorkload{keys: cfg.Keys, deletes: deletes, think: cfg.Think, timeout: 5 * time.Second, resolve: cfg.Resolve, rec: history.New()}

	ctx, cancel := context.WithTimeout(context.Background(), cfg.Duration)
	defer cancel()
	hosts := make([]string, 0, cfg.Nodes+cfg.Clients)
	for i := range cfg.Nodes {
		hosts = append(hosts, hostOf(NodeAddr(i)))
	}
	for i := range cfg.Clients {
		hosts = append(hosts, hostOf(ClientAddr(i)))
	}
	m := &nemesis{c: c, hosts: hosts, base: *cfg.Link, owner: make(map[int]bool), log: cfg.Log}
	nerr := make(chan error, 1)
	go func() { nerr <- m.run(ctx, res.Plan) }()
	w.runClients(ctx, clients, rngs)
	if err := <-nerr; err != nil {
		return Result{}, fmt.Errorf("sim: nemesis: %w", err)
	}
	net.SetLink(*cfg.Link)
	for _, n := range c.Nodes {
		if err := n.Start(); err != nil {
			return Result{}, err
		}
	}
	cfg.Log("healed; waiting for hints")
	res.Drained, res.HintsLeft = drain(clients[0], 60*time.Second)
	time.Sleep(time.Second) // the last deliveries' accounts settle
	res.Ledger = ledger(clients[0])
	final, err := finalReads(clients[0], cfg.Keys)
	if err != nil {
		return Result{}, err
	}
	events := w.rec.Events()
	res.Report, err = history.CheckSet(events, final)
	if err != nil {
		return Result{}, err
	}
	res.Acked, res.NotAcked, res.MaxSiblings = w.ok.Load(), w.fails.Load(), w.siblings.Load()
	res.DeletesAcked = w.deleted.Load()
	res.Net = net.Stats()
	res.Fingerprint = fingerprint(events)
	return res, nil
}

// drain waits, up to limit, until no node holds a pending hint, polling
// every 250ms; it returns how long that took and what was left.
func drain(cl *driver.Client, limit time.Duration) (time.Duration, uint64) {
	start := time.Now()
	for {
		var left uint64
		for _, st := range cl.Status(context.Background()) {
			if st.Err != nil {
				left++ // unreachable: it may hold hints
				continue
			}
			left += st.Info.Hints - st.Info.HintsKept
		}
		took := time.Since(start)
		if left == 0 || took >= limit {
			return took, left
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// ledger returns the nodes whose hint accounts (pending per owner, kept)
// do not add up to the records on their disk, or were found wrong and
// corrected by a delivery sweep since the node last started. A node's status reads the
// two a moment apart, and a delivery's delete is on disk a moment before
// its account settles, so it is called once deliveries have ended.
func ledger(cl *driver.Client) []string {
	var off []string
	for _, st := range cl.Status(context.Background()) {
		if st.Err != nil {
			off = append(off, fmt.Sprintf("%s: unreachable: %v", st.Node.ID, st.Err))
			continue
		}
		accounted := st.Info.HintsKept
		for _, o := range st.Info.HintOwners {
			accounted += o.Keys
		}
		if accounted != st.Info.Hints {
			off = append(off, fmt.Sprintf("%s: %d accounted, %d stored", st.Node.ID, accounted, st.Info.Hints))
		}
		if n := st.Info.HintsCorrected; n > 0 {
			off = append(off, fmt.Sprintf("%s: %d backlogs found wrong by a sweep", st.Node.ID, n))
		}
	}
	return off
}

// finalReads reads every key from all its primaries (R=3, PR=3), retrying a
// failed read a few times.
func finalReads(cl *driver.Client, keys int) (map[string]history.Read, error) {
	final := make(map[string]history.Read, keys)
	for k := range keys {
		key := setKey(k)
		var (
			v   driver.Versions
			err error
		)
		for range 5 {
			v, err = cl.Get(context.Background(), []byte(key), driver.WithR(3), driver.WithPR(3))
			if err == nil || errors.Is(err, driver.ErrNotFound) {
				break
			}
			time.Sleep(time.Second)
		}
		if err != nil && !errors.Is(err, driver.ErrNotFound) {
			return nil, fmt.Errorf("sim: final read of %s: %w", key, err)
		}
		s, err := setvalue.Merge(v.Values)
		if err != nil {
			return nil, fmt.Errorf("sim: final read of %s: %w", key, err)
		}
		final[key] = history.Read{Elements: s.Elements, Siblings: len(v.Values)}
	}
	return final, nil
}

func fingerprint(events []history.Event) uint64 {
	h := fnv.New64a()
	for _, e := range events {
		fmt.Fprintf(h, "%v\n", e)
	}
	return h.Sum64()
}
