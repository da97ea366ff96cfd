package hostile

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// rssBound is the fixed bound on a node's peak resident memory under every
// attack, at the default limits (issue 9's acceptance: 256 MiB).
const rssBound = 256 << 20

// rssCeiling is where the watchdog stops an attack early: far enough over
// the bound that the failure is clear, low enough that a node without the
// fixes cannot take the machine's memory (other tests share it).
const rssCeiling = 1 << 30

// memory is what /proc/<pid>/status says of a process's resident memory.
type memory struct {
	HWM int64 // VmHWM: peak resident set size, bytes
	RSS int64 // VmRSS: resident set size now, bytes
}

func (m memory) String() string {
	return fmt.Sprintf("VmHWM %s, VmRSS %s", mib(m.HWM), mib(m.RSS))
}

// mib formats a byte count in MiB.
func mib(n int64) string { return fmt.Sprintf("%d MiB", n>>20) }

// readMemory reads VmHWM and VmRSS of process pid.
func readMemory(pid int) (memory, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return memory{}, err
	}
	return parseStatus(b)
}

// parseStatus extracts VmHWM and VmRSS (given in kB) from the text of a
// /proc/<pid>/status file; a missing or malformed field is an error.
func parseStatus(b []byte) (memory, error) {
	var m memory
	var seen int
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || (name != "VmHWM" && name != "VmRSS") {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return memory{}, fmt.Errorf("status field %s is %q, want \"<n> kB\"", name, rest)
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return memory{}, fmt.Errorf("status field %s: %w", name, err)
		}
		if name == "VmHWM" {
			m.HWM = kb << 10
		} else {
			m.RSS = kb << 10
		}
		seen++
	}
	if seen != 2 {
		return memory{}, fmt.Errorf("status has %d of the fields VmHWM and VmRSS", seen)
	}
	return m, nil
}

// checkPeak returns an error naming the attack class and the numbers when
// process pid's peak resident memory reached the bound.
func checkPeak(pid int, bound int64, class string) (memory, error) {
	m, err := readMemory(pid)
	if err != nil {
		return m, fmt.Errorf("%s: read memory of pid %d: %w", class, pid, err)
	}
	if m.HWM >= bound {
		return m, fmt.Errorf("VmHWM %s >= %s bound after %s attack (VmRSS now %s)", mib(m.HWM), mib(bound), class, mib(m.RSS))
	}
	return m, nil
}

// watchdog samples a process's VmRSS every 50 ms until stopped and calls
// abort once, the first time it is over ceiling.
type watchdog struct {
	stop    chan struct{}
	done    chan struct{}
	mu      sync.Mutex
	peak    int64 // highest VmRSS seen
	tripped int64 // VmRSS that made it abort, 0 if it did not
}

func watch(pid int, ceiling int64, abort func()) *watchdog {
	w := &watchdog{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			if m, err := readMemory(pid); err == nil {
				w.mu.Lock()
				w.peak = max(w.peak, m.RSS)
				trip := m.RSS > ceiling && w.tripped == 0
				if trip {
					w.tripped = m.RSS
				}
				w.mu.Unlock()
				if trip {
					abort()
				}
			}
			select {
			case <-w.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return w
}

// Stop ends the sampling and returns the highest VmRSS seen and the one
// that tripped the ceiling (0 if none did).
func (w *watchdog) Stop() (peak, tripped int64) {
	close(w.stop)
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.peak, w.tripped
}
