package main

import (
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/shoalkv/shoal/storaged/localcluster"
)

// defaultDevDir is where 'shoal dev' keeps its cluster and where client
// commands look for it: $SHOAL_DEV_DIR, else $XDG_DATA_HOME/shoal/dev, else
// ~/.local/share/shoal/dev.
func defaultDevDir() string {
	if d := os.Getenv("SHOAL_DEV_DIR"); d != "" {
		return d
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "shoal", "dev")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "shoal-dev")
	}
	return filepath.Join(home, ".local", "share", "shoal", "dev")
}

func runDev(args []string) error {
	fs := pflag.NewFlagSet("shoal dev", pflag.ContinueOnError)
	dir := fs.String("dir", defaultDevDir(), "cluster directory: certificates, cluster.json and each node's data (kept across restarts)")
	nodes := fs.Int("nodes", 3, "node count when the directory is new; node i listens on 127.0.0.i")
	port := fs.Int("port", 7070, "UDP port every node listens on, when the directory is new")
	noSync := fs.Bool("no-sync", false, "skip fsync (faster; a crash of the machine can lose acknowledged writes)")
	quiet := fs.Bool("quiet", false, "log warnings and errors only")
	if err := fs.Parse(args); err != nil {
		return err
	}
	level := slog.LevelInfo
	if *quiet {
		level = slog.LevelWarn
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	c, err := localcluster.Start(localcluster.Options{Dir: *dir, Nodes: *nodes, Port: *port, NoSync: *noSync, Logger: log})
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "shoal dev: cluster %q with %d nodes, data in %s\n", c.File.ClusterID, len(c.File.Nodes), *dir)
	for _, n := range c.File.Nodes {
		fmt.Fprintf(os.Stderr, "  %s  %s\n", n.ID, n.Addr)
	}
	fmt.Fprintln(os.Stderr, "try: go run ./cmd/shoal put cart:1 apple && go run ./cmd/shoal get cart:1   (Ctrl-C stops the cluster)")
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	fmt.Fprintln(os.Stderr, "shoal dev: stopping")
	return c.Close()
}
