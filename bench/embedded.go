package bench

import (
	"embed"
	"path"
	"strings"
)

//go:embed workloads
var workloadFiles embed.FS

// WorkloadFile returns a shipped YCSB property file by name ("workloada" or
// just "a"), so -P works without a checkout of the repository.
func WorkloadFile(name string) ([]byte, bool) {
	base := path.Base(name)
	if !strings.HasPrefix(base, "workload") {
		base = "workload" + base
	}
	b, err := workloadFiles.ReadFile("workloads/" + base)
	return b, err == nil
}
