package props

import (
	"errors"
	"strings"
	"testing"
)

func TestParseYCSBWorkloadFile(t *testing.T) {
	// The shape of YCSB's workloads/workloada, comments and all.
	const file = `# Copyright notice
#   Yahoo! Cloud System Benchmark
! a bang comment
recordcount=1000
operationcount = 1000
workload=site.ycsb.workloads.CoreWorkload

readallfields=true
readproportion: 0.5
updateproportion 0.5
requestdistribution=zipfian
long.value=a\
    b\
    c
escaped\=key=x\ty
unicode=caf\u00e9
empty=
`
	p, err := Parse(strings.NewReader(file), "workloada")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"recordcount":         "1000",
		"operationcount":      "1000",
		"workload":            "site.ycsb.workloads.CoreWorkload",
		"readallfields":       "true",
		"readproportion":      "0.5",
		"updateproportion":    "0.5",
		"requestdistribution": "zipfian",
		"long.value":          "abc",
		"escaped=key":         "x\ty",
		"unicode":             "café",
		"empty":               "",
	}
	if len(p) != len(want) {
		t.Errorf("got %d keys %v, want %d", len(p), p.Keys(), len(want))
	}
	for k, v := range want {
		if got, ok := p[k]; !ok || got != v {
			t.Errorf("%q = %q (set %v), want %q", k, got, ok, v)
		}
	}
}

func TestLaterSettingWins(t *testing.T) {
	p, err := Parse(strings.NewReader("a=1\na=2\n"), "x")
	if err != nil {
		t.Fatal(err)
	}
	if p["a"] != "2" {
		t.Fatalf("a=%q, want 2", p["a"])
	}
}

func TestTypedGetters(t *testing.T) {
	p := Props{"n": "1_000_000", "f": "0.95", "b": "TRUE", "bad": "x"}
	if n, err := p.Int("n", 0); err != nil || n != 1_000_000 {
		t.Errorf("Int = %d, %v", n, err)
	}
	if n, err := p.Int("missing", 7); err != nil || n != 7 {
		t.Errorf("Int default = %d, %v", n, err)
	}
	if f, err := p.Float("f", 0); err != nil || f != 0.95 {
		t.Errorf("Float = %v, %v", f, err)
	}
	if b, err := p.Bool("b", false); err != nil || !b {
		t.Errorf("Bool = %v, %v", b, err)
	}
	for _, get := range []func() error{
		func() error { _, err := p.Int("bad", 0); return err },
		func() error { _, err := p.Float("bad", 0); return err },
		func() error { _, err := p.Bool("bad", false); return err },
	} {
		if err := get(); !errors.Is(err, ErrSyntax) {
			t.Errorf("bad value: err = %v, want ErrSyntax", err)
		}
	}
}

func TestSetAndBadEscape(t *testing.T) {
	p := Props{}
	if err := p.Set("threadcount = 8"); err != nil || p["threadcount"] != "8" {
		t.Fatalf("Set: %v, %v", err, p)
	}
	if err := p.Set("novalue"); !errors.Is(err, ErrSyntax) {
		t.Errorf("Set without '=': %v", err)
	}
	if _, err := Parse(strings.NewReader(`k=\u12`), "x"); !errors.Is(err, ErrSyntax) {
		t.Errorf("short \\u escape: %v", err)
	}
}
