// Command easel-bench measures easel on this machine: it runs the hub under test (`easel server`)
// as a child process and drives it through the /v1 API and the agent protocol only. It is not
// part of the product binary.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	// An interrupted benchmark still deletes its clusters and stops its hub.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := rootCommand().ExecuteContext(ctx); err != nil {
		stop()
		os.Exit(1)
	}
}
