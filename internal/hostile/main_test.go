package hostile

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"testing"
)

// allocEnv, when set in the environment of this test binary, makes it a
// helper child instead of running tests: it allocates and touches that many
// MiB, prints "ready", and waits for its stdin to close (the negative
// control of the memory checker).
const allocEnv = "SHOAL_HOSTILE_ALLOC_MIB"

func TestMain(m *testing.M) {
	if v := os.Getenv(allocEnv); v != "" {
		os.Exit(allocChild(v))
	}
	os.Exit(m.Run())
}

// hold keeps the helper child's allocation reachable.
var hold []byte

func allocChild(v string) int {
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		fmt.Fprintf(os.Stderr, "%s=%q: want a positive number of MiB\n", allocEnv, v)
		return 2
	}
	hold = make([]byte, n<<20)
	for i := range hold {
		hold[i] = byte(i) | 1 // touch every page
	}
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin)
	return int(hold[len(hold)-1] & 0) // keeps hold live until here
}

// needRealProcesses skips t without what the real-process tests need.
func needRealProcesses(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("hostile suite: starts storaged processes and runs attacks for seconds; skipped under -short")
	}
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skipf("hostile suite: needs /proc/<pid>/status to read VmHWM: %v", err)
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skipf("hostile suite: needs the go tool to build storaged: %v", err)
	}
}
