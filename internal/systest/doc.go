// Package systest holds whole-system tests: real storaged processes (or real
// in-process servers) on loopback, real QUIC with mutual TLS, real bbolt
// files with fsync. It has no non-test code beyond this comment.
package systest
