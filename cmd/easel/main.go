// Command easel is the easel hub (`easel server`) and its command-line client.
package main

import (
	"os"
)

func main() {
	if err := rootCommand().Execute(); err != nil {
		os.Exit(1)
	}
}
