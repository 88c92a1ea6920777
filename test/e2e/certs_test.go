package e2e_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spectrocloud/palette-sdk-go/client"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/easelhq/easel/internal/k8sbin"
	"github.com/easelhq/easel/internal/server"
	"github.com/easelhq/easel/internal/testenv/poll"
)

// Renewing a cluster's certificates through the Palette SDK: the API server then serves a
// certificate issued after the request by the same CA, the control-plane machine is replaced once
// with the reason in status.upgrades, the cluster stays Running and healthy (agent, controllers and
// scheduler working with their new certificates), and the workers and their pods are untouched.
func TestCertificateRenewal(t *testing.T) {
	if _, err := k8sbin.Find(); err != nil {
		t.Fatalf("this test provisions a local cluster: %v", err)
	}
	addr := startHub(t, func(c *server.Config) { c.AgentHeartbeat = time.Second })
	project, uid := createLocalCluster(t, addr, "renewed", 2, "")
	kc := clusterClient(t, addr, project, uid)
	ctx := context.Background()
	deployWeb(t, kc, "default", 3)
	podsBefore := podsByUID(runningPods(t, kc, "default", ""))

	var cl struct {
		Spec struct{ CloudConfigRef struct{ UID string } }
	}
	api(t, addr, project, "GET", "/v1/spectroclusters/"+uid, "", &cl)
	machines := func(pool string) []string {
		var out struct {
			Items []struct {
				Metadata struct{ Name string }
				Status   struct{ InstanceState string }
			}
		}
		api(t, addr, project, "GET", "/v1/cloudconfigs/cloudTypes/local/"+cl.Spec.CloudConfigRef.UID+"/machinePools/"+pool+"/machines", "", &out)
		var names []string
		for _, m := range out.Items {
			names = append(names, m.Metadata.Name+" "+m.Status.InstanceState)
		}
		slices.Sort(names)
		return names
	}
	cpBefore, workersBefore := machines("cp"), machines("workers")
	caBefore, servingBefore := servingCertificate(t, addr, project, uid)

	// The real SDK's calls; a cluster that is not Running is refused (checked in the hub's tests).
	pc := client.New(client.WithPaletteURI(addr), client.WithAPIKey(adminKey), client.WithSchemes([]string{"http"}),
		client.WithScopeProject(project))
	apiserverExpiry := func() time.Time {
		certs, err := pc.GetTheKubernetesCerts(uid)
		if err != nil || certs == nil || len(certs.MachineCertificates) != 1 {
			t.Fatalf("GetTheKubernetesCerts = %s, %v; want the control-plane machine's", dump(certs), err)
		}
		m := certs.MachineCertificates[0]
		if len(m.CertificateAuthorities) != 1 || m.CertificateAuthorities[0].Name != "ca" {
			t.Fatalf("GetTheKubernetesCerts = %s; want one CA", dump(certs))
		}
		for _, c := range m.CertificateAuthorities[0].Certificates {
			if c.Name == "apiserver" {
				return time.Time(c.Expiry)
			}
		}
		t.Fatalf("GetTheKubernetesCerts = %s; no apiserver certificate", dump(certs))
		return time.Time{}
	}
	if got := apiserverExpiry(); !got.Equal(servingBefore.NotAfter) {
		t.Fatalf("GetTheKubernetesCerts says the apiserver certificate expires at %s; it expires at %s", got, servingBefore.NotAfter)
	}
	requested := time.Now()
	if err := pc.InitiateTheCertRenewal(uid); err != nil {
		t.Fatalf("InitiateTheCertRenewal: %v", err)
	}
	waitForEventAmong(t, addr, project, uid, "CertificatesRenewalRequested", "the certificates re-issued")

	// The control-plane machine is replaced, once.
	poll.Eventually(t, 3*time.Minute, "a new control-plane machine and the old one gone", func() error {
		got := machines("cp")
		return poll.Unless(len(got) == 1 && got[0] != cpBefore[0] && strings.HasSuffix(got[0], " Running"), "control-plane machines %v; before %v", got, cpBefore)
	})
	poll.Eventually(t, time.Minute, "the repave to end", func() error {
		var rp struct{ Status struct{ State string } }
		api(t, addr, project, "GET", "/v1/spectroclusters/"+uid+"/repave/status", "", &rp)
		return poll.Unless(rp.Status.State == "", "repave state %q", rp.Status.State)
	})
	var status struct {
		Status struct {
			State    string
			Upgrades []struct {
				Reason    []string
				Timestamp time.Time
			}
		}
	}
	api(t, addr, project, "GET", "/v1/spectroclusters/"+uid, "", &status)
	if u := status.Status.Upgrades; len(u) != 1 || len(u[0].Reason) != 1 {
		t.Fatalf("status.upgrades = %+v; want one entry with one reason", u)
	}
	reason := status.Status.Upgrades[0].Reason[0]
	at, err := time.Parse(time.RFC3339, strings.TrimPrefix(reason, "certificates: renewal requested at "))
	if err != nil || at.Before(requested.Truncate(time.Second)) || at.After(time.Now()) {
		t.Fatalf("upgrade reason %q; want certificates: renewal requested at the time of the request (%s)", reason, requested.UTC().Format(time.RFC3339))
	}
	waitForEventAmong(t, addr, project, uid, "MachineDraining", cpBefore[0][:strings.Index(cpBefore[0], " ")], "replaced: "+reason)
	waitForEventAmong(t, addr, project, uid, "RepaveCompleted")

	// The API server serves a certificate issued after the request (NotBefore is backdated by a
	// minute), signed by the same CA.
	poll.Eventually(t, time.Minute, "the API server to serve a renewed certificate", func() error {
		_, serving := servingCertificate(t, addr, project, uid)
		return poll.Unless(serving.SerialNumber.Cmp(servingBefore.SerialNumber) != 0, "it serves serial %s, as before", serving.SerialNumber)
	})
	caAfter, servingAfter := servingCertificate(t, addr, project, uid)
	if issued := servingAfter.NotBefore.Add(time.Minute); issued.Before(requested.Truncate(time.Second)) {
		t.Fatalf("the API server's certificate was issued at %s, before the renewal was requested at %s", issued, requested)
	}
	if !caAfter.Equal(caBefore) {
		t.Fatal("the cluster's CA changed; a renewal keeps it")
	}
	poll.Eventually(t, 30*time.Second, "GetTheKubernetesCerts to show the renewed certificate's expiry", func() error {
		got := apiserverExpiry()
		return poll.Unless(got.Equal(servingAfter.NotAfter), "expiry %s; the served certificate expires at %s", got, servingAfter.NotAfter)
	})

	// Running and healthy: the agent (restarted with its new certificate) reports, the controllers
	// and the scheduler (restarted too) work.
	poll.Eventually(t, time.Minute, "the cluster Running and healthy", func() error {
		var sum struct {
			Status struct {
				State  string
				Health struct{ State string }
			}
		}
		api(t, addr, project, "GET", "/v1/dashboard/spectroclusters/"+uid, "", &sum)
		return poll.Unless(sum.Status.State == "Running" && sum.Status.Health.State == "Healthy", "status %+v", sum.Status)
	})
	after := clusterClient(t, addr, project, uid) // a new kubeconfig download, with the new admin certificate
	dep, err := after.AppsV1().Deployments("default").Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dep.Spec.Replicas = ptr(int32(4))
	if _, err := after.AppsV1().Deployments("default").Update(ctx, dep, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, time.Minute, "a fourth web pod scheduled and running", func() error {
		n := len(runningPods(t, after, "default", ""))
		return poll.Unless(n == 4, "%d web pods running", n)
	})

	// How long it took, for docs/day2.md.
	var events struct {
		Items []struct {
			Reason, Message string
			Metadata        struct{ CreationTimestamp time.Time }
		}
	}
	api(t, addr, project, "GET", "/v1/events/components/spectrocluster/"+uid+"?limit=100", "", &events)
	slices.Reverse(events.Items)
	for _, e := range events.Items {
		if !e.Metadata.CreationTimestamp.Before(requested.Truncate(time.Second)) {
			t.Logf("+%5.1fs %s: %s", e.Metadata.CreationTimestamp.Sub(requested).Seconds(), e.Reason, e.Message)
		}
	}

	// The workers and their pods are untouched.
	if got := machines("workers"); !slices.Equal(got, workersBefore) {
		t.Fatalf("worker machines = %v; want %v untouched", got, workersBefore)
	}
	podsAfter := podsByUID(runningPods(t, after, "default", ""))
	for id, node := range podsBefore {
		if podsAfter[id] != node {
			t.Fatalf("pod %s moved or went (on %q, was on %q)", id, podsAfter[id], node)
		}
	}
}

// servingCertificate dials the cluster's API server, verifying it with the CA of a freshly
// downloaded admin kubeconfig, and returns that CA and the certificate the server presents.
func servingCertificate(t *testing.T, addr, project, uid string) (ca, serving *x509.Certificate) {
	t.Helper()
	var data []byte
	status := api(t, addr, project, "GET", "/v1/spectroclusters/"+uid+"/assets/adminKubeconfig", "", &data)
	kc, err := clientcmd.Load(data)
	if err != nil || kc.Contexts[kc.CurrentContext] == nil {
		t.Fatalf("the cluster's kubeconfig (%d): %v", status, err)
	}
	cluster := kc.Clusters[kc.Contexts[kc.CurrentContext].Cluster]
	server, err := url.Parse(cluster.Server)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(cluster.CertificateAuthorityData) {
		t.Fatal("the kubeconfig has no CA")
	}
	// The API server is down for a moment while it restarts with its new certificate.
	var conn *tls.Conn
	poll.Eventually(t, time.Minute, "the API server to accept TLS", func() error {
		conn, err = tls.Dial("tcp", server.Host, &tls.Config{RootCAs: pool})
		return err
	})
	defer conn.Close()
	chain := conn.ConnectionState().VerifiedChains[0]
	return chain[len(chain)-1], chain[0]
}
