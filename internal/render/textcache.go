package render

import (
	"container/list"
	"crypto/sha256"
	"slices"
	"sync"
)

// The same PDF's text is asked for several times within seconds: the
// signature-block proposal when the draft is uploaded, the check that the
// signature boxes cover no text when it is signed, the search index in the
// background. Extraction is one WebAssembly call per character and value,
// so the engine keeps the pages it extracted last, by the document's
// SHA-256 (the bytes decide the text; nothing else does).

// textCacheChars bounds the characters the cache holds (about 56 bytes
// each, 11 MB in all): some seventy ordinary pages, plenty for the seconds
// between an upload and its index.
const textCacheChars = 200_000

type textKey struct {
	doc    [sha256.Size]byte
	page   int
	styles bool
}

type textCache struct {
	mu    sync.Mutex
	order *list.List // of *textEntry, most recent first
	byKey map[textKey]*list.Element
	chars int
}

type textEntry struct {
	key  textKey
	text *PageText
}

func newTextCache() *textCache {
	return &textCache{order: list.New(), byKey: map[textKey]*list.Element{}}
}

// get returns a copy of the cached page; a page extracted with styles also
// serves a request without them.
func (c *textCache) get(k textKey) (*PageText, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[k]
	withStyles := false
	if !ok && !k.styles {
		k.styles = true
		el, ok = c.byKey[k]
		withStyles = ok
	}
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(el)
	t := clonePageText(el.Value.(*textEntry).text)
	if withStyles {
		for i := range t.Chars {
			t.Chars[i].Bold, t.Chars[i].Italic = false, false
		}
	}
	return t, true
}

func (c *textCache) put(k textKey, t *PageText) {
	if len(t.Chars) > textCacheChars/4 {
		return // one huge page would push out everything else
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[k]; ok {
		c.order.MoveToFront(el)
		return
	}
	c.byKey[k] = c.order.PushFront(&textEntry{key: k, text: clonePageText(t)})
	c.chars += len(t.Chars)
	for c.chars > textCacheChars {
		last := c.order.Back()
		e := last.Value.(*textEntry)
		c.order.Remove(last)
		delete(c.byKey, e.key)
		c.chars -= len(e.text.Chars)
	}
}

func clonePageText(t *PageText) *PageText {
	out := *t
	out.Chars = slices.Clone(t.Chars)
	return &out
}
