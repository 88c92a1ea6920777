package server_test

import (
	"testing"

	"github.com/easelhq/easel/internal/testenv/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }
