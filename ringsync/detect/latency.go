package detect

import (
	"slices"
	"time"

	"github.com/shoalkv/shoal/ringsync/ring"
)

// estimate is one node's answer time, smoothed as TCP smooths round trips
// (RFC 6298, Jacobson and Karels): srtt follows the mean, rttvar the mean
// deviation, and srtt + 4·rttvar bounds nearly every answer, a p99-ish
// figure that rises within one slow answer and falls back over several
// prompt ones.
type estimate struct {
	srtt, rttvar time.Duration
}

// add folds in one answer time.
func (e *estimate) add(took time.Duration) {
	if e.srtt == 0 && e.rttvar == 0 {
		e.srtt, e.rttvar = took, took/2
		return
	}
	dev := e.srtt - took
	if dev < 0 {
		dev = -dev
	}
	e.rttvar = (3*e.rttvar + dev) / 4
	e.srtt = (7*e.srtt + took) / 8
}

// bound is the time within which nearly every answer of the node comes.
func (e estimate) bound() time.Duration { return e.srtt + 4*e.rttvar }

// typical is what the nodes' answers typically take: the lower median of
// their bounds, so one slow node among fast ones does not move it and a
// slowdown of most nodes does. With fewer than two nodes measured it is
// zero: a lone node's own slowness explains nothing away.
func typical(lat map[ring.NodeID]*estimate) time.Duration {
	if len(lat) < 2 {
		return 0
	}
	bounds := make([]time.Duration, 0, len(lat))
	for _, e := range lat {
		bounds = append(bounds, e.bound())
	}
	slices.Sort(bounds) // the median depends on the values only, not on map order
	return bounds[(len(bounds)-1)/2]
}
