package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"

	v1 "github.com/easelhq/easel/api/v1"
)

// FieldManager is the server-side-apply field manager of everything the agent applies.
const FieldManager = "easel"

// applier applies manifests to the cluster by server-side apply.
type applier struct {
	dyn    dynamic.Interface
	disc   discovery.DiscoveryInterface
	mapper *restmapper.DeferredDiscoveryRESTMapper
}

func newApplier(cfg *rest.Config) (*applier, error) {
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &applier{dyn: dyn, disc: disc, mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disc))}, nil
}

// decodeObjects splits multi-document YAML into objects, skipping empty documents.
func decodeObjects(content string) ([]*unstructured.Unstructured, error) {
	dec := yaml.NewYAMLOrJSONDecoder(bytes.NewReader([]byte(content)), 4096)
	var out []*unstructured.Unstructured
	for {
		var obj map[string]any
		err := dec.Decode(&obj)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if len(obj) == 0 {
			continue
		}
		out = append(out, &unstructured.Unstructured{Object: obj})
	}
}

// packObjects decodes every object of a pack, in order.
func packObjects(pack v1.AgentPack) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	for _, m := range pack.Manifests {
		objs, err := decodeObjects(m.Content)
		if err != nil {
			return nil, fmt.Errorf("manifest %s: %w", m.Name, err)
		}
		out = append(out, objs...)
	}
	return out, nil
}

// mapping finds the resource of a kind.
func (a *applier) mapping(gvk schema.GroupVersionKind) (*meta.RESTMapping, error) {
	mapping, err := a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if meta.IsNoMatchError(err) {
		// A kind defined by a CRD applied moments ago: look again.
		a.mapper.Reset()
		mapping, err = a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	}
	return mapping, err
}

// identify names obj as it is applied: a namespaced object without a namespace goes to default
// (and is given it). ok is false when the API server does not know the kind (yet: a CRD of the
// same pack not applied).
func (a *applier) identify(obj *unstructured.Unstructured) (ref objectRef, ok bool) {
	gvk := obj.GroupVersionKind()
	ref = objectRef{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind, Namespace: obj.GetNamespace(), Name: obj.GetName()}
	mapping, err := a.mapping(gvk)
	if err != nil {
		return ref, false
	}
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		if ref.Namespace == "" {
			ref.Namespace = "default"
			obj.SetNamespace(ref.Namespace)
		}
	} else {
		ref.Namespace = ""
	}
	return ref, true
}

// resource is the client of the object ref names.
func (a *applier) resource(ref objectRef) (dynamic.ResourceInterface, error) {
	mapping, err := a.mapping(schema.GroupVersionKind{Group: ref.Group, Version: ref.Version, Kind: ref.Kind})
	if err != nil {
		return nil, err
	}
	res := a.dyn.Resource(mapping.Resource)
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		return res.Namespace(ref.Namespace), nil
	}
	return res, nil
}

// apply server-side-applies one identified object.
func (a *applier) apply(ctx context.Context, ref objectRef, obj *unstructured.Unstructured) error {
	target, err := a.resource(ref)
	if err != nil {
		return err
	}
	_, err = target.Apply(ctx, obj.GetName(), obj, metav1.ApplyOptions{FieldManager: FieldManager, Force: true})
	return err
}

// remove deletes one object the agent applied; one already gone, or whose kind is gone (its CRD
// was deleted with it), is fine.
func (a *applier) remove(ctx context.Context, ref objectRef) error {
	target, err := a.resource(ref)
	if meta.IsNoMatchError(err) {
		return nil
	}
	if err != nil {
		return err
	}
	background := metav1.DeletePropagationBackground
	err = target.Delete(ctx, ref.Name, metav1.DeleteOptions{PropagationPolicy: &background})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}
