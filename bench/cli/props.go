package cli

import (
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/pflag"

	"github.com/shoalkv/shoal/bench/props"
	"github.com/shoalkv/shoal/bench/report"
	"github.com/shoalkv/shoal/bench/workload"
)

// Defaults of the command, as YCSB properties. They differ from YCSB's
// (1,000 records, 1,000 operations, one thread) so that a run with no flags
// loads enough records for zipfian skew to matter and measures a loaded
// store for a bounded time.
var defaults = props.Props{
	"recordcount":              "10000",
	"operationcount":           "0",
	"threadcount":              "32",
	"maxexecutiontime":         "30",
	"status.interval":          "10",
	"hdrhistogram.percentiles": "50,95,99,99.9",
}

// clientKeys are the client properties the command reads, besides the core
// workload's, and properties of YCSB's Java client it accepts and ignores.
var clientKeys = map[string]bool{
	"threadcount": true, "target": true, "maxexecutiontime": true, "status.interval": true,
	"hdrhistogram.percentiles": true, "measurementtype": true, "db": true, "exporter": true,
	"measurement.interval": true, "hdrhistogram.fileoutput": true, "histogram.buckets": true,
}

// propFlags maps command flags to the YCSB properties they set. A flag given
// on the command line overrides property files and -p.
var propFlags = []struct {
	flag, prop, usage string
}{
	{"recordcount", "recordcount", "records to load and to choose from (default 10000)"},
	{"operationcount", "operationcount", "operations in the run phase; 0 runs until --duration (default 0)"},
	{"threads", "threadcount", "workers (closed loop), or most operations in flight (open loop) (default 32)"},
	{"target", "target", "open loop at this many operations per second, latency measured from each operation's intended start; 0 runs a closed loop"},
	{"fieldcount", "fieldcount", "fields per record (default 10); a record is one value of fieldcount*fieldlength bytes"},
	{"fieldlength", "fieldlength", "bytes per field (default 100)"},
	{"readproportion", "readproportion", "share of reads"},
	{"updateproportion", "updateproportion", "share of updates"},
	{"insertproportion", "insertproportion", "share of inserts"},
	{"readmodifywriteproportion", "readmodifywriteproportion", "share of read-modify-writes"},
	{"scanproportion", "scanproportion", "share of scans (refused: Dynamo has no range scans)"},
	{"requestdistribution", "requestdistribution", "uniform, zipfian (scrambled; its hottest key is hotter than in YCSB, see docs/BENCHMARKS.md; -p zipfian.ycsb=true for YCSB's) or latest"},
	{"zipfianconstant", "zipfianconstant", "zipfian theta (default 0.99)"},
	{"insertorder", "insertorder", "hashed (default) or ordered record keys"},
}

// settings are the command's resolved properties and what it derived.
type settings struct {
	props       props.Props
	workload    workload.Workload
	threads     int
	target      float64
	duration    time.Duration
	status      time.Duration
	percentiles []float64
	warnings    []string
}

// resolve layers the properties: defaults, the --workload preset, -P files in
// order, -p settings, then flags given on the command line.
//
// The preset is merged only when --workload was given or no -P file was: a
// property file is read as YCSB reads it, so what it leaves out takes YCSB's
// CoreWorkload default (readproportion 0.95, updateproportion 0.05, the other
// proportions 0, requestdistribution uniform; see workload.FromProps), not
// workload A's value from the default --workload.
func resolve(fs *pflag.FlagSet, preset string, files, sets []string, valueSize int) (settings, error) {
	p := props.Props{}
	p.Merge(defaults)
	name := preset
	core, err := workload.Core(preset)
	if err != nil {
		return settings{}, err
	}
	if f := fs.Lookup("workload"); len(files) == 0 || (f != nil && f.Changed) {
		p.Merge(core)
	}
	for _, f := range files {
		fp, err := props.ReadFile(f)
		if err != nil {
			return settings{}, err
		}
		p.Merge(fp)
		name = f
	}
	for _, kv := range sets {
		if err := p.Set(kv); err != nil {
			return settings{}, err
		}
	}
	for _, pf := range propFlags {
		if f := fs.Lookup(pf.flag); f != nil && f.Changed {
			p[pf.prop] = f.Value.String()
		}
	}
	if f := fs.Lookup("duration"); f != nil && f.Changed {
		d, _ := time.ParseDuration(f.Value.String())
		p["maxexecutiontime"] = strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
	}
	if f := fs.Lookup("status-interval"); f != nil && f.Changed {
		d, _ := time.ParseDuration(f.Value.String())
		p["status.interval"] = strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
	}
	if valueSize > 0 {
		p["fieldcount"], p["fieldlength"] = "1", strconv.Itoa(valueSize)
	}
	return settingsOf(p, name)
}

func settingsOf(p props.Props, name string) (settings, error) {
	s := settings{props: p}
	var err error
	if s.workload, err = workload.FromProps(p, name); err != nil {
		return settings{}, err
	}
	threads, err := p.Int("threadcount", 1)
	if err != nil {
		return settings{}, err
	}
	if threads < 1 || threads > 100_000 {
		return settings{}, fmt.Errorf("threadcount=%d, want 1..100000", threads)
	}
	s.threads = int(threads)
	if s.target, err = p.Float("target", 0); err != nil {
		return settings{}, err
	}
	if s.target < 0 {
		return settings{}, fmt.Errorf("target=%v, want >= 0", s.target)
	}
	secs, err := p.Float("maxexecutiontime", 0)
	if err != nil {
		return settings{}, err
	}
	s.duration = time.Duration(secs * float64(time.Second))
	if secs, err = p.Float("status.interval", 10); err != nil {
		return settings{}, err
	}
	s.status = time.Duration(secs * float64(time.Second))
	if s.duration < 0 || s.status < 0 {
		return settings{}, fmt.Errorf("maxexecutiontime and status.interval must be >= 0")
	}
	if s.percentiles, err = report.ParsePercentiles(p.String("hdrhistogram.percentiles", "95,99")); err != nil {
		return settings{}, err
	}
	if mt := p.String("measurementtype", "hdrhistogram"); mt != "hdrhistogram" {
		return settings{}, fmt.Errorf("measurementtype=%s: only hdrhistogram is implemented", mt)
	}
	if s.workload.OperationCount == 0 && s.duration == 0 {
		return settings{}, fmt.Errorf("operationcount=0 and maxexecutiontime=0: the run would never end; set one")
	}
	for _, k := range p.Keys() {
		if !workload.IsCoreKey(k) && !clientKeys[k] {
			s.warnings = append(s.warnings, fmt.Sprintf("ignoring property %s: not a core workload or client property", k))
		}
	}
	return s, nil
}
