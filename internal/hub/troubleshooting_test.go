package hub_test

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"mime/multipart"
	"strings"
	"testing"

	v1 "github.com/easelhq/easel/api/v1"
)

// The log fetcher through the API, as Palette's clients and easel's agent call it: the request
// reaches the agent's long-poll, the agent reports and uploads (multipart), and the bundle downloads
// as an octet-stream named spectro_logs.zip.
func TestLogFetcherAPI(t *testing.T) {
	eachStore(t, func(t *testing.T, h *testHub) {
		c := h.admin().in(h.defaultPrj)
		uid := c.createCluster("web", c.publishedProfile("base"))
		agent := newAgent(t, h, uid)
		if status, body, _ := (client{h: h}).do("PUT", "/v1/spectroclusters/"+uid+"/heartbeat", map[string]string{"agentVersion": "0.1.0"}, agent.bearer...); status != 204 {
			t.Fatalf("heartbeat: %d %s", status, body)
		}

		var created uidBody
		c.must(201, "POST", "/v1/spectroclusters/"+uid+"/features/logFetcher", map[string]any{"noOfLines": 100}, &created)
		var desired v1.AgentDesired
		status, data, _ := (client{h: h}).do("GET", "/v1/spectroclusters/"+uid+"/agent/desired?generation=0&wait=1s", nil, agent.bearer...)
		if err := json.Unmarshal(data, &desired); status != 200 || err != nil {
			t.Fatalf("desired: %d %s", status, data)
		}
		if len(desired.Requests) != 1 || desired.Requests[0].UID != created.UID || desired.Requests[0].Logs.NoOfLines != 100 {
			t.Fatalf("the agent's requests: %+v; want the log request", desired.Requests)
		}
		agent.mustPut(204, "requests/"+created.UID, map[string]string{"state": "Uploading"})

		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		fw, _ := mw.CreateFormFile("fileName", "spectro_logs.zip")
		zw := zip.NewWriter(fw)
		w, _ := zw.Create("Manifest.yaml")
		w.Write([]byte("kind: Node\n"))
		zw.Close()
		mw.Close()
		upload := "/v1/spectroclusters/features/logFetcher/" + uid + "/log?requestId=" + created.UID
		if status, body, _ := (client{h: h}).do("POST", upload, buf.Bytes(), append(agent.bearer, "Content-Type", "application/json")...); status != 400 {
			t.Fatalf("an upload that is not multipart: %d %s; want 400", status, body)
		}
		if status, body, _ := (client{h: h}).do("POST", upload, buf.Bytes(), append(agent.bearer, "Content-Type", mw.FormDataContentType())...); status != 204 {
			t.Fatalf("upload: %d %s", status, body)
		}

		var lf v1.LogFetcher
		c.must(200, "GET", "/v1/spectroclusters/"+uid+"/features/logFetcher?requestId="+created.UID, nil, &lf)
		if lf.Status.State != v1.LogStateCompleted || lf.Spec.ClusterUID != uid || lf.Metadata.UID != created.UID {
			t.Fatalf("status: %+v", lf)
		}
		status, zipped, header := c.do("GET", "/v1/spectroclusters/features/logFetcher/"+created.UID+"/download?fileName=logs-"+uid+".zip", nil)
		if status != 200 || header.Get("Content-Type") != "application/octet-stream" ||
			header.Get("Content-Disposition") != `attachment; filename="spectro_logs.zip"` {
			t.Fatalf("download: %d %v", status, header)
		}
		zr, err := zip.NewReader(bytes.NewReader(zipped), int64(len(zipped)))
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, f := range zr.File {
			names = append(names, f.Name)
		}
		if got := strings.Join(names, " "); !strings.Contains(got, "Manifest.yaml") || !strings.Contains(got, "hub/cluster.yaml") || !strings.Contains(got, "errors.txt") {
			t.Errorf("bundle holds %s", got)
		}
	})
}
