package core

import (
	"fmt"
	"reflect"
)

// schemaDesc says how to build instances of a schema: a Go struct whose
// fields are tables, or a Dynamic. Each instance has its own table handles
// (auto-commit, or bound to one transaction) over shared table state.
type schemaDesc struct {
	names []string
	// newInstance returns a new *S and its table fields, in names order.
	newInstance func() (any, []tableField)
}

// describeStruct binds a struct type by reflection. Every exported field
// must be a table; its name is the field name or the `dbrs:"name"` tag.
// Fields tagged `dbrs:"-"` and unexported fields are ignored.
func describeStruct[S any]() (*schemaDesc, error) {
	t := reflect.TypeFor[S]()
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("%w: %s is not a struct", ErrSchema, t)
	}
	fieldType := reflect.TypeFor[tableField]()
	var index []int
	desc := &schemaDesc{}
	seen := map[string]string{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("dbrs")
		if tag == "-" || !f.IsExported() {
			continue
		}
		if !reflect.PointerTo(f.Type).Implements(fieldType) {
			return nil, fmt.Errorf("%w: field %s.%s has type %s, which is not a dbrs table", ErrSchema, t.Name(), f.Name, f.Type)
		}
		name := f.Name
		if tag != "" {
			name = tag
		}
		if other, dup := seen[name]; dup {
			return nil, fmt.Errorf("%w: fields %s and %s both name table %q", ErrSchema, other, f.Name, name)
		}
		seen[name] = f.Name
		desc.names = append(desc.names, name)
		index = append(index, i)
	}
	if len(index) == 0 {
		return nil, fmt.Errorf("%w: %s has no tables", ErrSchema, t)
	}
	desc.newInstance = func() (any, []tableField) {
		p := reflect.New(t)
		fields := make([]tableField, len(index))
		for j, i := range index {
			fields[j] = p.Elem().Field(i).Addr().Interface().(tableField)
		}
		return p.Interface(), fields
	}
	return desc, nil
}
