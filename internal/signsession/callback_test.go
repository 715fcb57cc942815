package signsession_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"vanban/signing"
)

// callbacks is a provider that also notifies by HTTP callback, like vendor
// REST APIs do: the callback is authenticated by a shared secret and
// carries the outcome, which it learns from the wrapped provider.
type callbacks struct {
	signing.Provider
}

func (c *callbacks) ParseCallback(r *http.Request) (*signing.Result, error) {
	if r.Header.Get("X-Callback-Secret") != "secret" {
		return nil, &signing.Error{Kind: signing.KindUnauthorized, Message: "bad callback secret"}
	}
	if err := r.ParseForm(); err != nil {
		return nil, err
	}
	tx := r.PostForm.Get("tx")
	return c.Provider.Poll(r.Context(), tx, 0)
}

func httptestRequest(txID, secret string) func() *http.Request {
	return func() *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/callbacks/mobile", strings.NewReader(url.Values{"tx": {txID}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("X-Callback-Secret", secret)
		return r
	}
}
