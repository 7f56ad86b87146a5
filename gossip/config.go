package gossip

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/netip"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/ringkv/ringkv/gossip/phi"
)

// Defaults for the zero values of Config.
const (
	// DefaultJoinTimeout bounds how long New waits for a seed. A node whose
	// seeds are all down still starts after this and keeps trying.
	DefaultJoinTimeout = 10 * time.Second
	// DefaultJoinBackoff is the first retry's backoff ceiling; each retry
	// doubles it up to DefaultJoinBackoffMax.
	DefaultJoinBackoff = 250 * time.Millisecond
	// DefaultJoinBackoffMax caps the wait between join attempts, and so how
	// long a node started before its seeds stays alone once they are up.
	DefaultJoinBackoffMax = 10 * time.Second
	// DefaultReconnectBackoff is the first reconnect attempt's backoff
	// ceiling once a member is found dead (or silent, see
	// Config.ReconnectInterval); each attempt that fails or changes nothing
	// doubles it up to DefaultReconnectInterval.
	DefaultReconnectBackoff = 500 * time.Millisecond
	// DefaultReconnectInterval caps the wait between reconnect attempts,
	// and so, with gossip's few rounds after the first attempt that gets
	// through, how long a healed partition stays split: every node that
	// sees a member dead tries within 10 s, so the first of them usually
	// much sooner. Each attempt against a member that is still down costs
	// one refused (or, behind a partition, timed-out) TCP dial.
	DefaultReconnectInterval = 10 * time.Second
	// DefaultHeartbeatInterval is how often a node sends each live peer a
	// heartbeat: one UDP packet of a few dozen bytes a second per peer.
	// The phi defaults are tuned for it (see package phi: a peer is
	// suspected about 4 s after its last heartbeat).
	DefaultHeartbeatInterval = time.Second
	// DefaultPhiThreshold is the phi over which a live member is suspect:
	// the chance that a heartbeat is merely late is then about 1e-8. Akka
	// and Cassandra use 8 as well.
	DefaultPhiThreshold = 8.0
)

// ErrInvalidConfig is wrapped by every error Config.Validate returns.
var ErrInvalidConfig = errors.New("gossip: invalid config")

// Config configures one node's membership. Zero durations mean the defaults
// above; DefaultConfig fills them in explicitly.
type Config struct {
	// NodeID names the node; it is also its memberlist node name. Required.
	NodeID string
	// BindAddr is the ip:port memberlist listens on (TCP and UDP) and also
	// advertises, so it must be a specific IP, not 0.0.0.0 or ::. Port 0
	// picks a free port; LocalAddr reports it. Required.
	BindAddr string
	// RPCAddr is the host:port of the node's Connect server, advertised to
	// the other members. Required.
	RPCAddr string
	// Seeds are host:port gossip addresses to join through. This node's own
	// address may appear and is skipped. Empty means start a new cluster.
	Seeds []string
	// Settings must be equal on every member of a cluster.
	Settings Settings
	// Known are members remembered from a previous run. They are listed as
	// dead (or left, if they had left) until heard from.
	Known []Member
	// JoinTimeout is how long New retries the seeds before returning without
	// them (it then keeps retrying in the background). Longer makes a start
	// before the seeds quieter; shorter makes New return sooner.
	JoinTimeout time.Duration
	// JoinBackoff and JoinBackoffMax shape the waits between join attempts:
	// attempt i waits a uniformly random time in [0, min(max, backoff·2^i)].
	JoinBackoff    time.Duration
	JoinBackoffMax time.Duration
	// ReconnectInterval is the longest wait between two attempts to rejoin
	// members this node counts as dead, or as live but silent (phi over
	// the threshold: they may count this node as dead), through their last
	// gossip address or the seeds. memberlist never probes a dead member
	// nor pushes/pulls with one, so without these attempts the two sides
	// of a partition that lasted past the dead timeout stay split after it
	// heals. Attempt i since the backoff last reset (an attempt revived a
	// member, or reached one whose last attempt had failed) waits a
	// uniformly random time in [0, min(ReconnectInterval,
	// ReconnectBackoff·2^i)]. Shorter heals sooner, at more dials of
	// members that are really down.
	ReconnectInterval time.Duration
	// ReconnectBackoff is the first reconnect attempt's backoff ceiling
	// (see ReconnectInterval); also how often the loop looks for a member
	// to reconnect to while every member is alive.
	ReconnectBackoff time.Duration
	// Logger receives gossip's logs and memberlist's: memberlist's [ERR] and
	// [WARN] lines at Warn, the rest at Debug. Nil discards.
	Logger *slog.Logger
	// OnChange is called after membership or a member's state changes. Calls
	// are coalesced and made one at a time from a goroutine owned by gossip,
	// holding no lock, so it may call Members; it should return quickly.
	OnChange func()
	// RingState, when set, returns an opaque encoding of this node's agreed
	// ring (nil: none yet), sent to the peer in every push/pull after the
	// departures; OnRing receives a peer's. OnRing runs on memberlist's
	// goroutine: it must only hand the bytes off. This is the backstop of
	// the digest in the node meta, by which nodes fetch each other's ring
	// as soon as it changes.
	RingState func() []byte
	OnRing    func([]byte)
	// HeartbeatInterval is how often this node sends a heartbeat to every
	// member memberlist counts as live, and re-evaluates each peer's phi
	// (so OnChange hears of a crossing within one interval). Shorter
	// notices a silent peer no sooner (that is set by Phi's pause and
	// deviation floor) but gives phi more samples, at more packets.
	HeartbeatInterval time.Duration
	// PhiThreshold is the phi over which a member memberlist counts as live
	// is reported suspect and not Healthy. Lower suspects sooner and more
	// often wrongly; 0 means DefaultPhiThreshold. Must be below phi.MaxPhi.
	PhiThreshold float64
	// Phi tunes the per-peer detectors; its zero value means package phi's
	// defaults, except that a zero FirstInterval means HeartbeatInterval.
	Phi phi.Config
	// Now is the clock phi is computed with; nil means time.Now. Tests
	// inject a fake one. (Heartbeats are still sent on a real ticker.)
	Now func() time.Time
	// Tune adjusts memberlist's configuration (for tests, to shorten
	// intervals). It runs before gossip sets the fields it owns: Name, the
	// bind and advertise addresses, Transport, Logger and the delegates.
	Tune func(*memberlist.Config)
	// WrapTransport, when set, wraps the network transport memberlist
	// sends and receives through (tests inject faults with it, see package
	// internal/faults). Nil uses the network transport as it is.
	WrapTransport func(memberlist.NodeAwareTransport) memberlist.NodeAwareTransport
}

// DefaultConfig returns a Config with every optional field set to its
// default; the caller fills in NodeID, BindAddr, RPCAddr and Settings.
func DefaultConfig() Config {
	return Config{
		JoinTimeout:    DefaultJoinTimeout,
		JoinBackoff:    DefaultJoinBackoff,
		JoinBackoffMax: DefaultJoinBackoffMax,

		ReconnectInterval: DefaultReconnectInterval,
		ReconnectBackoff:  DefaultReconnectBackoff,

		HeartbeatInterval: DefaultHeartbeatInterval,
		PhiThreshold:      DefaultPhiThreshold,
		Phi: phi.Config{
			WindowSize:      phi.DefaultWindowSize,
			MinStdDev:       phi.DefaultMinStdDev,
			AcceptablePause: phi.DefaultAcceptablePause,
			// FirstInterval is left 0: it follows HeartbeatInterval.
		},
	}
}

func (c Config) withDefaults() Config {
	if c.JoinTimeout == 0 {
		c.JoinTimeout = DefaultJoinTimeout
	}
	if c.JoinBackoff == 0 {
		c.JoinBackoff = DefaultJoinBackoff
	}
	if c.JoinBackoffMax == 0 {
		c.JoinBackoffMax = DefaultJoinBackoffMax
	}
	if c.ReconnectInterval == 0 {
		c.ReconnectInterval = DefaultReconnectInterval
	}
	if c.ReconnectBackoff == 0 {
		c.ReconnectBackoff = DefaultReconnectBackoff
	}
	if c.HeartbeatInterval == 0 {
		c.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if c.PhiThreshold == 0 {
		c.PhiThreshold = DefaultPhiThreshold
	}
	if c.Phi.FirstInterval == 0 {
		c.Phi.FirstInterval = c.HeartbeatInterval
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Validate reports the first problem with c, wrapping ErrInvalidConfig.
// Zero durations are valid (they mean the defaults).
func (c Config) Validate() error {
	if err := c.validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	return nil
}

func (c Config) validate() error {
	if c.NodeID == "" {
		return errors.New("NodeID is empty")
	}
	if _, err := bindAddr(c.BindAddr); err != nil {
		return err
	}
	if c.RPCAddr == "" {
		return errors.New("RPCAddr is empty")
	}
	if err := c.Settings.validate(); err != nil {
		return err
	}
	for _, s := range c.Seeds {
		if _, _, err := net.SplitHostPort(s); err != nil {
			return fmt.Errorf("seed %q: %w", s, err)
		}
	}
	for _, m := range c.Known {
		if m.ID == "" {
			return errors.New("a Known member has no ID")
		}
	}
	if c.JoinTimeout < 0 || c.JoinBackoff < 0 || c.JoinBackoffMax < 0 {
		return errors.New("negative join timeout or backoff")
	}
	if c.ReconnectInterval < 0 || c.ReconnectBackoff < 0 {
		return errors.New("negative reconnect interval or backoff")
	}
	if c.HeartbeatInterval < 0 {
		return fmt.Errorf("HeartbeatInterval %v is negative", c.HeartbeatInterval)
	}
	if math.IsNaN(c.PhiThreshold) || c.PhiThreshold < 0 || c.PhiThreshold >= phi.MaxPhi {
		return fmt.Errorf("PhiThreshold %v is not in [0, %v)", c.PhiThreshold, phi.MaxPhi)
	}
	if err := c.Phi.Validate(); err != nil {
		return err
	}
	size := len(meta{ID: c.NodeID, RPCAddr: c.RPCAddr, Settings: c.Settings}.encode())
	if size > memberlist.MetaMaxSize {
		return fmt.Errorf("NodeID and RPCAddr too long: node metadata is %d bytes, limit %d",
			size, memberlist.MetaMaxSize)
	}
	return nil
}

// bindAddr parses BindAddr, which memberlist needs as an IP literal.
func bindAddr(s string) (netip.AddrPort, error) {
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("BindAddr %q is not ip:port: %w", s, err)
	}
	if ap.Addr().IsUnspecified() {
		return netip.AddrPort{}, fmt.Errorf("BindAddr %q is unspecified: it is also the advertised address", s)
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
}
