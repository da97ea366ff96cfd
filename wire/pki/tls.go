package pki

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

// Material is what a process needs for mutual TLS: the cluster CA to verify
// peers and its own certificate.
type Material struct {
	CA   *x509.CertPool
	Cert tls.Certificate
}

// Load reads PEM files: the CA certificate, this process's certificate and key.
func Load(caFile, certFile, keyFile string) (Material, error) {
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		return Material{}, fmt.Errorf("pki: read ca: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return Material{}, fmt.Errorf("pki: %s holds no PEM certificate", caFile)
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return Material{}, fmt.Errorf("pki: load %s: %w", certFile, err)
	}
	return Material{CA: pool, Cert: cert}, nil
}

// Role returns the role and id of the material's own certificate.
func (m Material) Role() (Role, string, error) {
	leaf, err := m.leaf()
	if err != nil {
		return RoleNone, "", err
	}
	return Identity(leaf)
}

func (m Material) leaf() (*x509.Certificate, error) {
	if m.Cert.Leaf != nil {
		return m.Cert.Leaf, nil
	}
	if len(m.Cert.Certificate) == 0 {
		return nil, errors.New("pki: no certificate")
	}
	return x509.ParseCertificate(m.Cert.Certificate[0])
}

// ServerConfig accepts connections from any certificate the cluster CA signed
// that carries a Shoal identity. What each role may do is decided per request
// by the caller, from PeerIdentity. TLS 1.3 only; no session tickets, so no
// 0-RTT replay of writes.
func ServerConfig(m Material, alpn string) *tls.Config {
	return &tls.Config{
		MinVersion:             tls.VersionTLS13,
		Certificates:           []tls.Certificate{m.Cert},
		ClientAuth:             tls.RequireAndVerifyClientCert,
		ClientCAs:              m.CA,
		NextProtos:             []string{alpn},
		SessionTicketsDisabled: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			_, _, err := PeerIdentity(cs)
			return err
		},
	}
}

// ClientConfig dials nodes: the server must present a certificate chained to
// the cluster CA with the node role, and, when wantNode is not empty, exactly
// that node id. Host names are not checked because Shoal names peers by
// identity URI; the chain, the key usage and the identity are.
func ClientConfig(m Material, alpn, wantNode string) *tls.Config {
	return &tls.Config{
		MinVersion:         tls.VersionTLS13,
		Certificates:       []tls.Certificate{m.Cert},
		NextProtos:         []string{alpn},
		InsecureSkipVerify: true, // replaced by VerifyConnection below, which checks the chain
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("pki: server sent no certificate")
			}
			inter := x509.NewCertPool()
			for _, c := range cs.PeerCertificates[1:] {
				inter.AddCert(c)
			}
			_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{
				Roots:         m.CA,
				Intermediates: inter,
				KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			})
			if err != nil {
				return fmt.Errorf("pki: server certificate not from the cluster ca: %w", err)
			}
			role, id, err := Identity(cs.PeerCertificates[0])
			if err != nil {
				return err
			}
			if role != RoleNode {
				return fmt.Errorf("pki: server presents a %s certificate, want node", role)
			}
			if wantNode != "" && id != wantNode {
				return fmt.Errorf("pki: server is node %q, want %q", id, wantNode)
			}
			return nil
		},
	}
}

// PeerIdentity returns the verified peer's role and id.
func PeerIdentity(cs tls.ConnectionState) (Role, string, error) {
	if len(cs.PeerCertificates) == 0 {
		return RoleNone, "", errors.New("pki: peer sent no certificate")
	}
	return Identity(cs.PeerCertificates[0])
}
