package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/shoalkv/shoal/bench/cli"
	"github.com/shoalkv/shoal/bench/report"
)

// TestEmbeddedClusterWorkloads runs short workloads end to end against the
// embedded cluster (three real storaged servers over QUIC in this process)
// and checks the summaries and that the cluster left nothing behind: its
// data directory is gone and its UDP ports are free again.
func TestEmbeddedClusterWorkloads(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 3-node cluster")
	}
	for _, tc := range []struct {
		workload string
		extra    []string
		ops      []string // operations the summary must show, all OK
	}{
		{"a", nil, []string{"READ", "UPDATE"}},
		{"d", []string{"--durability", "none"}, []string{"READ", "INSERT"}},
		{"f", []string{"--value-size", "256"}, []string{"READ", "READ-MODIFY-WRITE"}},
	} {
		t.Run(tc.workload, func(t *testing.T) {
			js := filepath.Join(t.TempDir(), "summary.json")
			var stdout, stderr bytes.Buffer
			cmd := &cli.Command{Name: "shoal-bench", Label: "shoal", Target: &target{}, Intro: intro, Stdout: &stdout, Stderr: &stderr}
			args := append([]string{"--workload", tc.workload, "--recordcount", "300", "--operationcount", "600",
				"--threads", "8", "--status-interval", "0", "--format", "json", "--out", js}, tc.extra...)
			if code := cmd.Main(args); code != 0 {
				t.Fatalf("exit %d\n%s", code, stderr.String())
			}
			f, err := os.Open(js)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			ms, err := report.ReadJSON(f)
			if err != nil {
				t.Fatal(err)
			}
			val := func(metric, name string) float64 {
				for _, m := range ms {
					if m.Metric == metric && m.Name == name {
						return m.Value
					}
				}
				return -1
			}
			var total float64
			for _, op := range tc.ops {
				ok, errs := val(op, "Return=OK"), val(op, "Return=ERROR")
				if ok <= 0 || errs > 0 {
					t.Errorf("%s: %v OK, %v errors", op, ok, errs)
				}
				total += ok
			}
			if total != 600 {
				t.Errorf("%v operations succeeded, want 600\n%s", total, stderr.String())
			}
			checkCleanedUp(t, stderr.String())
		})
	}
}

var targetLine = regexp.MustCompile(`on 127\.0\.0\.1-(\d+):(\d+) .* data in (\S+) \(removed afterwards\)`)

func checkCleanedUp(t *testing.T, stderr string) {
	t.Helper()
	m := targetLine.FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no target line in:\n%s", stderr)
	}
	if _, err := os.Stat(m[3]); !os.IsNotExist(err) {
		t.Errorf("data directory %s still exists (%v)", m[3], err)
	}
	var nodes int
	fmt.Sscan(m[1], &nodes)
	for i := 1; i <= nodes; i++ {
		addr := fmt.Sprintf("127.0.0.%d:%s", i, m[2])
		c, err := net.ListenPacket("udp", addr)
		if err != nil {
			t.Errorf("node address %s is still bound: %v", addr, err)
			continue
		}
		c.Close()
	}
}

func TestSeedsNeedsCertificates(t *testing.T) {
	var stderr bytes.Buffer
	cmd := &cli.Command{Name: "shoal-bench", Target: &target{}, Intro: intro, Stdout: &bytes.Buffer{}, Stderr: &stderr}
	t.Setenv("SHOAL_CA", "")
	t.Setenv("SHOAL_CERT", "")
	t.Setenv("SHOAL_KEY", "")
	if code := cmd.Main([]string{"--seeds", "127.0.0.1:1"}); code == 0 || !strings.Contains(stderr.String(), "--ca, --cert and --key") {
		t.Errorf("exit %d: %s", code, stderr.String())
	}
	stderr.Reset()
	if code := cmd.Main([]string{"--seeds", "127.0.0.1:1", "--durability", "none"}); code == 0 || !strings.Contains(stderr.String(), "storaged --no-sync") {
		t.Errorf("exit %d: %s", code, stderr.String())
	}
}

// TestTreesFlags: --trees and --anti-entropy-interval reach the embedded
// cluster (its description says what runs) and are refused with --seeds,
// whose nodes set their own; the control, --seeds without them, gets as
// far as the certificates.
func TestTreesFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "anti-entropy every 30s (the default)"},
		{[]string{"--anti-entropy-interval", "-1s"}, "hash trees kept, anti-entropy off"},
		{[]string{"--anti-entropy-interval", "5s"}, "anti-entropy every 5s"},
		{[]string{"--trees=false"}, "no hash trees (no anti-entropy)"},
	} {
		var tg target
		fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
		tg.Flags(fs)
		if err := fs.Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		if got := tg.antiEntropy(); got != tc.want {
			t.Errorf("%q: %q, want %q", tc.args, got, tc.want)
		}
	}
	t.Setenv("SHOAL_CA", "")
	for _, extra := range [][]string{{"--trees=false"}, {"--anti-entropy-interval", "1m"}, nil} {
		var stderr bytes.Buffer
		cmd := &cli.Command{Name: "shoal-bench", Target: &target{}, Intro: intro, Stdout: &bytes.Buffer{}, Stderr: &stderr}
		code := cmd.Main(append([]string{"--seeds", "127.0.0.1:1"}, extra...))
		refused := strings.Contains(stderr.String(), "apply to the embedded cluster")
		if code == 0 || refused != (extra != nil) {
			t.Errorf("--seeds %q: exit %d: %s", extra, code, stderr.String())
		}
	}
}
