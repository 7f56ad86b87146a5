package node_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ringkv/ringkv/node"
)

// A sync interval long enough to stall every write is refused, and named.
func TestConfigRefusesALongSyncInterval(t *testing.T) {
	cfg := node.Config{ID: "n1", Dir: t.TempDir(), Listen: "127.0.0.1:0", Gossip: "127.0.0.1:0", MinSyncInterval: time.Second}
	_, err := node.New(cfg, node.Deps{})
	if !errors.Is(err, node.ErrInvalidConfig) || !strings.Contains(err.Error(), "--min-sync-interval") {
		t.Fatalf("min sync interval 1s: %v", err)
	}
}
