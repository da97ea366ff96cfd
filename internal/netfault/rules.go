package netfault

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// ErrBadGroups is wrapped by Partition and Isolate errors about their
// arguments: an address that is not IPv4, or one listed in two groups.
var ErrBadGroups = errors.New("netfault: bad partition groups")

// dropRules returns the iptables argument lists that append, to chain, rules
// dropping UDP from every address of each group to every address of every
// other group: one rule per ordered pair of groups, with the addresses
// comma-joined (iptables expands them), so a partition costs a few
// invocations however many addresses it has. Groups with no addresses are
// ignored; fewer than two non-empty groups yield no rules. Addresses keep
// the caller's order, so the same groups always give the same rules.
func dropRules(chain string, groups [][]string) ([][]string, error) {
	seen := make(map[netip.Addr]int)
	var errs []error
	var nonEmpty [][]string
	for gi, g := range groups {
		if len(g) == 0 {
			continue
		}
		nonEmpty = append(nonEmpty, g)
		for _, s := range g {
			a, err := netip.ParseAddr(s)
			switch {
			case err != nil:
				errs = append(errs, fmt.Errorf("%w: %q is not an IP address", ErrBadGroups, s))
				continue
			case !a.Is4():
				errs = append(errs, fmt.Errorf("%w: %s is not IPv4 (iptables filters IPv4 only)", ErrBadGroups, s))
				continue
			}
			if prev, ok := seen[a]; ok && prev != gi {
				errs = append(errs, fmt.Errorf("%w: %s is in groups %d and %d", ErrBadGroups, s, prev, gi))
			}
			seen[a] = gi
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	var rules [][]string
	for i, from := range nonEmpty {
		for j, to := range nonEmpty {
			if i == j {
				continue
			}
			rules = append(rules, []string{"-A", chain, "-p", "udp",
				"-s", strings.Join(from, ","), "-d", strings.Join(to, ","), "-j", "DROP"})
		}
	}
	return rules, nil
}
