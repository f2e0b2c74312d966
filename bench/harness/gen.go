package harness

// The data set: record i has a 16-byte key (16 hex digits of a bijective
// 64-bit mix of i, so keys are unique and arrive in no useful order) and a
// 100-byte value of pseudo-random printable characters. Both are computed,
// not stored, so that a child measuring its RSS holds no copy of the data.

const (
	// KeySize and ValueSize are the record shape of every workload.
	KeySize   = 16
	ValueSize = 100
	// RecordBytes is one record's data (key + value).
	RecordBytes = KeySize + ValueSize
)

// mix64 is splitmix64's finalizer: a bijection on uint64.
func mix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

const hexDigits = "0123456789abcdef"

// appendKey appends record i's key to dst.
func appendKey(dst []byte, i uint64) []byte {
	x := mix64(i)
	var b [KeySize]byte
	for j := KeySize - 1; j >= 0; j-- {
		b[j] = hexDigits[x&15]
		x >>= 4
	}
	return append(dst, b[:]...)
}

// keyString returns record i's key as a string.
func keyString(i uint64) string {
	var b [KeySize]byte
	return string(appendKey(b[:0], i))
}

const valueAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// appendValue appends record i's value to dst.
func appendValue(dst []byte, i uint64) []byte {
	x := mix64(i ^ 0x5bd1e9955bd1e995)
	var b [ValueSize]byte
	for j := 0; j < ValueSize; j++ {
		if j%10 == 0 {
			x = mix64(x)
		}
		b[j] = valueAlphabet[x&63]
		x >>= 6
	}
	return append(dst, b[:]...)
}

// rng is a small xorshift generator for read patterns.
type rng uint64

func (r *rng) next() uint64 {
	x := uint64(*r)
	x ^= x << 13
	x ^= x >> 7
	x ^= x << 17
	*r = rng(x)
	return x
}
