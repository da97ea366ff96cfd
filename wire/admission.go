package wire

import (
	"errors"
	"fmt"
	"time"
)

// admission is the pure core of connection admission: connections per source
// address and in total, and a token bucket of handshakes per source. A
// connection counts from its first Initial packet (before TLS runs, so a
// refusal costs no cryptography) until it is gone. Not safe for concurrent
// use; the endpoint holds it under its mutex.
type admission struct {
	maxConns, maxPerSource int
	rate                   float64 // handshakes per second per source
	burst                  float64

	conns   int
	bySrc   map[string]int
	buckets map[string]*bucket
}

// bucket is one source's handshake tokens as of last.
type bucket struct {
	tokens float64
	last   time.Time
}

// Refusal reasons, as counted in Stats and logged.
const (
	refuseTotal     = "connections in total"
	refusePerSource = "connections from one address"
	refuseRate      = "handshake rate from one address"
)

// errRefused wraps the reason a new connection was refused.
var errRefused = errors.New("wire: connection refused")

func newAdmission(maxConns, maxPerSource int, rate float64, burst int) *admission {
	return &admission{maxConns: maxConns, maxPerSource: maxPerSource, rate: rate, burst: float64(burst),
		bySrc: make(map[string]int), buckets: make(map[string]*bucket)}
}

// admit decides a new connection from src at now; on success it is counted
// until leave(src). A refusal returns its reason (one of the refuse
// constants) and an error saying what was over which limit.
func (a *admission) admit(src string, now time.Time) (reason string, err error) {
	if a.conns >= a.maxConns {
		return refuseTotal, fmt.Errorf("%w: %s: %d open, limit %d", errRefused, refuseTotal, a.conns, a.maxConns)
	}
	if n := a.bySrc[src]; n >= a.maxPerSource {
		return refusePerSource, fmt.Errorf("%w: %s: %d open from %s, limit %d", errRefused, refusePerSource, n, src, a.maxPerSource)
	}
	b := a.refill(src, now)
	if b.tokens < 1 {
		return refuseRate, fmt.Errorf("%w: %s: %s over %g handshakes/s (burst %g)", errRefused, refuseRate, src, a.rate, a.burst)
	}
	b.tokens--
	a.conns++
	a.bySrc[src]++
	return "", nil
}

// refill brings src's bucket up to now, making it full if it is new.
func (a *admission) refill(src string, now time.Time) *bucket {
	b := a.buckets[src]
	if b == nil {
		if len(a.buckets) >= 4*a.maxConns {
			a.prune(now)
		}
		b = &bucket{tokens: a.burst, last: now}
		a.buckets[src] = b
	}
	if d := now.Sub(b.last); d > 0 {
		b.tokens = min(a.burst, b.tokens+d.Seconds()*a.rate)
		b.last = now
	}
	return b
}

// prune forgets the buckets that have refilled (a new one starts full, so
// forgetting them changes nothing) and whose sources hold no connection.
func (a *admission) prune(now time.Time) {
	for src, b := range a.buckets {
		if a.bySrc[src] == 0 && b.tokens+now.Sub(b.last).Seconds()*a.rate >= a.burst {
			delete(a.buckets, src)
		}
	}
}

// leave uncounts a connection admitted from src.
func (a *admission) leave(src string) {
	a.conns--
	if a.bySrc[src]--; a.bySrc[src] <= 0 {
		delete(a.bySrc, src)
	}
}

// refusalLog decides which refusals to log: each (reason, source) once per
// window (zero: refusalLogWindow), so a flood costs one line, not one per
// packet. Not safe for concurrent use.
type refusalLog struct {
	window time.Duration
	last   map[[2]string]time.Time
}

// maxLogged bounds the sources remembered by a refusalLog.
const maxLogged = 4096

func (r *refusalLog) should(reason, src string, now time.Time) bool {
	if r.last == nil {
		r.last = make(map[[2]string]time.Time)
		if r.window == 0 {
			r.window = refusalLogWindow
		}
	}
	k := [2]string{reason, src}
	if t, ok := r.last[k]; ok && now.Sub(t) < r.window {
		return false
	}
	if len(r.last) >= maxLogged {
		for k, t := range r.last {
			if now.Sub(t) >= r.window {
				delete(r.last, k)
			}
		}
		if len(r.last) >= maxLogged {
			return false // a flood from many sources: counted, not logged
		}
	}
	r.last[k] = now
	return true
}
