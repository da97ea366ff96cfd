package hint

import "testing"

func TestAccountApply(t *testing.T) {
	var a Account
	a = a.Apply(Created(100, 50))
	a = a.Apply(Created(10, 40))
	a = a.Apply(Grown(-5))
	if want := (Backlog{Keys: 2, Bytes: 105, OldestMS: 40}); a.Pending != want {
		t.Fatalf("after two creations and a shrink: %+v, want %+v", a.Pending, want)
	}
	a = a.Apply(Kept(100, 101))
	if a.Pending.Keys != 1 || a.Pending.Bytes != 5 || a.Kept != (Backlog{Keys: 1, Bytes: 101}) {
		t.Fatalf("after a keep: %+v", a)
	}
	if a.Pending.OldestMS != 40 {
		t.Fatalf("a keep moved OldestMS to %d; it stays a lower bound (40)", a.Pending.OldestMS)
	}
	a = a.Apply(Unkept(101, 120, 70))
	if a.Kept != (Backlog{}) || a.Pending.Keys != 2 || a.Pending.Bytes != 125 || a.Pending.OldestMS != 40 {
		t.Fatalf("after un-keeping: %+v", a)
	}
	a = a.Apply(Removed(5)).Apply(Removed(120))
	if !a.Empty() || a != (Account{}) {
		t.Fatalf("after removing every record: %+v, want the zero account", a)
	}
}

func TestDeltaPlusIsTheCombinedEffect(t *testing.T) {
	ds := []Delta{Created(100, 50), Grown(7), Kept(107, 110), Unkept(110, 90, 60), Created(3, 30), Removed(3)}
	var sum Delta
	var stepwise Account
	for _, d := range ds {
		sum = sum.Plus(d)
		stepwise = stepwise.Apply(d)
	}
	if at := (Account{}).Apply(sum); at.Pending.Keys != stepwise.Pending.Keys || at.Pending.Bytes != stepwise.Pending.Bytes || at.Kept != stepwise.Kept {
		t.Fatalf("applying the sum gave %+v, applying each %+v", at, stepwise)
	}
	if sum.SinceMS != 30 {
		t.Fatalf("sum's SinceMS %d, want the earliest, 30", sum.SinceMS)
	}
	if !(Delta{}).Zero() || sum.Zero() {
		t.Fatal("Zero is wrong")
	}
}

func TestAccountRetained(t *testing.T) {
	a := (Account{}).Apply(Created(100, 50)).Apply(Retained(100, 102))
	if a.Pending != (Backlog{}) || a.Retained != (Backlog{Keys: 1, Bytes: 102}) || a.Empty() {
		t.Fatalf("after a retention: %+v", a)
	}
	a = a.Apply(Revived(102, 130, 70))
	if a.Retained != (Backlog{}) || a.Pending != (Backlog{Keys: 1, Bytes: 130, OldestMS: 70}) {
		t.Fatalf("after a revival: %+v", a)
	}
	d := Retained(5, 6).Plus(Revived(6, 9, 1))
	if back := d.Plus(d.Neg()); back.Keys != 0 || back.Bytes != 0 || back.RetainedKeys != 0 || back.RetainedBytes != 0 {
		t.Fatalf("d plus its negation: %+v", back)
	}
}
