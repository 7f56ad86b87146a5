package gossip

import (
	"fmt"
	"log"
	"net/netip"

	"github.com/hashicorp/memberlist"
)

// listen binds memberlist's TCP and UDP sockets on addr. gossip builds the
// transport itself, rather than letting memberlist do it, so that it knows
// the real port when addr's port is 0 and can advertise it. Port 0 takes a
// free TCP port and then binds UDP on the same number, which another socket
// may hold, so that case is retried, as memberlist does.
func listen(addr netip.AddrPort, logger *log.Logger) (*memberlist.NetTransport, error) {
	cfg := &memberlist.NetTransportConfig{
		BindAddrs: []string{addr.Addr().String()},
		BindPort:  int(addr.Port()),
		Logger:    logger,
	}
	attempts := 1
	if addr.Port() == 0 {
		attempts = 10
	}
	var err error
	for range attempts {
		var nt *memberlist.NetTransport
		if nt, err = memberlist.NewNetTransport(cfg); err == nil {
			return nt, nil
		}
	}
	return nil, fmt.Errorf("gossip: listen on %s: %w", addr, err)
}
