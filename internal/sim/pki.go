package sim

import (
	"crypto/x509"
	"fmt"
	"time"

	"github.com/shoalkv/shoal/wire/pki"
)

// authority issues the simulated cluster's certificates in memory.
type authority struct {
	ca   *pki.CA
	pool *x509.CertPool
}

func newAuthority(now time.Time) (*authority, error) {
	ca, err := pki.NewCA("shoal simulator", now)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	return &authority{ca: ca, pool: pool}, nil
}

// material issues a certificate of role for id.
func (a *authority) material(role pki.Role, id string, now time.Time) (pki.Material, error) {
	leaf, err := a.ca.Issue(role, id, nil, now)
	if err != nil {
		return pki.Material{}, fmt.Errorf("sim: issue %s %s: %w", role, id, err)
	}
	cert, err := leaf.TLS()
	if err != nil {
		return pki.Material{}, fmt.Errorf("sim: parse %s %s: %w", role, id, err)
	}
	return pki.Material{CA: a.pool, Cert: cert}, nil
}
