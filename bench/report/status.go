package report

import (
	"fmt"
	"strings"
	"time"

	"github.com/shoalkv/shoal/bench/runner"
	"github.com/shoalkv/shoal/bench/workload"
)

// StatusLine renders a status report the way YCSB's status thread does:
//
//	2026-11-25 16:30:10:123 10 sec: 41234 operations; 4123.4 current ops/sec; [READ: Count=20000, Avg=812.3, 50=701, 99=2503, 99.9=4011, Max=9007] ...
//
// Latencies are in microseconds, for the interval since the last line.
func StatusLine(now time.Time, s runner.Status) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s:%03d %d sec: %d operations; %.1f current ops/sec;",
		now.Format("2006-01-02 15:04:05"), now.Nanosecond()/1e6, int64(s.Elapsed.Seconds()), s.Operations, s.Throughput())
	if s.Open {
		fmt.Fprintf(&b, " backlog %d;", s.Backlog)
	}
	for _, op := range workload.Ops {
		h := s.Ops.Get(op)
		if h == nil || h.Count() == 0 {
			continue
		}
		fmt.Fprintf(&b, " [%s: Count=%d, Avg=%.1f, 50=%d, 99=%d, 99.9=%d, Max=%d]", op, h.Count(), h.MeanMicros(),
			h.PercentileMicros(50), h.PercentileMicros(99), h.PercentileMicros(99.9), h.MaxMicros())
	}
	return b.String()
}
