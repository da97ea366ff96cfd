package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shoalkv/shoal/bench/cli"
)

// TestAgainstEtcd runs workloads A and F against a one-member etcd started
// for the test (skipped when no etcd binary is installed: apt-get install
// etcd-server). It checks that every operation succeeds, including the
// compare-and-swap read-modify-writes under contention on hot keys.
func TestAgainstEtcd(t *testing.T) {
	bin, err := exec.LookPath("etcd")
	if err != nil {
		t.Skip("no etcd binary (apt-get install etcd-server)")
	}
	client, peer := freeTCPPort(t), freeTCPPort(t)
	dir := t.TempDir()
	etcd := exec.Command(bin, "--name", "t1", "--data-dir", filepath.Join(dir, "data"),
		"--listen-client-urls", "http://"+client, "--advertise-client-urls", "http://"+client,
		"--listen-peer-urls", "http://"+peer, "--initial-advertise-peer-urls", "http://"+peer,
		"--initial-cluster", "t1=http://"+peer, "--log-level", "error")
	log, _ := os.Create(filepath.Join(dir, "etcd.log"))
	etcd.Stdout, etcd.Stderr = log, log
	if err := etcd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		etcd.Process.Kill()
		etcd.Wait()
	})
	for _, w := range []string{"a", "f"} {
		var stdout, stderr bytes.Buffer
		cmd := &cli.Command{Name: "etcdbench", Label: "etcd", Target: &target{}, Intro: intro, Stdout: &stdout, Stderr: &stderr}
		code := cmd.Main([]string{"--endpoints", client, "--workload", w, "--recordcount", "200", "--operationcount", "500",
			"--threads", "8", "--status-interval", "0"})
		if code != 0 {
			b, _ := os.ReadFile(filepath.Join(dir, "etcd.log"))
			t.Fatalf("workload %s: exit %d\n%s\netcd log:\n%s", w, code, stderr.String(), b)
		}
		out := stdout.String()
		if strings.Contains(out, "Return=ERROR") || !strings.Contains(out, "[READ], Return=OK") {
			t.Errorf("workload %s:\n%s", w, out)
		}
		if w == "f" && !strings.Contains(out, "[READ-MODIFY-WRITE], Return=OK") {
			t.Errorf("no read-modify-writes:\n%s", out)
		}
	}
}

func freeTCPPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return fmt.Sprintf("127.0.0.1:%d", l.Addr().(*net.TCPAddr).Port)
}
