package gossip

import (
	"context"
	"log"
	"log/slog"
	"strings"
)

// memberlistLogger returns a *log.Logger for memberlist that forwards each
// line to l: "[ERR]" and "[WARN]" lines at Warn, all others at Debug, with
// the bracketed level and the "memberlist: " prefix taken out of the
// message.
func memberlistLogger(l *slog.Logger) *log.Logger {
	return log.New(logWriter{l}, "", 0)
}

type logWriter struct{ l *slog.Logger }

func (w logWriter) Write(p []byte) (int, error) {
	level, msg := parseLogLine(string(p))
	if ctx := context.Background(); w.l.Enabled(ctx, level) {
		w.l.Log(ctx, level, msg, "lib", "memberlist")
	}
	return len(p), nil
}

func parseLogLine(line string) (slog.Level, string) {
	line = strings.TrimSpace(line)
	level := slog.LevelDebug
	if rest, ok := strings.CutPrefix(line, "["); ok {
		if tag, msg, ok := strings.Cut(rest, "]"); ok {
			switch tag {
			case "ERR", "ERROR", "WARN":
				level = slog.LevelWarn
			}
			line = strings.TrimSpace(msg)
		}
	}
	return level, strings.TrimPrefix(line, "memberlist: ")
}
