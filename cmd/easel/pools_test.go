package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	v1 "github.com/easelhq/easel/api/v1"
)

// When the cluster changes between scale's read of the pool and its write, the hub refuses the
// write (If-Match, 409); scale reads the pool again and sends it, whole, against the new version.
func TestScaleRereadsAfterAConflict(t *testing.T) {
	useConfig(t)
	var (
		mu       sync.Mutex
		reads    int
		ifMatchs []string
		sent     v1.MachinePoolConfigEntity
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch r.Method + " " + r.URL.Path {
		case "POST /v1/dashboard/spectroclusters/search":
			io.WriteString(w, `{"items":[{"metadata":{"uid":"c1","name":"demo"}}],"listmeta":{"count":1}}`)
		case "GET /v1/spectroclusters/c1":
			io.WriteString(w, `{"metadata":{"uid":"c1","name":"demo"},"spec":{"cloudType":"local","cloudConfigRef":{"uid":"cc1"}}}`)
		case "GET /v1/cloudconfigs/cloudTypes/local/cc1":
			reads++
			w.Header().Set("ETag", fmt.Sprintf(`"%d"`, reads))
			io.WriteString(w, `{"spec":{"machinePoolConfig":[{"name":"workers","size":2,"instanceType":"medium","rootDeviceSize":60,"azs":["local-a","local-b"]}]}}`)
		case "PUT /v1/cloudconfigs/cloudTypes/local/cc1/machinePools/workers":
			ifMatchs = append(ifMatchs, r.Header.Get("If-Match"))
			if len(ifMatchs) == 1 {
				w.WriteHeader(http.StatusConflict)
				io.WriteString(w, `{"code":"Conflict","message":"spectrocluster demo changed since you read it; read it again"}`)
				return
			}
			json.NewDecoder(r.Body).Decode(&sent)
			w.WriteHeader(http.StatusNoContent)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()

	r := mustEasel(t, "cluster", "scale", "demo", "workers", "3", "--no-wait", "--hub", srv.URL, "--api-key", "k")
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(ifMatchs, " ") != `"1" "2"` || sent.PoolConfig.Size == nil || *sent.PoolConfig.Size != 3 ||
		strings.Join(sent.CloudConfig.Azs, ",") != "local-a,local-b" || sent.CloudConfig.InstanceType != "medium" {
		t.Errorf("PUTs with If-Match %q, the last sending %+v; want \"1\" then \"2\", size 3 in medium over local-a,local-b", ifMatchs, sent)
	}
	if want := "Scaling pool workers of cluster demo from 2 machines to 3 machines\nFollow it with: easel cluster nodes demo\n"; r.stderr != want {
		t.Errorf("scale said %q; want %q", r.stderr, want)
	}
}
