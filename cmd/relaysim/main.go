package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if os.Getenv(farSideEnv) != "" {
		os.Exit(farSideMain(os.Args[1:], os.Stdin, os.Stdout))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "relaysim:", err)
		if errors.Is(err, errNetnsUnavailable) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}
