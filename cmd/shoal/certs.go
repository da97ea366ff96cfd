package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/shoalkv/shoal/wire/pki"
)

func runCerts(args []string) error {
	fs := pflag.NewFlagSet("shoal certs", pflag.ContinueOnError)
	dir := fs.String("dir", "certs", "directory to write into; a CA already there is reused, existing files are never overwritten")
	nodes := fs.StringSlice("node", nil, "node certificate to issue, as id or id=host[+host...] for extra SANs (repeatable)")
	clients := fs.StringSlice("client", nil, "client certificate to issue, by name (repeatable)")
	admins := fs.StringSlice("admin", nil, "admin certificate to issue, by name (repeatable): a client that may also change the cluster's membership")
	name := fs.String("ca-name", "shoal cluster ca", "CA common name, for a new CA")
	fs.Usage = func() {
		fmt.Fprintf(os.Stderr, `Usage: shoal certs [flags]

Makes (or reuses) a cluster CA in --dir and issues node and client certificates:
  ca.crt ca.key  node-<id>.crt node-<id>.key  client-<name>.crt client-<name>.key
  admin-<name>.crt admin-<name>.key
Nodes are identified by the URI SAN shoal://node/<id>, clients by shoal://client/<name>,
admins (operators: a client that may also change membership) by shoal://admin/<name>.

Example: shoal certs --dir certs --node n1 --node n2 --node n3 --client app --admin ops

%s`, fs.FlagUsages())
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if len(*nodes) == 0 && len(*clients) == 0 && len(*admins) == 0 {
		fs.Usage()
		return exitCode(2)
	}
	now := time.Now()
	ca, err := pki.LoadCA(*dir)
	if err != nil {
		if ca, err = pki.NewCA(*name, now); err != nil {
			return err
		}
		if err := ca.Write(*dir); err != nil {
			return err
		}
		fmt.Printf("made CA %s/%s\n", *dir, pki.CACertFile)
	}
	for _, spec := range *nodes {
		id, hosts, _ := strings.Cut(spec, "=")
		var hs []string
		if hosts != "" {
			hs = strings.Split(hosts, "+")
		}
		if err := ca.WriteLeaf(*dir, pki.RoleNode, id, hs, now); err != nil {
			return err
		}
		c, _ := pki.LeafFiles(*dir, pki.RoleNode, id)
		fmt.Printf("issued node %s: %s\n", id, c)
	}
	for _, role := range []struct {
		role pki.Role
		ids  []string
	}{{pki.RoleClient, *clients}, {pki.RoleAdmin, *admins}} {
		for _, id := range role.ids {
			if err := ca.WriteLeaf(*dir, role.role, id, nil, now); err != nil {
				return err
			}
			c, _ := pki.LeafFiles(*dir, role.role, id)
			fmt.Printf("issued %s %s: %s\n", role.role, id, c)
		}
	}
	return nil
}
