package transportbench

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
)

// largeSize is the request a background caller keeps sending in the
// large-neighbour case: the store's default maximum value.
const largeSize = 1 << 20

// BenchmarkHeadOfLine measures 64 callers of 100-byte requests when something
// else shares the connection: a background caller sending 1 MiB requests
// back to back (large-neighbour), or 1% of datagrams lost in each direction
// (loss=1%). On one shared stream, bytes are delivered in order, so a small
// answer waits behind a large frame or behind a lost packet's retransmission;
// with a stream per request only the requests that touch those bytes wait.
func BenchmarkHeadOfLine(b *testing.B) {
	for _, tc := range designs {
		b.Run("large-neighbour/"+tc.name, func(b *testing.B) { benchLargeNeighbour(b, tc.d) })
	}
	for _, tc := range designs {
		b.Run("loss=1%/"+tc.name, func(b *testing.B) { benchLoss(b, tc.d, 0.01) })
	}
}

func benchLargeNeighbour(b *testing.B, d design) {
	small := request(100)
	r := startRig(b, d, constant(request(respSize)), nil, nil)
	defer r.stop(b)
	r.warm(b, small)

	// The neighbour runs from before the timer starts until the small calls
	// are done, so every small call shares the connection with it.
	ctx, cancel := context.WithCancel(context.Background())
	var neighbour sync.WaitGroup
	var large atomic.Int64
	started := make(chan struct{})
	neighbour.Go(func() {
		big := request(largeSize)
		close(started)
		for ctx.Err() == nil {
			if _, err := r.tr.call(ctx, big); err != nil {
				if ctx.Err() == nil {
					b.Error("large call:", err)
				}
				return
			}
			large.Add(1)
		}
	})
	<-started
	lat := runCallers(b, r, small)
	elapsed := b.Elapsed()
	cancel()
	neighbour.Wait()
	lat.report(b)
	b.ReportMetric(float64(large.Load())*largeSize/(1<<20)/elapsed.Seconds(), "large-MiB/s")
}

func benchLoss(b *testing.B, d design, rate float64) {
	small := request(100)
	var srvConn, cliConn *lossyConn
	r := startRig(b, d, constant(request(respSize)), lossy(rate, 1, &srvConn), lossy(rate, 2, &cliConn))
	defer r.stop(b)
	r.warm(b, small)
	srvConn.armed.Store(true)
	cliConn.armed.Store(true)
	lat := runCallers(b, r, small)
	srvConn.armed.Store(false)
	cliConn.armed.Store(false)
	lat.report(b)
	b.ReportMetric(float64(srvConn.dropped.Load()+cliConn.dropped.Load()), "dropped")
}
