package netfault

import (
	"bytes"
	"fmt"
	"os/exec"
	"strings"
)

// iptablesPath is the binary every rule change runs. A variable so that a
// test can point it somewhere that does not exist.
var iptablesPath = "iptables"

// iptables runs iptables once with -w (wait for the xtables lock, so
// concurrent test packages queue instead of failing) followed by args, and
// returns its standard output. A failure's error quotes the command and
// iptables' standard error.
func iptables(args ...string) (string, error) {
	full := append([]string{"-w"}, args...)
	cmd := exec.Command(iptablesPath, full...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("netfault: %s %s: %w: %s",
			iptablesPath, strings.Join(full, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}
