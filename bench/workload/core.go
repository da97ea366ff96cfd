package workload

import (
	"fmt"
	"strings"

	"github.com/shoalkv/shoal/bench/props"
)

// core holds YCSB's core workloads as its workload files define them
// (workloads/workloada ... workloadf), less the record and operation counts,
// which the caller sets.
var core = map[string]props.Props{
	"a": {"readproportion": "0.5", "updateproportion": "0.5", "requestdistribution": "zipfian"},
	"b": {"readproportion": "0.95", "updateproportion": "0.05", "requestdistribution": "zipfian"},
	"c": {"readproportion": "1", "updateproportion": "0", "requestdistribution": "zipfian"},
	"d": {"readproportion": "0.95", "updateproportion": "0", "insertproportion": "0.05", "requestdistribution": "latest"},
	"e": {"readproportion": "0", "updateproportion": "0", "scanproportion": "0.95", "insertproportion": "0.05",
		"requestdistribution": "zipfian", "maxscanlength": "100", "scanlengthdistribution": "uniform"},
	"f": {"readproportion": "0.5", "updateproportion": "0", "readmodifywriteproportion": "0.5", "requestdistribution": "zipfian"},
}

// CoreNames lists the core workloads.
var CoreNames = []string{"a", "b", "c", "d", "e", "f"}

// Core returns the properties of YCSB core workload name ("a" to "f", or
// "workloada" ...). Workload E is returned too: FromProps refuses it with
// ErrScan, which says why.
func Core(name string) (props.Props, error) {
	n := strings.TrimPrefix(strings.ToLower(name), "workload")
	p, ok := core[n]
	if !ok {
		return nil, fmt.Errorf("%w: no core workload %q (want one of a, b, c, d, e, f)", ErrInvalid, name)
	}
	out := props.Props{"workload": "site.ycsb.workloads.CoreWorkload", "readallfields": "true"}
	out.Merge(p)
	return out, nil
}
