package sim

import "time"

// hostDelay is the extra time packets to or from a host take.
type hostDelay struct {
	delay, jitter time.Duration
}

// SetHostDelay makes every packet to or from host take delay more, plus a
// uniform jitter drawn from the network's generator: what a process
// starved of CPU looks like from outside, answering late but answering.
// A zero delay and jitter take it back.
func (n *Network) SetHostDelay(host string, delay, jitter time.Duration) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if delay == 0 && jitter == 0 {
		delete(n.slow, host)
		return
	}
	if n.slow == nil {
		n.slow = make(map[string]hostDelay)
	}
	n.slow[host] = hostDelay{delay, jitter}
}

// hostDelayLocked is the extra delay of one packet between from and to.
func (n *Network) hostDelayLocked(from, to string) time.Duration {
	var d time.Duration
	for _, h := range [2]string{from, to} {
		if s, ok := n.slow[h]; ok {
			d += s.delay
			if s.jitter > 0 {
				d += time.Duration(n.rng.Int64N(int64(s.jitter)))
			}
		}
	}
	return d
}
