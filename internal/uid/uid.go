// Package uid makes object identities: 24 random hex digits, Palette's shape.
package uid

import (
	"crypto/rand"
	"encoding/hex"
)

// New returns a random 24-hex-digit uid.
func New() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}
