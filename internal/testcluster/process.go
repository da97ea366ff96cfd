package testcluster

// Exited returns a channel that is closed once node i's current process has
// exited and been reaped, or nil if the node was never started. Take it
// before signalling the process, so that a restart in between cannot hand
// over the next process's channel. It never fails the test, so any
// goroutine may call it; it waits while node i is being started.
func (c *Cluster) Exited(i int) <-chan struct{} {
	n := c.Nodes[i]
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.exited
}

// Running reports whether node i has a process that has not exited (it may
// be stopped by SIGSTOP). Any goroutine may call it; it waits while node i
// is being started.
func (c *Cluster) Running(i int) bool {
	ch := c.Exited(i)
	if ch == nil {
		return false
	}
	select {
	case <-ch:
		return false
	default:
		return true
	}
}
