package pki_test

import (
	"crypto/x509"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/shoalkv/shoal/wire/pki"
)

// TestRolesRoundTrip: a certificate issued for each role reads back as
// that role and id; only a node certificate may serve; admin counts as a
// client. A certificate naming an unknown role, or none, is refused (the
// negative controls of Identity).
func TestRolesRoundTrip(t *testing.T) {
	now := time.Now()
	ca, err := pki.NewCA("role test ca", now)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		role   pki.Role
		serve  bool
		client bool
	}{
		{pki.RoleNode, true, false},
		{pki.RoleClient, false, true},
		{pki.RoleAdmin, false, true},
	} {
		leaf, err := ca.Issue(c.role, "x1", nil, now)
		if err != nil {
			t.Fatalf("issue %s: %v", c.role, err)
		}
		tc, err := leaf.TLS()
		if err != nil {
			t.Fatal(err)
		}
		cert, err := x509.ParseCertificate(tc.Certificate[0])
		if err != nil {
			t.Fatal(err)
		}
		role, id, err := pki.Identity(cert)
		if err != nil || role != c.role || id != "x1" {
			t.Errorf("%s certificate reads as %s %q, %v", c.role, role, id, err)
		}
		if role.Client() != c.client {
			t.Errorf("%s: Client() = %v, want %v", c.role, role.Client(), c.client)
		}
		serves := false
		for _, u := range cert.ExtKeyUsage {
			serves = serves || u == x509.ExtKeyUsageServerAuth
		}
		if serves != c.serve {
			t.Errorf("%s certificate has server auth %v, want %v", c.role, serves, c.serve)
		}
	}
	if _, err := ca.Issue(pki.RoleNone, "x1", nil, now); err == nil {
		t.Error("a certificate with no role was issued")
	}
	for _, uri := range []string{"shoal://root/x1", "https://admin/x1"} {
		u, _ := url.Parse(uri)
		if _, _, err := pki.Identity(&x509.Certificate{URIs: []*url.URL{u}}); !errors.Is(err, pki.ErrNoIdentity) {
			t.Errorf("identity %s: %v, want ErrNoIdentity", uri, err)
		}
	}
}
