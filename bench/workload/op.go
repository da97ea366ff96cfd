// Package workload defines YCSB's core workloads for a key-value store: the
// operations and their mix, how records and keys are named, which record an
// operation touches, and the DB interface a store under test implements.
//
// A Workload is read from YCSB property files (package props) and checked; a
// Plan holds its shared generators and hands each worker its next Request.
package workload

import (
	"context"
	"errors"
)

// Op is an operation of YCSB's core workload.
type Op uint8

// Operations. Scan exists so that workload E can be named and refused.
const (
	Read Op = iota + 1
	Update
	Insert
	Scan
	ReadModifyWrite
)

// Ops lists the operations a run can perform, in report order.
var Ops = []Op{Read, Update, Insert, ReadModifyWrite}

// String returns YCSB's name of the operation, as in its reports.
func (o Op) String() string {
	switch o {
	case Read:
		return "READ"
	case Update:
		return "UPDATE"
	case Insert:
		return "INSERT"
	case Scan:
		return "SCAN"
	case ReadModifyWrite:
		return "READ-MODIFY-WRITE"
	}
	return "INVALID"
}

// Status is how an operation ended, in YCSB's terms.
type Status uint8

// Statuses, in report order.
const (
	OK Status = iota
	NotFound
	Error
	NumStatuses = 3
)

// String returns YCSB's name of the status (as in "Return=OK").
func (s Status) String() string {
	switch s {
	case OK:
		return "OK"
	case NotFound:
		return "NOT_FOUND"
	}
	return "ERROR"
}

// ErrNotFound is what a DB returns when a read finds no record.
var ErrNotFound = errors.New("workload: record not found")

// StatusOf classifies an operation's error.
func StatusOf(err error) Status {
	switch {
	case err == nil:
		return OK
	case errors.Is(err, ErrNotFound):
		return NotFound
	}
	return Error
}

// DB is a store under test. Implementations must be safe for concurrent use;
// each method is one YCSB operation and returns nil, ErrNotFound (a read of
// a missing record) or another error. Values passed in belong to the DB once
// passed (the benchmark never reuses them).
type DB interface {
	// Read reads the record under key.
	Read(ctx context.Context, key []byte) error
	// Update replaces the record under key with value, the way the store's
	// clients are meant to (a store that versions values reads the version
	// first).
	Update(ctx context.Context, key, value []byte) error
	// Insert writes a new record.
	Insert(ctx context.Context, key, value []byte) error
	// ReadModifyWrite reads the record and writes modify(record) back
	// atomically or with the store's conflict handling. modify is
	// deterministic and may be called more than once; old is nil when the
	// record does not exist.
	ReadModifyWrite(ctx context.Context, key []byte, modify func(old []byte) []byte) error
}
