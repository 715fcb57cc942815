package local_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"vanban/storage"
	"vanban/storage/local" // also registers file:// with storage.Open
)

// A document version is stored under its SHA-256, read back with the digest
// checked, and handed out through a signed link that the HTTP layer verifies.
func Example() {
	dir, _ := os.MkdirTemp("", "vanban-example-")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	secret := []byte("a 32-byte secret from the config")

	s, err := storage.Open(ctx, "file://"+dir, storage.OpenOptions{LinkSecret: secret})
	if err != nil {
		fmt.Println(err)
		return
	}
	obj, err := s.PutContentAddressed(ctx, strings.NewReader("%PDF-1.7 ..."), storage.PutOptions{
		ContentType: "application/pdf",
		RetainUntil: time.Now().AddDate(10, 0, 0),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(obj.Key)

	rc, _, err := s.Get(ctx, obj.Key)
	if err != nil {
		fmt.Println(err)
		return
	}
	b, err := io.ReadAll(rc) // err would be storage.ErrIntegrity if the file were altered
	rc.Close()
	fmt.Println(string(b), err)

	err = s.Delete(ctx, obj.Key)
	fmt.Println(errors.Is(err, storage.ErrRetained))

	link, _ := s.PresignGet(ctx, obj.Key, 0, "Quyết định 05.pdf")
	u, _ := url.Parse(link)
	key, err := local.VerifyLink(secret, u.Path, u.Query(), time.Now())
	fmt.Println(key == obj.Key, err, storage.ContentDisposition(u.Query().Get("filename")))
	// Output:
	// sha256/cd/98/cd98c5bce101ab55699a781edbbbe1200ca6e9379791420c3eb9b9fb73cbb173
	// %PDF-1.7 ... <nil>
	// true
	// true <nil> attachment; filename*=utf-8''Quy%E1%BA%BFt%20%C4%91%E1%BB%8Bnh%2005.pdf
}
