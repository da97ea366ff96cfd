package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/shoalkv/shoal/bench/workload"
)

// target is an etcd cluster reached through clientv3.
type target struct {
	endpoints         string
	cacert, cert, key string
	serializable      bool
	timeout           time.Duration
	rmwAttempts       int
}

func (t *target) Flags(fs *pflag.FlagSet) {
	fs.StringVar(&t.endpoints, "endpoints", "127.0.0.1:2379", "etcd client URLs or host:port, comma-separated")
	fs.StringVar(&t.cacert, "cacert", "", "CA certificate of the members' TLS certificates (with --cert and --key: mutual TLS)")
	fs.StringVar(&t.cert, "cert", "", "client certificate")
	fs.StringVar(&t.key, "key", "", "client key")
	fs.BoolVar(&t.serializable, "serializable", false, "serve reads from the member asked, without a quorum round (etcd's --consistency=s); default linearizable")
	fs.DurationVar(&t.timeout, "timeout", 5*time.Second, "per-operation timeout")
	fs.IntVar(&t.rmwAttempts, "rmw-attempts", 20, "compare-and-swap attempts of a read-modify-write before it fails")
}

func (t *target) Open(ctx context.Context, _ workload.Workload) (workload.DB, string, func() error, error) {
	if t.rmwAttempts < 1 {
		return nil, "", nil, errors.New("--rmw-attempts must be >= 1")
	}
	cfg := clientv3.Config{Endpoints: strings.Split(t.endpoints, ","), DialTimeout: 10 * time.Second, Context: ctx, Logger: zap.NewNop()}
	secure := "plaintext"
	if t.cacert != "" || t.cert != "" || t.key != "" {
		tc, err := t.tlsConfig()
		if err != nil {
			return nil, "", nil, err
		}
		cfg.TLS = tc
		secure = "mutual TLS"
	}
	c, err := clientv3.New(cfg)
	if err != nil {
		return nil, "", nil, fmt.Errorf("etcd: %w", err)
	}
	// clientv3.New does not wait for a member: ask the cluster who is in it.
	mctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	members, err := c.MemberList(mctx)
	cancel()
	if err != nil {
		c.Close()
		return nil, "", nil, fmt.Errorf("etcd: member list: %w", err)
	}
	reads := "linearizable"
	if t.serializable {
		reads = "serializable"
	}
	desc := fmt.Sprintf("etcd cluster of %d members at %s (%s), %s reads, timeout %v", len(members.Members), t.endpoints, secure, reads, t.timeout)
	d := &db{c: c, timeout: t.timeout, attempts: t.rmwAttempts}
	if t.serializable {
		d.getOpts = []clientv3.OpOption{clientv3.WithSerializable()}
	}
	return d, desc, c.Close, nil
}

func (t *target) tlsConfig() (*tls.Config, error) {
	if t.cacert == "" || t.cert == "" || t.key == "" {
		return nil, errors.New("give all of --cacert, --cert and --key")
	}
	pair, err := tls.LoadX509KeyPair(t.cert, t.key)
	if err != nil {
		return nil, err
	}
	pem, err := os.ReadFile(t.cacert)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s: no certificate", t.cacert)
	}
	return &tls.Config{Certificates: []tls.Certificate{pair}, RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

// db runs YCSB operations as an etcd client would.
type db struct {
	c        *clientv3.Client
	timeout  time.Duration
	attempts int
	getOpts  []clientv3.OpOption
}

// errConflict ends a read-modify-write that lost every compare-and-swap.
var errConflict = errors.New("etcd: read-modify-write lost every compare-and-swap")

func (d *db) Read(ctx context.Context, key []byte) error {
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	resp, err := d.c.Get(ctx, string(key), d.getOpts...)
	if err != nil {
		return err
	}
	if len(resp.Kvs) == 0 {
		return workload.ErrNotFound
	}
	return nil
}

// Update is a put: etcd keeps one value per key and a put replaces it.
func (d *db) Update(ctx context.Context, key, value []byte) error {
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	_, err := d.c.Put(ctx, string(key), string(value))
	return err
}

func (d *db) Insert(ctx context.Context, key, value []byte) error { return d.Update(ctx, key, value) }

// ReadModifyWrite reads the key and writes modify(value) only if the key
// has not changed since (its mod revision; 0 when absent), retrying on
// conflict: etcd's optimistic transaction.
func (d *db) ReadModifyWrite(ctx context.Context, key []byte, modify func(old []byte) []byte) error {
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	k := string(key)
	for range d.attempts {
		resp, err := d.c.Get(ctx, k)
		if err != nil {
			return err
		}
		var old []byte
		var rev int64
		if len(resp.Kvs) > 0 {
			old, rev = resp.Kvs[0].Value, resp.Kvs[0].ModRevision
		}
		txn, err := d.c.Txn(ctx).
			If(clientv3.Compare(clientv3.ModRevision(k), "=", rev)).
			Then(clientv3.OpPut(k, string(modify(old)))).
			Commit()
		if err != nil {
			return err
		}
		if txn.Succeeded {
			return nil
		}
	}
	return errConflict
}
