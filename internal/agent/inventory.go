package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// The inventory is what the agent applied, pack by pack, kept in a ConfigMap of its namespace so
// that it outlives the agent: when a pack is detached, or an object leaves a pack, the agent
// deletes what it applied and nothing else (as kubectl apply --prune with an inventory does).
const (
	inventoryConfigMap = "easel-inventory"
	inventoryKey       = "inventory.json"
)

// objectRef names one applied object; the version is the one it was last applied at, to delete it
// through.
type objectRef struct {
	Group     string `json:"group,omitempty"`
	Version   string `json:"version"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
}

// key identifies the object whatever version of its kind names it.
func (r objectRef) key() string { return r.Group + "/" + r.Kind + "/" + r.Namespace + "/" + r.Name }

func (r objectRef) String() string {
	if r.Namespace == "" {
		return r.Kind + " " + r.Name
	}
	return r.Kind + " " + r.Namespace + "/" + r.Name
}

// inventoryPack is what one pack applied.
type inventoryPack struct {
	Profile string      `json:"profile"`
	Name    string      `json:"name"`
	Version string      `json:"version"`
	Objects []objectRef `json:"objects"`
}

func packKey(profile, name string) string { return profile + "/" + name }

// inventory is the stored inventory, by pack key.
type inventory struct {
	kube      kubernetes.Interface
	namespace string
	packs     map[string]*inventoryPack
	exists    bool   // the ConfigMap exists
	version   string // its resourceVersion: a write over a newer inventory is refused
}

// loadInventory reads the inventory; a missing one is empty.
func loadInventory(ctx context.Context, kube kubernetes.Interface, namespace string) (*inventory, error) {
	inv := &inventory{kube: kube, namespace: namespace, packs: map[string]*inventoryPack{}}
	cm, err := kube.CoreV1().ConfigMaps(namespace).Get(ctx, inventoryConfigMap, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return inv, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the inventory %s/%s: %w", namespace, inventoryConfigMap, err)
	}
	inv.exists, inv.version = true, cm.ResourceVersion
	if data := cm.Data[inventoryKey]; data != "" {
		if err := json.Unmarshal([]byte(data), &inv.packs); err != nil {
			return nil, fmt.Errorf("decoding the inventory %s/%s: %w", namespace, inventoryConfigMap, err)
		}
	}
	return inv, nil
}

// record adds a pack's objects to the inventory before they are applied (so that a crash right
// after applying leaves nothing untracked); it reports whether anything was new.
func (inv *inventory) record(pack inventoryPack) bool {
	have, ok := inv.packs[packKey(pack.Profile, pack.Name)]
	if !ok {
		inv.packs[packKey(pack.Profile, pack.Name)] = &pack
		return len(pack.Objects) > 0
	}
	added := false
	for _, o := range pack.Objects {
		i := slices.IndexFunc(have.Objects, func(h objectRef) bool { return h.key() == o.key() })
		switch {
		case i < 0:
			have.Objects = append(have.Objects, o)
			added = true
		case have.Objects[i] != o:
			have.Objects[i] = o
			added = true
		}
	}
	if have.Version != pack.Version {
		have.Version, added = pack.Version, true
	}
	return added
}

// holds reports whether the pack's inventory has the object.
func (inv *inventory) holds(pack string, ref objectRef) bool {
	ip, ok := inv.packs[pack]
	return ok && slices.ContainsFunc(ip.Objects, func(o objectRef) bool { return o.key() == ref.key() })
}

// save writes the inventory, creating its namespace and ConfigMap when needed.
func (inv *inventory) save(ctx context.Context) error {
	data, err := json.Marshal(inv.packs)
	if err != nil {
		return err
	}
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: inventoryConfigMap, Namespace: inv.namespace, ResourceVersion: inv.version,
			Labels: map[string]string{"app.kubernetes.io/managed-by": "easel"}},
		Data: map[string]string{inventoryKey: string(data)},
	}
	cms := inv.kube.CoreV1().ConfigMaps(inv.namespace)
	var saved *corev1.ConfigMap
	if !inv.exists {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: inv.namespace}}
		if _, err := inv.kube.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating namespace %s for the inventory: %w", inv.namespace, err)
		}
		saved, err = cms.Create(ctx, cm, metav1.CreateOptions{})
	} else {
		saved, err = cms.Update(ctx, cm, metav1.UpdateOptions{})
	}
	if err != nil {
		return fmt.Errorf("writing the inventory %s/%s: %w", inv.namespace, inventoryConfigMap, err)
	}
	inv.exists, inv.version = true, saved.ResourceVersion
	return nil
}
