// The op codes of bridge protocol 2: code i names OP_NAMES[i]. This list is
// the same as core.OpNames in core/dynamic_ops.go (TestOpNamesMatchShim
// compares them); it only ever grows.

export const OP_NAMES = [
  '', 'get', 'has', 'len', 'keys', 'entries', 'at', 'all', 'getInner',
  'insert', 'remove', 'clear', 'push', 'pop', 'insertAt', 'setAt',
  'removeAt', 'clearKey', 'getMany', 'insertMany',
] as const;

export const OP_CODES: ReadonlyMap<string, number> = new Map(OP_NAMES.map((n, i) => [n, i]));
