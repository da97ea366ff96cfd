package netfault

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"syscall"
)

// remove deletes every jump to chain from a built-in or user chain, then
// flushes and deletes chain. Jumps are found in iptables -S, not assumed to
// be in hook, so a chain hooked by an older version of this package goes too.
func remove(chain string) error {
	out, err := iptables("-S")
	if err != nil {
		return err
	}
	var errs []error
	for _, from := range jumpsTo(out, chain) {
		if _, err := iptables("-D", from, "-j", chain); err != nil {
			errs = append(errs, err)
		}
	}
	if _, err := iptables("-F", chain); err != nil {
		errs = append(errs, err)
	}
	if _, err := iptables("-X", chain); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// removeStale removes the SHOAL- chains whose owning process (the pid in
// the name) is no longer alive, and returns the errors met; another test
// process cleaning the same chain at the same moment is one harmless cause.
func removeStale() []error {
	out, err := iptables("-S")
	if err != nil {
		return []error{err}
	}
	var errs []error
	for _, chain := range chains(out) {
		pid, ok := chainPID(chain)
		if !ok || alive(pid) {
			continue
		}
		if err := remove(chain); err != nil {
			errs = append(errs, fmt.Errorf("%s (pid %d is gone): %w", chain, pid, err))
		}
	}
	return errs
}

// chains lists the SHOAL- chains declared ("-N name") in iptables -S
// output, in the order printed.
func chains(listing string) []string {
	var out []string
	for _, l := range strings.Split(listing, "\n") {
		f := strings.Fields(l)
		if len(f) == 2 && f[0] == "-N" && strings.HasPrefix(f[1], chainPrefix) {
			out = append(out, f[1])
		}
	}
	return out
}

// jumpsTo lists the chains holding a plain jump ("-A from -j chain") to
// chain in iptables -S output, once per rule, in the order printed.
func jumpsTo(listing, chain string) []string {
	var out []string
	for _, l := range strings.Split(listing, "\n") {
		f := strings.Fields(l)
		if len(f) == 4 && f[0] == "-A" && f[2] == "-j" && f[3] == chain {
			out = append(out, f[1])
		}
	}
	return out
}

// chainPID parses the pid out of a chain name SHOAL-<pid>-<suffix>.
func chainPID(chain string) (int, bool) {
	rest, ok := strings.CutPrefix(chain, chainPrefix)
	if !ok {
		return 0, false
	}
	digits, _, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, false
	}
	pid, err := strconv.Atoi(digits)
	if err != nil || pid <= 0 {
		return 0, false
	}
	return pid, true
}

// alive reports whether a process with this pid exists. EPERM means it
// exists but belongs to someone else: alive, so its chain is left alone.
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
