package pki

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// File names in a certificate directory made by WriteCA and WriteLeaf.
const (
	CACertFile = "ca.crt"
	CAKeyFile  = "ca.key"
)

// LeafFiles returns the certificate and key paths for role and id in dir.
func LeafFiles(dir string, role Role, id string) (cert, key string) {
	base := filepath.Join(dir, role.String()+"-"+id)
	return base + ".crt", base + ".key"
}

// Write writes the CA certificate and key into dir (created 0700).
// Existing files are never overwritten.
func (ca *CA) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(ca.Key)
	if err != nil {
		return fmt.Errorf("pki: marshal ca key: %w", err)
	}
	if err := writeNew(filepath.Join(dir, CAKeyFile), pemBlock("EC PRIVATE KEY", keyDER), 0o600); err != nil {
		return err
	}
	return writeNew(filepath.Join(dir, CACertFile), ca.PEM, 0o644)
}

// WriteLeaf issues a certificate for role and id and writes it into dir.
func (ca *CA) WriteLeaf(dir string, role Role, id string, hosts []string, now time.Time) error {
	leaf, err := ca.Issue(role, id, hosts, now)
	if err != nil {
		return err
	}
	certPath, keyPath := LeafFiles(dir, role, id)
	if err := writeNew(keyPath, leaf.KeyPEM, 0o600); err != nil {
		return err
	}
	return writeNew(certPath, leaf.CertPEM, 0o644)
}

// LoadCA reads a CA written by Write.
func LoadCA(dir string) (*CA, error) {
	certPEM, err := os.ReadFile(filepath.Join(dir, CACertFile))
	if err != nil {
		return nil, fmt.Errorf("pki: %w", err)
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, CAKeyFile))
	if err != nil {
		return nil, fmt.Errorf("pki: %w", err)
	}
	cb, _ := pem.Decode(certPEM)
	kb, _ := pem.Decode(keyPEM)
	if cb == nil || kb == nil {
		return nil, errors.New("pki: ca files are not PEM")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("pki: parse ca: %w", err)
	}
	key, err := x509.ParseECPrivateKey(kb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("pki: parse ca key: %w", err)
	}
	return &CA{Cert: cert, Key: key, PEM: certPEM}, nil
}

func writeNew(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("pki: write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("pki: sync %s: %w", path, err)
	}
	return f.Close()
}
