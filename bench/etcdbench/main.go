// Command etcdbench runs shoal-bench's workloads against an etcd cluster,
// for the side-by-side in docs/BENCHMARKS.md. It is its own module so that
// Shoal's module never depends on etcd; it reuses shoal-bench's workloads,
// generators, runner, histograms and reports (package bench/cli) and adds
// only how to reach etcd. bench/compare.sh starts the clusters and runs
// both commands.
package main

import (
	"os"

	"github.com/shoalkv/shoal/bench/cli"
)

const intro = `etcdbench runs shoal-bench's YCSB-style workloads against an etcd v3 cluster.

It takes shoal-bench's workload, load, output and sweep flags; only the
target flags differ (--endpoints and TLS files). Reads are linearizable
unless --serializable; updates and inserts are puts; a read-modify-write is
a get and a compare-and-swap transaction on the key's mod revision, retried
on conflict.`

func main() {
	cmd := &cli.Command{Name: "etcdbench", Label: "etcd", Target: &target{}, Intro: intro}
	os.Exit(cmd.Main(os.Args[1:]))
}
