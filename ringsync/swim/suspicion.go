package swim

import (
	"math"
	"time"

	"github.com/shoalkv/shoal/ringsync/ring"
)

// suspicion is the timer of one suspected member, Lifeguard's dynamic
// suspicion: it starts at max and shrinks towards min, logarithmically, as
// up to k other members independently confirm the suspicion. A suspicion
// that every member raises on its own is likely true and ends soon; one
// that only this node holds (perhaps because this node is slow) waits long
// enough for the suspect to hear of it and refute.
type suspicion struct {
	start    time.Time
	k        int // confirmations that bring the timeout down to min
	min, max time.Duration
	first    ring.NodeID              // the member that raised it
	from     map[ring.NodeID]struct{} // first and the confirmers
}

// suspicionBounds returns the timeouts and the confirmations wanted for a
// group of n members that are not dead (this node included): min =
// mult × max(1, log10 n) × interval, max = maxMult × min, and k = mult − 2
// confirmations, or none when fewer than k other members (n − 2: neither
// the suspect nor the suspecter) could give them. At k = 0 the timeout is
// min from the start.
func suspicionBounds(cfg Config, n int) (k int, lo, hi time.Duration) {
	lo = time.Duration(float64(cfg.SuspicionMult) * scale(n) * float64(cfg.ProbeInterval))
	hi = time.Duration(cfg.SuspicionMaxMult) * lo
	k = max(cfg.SuspicionMult-2, 0)
	if n-2 < k {
		k = 0
	}
	return k, lo, hi
}

func newSuspicion(from ring.NodeID, start time.Time, k int, lo, hi time.Duration) *suspicion {
	return &suspicion{start: start, k: k, min: lo, max: hi, first: from, from: map[ring.NodeID]struct{}{from: {}}}
}

// confirmations returns how many members other than the first confirmed.
func (s *suspicion) confirmations() int { return len(s.from) - 1 }

// confirm records that from suspects the member too. It reports whether
// that was news that shortens the timeout (a new confirmer while fewer than
// k have confirmed), so the confirmation is worth passing on.
func (s *suspicion) confirm(from ring.NodeID) bool {
	if s.confirmations() >= s.k {
		return false
	}
	if _, ok := s.from[from]; ok {
		return false
	}
	s.from[from] = struct{}{}
	return true
}

// timeout returns the suspicion's length with c confirmations:
// max − (max − min) × log(c+1)/log(k+1), never below min, in whole
// milliseconds.
func (s *suspicion) timeout(c int) time.Duration {
	if s.k < 1 || c >= s.k {
		return s.min
	}
	frac := math.Log(float64(c+1)) / math.Log(float64(s.k+1))
	raw := float64(s.max) - frac*float64(s.max-s.min)
	d := time.Duration(math.Floor(raw/float64(time.Millisecond))) * time.Millisecond
	return max(d, s.min)
}

// deadline returns when the suspicion expires, its timeout stretched by the
// local-health factor in force.
func (s *suspicion) deadline(factor int) time.Time {
	return s.start.Add(time.Duration(factor) * s.timeout(s.confirmations()))
}
