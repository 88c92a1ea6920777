package main

import (
	"github.com/spf13/cobra"
)

func rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "easel",
		Short:         "easel manages a fleet of Kubernetes clusters from one hub",
		SilenceUsage:  true,
		SilenceErrors: false,
	}
	root.AddCommand(serverCommand())
	return root
}
