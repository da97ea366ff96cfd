package pki

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Role is what a certificate's holder is allowed to be.
type Role uint8

const (
	RoleNone   Role = 0
	RoleNode   Role = 1 // a storage daemon
	RoleClient Role = 2 // a service's driver, the CLI, the benchmark
	// RoleAdmin is an operator's client: whatever a client may do, and
	// the changes to the cluster itself (membership) that a client may
	// not. Like a client it cannot serve.
	RoleAdmin Role = 3
)

// Client reports whether r is a client's role: RoleClient or RoleAdmin.
func (r Role) Client() bool { return r == RoleClient || r == RoleAdmin }

func (r Role) String() string {
	switch r {
	case RoleNode:
		return "node"
	case RoleClient:
		return "client"
	case RoleAdmin:
		return "admin"
	}
	return "none"
}

// ErrNoIdentity reports a certificate without a valid Shoal identity.
var ErrNoIdentity = errors.New("pki: certificate carries no shoal identity")

const uriScheme = "shoal"

// IdentityURI is the SAN URI naming role and id.
func IdentityURI(role Role, id string) *url.URL {
	return &url.URL{Scheme: uriScheme, Host: role.String(), Path: "/" + id}
}

// Identity reads the role and id from a certificate's URI SAN. A certificate
// with zero or several Shoal URIs, an unknown role or an empty id is refused.
func Identity(cert *x509.Certificate) (Role, string, error) {
	var role Role
	var id string
	n := 0
	for _, u := range cert.URIs {
		if u.Scheme != uriScheme {
			continue
		}
		n++
		switch u.Host {
		case "node":
			role = RoleNode
		case "client":
			role = RoleClient
		case "admin":
			role = RoleAdmin
		default:
			return RoleNone, "", fmt.Errorf("%w: unknown role %q", ErrNoIdentity, u.Host)
		}
		id = strings.TrimPrefix(u.Path, "/")
	}
	switch {
	case n == 0:
		return RoleNone, "", ErrNoIdentity
	case n > 1:
		return RoleNone, "", fmt.Errorf("%w: %d shoal identities", ErrNoIdentity, n)
	case id == "" || strings.Contains(id, "/"):
		return RoleNone, "", fmt.Errorf("%w: bad id %q", ErrNoIdentity, id)
	}
	return role, id, nil
}
