package storaged

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"

	"github.com/shoalkv/shoal/storaged/replica"
	"github.com/shoalkv/shoal/wire"
)

// rejections counts the writes and calls this node refused for what they
// carried, by kind, and logs each kind once per peer per minute
// (wire.Notices): a hostile or broken peer costs a counter, not a log
// line per request. Safe for concurrent use.
type rejections struct {
	log      *slog.Logger
	notices  wire.Notices
	conflict atomic.Uint64 // other bytes under a dot this node holds
	claim    atomic.Uint64 // this node's own dots claimed beyond what it issued
	member   atomic.Uint64 // node-only calls from a non-member's certificate
	limit    atomic.Uint64 // writes whose result would break a limit
}

// note counts err, the answer to a request of type t from p, if it is one
// of the refusals counted here.
func (r *rejections) note(p wire.Peer, t wire.Type, err error) {
	var kind string
	var n *atomic.Uint64
	level := slog.LevelWarn
	switch {
	case err == nil:
		return
	case errors.Is(err, wire.ErrDotConflict):
		kind, n, level = "corruption: an incoming object disagrees with this node under one dot; kept what this node holds", &r.conflict, slog.LevelError
	case errors.Is(err, replica.ErrClaim):
		kind, n = "refused a forged claim of this node's dots", &r.claim
	case errors.Is(err, wire.ErrForbidden):
		kind, n = "refused a node-only request from a non-member", &r.member
	case write(t) && (errors.Is(err, wire.ErrSiblingLimit) || errors.Is(err, wire.ErrTooLarge)):
		kind, n, level = "refused a write over a limit", &r.limit, slog.LevelInfo
	default:
		return
	}
	n.Add(1)
	if r.notices.Should(kind, p.Addr) {
		r.log.Log(context.Background(), level, kind, "peer", p.ID, "role", p.Role, "addr", p.Addr, "request", t, "err", err, "quiet_for", "1m")
	}
}

// write reports the request types that store an object.
func write(t wire.Type) bool {
	return t == wire.TypeCoordinate || t == wire.TypeReplicate || t == wire.TypeHandoff
}
