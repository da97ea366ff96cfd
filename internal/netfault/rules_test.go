package netfault

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestDropRules(t *testing.T) {
	tests := []struct {
		name   string
		groups [][]string
		want   []string // each rule's args joined by spaces
	}{
		{"no groups", nil, nil},
		{"one group", [][]string{{"127.0.9.1", "127.0.9.2"}}, nil},
		{"empty groups ignored", [][]string{{}, {"127.0.9.1"}, nil}, nil},
		{"two singletons", [][]string{{"127.0.9.1"}, {"127.0.9.2"}}, []string{
			"-A C -p udp -s 127.0.9.1 -d 127.0.9.2 -j DROP",
			"-A C -p udp -s 127.0.9.2 -d 127.0.9.1 -j DROP",
		}},
		{"minority and majority", [][]string{{"127.0.9.1", "127.0.9.101"}, {"127.0.9.2", "127.0.9.3"}}, []string{
			"-A C -p udp -s 127.0.9.1,127.0.9.101 -d 127.0.9.2,127.0.9.3 -j DROP",
			"-A C -p udp -s 127.0.9.2,127.0.9.3 -d 127.0.9.1,127.0.9.101 -j DROP",
		}},
		{"three groups", [][]string{{"127.0.9.1"}, {"127.0.9.2"}, {"127.0.9.3"}}, []string{
			"-A C -p udp -s 127.0.9.1 -d 127.0.9.2 -j DROP",
			"-A C -p udp -s 127.0.9.1 -d 127.0.9.3 -j DROP",
			"-A C -p udp -s 127.0.9.2 -d 127.0.9.1 -j DROP",
			"-A C -p udp -s 127.0.9.2 -d 127.0.9.3 -j DROP",
			"-A C -p udp -s 127.0.9.3 -d 127.0.9.1 -j DROP",
			"-A C -p udp -s 127.0.9.3 -d 127.0.9.2 -j DROP",
		}},
		{"repeat within a group is harmless", [][]string{{"127.0.9.1", "127.0.9.1"}, {"127.0.9.2"}}, []string{
			"-A C -p udp -s 127.0.9.1,127.0.9.1 -d 127.0.9.2 -j DROP",
			"-A C -p udp -s 127.0.9.2 -d 127.0.9.1,127.0.9.1 -j DROP",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rules, err := dropRules("C", tt.groups)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range rules {
				got = append(got, strings.Join(r, " "))
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("rules:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestDropRulesRejectsBadGroups(t *testing.T) {
	tests := []struct {
		name   string
		groups [][]string
		want   []string // substrings of the error
	}{
		{"not an address", [][]string{{"node1"}, {"127.0.9.2"}}, []string{`"node1" is not an IP address`}},
		{"host:port", [][]string{{"127.0.9.1:7000"}, {"127.0.9.2"}}, []string{"127.0.9.1:7000"}},
		{"ipv6", [][]string{{"::1"}, {"127.0.9.2"}}, []string{"::1 is not IPv4"}},
		{"in two groups", [][]string{{"127.0.9.1"}, {"127.0.9.2", "127.0.9.1"}}, []string{"127.0.9.1 is in groups 0 and 1"}},
		{"every problem at once", [][]string{{"x", "::1"}, {"y"}}, []string{`"x"`, "::1", `"y"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rules, err := dropRules("C", tt.groups)
			if !errors.Is(err, ErrBadGroups) {
				t.Fatalf("err %v, want ErrBadGroups", err)
			}
			if rules != nil {
				t.Fatalf("rules %q with an error", rules)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestParseListing(t *testing.T) {
	listing := `# Warning: iptables-legacy tables present, use iptables-legacy to see them
-P INPUT ACCEPT
-N DOCKER
-N SHOAL-12-0000abcd
-N SHOAL-x-1
-N SHOALX-5-1
-A INPUT -j SHOAL-12-0000abcd
-A INPUT -s 127.0.0.1/32 -j SHOAL-12-0000abcd
-A OUTPUT -j SHOAL-12-0000abcd
-A SHOAL-12-0000abcd -s 127.0.9.1/32 -d 127.0.9.2/32 -p udp -j DROP
`
	if got, want := chains(listing), []string{"SHOAL-12-0000abcd", "SHOAL-x-1"}; !slices.Equal(got, want) {
		t.Errorf("chains %q, want %q", got, want)
	}
	if got, want := jumpsTo(listing, "SHOAL-12-0000abcd"), []string{"INPUT", "OUTPUT"}; !slices.Equal(got, want) {
		t.Errorf("jumps %q, want %q (a jump with matches is not ours)", got, want)
	}
	for _, tt := range []struct {
		chain string
		pid   int
		ok    bool
	}{
		{"SHOAL-12-0000abcd", 12, true},
		{"SHOAL-x-1", 0, false},
		{"SHOAL-12", 0, false},
		{"SHOAL-0-1", 0, false},
		{"DOCKER", 0, false},
	} {
		pid, ok := chainPID(tt.chain)
		if pid != tt.pid || ok != tt.ok {
			t.Errorf("chainPID(%q) = %d, %v; want %d, %v", tt.chain, pid, ok, tt.pid, tt.ok)
		}
	}
}
