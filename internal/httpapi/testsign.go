package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"vanban/internal/admin"
	"vanban/internal/document"
)

// Test signing of a leader's identity (admin.TestSigning): POST starts it
// (202 while the phone decides, 200 once known), GET follows it.

func testSignRoutes() []route {
	return []route{
		{Method: "POST", Path: "/users/:id/signing-identity/test", Summary: "Sign a dummy digest through the leader's provider and show the certificate and whether the signature verified (admin or self)", Tag: "directory", Response: "TestSigning", Status: 202, Handler: (*API).startTestSign},
		{Method: "GET", Path: "/users/:id/signing-identity/test/:test", Summary: "A test signing's state: pending, verified or failed, with the certificate", Tag: "directory", Response: "TestSigning", Handler: (*API).getTestSign},
	}
}

func init() {
	schemas["TestSigning"] = admin.TestSign{}
}

func (api *API) startTestSign(c *gin.Context) {
	if api.TestSigning == nil {
		api.fail(c, document.Errorf(document.ECONFLICT, "test signing is not available on this server"))
		return
	}
	ts, err := api.TestSigning.Start(c.Request.Context(), actor(c), c.Param("id"))
	if err != nil {
		api.fail(c, err)
		return
	}
	status := http.StatusOK
	if ts.State == admin.TestPending {
		status = http.StatusAccepted
	}
	c.JSON(status, ts)
}

func (api *API) getTestSign(c *gin.Context) {
	if api.TestSigning == nil {
		api.fail(c, document.Errorf(document.ENOTFOUND, "test signing is not available on this server"))
		return
	}
	ts, err := api.TestSigning.Status(c.Request.Context(), actor(c), c.Param("id"), c.Param("test"))
	if err != nil {
		api.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, ts)
}
