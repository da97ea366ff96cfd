package workload

import (
	"errors"
	"fmt"
	"strings"

	"github.com/shoalkv/shoal/bench/generator"
	"github.com/shoalkv/shoal/bench/props"
)

// Request distributions (YCSB's requestdistribution).
const (
	Uniform = "uniform"
	Zipfian = "zipfian" // scrambled; hotter than YCSB's (see generator.Scrambled)
	Latest  = "latest"
)

// Insert orders (YCSB's insertorder).
const (
	Hashed  = "hashed"
	Ordered = "ordered"
)

// Errors from FromProps; match with errors.Is.
var (
	// ErrScan refuses workloads with scans, such as YCSB's workload E.
	ErrScan = errors.New("workload: scans are not supported: Shoal, like Dynamo, hashes keys onto a ring and " +
		"offers only get and put by key (Dynamo paper §4.1), so there is no ordered key range to scan; " +
		"YCSB workload E (scanproportion > 0) cannot run")
	// ErrInvalid reports a workload that cannot run; the error lists every
	// problem.
	ErrInvalid = errors.New("workload: invalid")
)

// Workload is YCSB's core workload, with the properties it is read from.
type Workload struct {
	// Name labels reports (the preset or file name).
	Name string
	// RecordCount is the number of records the load phase inserts and the
	// run phase starts from (recordcount).
	RecordCount int64
	// OperationCount bounds the run phase (operationcount); 0 means no
	// bound (the run is bounded by time instead).
	OperationCount int64
	// InsertStart and InsertCount select the records this client loads
	// (insertstart, insertcount), so several clients can load one data set.
	// InsertCount 0 means the rest: RecordCount - InsertStart.
	InsertStart, InsertCount int64
	// FieldCount and FieldLength shape a record (fieldcount, fieldlength):
	// its value is FieldCount*FieldLength bytes, stored as one opaque value.
	FieldCount, FieldLength int
	// Proportions of the operation mix (readproportion, updateproportion,
	// insertproportion, scanproportion, readmodifywriteproportion).
	ReadProportion, UpdateProportion, InsertProportion, ScanProportion, ReadModifyWriteProportion float64
	// Distribution chooses the records operations touch: Uniform, Zipfian
	// or Latest (requestdistribution).
	Distribution string
	// ZipfianConstant is the zipfian theta (zipfianconstant, default 0.99).
	ZipfianConstant float64
	// ZipfianYCSB (zipfian.ycsb, default false) makes Zipfian YCSB's
	// scrambled zipfian (generator.YCSBScrambled), whose hottest key is
	// cooler than the default's (generator.Scrambled) at usual record
	// counts. The default stays, so earlier results keep their meaning.
	ZipfianYCSB bool
	// InsertOrder names records by hashed or ordered record number
	// (insertorder, default hashed); ZeroPadding pads ordered numbers.
	InsertOrder string
	ZeroPadding int
}

// LoadCount is the number of records this client loads.
func (w Workload) LoadCount() int64 {
	if w.InsertCount == 0 {
		return w.RecordCount - w.InsertStart
	}
	return w.InsertCount
}

// ValueSize is the size of a record's value in bytes.
func (w Workload) ValueSize() int { return w.FieldCount * w.FieldLength }

// Core property names this package reads. Properties that only make sense
// for scans or for YCSB's Java client are accepted and ignored.
var coreKeys = []string{
	"recordcount", "operationcount", "insertstart", "insertcount", "fieldcount", "fieldlength",
	"readproportion", "updateproportion", "insertproportion", "scanproportion", "readmodifywriteproportion",
	"requestdistribution", "zipfianconstant", "zipfian.ycsb", "insertorder", "zeropadding", "workload",
	"readallfields", "writeallfields", "fieldlengthdistribution", "maxscanlength", "minscanlength",
	"scanlengthdistribution", "table", "fieldnameprefix",
}

// IsCoreKey reports whether the workload reads (or deliberately ignores)
// property key.
func IsCoreKey(key string) bool {
	for _, k := range coreKeys {
		if k == key {
			return true
		}
	}
	return false
}

// FromProps reads a workload from YCSB properties, with YCSB's defaults
// for what is not set, and checks it. name labels the workload.
func FromProps(p props.Props, name string) (Workload, error) {
	var errs []error
	w := Workload{Name: name}
	geti := func(key string, def int64) int64 {
		v, err := p.Int(key, def)
		errs = append(errs, err)
		return v
	}
	getf := func(key string, def float64) float64 {
		v, err := p.Float(key, def)
		errs = append(errs, err)
		return v
	}
	w.RecordCount = geti("recordcount", 1000)
	w.OperationCount = geti("operationcount", 1000)
	w.InsertStart = geti("insertstart", 0)
	w.InsertCount = geti("insertcount", 0)
	w.FieldCount = int(geti("fieldcount", 10))
	w.FieldLength = int(geti("fieldlength", 100))
	w.ReadProportion = getf("readproportion", 0.95)
	w.UpdateProportion = getf("updateproportion", 0.05)
	w.InsertProportion = getf("insertproportion", 0)
	w.ScanProportion = getf("scanproportion", 0)
	w.ReadModifyWriteProportion = getf("readmodifywriteproportion", 0)
	w.Distribution = strings.ToLower(p.String("requestdistribution", Uniform))
	w.ZipfianConstant = getf("zipfianconstant", generator.DefaultZipfianConstant)
	var err error
	w.ZipfianYCSB, err = p.Bool("zipfian.ycsb", false)
	errs = append(errs, err)
	w.InsertOrder = strings.ToLower(p.String("insertorder", Hashed))
	w.ZeroPadding = int(geti("zeropadding", 1))
	if cls := p.String("workload", ""); cls != "" && !strings.HasSuffix(cls, ".CoreWorkload") {
		errs = append(errs, fmt.Errorf("workload=%s: only YCSB's CoreWorkload is implemented", cls))
	}
	if d := p.String("fieldlengthdistribution", "constant"); d != "constant" {
		errs = append(errs, fmt.Errorf("fieldlengthdistribution=%s: only constant is implemented", d))
	}
	if err := errors.Join(errs...); err != nil {
		return Workload{}, fmt.Errorf("%w: %s: %w", ErrInvalid, name, err)
	}
	return w, w.Validate()
}

// Validate reports every problem at once; a workload with scans fails with
// ErrScan.
func (w Workload) Validate() error {
	if w.ScanProportion > 0 {
		return fmt.Errorf("%s: %w", w.Name, ErrScan)
	}
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if w.RecordCount < 1 {
		bad("recordcount=%d, want >= 1", w.RecordCount)
	}
	if w.OperationCount < 0 {
		bad("operationcount=%d, want >= 0 (0: bounded by time)", w.OperationCount)
	}
	if w.InsertStart < 0 || w.InsertCount < 0 || w.InsertStart+w.LoadCount() > w.RecordCount {
		bad("insertstart=%d insertcount=%d: must select records within recordcount=%d", w.InsertStart, w.InsertCount, w.RecordCount)
	}
	if w.FieldCount < 1 || w.FieldLength < 1 {
		bad("fieldcount=%d fieldlength=%d, want >= 1 each", w.FieldCount, w.FieldLength)
	}
	if w.ValueSize() > 64<<20 {
		bad("value size %d bytes (fieldcount*fieldlength) is over 64 MiB", w.ValueSize())
	}
	sum := 0.0
	for _, f := range []struct {
		name string
		v    float64
	}{
		{"readproportion", w.ReadProportion}, {"updateproportion", w.UpdateProportion},
		{"insertproportion", w.InsertProportion}, {"scanproportion", w.ScanProportion},
		{"readmodifywriteproportion", w.ReadModifyWriteProportion},
	} {
		if !(f.v >= 0) {
			bad("%s=%v, want >= 0", f.name, f.v)
		}
		sum += f.v
	}
	if !(sum > 0) {
		bad("every operation proportion is 0")
	}
	switch w.Distribution {
	case Uniform, Zipfian, Latest:
	default:
		bad("requestdistribution=%s: want uniform, zipfian or latest", w.Distribution)
	}
	if _, err := generator.NewZipfian(w.ZipfianConstant); err != nil {
		bad("zipfianconstant=%v: %v", w.ZipfianConstant, err)
	}
	switch w.InsertOrder {
	case Hashed, Ordered:
	default:
		bad("insertorder=%s: want hashed or ordered", w.InsertOrder)
	}
	if w.ZeroPadding < 1 || w.ZeroPadding > 64 {
		bad("zeropadding=%d, want 1..64", w.ZeroPadding)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrInvalid, w.Name, err)
	}
	return nil
}

// Describe is a one-line summary for headers and logs.
func (w Workload) Describe() string {
	var mix []string
	for _, m := range []struct {
		op Op
		p  float64
	}{{Read, w.ReadProportion}, {Update, w.UpdateProportion}, {Insert, w.InsertProportion}, {ReadModifyWrite, w.ReadModifyWriteProportion}} {
		if m.p > 0 {
			mix = append(mix, fmt.Sprintf("%s %g", strings.ToLower(m.op.String()), m.p))
		}
	}
	dist := w.Distribution
	if dist == Zipfian || dist == Latest {
		dist += fmt.Sprintf(" %g", w.ZipfianConstant)
	}
	if w.Distribution == Zipfian && w.ZipfianYCSB {
		dist += " (YCSB's scrambling)"
	}
	return fmt.Sprintf("workload %s: %s; %s; %d records of %d B", w.Name, strings.Join(mix, ", "), dist, w.RecordCount, w.ValueSize())
}
