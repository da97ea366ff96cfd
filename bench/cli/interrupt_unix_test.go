//go:build unix

package cli

import (
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestInterruptedRunExits130 sends this process a real SIGINT during the
// run phase (the command has registered for it by then): the run stops,
// prints the summary of what ran and exits 130.
func TestInterruptedRunExits130(t *testing.T) {
	tg := &memTarget{}
	tg.onOpen = func() {
		time.AfterFunc(150*time.Millisecond, func() { syscall.Kill(os.Getpid(), syscall.SIGINT) })
	}
	code, out, errs := run(t, tg, "--delay", "1ms", "--recordcount", "20", "--threads", "2", "--duration", "20s", "--status-interval", "0")
	if code != exitInterrupted {
		t.Fatalf("exit %d, want %d: %s", code, exitInterrupted, errs)
	}
	if !strings.Contains(errs, "interrupted") || !strings.Contains(out, "[OVERALL], RunTime(ms), ") {
		t.Errorf("no summary of the interrupted run:\nstdout %s\nstderr %s", out, errs)
	}
}
