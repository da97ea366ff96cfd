package driver

import "time"

// Option adjusts one call.
type Option func(*callOptions)

type callOptions struct {
	r, w    int
	timeout time.Duration
}

// WithR sets the read quorum of one Get (1..N).
func WithR(r int) Option { return func(o *callOptions) { o.r = r } }

// WithW sets the write quorum of one Put or Delete (1..N).
func WithW(w int) Option { return func(o *callOptions) { o.w = w } }

// WithTimeout bounds one call.
func WithTimeout(d time.Duration) Option { return func(o *callOptions) { o.timeout = d } }

func (c *Client) options(opts []Option) callOptions {
	o := callOptions{r: c.cfg.R, w: c.cfg.W, timeout: c.cfg.Timeout}
	for _, f := range opts {
		f(&o)
	}
	return o
}
