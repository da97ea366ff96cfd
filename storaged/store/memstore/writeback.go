package memstore

// writeback is the goroutine that syncs committed batches under
// Options.NoSync, as an operating system's writeback would. Each round takes
// the batches committed so far, sleeps SyncLatency and marks them synced;
// batches committed during a round wait for the next one. A Crash loses
// whatever it has not reached. It ends when the Store lets go of its Disk.
func (s *Store) writeback() {
	defer close(s.writebackDone)
	for {
		select {
		case <-s.wake:
		case <-s.gone:
			return
		}
		n, ok := s.d.unsynced(s)
		if !ok {
			return
		}
		if n == 0 {
			continue
		}
		if !s.sleep(s.opts.SyncLatency) || !s.d.sync(s, n) {
			return
		}
	}
}

// wakeWriteback tells the writeback that a batch was committed.
func (s *Store) wakeWriteback() {
	select {
	case s.wake <- struct{}{}:
	default: // a wake is already due
	}
}
