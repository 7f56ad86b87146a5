package node

import (
	"context"
	"fmt"
	"log/slog"
)

// pebbleLogger routes Pebble's logging to slog. Fatalf must not return: a
// failed WAL sync goes through it, and returning would let the write look
// successful.
type pebbleLogger struct{ l *slog.Logger }

func (p pebbleLogger) logger() *slog.Logger {
	if p.l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return p.l
}

func (p pebbleLogger) Infof(format string, args ...any) {
	p.logger().Debug(fmt.Sprintf(format, args...), "component", "pebble")
}

func (p pebbleLogger) Errorf(format string, args ...any) {
	p.logger().Error(fmt.Sprintf(format, args...), "component", "pebble")
}

func (p pebbleLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	p.logger().Log(context.Background(), slog.LevelError+4, msg, "component", "pebble")
	panic("pebble: " + msg)
}
