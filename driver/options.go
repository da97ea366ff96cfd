package driver

import "time"

// Option adjusts one call.
type Option func(*callOptions)

type callOptions struct {
	r, w, pr, pw int
	timeout      time.Duration
}

// WithR sets the read quorum of one Get (1..N).
func WithR(r int) Option { return func(o *callOptions) { o.r = r } }

// WithW sets the write quorum of one Put or Delete (1..N).
func WithW(w int) Option { return func(o *callOptions) { o.w = w } }

// WithPW demands that at least pw of a write's W acknowledgements come from
// the key's primaries rather than hinted stand-ins (Riak's PW). The default,
// 0, lets fallbacks count toward W (sloppy quorum, paper §4.6): the write is
// accepted while any W nodes are healthy.
func WithPW(pw int) Option { return func(o *callOptions) { o.pw = pw } }

// WithPR demands that at least pr of a read's R answers come from the key's
// primaries (Riak's PR). With WithR(3) and WithPR(3) at N=3, a read consults
// every primary and nothing else.
func WithPR(pr int) Option { return func(o *callOptions) { o.pr = pr } }

// WithTimeout bounds one call.
func WithTimeout(d time.Duration) Option { return func(o *callOptions) { o.timeout = d } }

func (c *Client) options(opts []Option) callOptions {
	o := callOptions{r: c.cfg.R, w: c.cfg.W, timeout: c.cfg.Timeout}
	for _, f := range opts {
		f(&o)
	}
	return o
}
