package core_test

import (
	"testing"

	"github.com/dbrs-db/dbrs/core"
	"github.com/dbrs-db/dbrs/core/backendtest"
)

func TestMemBackend(t *testing.T) {
	backendtest.Run(t, func(t *testing.T) core.Backend { return core.NewMemBackend() })
}
