package sim

import (
	"sync"
	"time"

	"github.com/shoalkv/shoal/wire/pki"
)

// epoch is where testing/synctest's virtual clock starts; certificates are
// issued for it, once per process, so every run shares them (key
// generation is the costliest part of setting up a cluster).
var epoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

var (
	authOnce sync.Once
	authVal  *issued
	authErr  error
)

// issued caches the certificates issued by the shared authority.
type issued struct {
	mu    sync.Mutex
	a     *authority
	certs map[string]pki.Material
}

func sharedAuthority() (*issued, error) {
	authOnce.Do(func() {
		a, err := newAuthority(epoch)
		authVal, authErr = &issued{a: a, certs: make(map[string]pki.Material)}, err
	})
	return authVal, authErr
}

func (s *issued) get(role pki.Role, id string) (pki.Material, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := role.String() + "/" + id
	if m, ok := s.certs[k]; ok {
		return m, nil
	}
	m, err := s.a.material(role, id, epoch)
	if err != nil {
		return pki.Material{}, err
	}
	s.certs[k] = m
	return m, nil
}

func (s *issued) node(id string) (pki.Material, error)   { return s.get(pki.RoleNode, id) }
func (s *issued) client(id string) (pki.Material, error) { return s.get(pki.RoleClient, id) }
