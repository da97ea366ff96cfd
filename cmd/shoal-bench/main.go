// Command shoal-bench is a YCSB-style benchmark for Shoal: YCSB's core
// workloads (A, B, C, D, F; E's scans are refused), its property files and
// its output, closed- and open-loop load, status lines, and a
// latency-throughput sweep. With no flags it starts a throwaway 3-node
// cluster inside the process, loads 10,000 records, runs workload A for 30 s
// and prints YCSB's summary; --seeds points it at a running cluster.
//
// The reusable parts live in package bench/...; this command adds only how
// to reach Shoal.
package main

import (
	"os"

	"github.com/shoalkv/shoal/bench/cli"
)

const intro = `shoal-bench runs YCSB-style workloads against Shoal and prints YCSB's summary.

With no flags it starts a 3-node cluster inside this process (temporary
certificates and data, removed afterwards), loads 10,000 records and runs
workload A (50% reads, 50% updates, zipfian) with 32 threads for 30 s,
printing a status line every 10 s. Ctrl-C stops early and prints the summary
of what ran. --seeds benchmarks a running cluster instead.

Examples:
  shoal-bench --workload b --duration 1m
  shoal-bench -P bench/workloads/workloadf -p recordcount=100000 --threads 64
  shoal-bench --target 2000                  # open loop at 2,000 ops/s
  shoal-bench --sweep --sweep-csv a.csv --sweep-svg a.svg
  shoal-bench --seeds 10.0.0.1:7070 --ca ca.crt --cert c.crt --key c.key --phase run`

func main() {
	cmd := &cli.Command{Name: "shoal-bench", Label: "shoal", Target: &target{}, Intro: intro}
	os.Exit(cmd.Main(os.Args[1:]))
}
