package hostile

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/shoalkv/shoal/wire"
	"github.com/shoalkv/shoal/wire/dvv"
)

// The checkers' negative controls: each must flag what it exists to flag.

func TestParseStatus(t *testing.T) {
	m, err := parseStatus([]byte("Name:\tstoraged\nVmPeak:\t  900 kB\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\n"))
	if err != nil || m.HWM != 200<<20 || m.RSS != 100<<20 {
		t.Fatalf("parseStatus = %+v, %v; want HWM 200 MiB, RSS 100 MiB", m, err)
	}
	for _, bad := range []string{"VmRSS:\t1 kB\n", "VmHWM:\t1 MB\nVmRSS:\t1 kB\n", "VmHWM:\tx kB\nVmRSS:\t1 kB\n"} {
		if _, err := parseStatus([]byte(bad)); err == nil {
			t.Errorf("parseStatus(%q) accepted a status without two well-formed fields", bad)
		}
	}
}

// TestPeakCheckerFlagsAHeavyProcess runs a child that holds 300 MiB: the
// checker must fail it against the 256 MiB bound, and pass this process.
func TestPeakCheckerFlagsAHeavyProcess(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skipf("needs /proc: %v", err)
	}
	if _, err := checkPeak(os.Getpid(), rssBound, "no"); err != nil {
		t.Fatalf("the test process itself fails the bound: %v", err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), allocEnv+"=300")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { stdin.Close(); cmd.Wait() }()
	ready := make(chan string, 1)
	go func() {
		b := make([]byte, 6)
		n, _ := out.Read(b)
		ready <- string(b[:n])
	}()
	select {
	case got := <-ready:
		if !strings.HasPrefix(got, "ready") {
			t.Fatalf("helper child said %q, want ready", got)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("helper child not ready after 30s")
	}
	m, err := checkPeak(cmd.Process.Pid, rssBound, "allocate-300-MiB")
	if err == nil {
		t.Fatalf("checker passed a process holding 300 MiB (%v)", m)
	}
	if !strings.Contains(err.Error(), "allocate-300-MiB") || !strings.Contains(err.Error(), "256 MiB bound") {
		t.Errorf("message %q does not name the class and the bound", err)
	}
	t.Logf("flagged as expected: %v", err)
}

func TestBenignReportProblem(t *testing.T) {
	ok := benignReport{Ops: 10, Latencies: []time.Duration{time.Millisecond, 2 * time.Millisecond}}
	if p := ok.problem("x", time.Second, 4); p != "" {
		t.Fatalf("a clean report is flagged: %s", p)
	}
	failed := ok
	failed.fail("put k: %s", "unavailable")
	slow := benignReport{Ops: 10, Latencies: []time.Duration{6 * time.Second}}
	few := benignReport{Ops: 1, Latencies: []time.Duration{time.Millisecond}}
	for _, c := range []struct {
		name string
		r    benignReport
	}{{"failed", failed}, {"slow", slow}, {"few", few}} {
		if p := c.r.problem("x", 5*time.Second, 4); p == "" {
			t.Errorf("%s report not flagged", c.name)
		}
	}
}

func TestRefusal(t *testing.T) {
	ack, _ := wire.Encode(&wire.Ack{})
	if _, err := refusal(wire.TypeAck, ack); err == nil {
		t.Error("an ack counted as a refusal")
	}
	zero, _ := wire.Encode(&wire.Error{Code: wire.CodeInvalid, Message: "?"})
	if _, err := refusal(wire.TypeError, zero); err == nil {
		t.Error("an error answer with code 0 counted as a refusal")
	}
	good, _ := wire.Encode(&wire.Error{Code: wire.CodeTooLarge, Message: "object too large"})
	if e, err := refusal(wire.TypeError, good); err != nil || e.Message != "object too large" {
		t.Errorf("a real refusal: %+v, %v", e, err)
	}
}

func TestUnchangedFlagsAChange(t *testing.T) {
	a := dvv.Actor{Node: "n1", Epoch: 7}
	before := wire.GetOK{Found: true, Object: withSiblings(dvv.Set{}, a, 0, 1, func(int) []byte { return []byte("original") })}
	if err := unchanged("x", []byte("k"), before, before); err != nil {
		t.Fatalf("the same copy flagged: %v", err)
	}
	rewritten := wire.GetOK{Found: true, Object: withSiblings(dvv.Set{}, a, 0, 1, func(int) []byte { return []byte("!forged") })}
	grown := wire.GetOK{Found: true, Object: withSiblings(before.Object, dvv.Actor{Node: "n2", Epoch: 1}, 0, 200, func(int) []byte { return []byte("s") })}
	for _, c := range []struct {
		name  string
		after wire.GetOK
	}{{"rewritten", rewritten}, {"grown", grown}, {"gone", wire.GetOK{}}} {
		err := unchanged("x", []byte("k"), before, c.after)
		if err == nil {
			t.Errorf("%s copy not flagged", c.name)
			continue
		}
		t.Logf("%s: %v", c.name, err)
	}
	if err := grown.Object.Validate(); err != nil {
		t.Errorf("withSiblings made an invalid object: %v", err)
	}
}

func TestNeverWrittenFlagsABogusValue(t *testing.T) {
	written := [][]byte{[]byte("v1")}
	if err := neverWritten("k", [][]byte{[]byte("v1")}, written); err != nil {
		t.Fatalf("a written value flagged: %v", err)
	}
	if err := neverWritten("k", nil, written); err != nil {
		t.Fatalf("no value (a miss) flagged: %v", err)
	}
	err := neverWritten("k", [][]byte{[]byte("v1"), []byte("v\x00")}, written)
	if err == nil || !strings.Contains(err.Error(), `"v\x00"`) {
		t.Fatalf("an injected bogus value: %v, want it named", err)
	}
}
