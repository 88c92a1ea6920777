package logbundle

import "bytes"

// tailBuffer keeps the newest size bytes of everything written to it, so that a log served whole
// (a kubelet that ignores the Range header) is read to its end without holding more than the
// item cap. It grows as needed up to size, then wraps around.
type tailBuffer struct {
	size  int
	buf   []byte
	pos   int // where the next byte goes once the buffer has wrapped
	total int64
}

func newTailBuffer(size int64) *tailBuffer { return &tailBuffer{size: int(size)} }

func (t *tailBuffer) Write(p []byte) (int, error) {
	n := len(p)
	t.total += int64(n)
	if len(t.buf)+len(p) <= t.size && t.pos == 0 {
		t.buf = append(t.buf, p...)
		return n, nil
	}
	if len(p) >= t.size {
		t.buf = append(t.buf[:0], p[len(p)-t.size:]...)
		t.pos = 0
		return n, nil
	}
	if len(t.buf) < t.size {
		// Fill up to size first; what is left wraps to the front.
		fill := t.size - len(t.buf)
		t.buf = append(t.buf, p[:fill]...)
		p = p[fill:]
	}
	for len(p) > 0 {
		c := copy(t.buf[t.pos:], p)
		p = p[c:]
		t.pos = (t.pos + c) % t.size
	}
	return n, nil
}

// cut says whether older bytes may have been dropped. Exactly size bytes count as cut: a Range
// answer of the newest size bytes does not say whether the file was longer.
func (t *tailBuffer) cut() bool { return t.total >= int64(t.size) }

// bytes returns the kept bytes, oldest first. It rotates the buffer in place, so it is called once,
// after the last write.
func (t *tailBuffer) bytes() []byte {
	if t.pos > 0 {
		reverse(t.buf[:t.pos])
		reverse(t.buf[t.pos:])
		reverse(t.buf)
		t.pos = 0
	}
	return t.buf
}

func reverse(b []byte) {
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
}

// lastLines returns the last n lines of data (n ≤ 0: all of it). When cut says data starts in
// the middle of a line, that partial first line is dropped too.
func lastLines(data []byte, cut bool, n int64) []byte {
	if cut {
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			data = data[i+1:]
		} else {
			data = nil
		}
	}
	if n <= 0 {
		return data
	}
	// The newline that ends the last line does not start another.
	end := len(data)
	if end > 0 && data[end-1] == '\n' {
		end--
	}
	for i := end - 1; i >= 0; i-- {
		if data[i] == '\n' {
			if n--; n == 0 {
				return data[i+1:]
			}
		}
	}
	return data
}
