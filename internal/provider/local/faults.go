package local

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	certv1 "k8s.io/api/certificates/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
)

// LabelFault on a node reproduces a node fault (docs/day2.md, "Faults on local clusters"). KWOK's
// stages (kwok.yaml) play those a kubelet would show in the node itself: kubelet-down,
// network-unavailable, never-ready, cni-not-ready, missing-os-labels, daemonset-blocked. An
// admission policy plays no-lease. The provider plays those outside the node, when a machine gets
// the label from its pool: clock-skew and pending-csr.
const LabelFault = "easel.dev/fault"

// Faults the provider plays besides KWOK.
const (
	FaultNoLease    = "no-lease"
	FaultClockSkew  = "clock-skew"
	FaultPendingCSR = "pending-csr"
)

// ClockSkew is how far ahead of the host's clock the clock-skew fault puts a node's Lease.
const ClockSkew = time.Hour

// faultPolicy is the admission policy that keeps KWOK, the nodes' kubelet, from creating or
// renewing the Lease of a node labelled easel.dev/fault=no-lease: its Lease then goes stale (or is
// never made, for a node that joins with the fault), as a real kubelet's does when it cannot reach
// the API server. The node is the policy's parameter, so the label alone turns it on and off.
const faultPolicy = "easel-node-faults"

// kwokUser is the identity KWOK writes with (its client certificate's common name, pki).
const kwokUser = "kwok-controller"

// ensureFaultPolicy installs the no-lease admission policy and its binding, once per control
// plane handle (EnsureMachine calls it): after it, a node labelled with the fault loses its Lease
// renewals.
func (cp *ControlPlane) ensureFaultPolicy(ctx context.Context, c kubernetes.Interface) error {
	if cp.faultPolicyInstalled.Load() {
		return nil
	}
	policy := &admissionv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: faultPolicy},
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			// A policy that cannot be evaluated must not stop every kubelet's Lease.
			FailurePolicy: new(admissionv1.Ignore),
			ParamKind:     &admissionv1.ParamKind{APIVersion: "v1", Kind: "Node"},
			MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{{
				RuleWithOperations: admissionv1.RuleWithOperations{
					Operations: []admissionv1.OperationType{admissionv1.Create, admissionv1.Update},
					Rule: admissionv1.Rule{APIGroups: []string{coordinationv1.GroupName}, APIVersions: []string{"v1"},
						Resources: []string{"leases"}},
				},
			}}},
			MatchConditions: []admissionv1.MatchCondition{{Name: "node-lease-by-kwok",
				Expression: fmt.Sprintf("request.namespace == %q && request.userInfo.username == %q", corev1.NamespaceNodeLease, kwokUser)}},
			Validations: []admissionv1.Validation{{
				Expression: "object.metadata.name != params.metadata.name",
				Message:    "the node is labelled " + LabelFault + "=" + FaultNoLease + ": its kubelet cannot write its Lease",
				Reason:     new(metav1.StatusReasonForbidden),
			}},
		},
	}
	binding := &admissionv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: faultPolicy},
		Spec: admissionv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName: faultPolicy,
			ParamRef: &admissionv1.ParamRef{
				Selector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
					{Key: LabelFault, Operator: metav1.LabelSelectorOpIn, Values: []string{FaultNoLease}}}},
				ParameterNotFoundAction: new(admissionv1.AllowAction),
			},
			ValidationActions: []admissionv1.ValidationAction{admissionv1.Deny},
		},
	}
	api := c.AdmissionregistrationV1()
	if _, err := api.ValidatingAdmissionPolicies().Create(ctx, policy, metav1.CreateOptions{FieldManager: "easel"}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("installing the admission policy of the no-lease fault: %w", err)
	}
	if _, err := api.ValidatingAdmissionPolicyBindings().Create(ctx, binding, metav1.CreateOptions{FieldManager: "easel"}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("binding the admission policy of the no-lease fault: %w", err)
	}
	cp.faultPolicyInstalled.Store(true)
	return nil
}

// applyFaults plays the faults outside the node that the machine's labels name, and undoes those
// that applied (what the node was given before) named and it no longer does.
func (cp *ControlPlane) applyFaults(ctx context.Context, c kubernetes.Interface, m Machine, applied poolConfig) error {
	fault, was := m.Labels[LabelFault], applied.Labels[LabelFault]
	switch {
	case fault == FaultClockSkew:
		if err := skewLease(ctx, c, m.Name, time.Now().Add(ClockSkew)); err != nil {
			return err
		}
	case was == FaultClockSkew:
		if err := releaseLease(ctx, c, m.Name); err != nil {
			return err
		}
	}
	switch {
	case fault == FaultPendingCSR:
		return ensurePendingCSR(ctx, c, m.Name)
	case was == FaultPendingCSR:
		err := c.CertificatesV1().CertificateSigningRequests().Delete(ctx, faultCSRName(m.Name), metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deleting the pending CSR of node %s: %w", m.Name, err)
		}
	}
	return nil
}

// skewLease renews the node's Lease at renewTime, ahead of the clock, as a kubelet whose clock is
// ahead does, and holds it as the node (as a kubelet does): KWOK leaves a Lease another holder
// renewed alone until it expires, so the skewed time stays. KWOK plays the node again once the
// Lease is released.
func skewLease(ctx context.Context, c kubernetes.Interface, node string, renewTime time.Time) error {
	return writeLease(ctx, c, node, func(l *coordinationv1.Lease) {
		l.Spec.HolderIdentity = new(node)
		l.Spec.RenewTime = new(metav1.NewMicroTime(renewTime))
		if l.Spec.LeaseDurationSeconds == nil {
			l.Spec.LeaseDurationSeconds = new(int32(kwokLeaseDurationSeconds))
		}
	}, true)
}

// releaseLease ends the clock-skew fault: the Lease is renewed now and held by no one, so KWOK
// takes it at its next renewal.
func releaseLease(ctx context.Context, c kubernetes.Interface, node string) error {
	return writeLease(ctx, c, node, func(l *coordinationv1.Lease) {
		l.Spec.HolderIdentity = nil
		l.Spec.RenewTime = new(metav1.NewMicroTime(time.Now()))
	}, false)
}

// kwokLeaseDurationSeconds is KWOK's --node-lease-duration-seconds.
const kwokLeaseDurationSeconds = 40

// writeLease changes the node's Lease, creating it when create is set and it is missing; KWOK
// writes it too, so a conflict is retried on a fresh read.
func writeLease(ctx context.Context, c kubernetes.Interface, node string, change func(*coordinationv1.Lease), create bool) error {
	leases := c.CoordinationV1().Leases(corev1.NamespaceNodeLease)
	err := retry.OnError(retry.DefaultRetry, func(err error) bool { return apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) }, func() error {
		l, err := leases.Get(ctx, node, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err) && create:
			l = &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: node, Namespace: corev1.NamespaceNodeLease}}
			change(l)
			_, err = leases.Create(ctx, l, metav1.CreateOptions{FieldManager: "easel"})
			return err
		case apierrors.IsNotFound(err):
			return nil
		case err != nil:
			return err
		}
		change(l)
		_, err = leases.Update(ctx, l, metav1.UpdateOptions{FieldManager: "easel"})
		return err
	})
	if err != nil {
		return fmt.Errorf("writing the Lease of node %s: %w", node, err)
	}
	return nil
}

func faultCSRName(node string) string { return "easel-fault-" + node }

// ensurePendingCSR makes the pending-csr fault's request: a kubelet-serving CSR for the node, which
// nothing in the cluster approves (kube-controller-manager approves kubelet client CSRs only), so
// it stays pending until someone approves it or the fault goes.
func ensurePendingCSR(ctx context.Context, c kubernetes.Interface, node string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject:  pkix.Name{CommonName: "system:node:" + node, Organization: []string{"system:nodes"}},
		DNSNames: []string{node},
	}, key)
	if err != nil {
		return fmt.Errorf("making the pending CSR of node %s: %w", node, err)
	}
	csr := &certv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{Name: faultCSRName(node), Labels: map[string]string{LabelFault: FaultPendingCSR}},
		Spec: certv1.CertificateSigningRequestSpec{
			SignerName: certv1.KubeletServingSignerName,
			Request:    pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}),
			Usages:     []certv1.KeyUsage{certv1.UsageDigitalSignature, certv1.UsageServerAuth},
		},
	}
	_, err = c.CertificatesV1().CertificateSigningRequests().Create(ctx, csr, metav1.CreateOptions{FieldManager: "easel"})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating the pending CSR of node %s: %w", node, err)
	}
	return nil
}
