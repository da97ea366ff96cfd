package swim

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Errors returned by this package; match them with errors.Is.
var (
	// ErrConfig is wrapped by every problem Config.Validate reports.
	ErrConfig = errors.New("swim: invalid config")
)

// Config sets the protocol's periods and limits. Its zero value means the
// defaults below; a negative value is invalid.
type Config struct {
	// ProbeInterval is the probe period: one member is probed per period
	// (default 250 ms). See DefaultProbeInterval for why.
	ProbeInterval time.Duration
	// ProbeTimeout is how long a direct ping waits for its ack before the
	// ping-reqs go out (default 100 ms, well under ProbeInterval so the
	// indirect probes have the rest of the period).
	ProbeTimeout time.Duration
	// IndirectChecks is how many members are asked to ping a target that
	// did not ack (default 2).
	IndirectChecks int
	// SuspicionMult sets the suspicion timeout's minimum, SuspicionMult ×
	// max(1, log10 n) × ProbeInterval, and the confirmations that shrink it
	// there, SuspicionMult − 2 (none when fewer other members could give
	// them) (default 4).
	SuspicionMult int
	// SuspicionMaxMult is the timeout of an unconfirmed suspicion, as a
	// multiple of the minimum (default 6).
	SuspicionMaxMult int
	// AwarenessMax bounds the local-health multiplier: the probe period and
	// every timeout are stretched up to this factor (default 8; 1 turns
	// local health awareness off).
	AwarenessMax int
	// GossipInterval is how often pending updates are sent to GossipNodes
	// members besides riding on probes (default 100 ms).
	GossipInterval time.Duration
	// GossipNodes is how many members each gossip tick goes to (default 3).
	GossipNodes int
	// RetransmitMult sets how often each update is piggybacked:
	// RetransmitMult × ceil(log10(n+1)) times (default 4).
	RetransmitMult int
	// MaxPiggyback bounds the updates one message carries (default 8), so
	// a message's size is bounded by MaxPiggyback updates of bounded ids.
	MaxPiggyback int
}

// Defaults. The probe period is a quarter of memberlist's 1 s so that a
// crashed member is found fast enough for Shoal's target (every live member
// marks a crashed node dead within 2.5 s p99 at n = 5): the first probe of
// the crashed member comes within about 0.7 s (p99: four probers, each
// with a round of four periods), the period ends 0.25 s later, and a
// suspicion confirmed by the other probers takes the 1 s minimum. In the
// simulation (simrun_test.go) that gives p50 1.4 s, p99 2.0 s; memberlist's
// LAN defaults give p99 11 s at n = 5 and probing every 500 ms with a 1.5 s
// minimum 3.7 s. A member that is alive refutes well within the minimum,
// and a suspicion nobody confirms waits the 6 s maximum, which is what
// keeps 10% message loss and a CPU-starved member from causing false deaths
// there. The traffic stays small: a healthy member sends about 8 messages a
// second at n = 5.
const (
	DefaultProbeInterval    = 250 * time.Millisecond
	DefaultProbeTimeout     = 100 * time.Millisecond
	DefaultIndirectChecks   = 2
	DefaultSuspicionMult    = 4
	DefaultSuspicionMaxMult = 6
	DefaultAwarenessMax     = 8
	DefaultGossipInterval   = 100 * time.Millisecond
	DefaultGossipNodes      = 3
	DefaultRetransmitMult   = 4
	DefaultMaxPiggyback     = 8
)

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	defDur(&c.ProbeInterval, DefaultProbeInterval)
	defDur(&c.ProbeTimeout, DefaultProbeTimeout)
	defDur(&c.GossipInterval, DefaultGossipInterval)
	def(&c.IndirectChecks, DefaultIndirectChecks)
	def(&c.SuspicionMult, DefaultSuspicionMult)
	def(&c.SuspicionMaxMult, DefaultSuspicionMaxMult)
	def(&c.AwarenessMax, DefaultAwarenessMax)
	def(&c.GossipNodes, DefaultGossipNodes)
	def(&c.RetransmitMult, DefaultRetransmitMult)
	def(&c.MaxPiggyback, DefaultMaxPiggyback)
	return c
}

// Validate reports every problem with c at once (after defaults), each
// wrapping ErrConfig.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"probe interval", c.ProbeInterval}, {"probe timeout", c.ProbeTimeout}, {"gossip interval", c.GossipInterval}} {
		if d.v < 0 {
			bad("%s %v is negative", d.name, d.v)
		}
	}
	if c.ProbeTimeout > 0 && c.ProbeInterval > 0 && c.ProbeTimeout >= c.ProbeInterval {
		bad("probe timeout %v must be shorter than the probe interval %v", c.ProbeTimeout, c.ProbeInterval)
	}
	for _, f := range []struct {
		name string
		v    int
		min  int
	}{
		{"indirect checks", c.IndirectChecks, 0}, {"suspicion mult", c.SuspicionMult, 1},
		{"suspicion max mult", c.SuspicionMaxMult, 1}, {"awareness max", c.AwarenessMax, 1},
		{"gossip nodes", c.GossipNodes, 1}, {"retransmit mult", c.RetransmitMult, 1},
		{"max piggyback", c.MaxPiggyback, 1},
	} {
		if f.v < f.min {
			bad("%s %d, want >= %d", f.name, f.v, f.min)
		}
	}
	return errors.Join(errs...)
}

// scale returns the factor max(1, log10 n) by which timeouts grow with the
// group's size n.
func scale(n int) float64 {
	return math.Max(1, math.Log10(float64(max(n, 1))))
}
