package memstore

import (
	"errors"
	"fmt"

	"github.com/shoalkv/shoal/storaged/store"
)

// ErrInjected is the cause wrapped by the errors of a batch that
// Disk.FailCommits made fail: they also match store.ErrCommit (and, for an
// ambiguous failure, store.ErrBroken).
var ErrInjected = errors.New("memstore: injected commit failure")

var (
	// errClosed is returned after Close.
	errClosed = fmt.Errorf("memstore: %w", store.ErrClosed)
	// errCrashed is returned by the calls in flight when Disk.Crash killed
	// their Store, and by every later call on it.
	errCrashed = fmt.Errorf("memstore: %w by a simulated crash", store.ErrClosed)
	// errLocked is returned by Disk.Open while another Store holds the Disk.
	errLocked = fmt.Errorf("memstore: %w: the disk is held by an open store", store.ErrLocked)
	// errNilFunc is returned by Apply with a nil function.
	errNilFunc = errors.New("memstore: Apply with a nil function")
)
