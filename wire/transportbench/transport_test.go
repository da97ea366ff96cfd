package transportbench

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"
)

type namedDesign struct {
	name string
	d    design
}

// designs are the ones BenchmarkHeadOfLine compares.
var designs = []namedDesign{
	{"stream-per-request", streamPerRequest},
	{"multiplexed-stream/streams=1", multiplexed1},
	{"multiplexed-stream/streams=4", multiplexed4},
}

// slowEcho echoes the request, sleeping first when its first byte is odd, so
// answers on a multiplexed stream overtake the requests sent before them.
func slowEcho(req []byte) []byte {
	if len(req) > 0 && req[0]%2 == 1 {
		time.Sleep(2 * time.Millisecond)
	}
	return req
}

// TestRoundTrip checks that every caller gets its own answer under
// concurrency and reordering, with and without packet loss, for every design,
// and that nothing the rig started outlives it.
func TestRoundTrip(t *testing.T) {
	for _, loss := range []float64{0, 0.05} {
		for _, tc := range append(designs, namedDesign{"multiplexed-stream/streams=1/writes=locked", multiplexed1Lock}) {
			t.Run(fmt.Sprintf("loss=%v/%s", loss, tc.name), func(t *testing.T) { testRoundTrip(t, tc.d, loss) })
		}
	}
}

func testRoundTrip(t *testing.T, d design, loss float64) {
	before := runtime.NumGoroutine()
	var srvConn, cliConn *lossyConn
	r := startRig(t, d, slowEcho, lossy(loss, 3, &srvConn), lossy(loss, 4, &cliConn))
	srvConn.armed.Store(true)
	cliConn.armed.Store(true)
	var wg sync.WaitGroup
	for g := range callers {
		wg.Go(func() {
			for i := range 20 {
				req := fmt.Appendf(nil, "%c caller %d call %d %s", byte('0'+i%2), g, i, bytes.Repeat([]byte{'x'}, g*64))
				resp, err := r.tr.call(context.Background(), req)
				if err != nil {
					t.Error(err)
					return
				}
				if !bytes.Equal(resp, req) {
					t.Errorf("caller %d call %d got someone else's answer", g, i)
					return
				}
			}
		})
	}
	wg.Wait()
	r.stop(t)
	waitGoroutines(t, before)
}

// waitGoroutines fails unless the goroutine count falls back to want; quic-go
// ends some of its own goroutines shortly after Close returns.
func waitGoroutines(t *testing.T, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > want {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines, want %d:\n%s", runtime.NumGoroutine(), want, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestQuantile(t *testing.T) {
	d := []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for _, tc := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 5}, {0.99, 10}, {0.1, 1}, {0, 1}, {1, 10}} {
		if got := quantile(d, tc.q); got != tc.want {
			t.Errorf("quantile(%v) = %v, want %v", tc.q, got, tc.want)
		}
	}
	if got := quantile(nil, 0.5); got != 0 {
		t.Errorf("quantile of nothing = %v", got)
	}
}
