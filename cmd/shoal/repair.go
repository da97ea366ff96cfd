package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/shoalkv/shoal/driver"
	"github.com/shoalkv/shoal/ringsync/ring"
	"github.com/shoalkv/shoal/wire"
)

// repairPollFailures is how many polls of a node's repair in a row may fail
// (each within --timeout) before the command gives up following it.
const repairPollFailures = 3

// repairFirstPoll is the first pause before asking how a repair goes; it
// doubles up to --poll, so a short repair is reported done at once.
const repairFirstPoll = 50 * time.Millisecond

// repairQuietPolls is how many polls may pass with no progress line: a
// repair whose figures do not move (an exchange waiting on a peer that
// does not answer, or on the throttle) still shows it runs.
const repairQuietPolls = 10

func runRepair(args []string) error { return repairMain(args, os.Stdout) }

// repairMain is 'shoal repair': it asks each node chosen, in turn, for a
// full anti-entropy exchange now (wire.Repair), follows it by polling
// (wire.RepairStatus) every --poll while printing progress to out (a line
// when the figures move, and at least every repairQuietPolls polls), and
// prints each node's result and the totals. It returns exitCode(1), its report
// printed, if a node refused, could not be followed, or any exchange
// failed.
func repairMain(args []string, out io.Writer) error {
	fs := pflag.NewFlagSet("shoal repair", pflag.ContinueOnError)
	var t target
	t.flags(fs)
	node := fs.String("node", "", "repair only this node (default: every node, one after the other)")
	part := fs.Int("partition", -1, "repair only this partition (default: every partition the node replicates); without --node, on each of its replicas")
	poll := fs.Duration("poll", time.Second, "how often to ask a node how its repair goes")
	fs.Usage = func() {
		fmt.Fprintf(os.Stderr, "Usage: shoal repair [--node N] [--partition P] [flags]\n\n"+
			"Runs a full anti-entropy exchange now: the node compares each partition it\n"+
			"replicates with each of its other replicas and merges what differs, both ways,\n"+
			"within its anti-entropy rate. Without --node every node repairs in turn.\n\n%s", fs.FlagUsages())
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 || *poll <= 0 {
		fs.Usage()
		return exitCode(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	cfg, c, err := t.open(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	n := cfg.N
	if n == 0 {
		n = driver.DefaultN
	}
	nodes, parts, err := repairTargets(c.Ring(), ring.NodeID(*node), *part, n)
	if err != nil {
		return err
	}
	ep, err := wire.NewEndpoint(wire.EndpointConfig{Addr: ":0", TLS: cfg.TLS, ClusterID: cfg.ClusterID,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return err
	}
	defer ep.Close()
	rc := &repairCLI{ep: ep, out: out, timeout: t.timeout, poll: *poll}
	return rc.run(ctx, nodes, parts)
}

// repairTargets returns the nodes to repair, in ring order, and the
// partitions to ask each for (nil: all it replicates): node alone if given,
// else part's first n distinct owners if part is given (not -1), else
// every member.
func repairTargets(r *ring.Ring, node ring.NodeID, part, n int) ([]ring.Node, []uint32, error) {
	var parts []uint32
	if part != -1 {
		if part < 0 || part >= r.Partitions() {
			return nil, nil, fmt.Errorf("partition %d is out of range: the ring has %d partitions (0..%d)", part, r.Partitions(), r.Partitions()-1)
		}
		parts = []uint32{uint32(part)}
	}
	switch {
	case node != "":
		nd, ok := r.Node(node)
		if !ok {
			var ids []string
			for _, m := range r.Nodes() {
				ids = append(ids, string(m.ID))
			}
			return nil, nil, fmt.Errorf("no node %q in the ring (members: %s)", node, strings.Join(ids, ", "))
		}
		return []ring.Node{nd}, parts, nil
	case parts != nil:
		primaries, _ := r.PreferenceOf(part, n)
		slices.SortFunc(primaries, func(a, b ring.Node) int { return strings.Compare(string(a.ID), string(b.ID)) })
		return primaries, parts, nil
	}
	return r.Nodes(), nil, nil
}

// repairCLI runs the repairs of one 'shoal repair'.
type repairCLI struct {
	ep            *wire.Endpoint
	out           io.Writer
	timeout, poll time.Duration
}

// nodeRepair is how one node's repair went: its last progress, and err if
// it refused or could not be followed to the end.
type nodeRepair struct {
	node ring.NodeID
	p    wire.RepairProgress
	err  error
}

// run repairs nodes one after the other and prints the totals.
func (rc *repairCLI) run(ctx context.Context, nodes []ring.Node, parts []uint32) error {
	var results []nodeRepair
	for _, n := range nodes {
		p, err := rc.one(ctx, n, parts)
		if ctx.Err() != nil {
			fmt.Fprintf(rc.out, "interrupted: a repair started goes on on its node (shoal status shows it)\n")
			return exitCode(130)
		}
		if err != nil {
			fmt.Fprintf(rc.out, "%s: %v\n", n.ID, err)
		}
		results = append(results, nodeRepair{node: n.ID, p: p, err: err})
	}
	return rc.summary(results)
}

// one starts node n's repair of parts and follows it to its end.
func (rc *repairCLI) one(ctx context.Context, n ring.Node, parts []uint32) (wire.RepairProgress, error) {
	var ok wire.RepairOK
	if err := rc.call(ctx, n, &wire.Repair{Partitions: parts}, &ok); err != nil {
		var re *wire.RemoteError
		if errors.As(err, &re) { // the node's message says why, and that it started nothing
			return wire.RepairProgress{}, fmt.Errorf("refused: %s", re.Message)
		}
		return wire.RepairProgress{}, fmt.Errorf("no repair started: %w", err)
	}
	p := ok.Repair
	fmt.Fprintf(rc.out, "%s: repair %016x started: %d partitions, each with its other replicas\n", n.ID, p.ID, p.Partitions)
	shown, failed, quiet := p, 0, 0 // quiet: polls since the last line
	wait := min(rc.poll, repairFirstPoll)
	for p.Running {
		t := time.NewTimer(wait)
		wait = min(2*wait, rc.poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return p, ctx.Err()
		case <-t.C:
		}
		var st wire.RepairOK
		if err := rc.call(ctx, n, &wire.RepairStatus{ID: p.ID}, &st); err != nil {
			if failed++; failed >= repairPollFailures || wire.ClassOf(err).Final() {
				return p, fmt.Errorf("lost track of repair %016x after %d of %d partitions: %w", p.ID, p.PartitionsDone, p.Partitions, err)
			}
			continue
		}
		failed, p = 0, st.Repair
		quiet++
		moved := p.PartitionsDone != shown.PartitionsDone || p.KeysRepaired != shown.KeysRepaired || p.Failed != shown.Failed
		if p.Running && (moved || quiet >= repairQuietPolls) {
			fmt.Fprintf(rc.out, "%s: %s\n", n.ID, repairLine(p))
			shown, quiet = p, 0
		}
	}
	fmt.Fprintf(rc.out, "%s: %s\n", n.ID, repairLine(p))
	for _, l := range failureLines(p) {
		fmt.Fprintf(rc.out, "%s:   %s\n", n.ID, l)
	}
	return p, nil
}

// call makes one request of node n within the per-call timeout.
func (rc *repairCLI) call(ctx context.Context, n ring.Node, req, resp any) error {
	cctx, cancel := context.WithTimeout(ctx, rc.timeout)
	defer cancel()
	return rc.ep.Call(cctx, n.Addr, string(n.ID), req, resp)
}

// summary prints the totals and returns exitCode(1) if anything failed.
func (rc *repairCLI) summary(results []nodeRepair) error {
	var parts, exchanges, failed, keys uint64
	var bad []string
	for _, r := range results {
		parts += uint64(r.p.PartitionsDone)
		exchanges += r.p.Exchanges
		failed += r.p.Failed
		keys += r.p.KeysRepaired
		if r.err != nil || r.p.Failed > 0 {
			bad = append(bad, string(r.node))
		}
	}
	totals := fmt.Sprintf("%d nodes, %d partitions, %d exchanges, %d keys repaired, %d exchanges failed", len(results), parts, exchanges, keys, failed)
	if len(bad) == 0 {
		fmt.Fprintf(rc.out, "repair done: %s\n", totals)
		return nil
	}
	fmt.Fprintf(rc.out, "repair FAILED on %s: %s (details above)\n", strings.Join(bad, ", "), totals)
	return exitCode(1)
}

// repairLine renders a repair's progress on one line (shoal repair and
// shoal status).
func repairLine(p wire.RepairProgress) string {
	took := (time.Duration(p.TookMS) * time.Millisecond).String()
	if p.Running {
		return fmt.Sprintf("repair %016x running: %d/%d partitions, %d keys repaired, %d exchanges failed, %s so far",
			p.ID, p.PartitionsDone, p.Partitions, p.KeysRepaired, p.Failed, took)
	}
	return fmt.Sprintf("repair %016x done in %s: %d/%d partitions, %d exchanges, %d keys repaired, %d exchanges failed",
		p.ID, took, p.PartitionsDone, p.Partitions, p.Exchanges, p.KeysRepaired, p.Failed)
}

// failureLines groups a repair's listed failures by peer: which partitions
// failed with it, and its first error; then how many were not listed.
func failureLines(p wire.RepairProgress) []string {
	type peerFailures struct {
		parts []uint32
		first string
	}
	byPeer := make(map[ring.NodeID]*peerFailures)
	var peers []ring.NodeID
	for _, f := range p.Failures {
		pf := byPeer[f.Peer]
		if pf == nil {
			pf = &peerFailures{first: f.Error}
			byPeer[f.Peer] = pf
			peers = append(peers, f.Peer)
		}
		pf.parts = append(pf.parts, f.Partition)
	}
	slices.Sort(peers)
	var out []string
	for _, peer := range peers {
		pf := byPeer[peer]
		out = append(out, fmt.Sprintf("failed with %s: %d exchanges, partitions %s: %s", peer, len(pf.parts), spans(pf.parts), pf.first))
	}
	if more := p.Failed - uint64(len(p.Failures)); more > 0 {
		out = append(out, fmt.Sprintf("and %d more failed exchanges (a node lists its first %d)", more, wire.MaxRepairFailures))
	}
	return out
}

// spans renders partition numbers as sorted ranges: "0-15, 17".
func spans(ps []uint32) string {
	ps = slices.Compact(slices.Sorted(slices.Values(ps)))
	var out []string
	for i := 0; i < len(ps); {
		j := i
		for j+1 < len(ps) && ps[j+1] == ps[j]+1 {
			j++
		}
		if i == j {
			out = append(out, fmt.Sprint(ps[i]))
		} else {
			out = append(out, fmt.Sprintf("%d-%d", ps[i], ps[j]))
		}
		i = j + 1
	}
	return strings.Join(out, ", ")
}
