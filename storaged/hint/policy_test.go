package hint

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestAdmit(t *testing.T) {
	now := time.UnixMilli(10_000_000)
	ago := func(d time.Duration) int64 { return now.Add(-d).UnixMilli() }
	p := Policy{MaxBytes: 1000, MaxKeys: 3, Window: time.Hour}
	for _, tc := range []struct {
		name string
		p    Policy
		b    Backlog
		kept Backlog
		w    Write
		want Limit // 0: admitted
	}{
		{"empty backlog", p, Backlog{}, Backlog{}, Write{New: true, Grow: 100}, 0},
		{"within every bound", p, Backlog{Keys: 2, Bytes: 800, OldestMS: ago(time.Minute)}, Backlog{}, Write{New: true, Grow: 200}, 0},
		{"byte cap", p, Backlog{Keys: 1, Bytes: 900, OldestMS: ago(0)}, Backlog{}, Write{New: true, Grow: 101}, LimitBytes},
		{"byte cap on a merge", p, Backlog{Keys: 3, Bytes: 990, OldestMS: ago(0)}, Backlog{}, Write{Grow: 20}, LimitBytes},
		{"shrinking merge over the byte cap", p, Backlog{Keys: 3, Bytes: 2000, OldestMS: ago(0)}, Backlog{}, Write{Grow: -5}, 0},
		{"unchanged merge over the byte cap", p, Backlog{Keys: 3, Bytes: 2000, OldestMS: ago(0)}, Backlog{}, Write{}, 0},
		{"key cap", p, Backlog{Keys: 3, Bytes: 10, OldestMS: ago(0)}, Backlog{}, Write{New: true, Grow: 1}, LimitKeys},
		{"key cap spares merges", p, Backlog{Keys: 3, Bytes: 10, OldestMS: ago(0)}, Backlog{}, Write{Grow: 1}, 0},
		{"window passed", p, Backlog{Keys: 1, Bytes: 10, OldestMS: ago(time.Hour + time.Millisecond)}, Backlog{}, Write{New: true, Grow: 1}, LimitWindow},
		{"window exactly", p, Backlog{Keys: 1, Bytes: 10, OldestMS: ago(time.Hour)}, Backlog{}, Write{New: true, Grow: 1}, 0},
		{"window spares merges", p, Backlog{Keys: 1, Bytes: 10, OldestMS: ago(10 * time.Hour)}, Backlog{}, Write{Grow: 1}, 0},
		{"window checked first", p, Backlog{Keys: 3, Bytes: 1000, OldestMS: ago(2 * time.Hour)}, Backlog{}, Write{New: true, Grow: 1}, LimitWindow},
		{"keys before bytes", p, Backlog{Keys: 3, Bytes: 1000, OldestMS: ago(0)}, Backlog{}, Write{New: true, Grow: 1}, LimitKeys},
		{"empty backlog has no age", Policy{Window: time.Millisecond}, Backlog{}, Backlog{}, Write{New: true, Grow: 1}, 0},
		{"kept records count toward the key cap", p, Backlog{Keys: 1, Bytes: 10, OldestMS: ago(0)}, Backlog{Keys: 2, Bytes: 10}, Write{New: true, Grow: 1}, LimitKeys},
		{"kept records count toward the byte cap", p, Backlog{}, Backlog{Keys: 1, Bytes: 950}, Write{New: true, Grow: 51}, LimitBytes},
		{"kept records spare merges within the caps", p, Backlog{Keys: 1, Bytes: 10, OldestMS: ago(0)}, Backlog{Keys: 2, Bytes: 900}, Write{Grow: 90}, 0},
		{"kept records do not hold the window", p, Backlog{}, Backlog{Keys: 1, Bytes: 10, OldestMS: ago(10 * time.Hour)}, Write{New: true, Grow: 1}, 0},
		{"zero policy refuses nothing", Policy{}, Backlog{Keys: 1 << 40, Bytes: 1 << 60, OldestMS: 1}, Backlog{}, Write{New: true, Grow: 1 << 30}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.p.Admit("n2", tc.b, tc.kept, tc.w, now)
			if tc.want == 0 {
				if err != nil {
					t.Fatalf("Admit = %v, want nil", err)
				}
				return
			}
			var re *RefusedError
			if !errors.As(err, &re) || !errors.Is(err, ErrRefused) {
				t.Fatalf("Admit = %v, want a *RefusedError matching ErrRefused", err)
			}
			if re.Limit != tc.want || re.Owner != "n2" {
				t.Errorf("refused by %s for %q, want %s for n2", re.Limit, re.Owner, tc.want)
			}
			if msg := err.Error(); !strings.Contains(msg, `"n2"`) || !strings.Contains(msg, tc.want.String()) {
				t.Errorf("message %q does not name the owner and the %s", msg, tc.want)
			}
		})
	}
}

func TestBacklog(t *testing.T) {
	apply := func(b Backlog, d Delta) Backlog { return Account{Pending: b}.Apply(d).Pending }
	var b Backlog
	b = apply(b, Created(100, 5000))
	b = apply(b, Created(50, 7000))
	b = apply(b, Created(10, 4000)) // an older record (clock skew) lowers OldestMS
	b = apply(b, Grown(25))         // a merge
	if want := (Backlog{Keys: 3, Bytes: 185, OldestMS: 4000}); b != want {
		t.Fatalf("after adds: %+v, want %+v", b, want)
	}
	b = apply(b, Removed(35))
	if want := (Backlog{Keys: 2, Bytes: 150, OldestMS: 4000}); b != want {
		t.Fatalf("after a removal: %+v, want %+v (OldestMS only a lower bound)", b, want)
	}
	b = b.Settle(5000)
	if b.OldestMS != 5000 {
		t.Errorf("Settle: OldestMS = %d, want 5000", b.OldestMS)
	}
	if s := b.Settle(0); s.OldestMS != 5000 {
		t.Errorf("Settle(0) with records: OldestMS = %d, want it kept", s.OldestMS)
	}
	b = apply(apply(b, Removed(100)), Removed(50))
	if b != (Backlog{}) {
		t.Errorf("after removing every record: %+v, want empty", b)
	}
	if s := b.Settle(1234); s != (Backlog{}) {
		t.Errorf("Settle of an empty backlog: %+v", s)
	}
}
