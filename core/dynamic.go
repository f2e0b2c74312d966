package core

import "fmt"

// RawKey is one msgpack-encoded value used as a key of a dynamic table.
// Keys are equal when their bytes are equal, so encoders must be canonical:
// dbrs and the JS shim both write integers in their shortest form.
type RawKey string

// RawValue is one msgpack-encoded value stored in a dynamic table. A nil
// RawValue stands for msgpack nil.
type RawValue []byte

// TableSpec describes one table of a dynamic schema.
type TableSpec struct {
	Name string
	Kind string // KindSingle, KindList, KindLookupTable, ...
}

// Dynamic is a schema described at run time, as the JS shim uses. Its tables
// hold raw msgpack keys and values and write exactly the log bytes that the
// typed tables write, so a log written by a Go struct schema opens with a
// Dynamic schema of the same names and kinds, and the reverse.
//
// The element types are: Single[RawValue], List[RawValue],
// LookupTable[RawKey, RawValue], LookupList[RawKey, RawValue],
// LookupSet[RawKey, RawKey] and LookupMap[RawKey, RawKey, RawValue].
type Dynamic struct {
	specs  []TableSpec
	fields []tableField
	index  map[string]int
}

func newDynamic(specs []TableSpec) (*Dynamic, error) {
	d := &Dynamic{specs: specs, index: map[string]int{}}
	for i, s := range specs {
		if _, ok := newDynamicField(s.Kind); !ok {
			return nil, fmt.Errorf("%w: table %q has unknown kind %q", ErrSchema, s.Name, s.Kind)
		}
		if _, dup := d.index[s.Name]; dup {
			return nil, fmt.Errorf("%w: duplicate table name %q", ErrSchema, s.Name)
		}
		d.index[s.Name] = i
	}
	d.fields = d.newFields()
	return d, nil
}

// instance returns a Dynamic of the same schema with tables of its own (a
// transaction binds them), sharing d's specs and name index, which never
// change: a transaction allocates its table handles and nothing else.
func (d *Dynamic) instance() *Dynamic {
	return &Dynamic{specs: d.specs, index: d.index, fields: d.newFields()}
}

func (d *Dynamic) newFields() []tableField {
	fields := make([]tableField, len(d.specs))
	for i, s := range d.specs {
		fields[i], _ = newDynamicField(s.Kind)
	}
	return fields
}

// newDynamicField returns an unbound table of kind, or false for an
// unknown kind.
func newDynamicField(kind string) (tableField, bool) {
	switch kind {
	case KindSingle:
		return &Single[RawValue]{}, true
	case KindList:
		return &List[RawValue]{}, true
	case KindLookupTable:
		return &LookupTable[RawKey, RawValue]{}, true
	case KindLookupList:
		return &LookupList[RawKey, RawValue]{}, true
	case KindLookupSet:
		return &LookupSet[RawKey, RawKey]{}, true
	case KindLookupMap:
		return &LookupMap[RawKey, RawKey, RawValue]{}, true
	}
	return nil, false
}

// Specs returns the tables of the schema.
func (d *Dynamic) Specs() []TableSpec { return append([]TableSpec(nil), d.specs...) }

func dynTable[T any](d *Dynamic, name, kind string) (T, error) {
	var zero T
	i, ok := d.index[name]
	if !ok {
		return zero, fmt.Errorf("%w: %q", ErrUnknownTable, name)
	}
	t, ok := d.fields[i].(T)
	if !ok {
		return zero, fmt.Errorf("%w: table %q is a %s, not a %s", ErrSchema, name, d.specs[i].Kind, kind)
	}
	return t, nil
}

// Single returns the single table called name.
func (d *Dynamic) Single(name string) (*Single[RawValue], error) {
	return dynTable[*Single[RawValue]](d, name, KindSingle)
}

// List returns the list table called name.
func (d *Dynamic) List(name string) (*List[RawValue], error) {
	return dynTable[*List[RawValue]](d, name, KindList)
}

// LookupTable returns the lookup table called name.
func (d *Dynamic) LookupTable(name string) (*LookupTable[RawKey, RawValue], error) {
	return dynTable[*LookupTable[RawKey, RawValue]](d, name, KindLookupTable)
}

// LookupList returns the lookup list called name.
func (d *Dynamic) LookupList(name string) (*LookupList[RawKey, RawValue], error) {
	return dynTable[*LookupList[RawKey, RawValue]](d, name, KindLookupList)
}

// LookupSet returns the lookup set called name.
func (d *Dynamic) LookupSet(name string) (*LookupSet[RawKey, RawKey], error) {
	return dynTable[*LookupSet[RawKey, RawKey]](d, name, KindLookupSet)
}

// LookupMap returns the lookup map called name.
func (d *Dynamic) LookupMap(name string) (*LookupMap[RawKey, RawKey, RawValue], error) {
	return dynTable[*LookupMap[RawKey, RawKey, RawValue]](d, name, KindLookupMap)
}

// OpenDynamic opens a database whose schema is given at run time.
func OpenDynamic(b Backend, specs []TableSpec, opts Options) (*DB[Dynamic], error) {
	schema, err := newDynamic(specs)
	if err != nil {
		return nil, err
	}
	desc := &schemaDesc{}
	for _, s := range specs {
		desc.names = append(desc.names, s.Name)
	}
	desc.newInstance = func() (any, []tableField) {
		d := schema.instance()
		return d, d.fields
	}
	return open[Dynamic](b, desc, opts)
}

// String shows the key as a readable value (`"nobody"`, `42`, `[1 "a"]`),
// for error messages: a key's bytes are msgpack, not text.
func (k RawKey) String() string { return formatRaw([]byte(k)) }
