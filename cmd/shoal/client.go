package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/shoalkv/shoal/driver"
	"github.com/shoalkv/shoal/ringsync/ring"
	"github.com/shoalkv/shoal/storaged/localcluster"
	"github.com/shoalkv/shoal/wire"
	"github.com/shoalkv/shoal/wire/pki"
)

// target is where client commands send requests.
type target struct {
	seeds, clusterID, ca, cert, key, devDir string
	n, r, w                                 int
	timeout, connect                        time.Duration
}

func (t *target) flags(fs *pflag.FlagSet) {
	fs.StringVar(&t.seeds, "seeds", os.Getenv("SHOAL_SEEDS"), "node addresses, comma-separated [$SHOAL_SEEDS] (default: the dev cluster)")
	fs.StringVar(&t.clusterID, "cluster-id", os.Getenv("SHOAL_CLUSTER_ID"), "cluster id [$SHOAL_CLUSTER_ID] (default: the dev cluster's, else \"shoal\")")
	fs.StringVar(&t.ca, "ca", os.Getenv("SHOAL_CA"), "cluster CA certificate [$SHOAL_CA]")
	fs.StringVar(&t.cert, "cert", os.Getenv("SHOAL_CERT"), "client certificate [$SHOAL_CERT]")
	fs.StringVar(&t.key, "key", os.Getenv("SHOAL_KEY"), "client key [$SHOAL_KEY]")
	fs.StringVar(&t.devDir, "dev-dir", defaultDevDir(), "dev cluster directory used when --seeds is not given [$SHOAL_DEV_DIR]")
	fs.IntVar(&t.n, "n", 0, "replication factor N (default 3)")
	fs.IntVar(&t.r, "r", 0, "read quorum R (default 2)")
	fs.IntVar(&t.w, "w", 0, "write quorum W (default 2)")
	fs.DurationVar(&t.timeout, "timeout", 5*time.Second, "per-operation timeout")
	fs.DurationVar(&t.connect, "connect-timeout", 1500*time.Millisecond, "how long to wait for a seed to answer before giving up on the cluster")
}

// config is the driver configuration the flags name: the seeds, cluster id
// and TLS material given, else the dev cluster's. Client commands print
// results only, so the driver logs errors alone.
func (t *target) config() (driver.Config, error) {
	cfg := driver.Config{N: t.n, R: t.r, W: t.w, Timeout: t.timeout, ClusterID: t.clusterID,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))}
	if t.seeds != "" {
		cfg.Seeds = strings.Split(t.seeds, ",")
	} else {
		f, err := localcluster.Load(t.devDir)
		if err != nil {
			return cfg, fmt.Errorf("no --seeds given and no dev cluster found (start one with 'shoal dev'): %w", err)
		}
		cfg.Seeds = f.Seeds()
		if cfg.ClusterID == "" {
			cfg.ClusterID = f.ClusterID
		}
	}
	switch {
	case t.ca != "" || t.cert != "" || t.key != "":
		if t.ca == "" || t.cert == "" || t.key == "" {
			return cfg, errors.New("give all of --ca, --cert and --key")
		}
		mat, err := pki.Load(t.ca, t.cert, t.key)
		if err != nil {
			return cfg, err
		}
		cfg.TLS = mat
	default:
		mat, err := localcluster.ClientMaterial(t.devDir)
		if err != nil {
			return cfg, fmt.Errorf("no --ca/--cert/--key given and no dev cluster certificates: %w", err)
		}
		cfg.TLS = mat
	}
	return cfg, nil
}

// open connects the driver configured by the flags (config) and returns
// it with that configuration. It asks the seeds for at most the connect
// timeout: a cluster that does not answer by then is reported as down,
// with how to start it.
func (t *target) open(ctx context.Context) (driver.Config, *driver.Client, error) {
	cfg, err := t.config()
	if err != nil {
		return cfg, nil, err
	}
	octx, cancel := context.WithTimeout(ctx, t.connect)
	defer cancel()
	c, err := driver.Open(octx, cfg)
	var oe *driver.OpenError
	if errors.As(err, &oe) && oe.Down {
		if t.seeds == "" {
			return cfg, nil, fmt.Errorf("%w\nthe dev cluster in %s is not running: start it with 'shoal dev'", err, t.devDir)
		}
		return cfg, nil, fmt.Errorf("%w\nis the cluster running, and are --seeds right?", err)
	}
	return cfg, c, err
}

// clientCmd parses flags, checks the positional argument count, opens the
// driver and runs fn.
func clientCmd(name, argsUsage string, nargs int, args []string, fn func(ctx context.Context, c *driver.Client, pos []string) error) error {
	fs := pflag.NewFlagSet("shoal "+name, pflag.ContinueOnError)
	var t target
	t.flags(fs)
	fs.Usage = func() {
		fmt.Fprintf(os.Stderr, "Usage: shoal %s %s[flags]\n\n%s", name, argsUsage, fs.FlagUsages())
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != nargs {
		fs.Usage()
		return exitCode(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), t.timeout+5*time.Second)
	defer cancel()
	_, c, err := t.open(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	return fn(ctx, c, fs.Args())
}

func runPut(args []string) error {
	return clientCmd("put", "KEY VALUE ", 2, args, func(ctx context.Context, c *driver.Client, pos []string) error {
		key := []byte(pos[0])
		cur, err := c.Get(ctx, key)
		if err != nil && !errors.Is(err, driver.ErrNotFound) {
			return err
		}
		_, err = c.Put(ctx, key, []byte(pos[1]), cur.Context)
		return err
	})
}

func runGet(args []string) error {
	return clientCmd("get", "KEY ", 1, args, func(ctx context.Context, c *driver.Client, pos []string) error {
		v, err := c.Get(ctx, []byte(pos[0]))
		if errors.Is(err, driver.ErrNotFound) {
			fmt.Fprintf(os.Stderr, "shoal get: %q not found\n", pos[0])
			return exitCode(1)
		}
		if err != nil {
			return err
		}
		if len(v.Values) > 1 {
			fmt.Fprintf(os.Stderr, "shoal get: %d siblings (concurrent writes); 'shoal put' resolves them\n", len(v.Values))
		}
		for _, val := range v.Values {
			os.Stdout.Write(val)
			io.WriteString(os.Stdout, "\n")
		}
		return nil
	})
}

func runDel(args []string) error {
	return clientCmd("del", "KEY ", 1, args, func(ctx context.Context, c *driver.Client, pos []string) error {
		key := []byte(pos[0])
		cur, err := c.Get(ctx, key)
		if errors.Is(err, driver.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		return c.Delete(ctx, key, cur.Context)
	})
}

func runStatus(args []string) error {
	return clientCmd("status", "", 0, args, func(ctx context.Context, c *driver.Client, _ []string) error {
		fmt.Printf("%-6s %-18s %-8s %-8s %-17s %-6s %9s %7s %9s\n", "NODE", "ADDR", "BELIEVED", "ANSWER", "EPOCH", "RING", "OBJECTS", "HINTS", "UPTIME")
		down := 0
		sts := c.Status(ctx)
		for _, s := range sts {
			if s.Err != nil {
				down++
				fmt.Printf("%-6s %-18s %-8s %-8s %v\n", s.Node.ID, s.Node.Addr, s.Believed, "none", s.Err)
				continue
			}
			i := s.Info
			fmt.Printf("%-6s %-18s %-8s %-8s %016x  v%-5d %9d %7d %9s\n", s.Node.ID, s.Node.Addr, s.Believed, "ok",
				i.Epoch, i.RingVersion, i.Objects, i.Hints, (time.Duration(i.UptimeMS) * time.Millisecond).Round(time.Second))
		}
		printHints(sts, time.Now())
		printGuards(sts)
		printTrees(sts)
		printAntiEntropy(sts)
		printGossip(sts)
		printSwim(sts)
		if down > 0 {
			return exitCode(1)
		}
		return nil
	})
}

func runRing(args []string) error {
	return clientCmd("ring", "", 0, args, func(ctx context.Context, c *driver.Client, _ []string) error {
		r := c.Ring()
		owned := make(map[ring.NodeID]int)
		for p := range r.Partitions() {
			owned[r.Owner(p)]++
		}
		fmt.Printf("ring version %d, %d partitions, %d nodes\n", r.Version(), r.Partitions(), len(r.Nodes()))
		for _, n := range r.Nodes() {
			fmt.Printf("  %-8s %-20s %5d partitions (%.1f%%)\n", n.ID, n.Addr, owned[n.ID],
				100*float64(owned[n.ID])/float64(r.Partitions()))
		}
		return nil
	})
}

// printGuards shows each node's connections and memory held for peers,
// and any refusals, cut-offs and damage it counted.
func printGuards(sts []driver.NodeStatus) {
	fmt.Printf("\n%-6s %6s %21s %s\n", "NODE", "CONNS", "PEER MEMORY (PEAK)", "REFUSED AND CUT OFF SINCE START")
	for _, s := range sts {
		if s.Err != nil {
			continue
		}
		i, tr := s.Info, s.Info.Transport
		var notes []string
		for _, c := range []struct {
			n    uint64
			what string
		}{
			{tr.RefusedTotal, "connections over the total"},
			{tr.RefusedPerSource, "connections over the per-source cap"},
			{tr.RefusedRate, "connections over the handshake rate"},
			{tr.Retries, "handshakes sent through Retry"},
			{tr.CutNoHello, "cut: no hello"},
			{tr.CutFrameDeadline, "cut: frame too slow"},
			{tr.CutBudget, "cut: answers left unread"},
			{i.RefusedLimit, "writes over a limit"},
			{i.RefusedClaim, "forged claims of its dots"},
			{i.RefusedConflict, "dot conflicts (corruption, see its log)"},
			{i.RefusedNonMember, "node calls from non-members"},
			{i.CorruptReads, "reads of damaged records"},
		} {
			if c.n > 0 {
				notes = append(notes, fmt.Sprintf("%d %s", c.n, c.what))
			}
		}
		if len(notes) == 0 {
			notes = []string{"none"}
		}
		mem := fmt.Sprintf("%s (%s) of %s", mib(tr.MemoryUsed), mib(tr.MemoryPeak), mib(tr.MemoryTotal))
		fmt.Printf("%-6s %6d %21s %s\n", s.Node.ID, tr.ConnsOpen, mem, strings.Join(notes, ", "))
		if i.Quarantined != "" {
			fmt.Printf("%s found its data file damaged at start: moved to %s, started empty under a new epoch\n", s.Node.ID, i.Quarantined)
		}
	}
}

// printTrees shows each node's hash trees: how many partitions have one,
// how many a rebuild is building now, what the rebuild at start hashed and
// took, and any mismatches a verify found (a bug or disk damage).
func printTrees(sts []driver.NodeStatus) {
	fmt.Printf("\n%-6s %6s %10s %22s %s\n", "NODE", "TREES", "REBUILDING", "REBUILT AT START", "VERIFY MISMATCHES")
	for _, s := range sts {
		if s.Err != nil {
			continue
		}
		i := s.Info
		rebuilt := fmt.Sprintf("%d keys in %s", i.TreeKeys, time.Duration(i.TreeRebuildMS)*time.Millisecond)
		fmt.Printf("%-6s %6d %10d %22s %d\n", s.Node.ID, i.Trees, i.TreesRebuilding, rebuilt, i.TreeMismatches)
	}
}

// printAntiEntropy shows each node's anti-entropy since it started:
// exchanges completed and failed, keys repaired, and the last full cycle's
// duration; then each node's latest repair (shoal repair), running or done.
func printAntiEntropy(sts []driver.NodeStatus) {
	fmt.Printf("\n%-6s %10s %8s %14s %s\n", "NODE", "EXCHANGES", "FAILED", "KEYS REPAIRED", "LAST CYCLE")
	for _, s := range sts {
		if s.Err != nil {
			continue
		}
		i := s.Info
		last := "none yet"
		if i.AEPartitions+i.AEFailed > 0 {
			last = (time.Duration(i.AELastCycleMS) * time.Millisecond).String()
		}
		fmt.Printf("%-6s %10d %8d %14d %s\n", s.Node.ID, i.AEPartitions, i.AEFailed, i.AEKeysRepaired, last)
	}
	header := false
	for _, s := range sts {
		if s.Err != nil || s.Info.Repair.ID == 0 {
			continue
		}
		if !header {
			fmt.Printf("\nlatest repair on each node (shoal repair):\n")
			header = true
		}
		fmt.Printf("  %-6s %s\n", s.Node.ID, repairLine(s.Info.Repair))
	}
}

// printGossip shows the cluster state each node keeps and gossips: its
// ring version and digest, the members its claim lists and the records
// announced, the gossip rounds it ran, failed and the states it refused
// (another cluster's, or one conflicting with its own: see its log), and
// whether the nodes answering hold one state.
func printGossip(sts []driver.NodeStatus) {
	fmt.Printf("\n%-6s %-24s %7s %7s %7s %6s %s\n", "NODE", "CLUSTER STATE", "MEMBERS", "RECORDS", "ROUNDS", "FAILED", "REFUSED")
	var first *wire.GossipDigest
	same := true
	for _, s := range sts {
		if s.Err != nil {
			continue
		}
		i := s.Info
		state := "none yet (joining)"
		if i.Cluster != (wire.GossipDigest{}) {
			state = fmt.Sprintf("v%d %x", i.Cluster.Version, i.Cluster.Hash[:6])
		}
		fmt.Printf("%-6s %-24s %7d %7d %7d %6d %d\n", s.Node.ID, state, i.ClusterMembers, i.ClusterRecords,
			i.GossipRounds, i.GossipFailed, i.GossipRefused)
		if first == nil {
			first = &i.Cluster
		}
		same = same && i.Cluster == *first
	}
	if first != nil && !same {
		fmt.Println("the nodes hold different cluster states (gossip converges them within seconds unless one refuses)")
	}
}

// printSwim shows each node's failure detector view: the state of every
// member it knows, with the member's incarnation, and its own local health
// (1: healthy; higher: it finds itself slow, and probes and waits longer).
func printSwim(sts []driver.NodeStatus) {
	var ids []ring.NodeID
	for _, s := range sts {
		if s.Err == nil {
			for _, m := range s.Info.Swim {
				if !slices.Contains(ids, m.Node) {
					ids = append(ids, m.Node)
				}
			}
		}
	}
	if len(ids) == 0 {
		return
	}
	slices.Sort(ids)
	fmt.Printf("\nfailure detector, each node's view (state/incarnation):\n%-6s %6s", "NODE", "HEALTH")
	for _, id := range ids {
		fmt.Printf(" %-12s", id)
	}
	fmt.Println()
	for _, s := range sts {
		if s.Err != nil || len(s.Info.Swim) == 0 {
			continue
		}
		fmt.Printf("%-6s %6d", s.Node.ID, s.Info.SwimHealth)
		for _, id := range ids {
			cell := "-"
			for _, m := range s.Info.Swim {
				if m.Node == id {
					cell = fmt.Sprintf("%s/%d", m.State, m.Incarnation)
				}
			}
			fmt.Printf(" %-12s", cell)
		}
		fmt.Println()
	}
}

// mib renders a byte count in MiB.
func mib(n int64) string { return fmt.Sprintf("%.1fM", float64(n)/(1<<20)) }

// printHints lists the hinted handoff backlog each node holds for others.
func printHints(sts []driver.NodeStatus, now time.Time) {
	header := false
	for _, s := range sts {
		if s.Err != nil {
			continue
		}
		for _, h := range s.Info.HintOwners {
			if !header {
				fmt.Printf("\npending hints (holder -> owner):\n")
				header = true
			}
			age := now.Sub(time.UnixMilli(h.OldestMS)).Round(time.Second)
			fmt.Printf("  %-6s -> %-6s %7d keys %10d bytes, oldest %s ago\n", s.Node.ID, h.Owner, h.Keys, h.Bytes, age)
		}
	}
	if !header {
		fmt.Printf("\nno pending hints\n")
	}
	for _, s := range sts {
		if s.Err == nil && s.Info.HintsKept > 0 {
			fmt.Printf("%s keeps %d hint records its owners refused for good (see its log); they are not delivered\n",
				s.Node.ID, s.Info.HintsKept)
		}
		if s.Err == nil && s.Info.HintsRetained > 0 {
			fmt.Printf("%s retains %d delivered hint records (%s) in which it coordinated writes while no primary was live: they keep each key's clock from growing in the next outage\n",
				s.Node.ID, s.Info.HintsRetained, mib(int64(s.Info.HintsRetainedBytes)))
		}
		if s.Err == nil && s.Info.HintsCorrected > 0 {
			fmt.Printf("%s found its hint accounts wrong %d times and corrected them: a bug, please report it with its log\n",
				s.Node.ID, s.Info.HintsCorrected)
		}
	}
}
