package troubleshooting

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	v1 "github.com/easelhq/easel/api/v1"
	cluster "github.com/easelhq/easel/internal/clusters"
	"github.com/easelhq/easel/internal/store"
)

// The bundle's files that the hub writes.
const (
	errorsFile = "errors.txt"
	hubDir     = "hub/"
	// maxAgentErrorLines bounds what is read of the agent's errors.txt.
	maxAgentErrorLines = 100000
)

// assemble writes a cluster's bundle into the blob directory and returns its path and size: the
// infrastructure's logs (ClusterLogs), the agent's part (agentZip, "" for none) except what the
// infrastructure gave, the hub's part (hub/…), and errors.txt with everything that could not be
// collected and why (problem first, when the agent's part is missing).
func (s *Service) assemble(ctx context.Context, crec store.Record, cl cluster.Cluster, req v1.LogFetcherRequest, agentZip, problem string) (string, int64, error) {
	f, err := os.CreateTemp(s.blobs, crec.UID+"-*.zip.tmp")
	if err != nil {
		return "", 0, fmt.Errorf("creating the bundle: %w", err)
	}
	defer func() {
		f.Close()
		os.Remove(f.Name()) // a no-op once it was renamed
	}()
	zw := zip.NewWriter(f)
	var failures []string
	if problem != "" {
		failures = append(failures, "agent: "+problem)
	}

	// The infrastructure's logs first: on a local cluster they stand in for what the agent cannot
	// read (its nodes' /var/log), and the agent's failure to read those is then no failure.
	given := map[string]bool{}
	if s.clusterLogs != nil {
		err := s.clusterLogs.ClusterLogs(ctx, crec.UID, crec.Name, cl, req, func(name string, r io.Reader) error {
			if err := addCapped(zw, name, r); err != nil {
				return err
			}
			given[name] = true
			return nil
		})
		if err != nil {
			failures = append(failures, "infrastructure logs: "+err.Error())
		}
	}

	if agentZip != "" {
		agentFailures, err := copyAgentPart(zw, agentZip, given)
		if err != nil {
			failures = append(failures, "agent: its upload could not be read: "+err.Error())
		}
		failures = append(failures, agentFailures...)
	}

	for _, part := range s.hubPart(ctx, crec, cl) {
		if part.err != nil {
			failures = append(failures, hubDir+part.name+": "+part.err.Error())
			continue
		}
		if err := addFile(zw, hubDir+part.name, part.data); err != nil {
			return "", 0, err
		}
	}

	report := "Nothing failed: every item was collected.\n"
	if len(failures) > 0 {
		report = "Items that could not be collected, and why:\n" + strings.Join(failures, "\n") + "\n"
	}
	if err := addFile(zw, errorsFile, []byte(report)); err != nil {
		return "", 0, err
	}
	if err := zw.Close(); err != nil {
		return "", 0, fmt.Errorf("writing the bundle: %w", err)
	}
	if err := f.Sync(); err != nil {
		return "", 0, fmt.Errorf("writing the bundle: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		return "", 0, err
	}
	if st.Size() > v1.MaxLogBundleBytes {
		return "", 0, fmt.Errorf("the bundle is %d bytes, over the limit of %d (MaxLogBundleBytes)", st.Size(), v1.MaxLogBundleBytes)
	}
	final := strings.TrimSuffix(f.Name(), ".tmp")
	if err := os.Rename(f.Name(), final); err != nil {
		return "", 0, fmt.Errorf("storing the bundle: %w", err)
	}
	return final, st.Size(), nil
}

// copyAgentPart copies the agent's zip into the bundle as it is (no recompression), except the
// files already given, and returns the lines of its errors.txt that are not about those.
func copyAgentPart(zw *zip.Writer, path string, given map[string]bool) ([]string, error) {
	if err := checkDirectorySize(path); err != nil {
		return nil, err
	}
	zr, err := zip.OpenReader(path)
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	var failures []string
	for _, f := range zr.File {
		switch {
		case f.Name == errorsFile:
			lines, err := agentErrors(f, given)
			if err != nil {
				return failures, fmt.Errorf("reading its errors.txt: %w", err)
			}
			failures = append(failures, lines...)
		case given[f.Name], strings.HasPrefix(f.Name, hubDir), !safeName(f.Name):
			// the infrastructure's copy stands; hub/ is the hub's alone
		default:
			if err := zw.Copy(f); err != nil {
				return failures, fmt.Errorf("copying %s: %w", f.Name, err)
			}
		}
	}
	return failures, nil
}

// maxDirectoryBytes bounds the central directory of an agent's upload, which the reader holds in
// memory as one entry per file. A zip of millions of empty files (a rogue token's way to exhaust
// the hub's memory within the upload cap) is refused before it is read: its directory is over this
// or, past 65,535 files, ZIP64. A 5,000-node cluster's part has some 30,000 files.
const maxDirectoryBytes = 16 << 20

// checkDirectorySize reads the size of a zip's central directory from its end record and refuses
// one over maxDirectoryBytes, and ZIP64 directories.
func checkDirectorySize(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	// The end record is 22 bytes and a comment of at most 65,535.
	tail := make([]byte, min(st.Size(), 22+65535))
	if _, err := f.ReadAt(tail, st.Size()-int64(len(tail))); err != nil {
		return err
	}
	i := bytes.LastIndex(tail, []byte{'P', 'K', 5, 6})
	if i < 0 || len(tail)-i < 22 {
		return errors.New("not a zip: no end of central directory record")
	}
	size := binary.LittleEndian.Uint32(tail[i+12:])
	if size == 0xFFFFFFFF || binary.LittleEndian.Uint16(tail[i+10:]) == 0xFFFF {
		return errors.New("a ZIP64 directory (more than 65,535 files) is not accepted")
	}
	if size > maxDirectoryBytes {
		return fmt.Errorf("its central directory is %d bytes, over the limit of %d", size, maxDirectoryBytes)
	}
	return nil
}

// agentErrors reads the agent's errors.txt, one item per line ("path: why"), dropping the items
// the infrastructure gave.
func agentErrors(f *zip.File, given map[string]bool) ([]string, error) {
	r, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var out []string
	sc := bufio.NewScanner(io.LimitReader(r, v1.MaxLogItemBytes))
	for sc.Scan() && len(out) < maxAgentErrorLines {
		line := strings.TrimSpace(sc.Text())
		item, _, _ := strings.Cut(line, ": ")
		if line == "" || given[item] || strings.HasPrefix(line, "Nothing failed") || strings.HasSuffix(line, "and why:") {
			continue
		}
		out = append(out, line)
	}
	return out, sc.Err()
}

// safeName reports whether a zip entry's name is a plain relative path, so that nobody who
// extracts the bundle writes outside the directory they chose.
func safeName(name string) bool {
	return name != "" && !strings.HasPrefix(name, "/") && !strings.Contains(name, "\\") &&
		!slices.Contains(strings.Split(name, "/"), "..")
}

// addCapped adds a file from r, at most v1.MaxLogItemBytes of it.
func addCapped(zw *zip.Writer, name string, r io.Reader) error {
	if !safeName(name) {
		return fmt.Errorf("%q is not a relative path", name)
	}
	w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: time.Now()})
	if err != nil {
		return err
	}
	n, err := io.Copy(w, io.LimitReader(r, v1.MaxLogItemBytes+1))
	if err == nil && n > v1.MaxLogItemBytes {
		return fmt.Errorf("%s is over %d bytes (MaxLogItemBytes); the rest is left out", name, v1.MaxLogItemBytes)
	}
	return err
}

func addFile(zw *zip.Writer, name string, data []byte) error {
	w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: time.Now()})
	if err == nil {
		_, err = w.Write(data)
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	return nil
}

// hubFile is one file of the hub's part, or why it could not be made.
type hubFile struct {
	name string
	data []byte
	err  error
}

// hubPart is what the hub knows of the cluster, whatever state its API server is in: its spec,
// conditions, events, upgrades, machines and what its agent last said. Profile and cluster values
// are left out: they may hold credentials.
func (s *Service) hubPart(ctx context.Context, crec store.Record, cl cluster.Cluster) []hubFile {
	profiles := make([]map[string]string, 0, len(cl.Profiles))
	for _, p := range cl.Profiles {
		profiles = append(profiles, map[string]string{"uid": p.UID, "name": p.Name, "version": p.Version, "type": p.Type})
	}
	spec := map[string]any{
		"uid": crec.UID, "name": crec.Name, "project": crec.ProjectUID, "cloudType": cl.CloudType,
		"cloudConfigUid": cl.CloudConfigUID, "labels": cl.Labels, "profiles": profiles, "pools": cl.Pools,
		"generation": crec.Generation, "created": crec.CreatedAt, "updated": crec.UpdatedAt,
		"state": cl.Status.State, "observedGeneration": cl.Status.ObservedGeneration,
	}
	agent := map[string]any{"health": cl.Status.Health, "packs": cl.Status.Packs, "packsGeneration": cl.Status.PacksGeneration,
		"nodes": cl.Status.Nodes, "services": cl.Status.Services, "openRequests": cl.Status.Requests}
	out := []hubFile{
		yamlFile("cluster.yaml", spec),
		yamlFile("conditions.yaml", cl.Status.Conditions),
		yamlFile("upgrades.yaml", cl.Status.Upgrades),
		yamlFile("machines.yaml", cl.Status.Machines),
		yamlFile("agent.yaml", agent),
	}
	events, _, err := s.store.ListEvents(ctx, crec.UID, store.EventsKept, 0)
	if err != nil {
		return append(out, hubFile{name: "events.yaml", err: err})
	}
	return append(out, yamlFile("events.yaml", events))
}

func yamlFile(name string, v any) hubFile {
	b, err := yaml.Marshal(v)
	return hubFile{name: name, data: b, err: err}
}

// retain deletes the cluster's requests of kind (their bundles with them) beyond the newest
// v1.LogBundlesKept and those older than v1.LogBundleRetention.
func (s *Service) retain(ctx context.Context, crec store.Record, kind string) error {
	recs, err := s.requests(ctx, crec, kind, v1.MaxListLimit)
	if err != nil {
		return err
	}
	cutoff := s.clock.Now().Add(-v1.LogBundleRetention)
	for i, rec := range recs {
		if i >= v1.LogBundlesKept && !isOpen(rec.State) || rec.CreatedAt.Before(cutoff) {
			if err := s.deleteRequest(ctx, rec); err != nil {
				return err
			}
		}
	}
	return nil
}

// deleteRequest deletes a request's record and its bundle, if it has one and this replica holds
// it (another replica's sweep removes a bundle its record no longer names, a stray).
func (s *Service) deleteRequest(ctx context.Context, rec store.Record) error {
	if rec.Kind == KindLogFetcher {
		if d, err := decodeLogDoc(rec); err == nil && d.Blob != "" && s.holds(d) {
			if err := os.Remove(filepath.Join(s.blobs, d.Blob)); err != nil && !os.IsNotExist(err) {
				return err
			}
		}
	}
	return s.store.DeleteObject(ctx, rec.Kind, rec.UID)
}
