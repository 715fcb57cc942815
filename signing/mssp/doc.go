// Package mssp is a mobile signature service provider (MSSP) simulator for
// development, the default install and tests. It speaks the ETSI TS 102 204
// subset that signing/etsi204 uses (MSS_SignatureReq in synch and
// asynchClientServer modes, MSS_StatusReq, SOAP 1.1 and 1.2, faults with
// `_NNN` subcodes), serves the certificate lookup of etsi204.HTTPLookup, and
// holds one SIM per phone number with a key it issues on first use:
// RSA-2048 for numbers ending in an even digit, P-256 for odd ones, unless
// Options.Phones says otherwise.
//
// # Endpoints
//
//	GET  /                          this documentation for a browser; ?msisdn=N opens a phone
//	POST /soap                      MSS_SignatureReq, MSS_StatusReq (Options.SOAPPath)
//	GET  /certificates?msisdn=N     PEM chain of N's SIM key (Options.CertPath), AP
//	                                credentials in headers X-MSS-AP-ID and X-MSS-AP-PWD
//	GET  /phone/N                   the virtual phone of N (Options.PhonePath)
//	GET  /phone/N/status            its state as JSON, polled by the page
//	POST /phone/N/pin               form field pin: approve the pending request
//	POST /phone/N/decline           decline it
//
// Transactions expire after the request's TimeOut (capped by
// Options.MaxTimeout) with 208, and stay queryable for Options.Retention
// after they end. A request repeated with the same AP_ID and AP_TransID is
// the same transaction (no second prompt), unless the first failed in a way
// a retry may cure (209, 900).
//
// A SIM handles one transaction at a time: a second request while one is
// pending is refused with 406. Three wrong PINs block the SIM: the pending
// request fails with 402 and later ones are refused with 402.
//
// # Scenario numbers
//
// Numbers of the form 8490CCC000K answer by themselves after
// Options.Latency, with no one at the phone; CCC picks the scenario and K
// the key type as usual (even: RSA, odd: P-256). ScenarioMSISDN builds them.
//
//	CCC  scenario               outcome the client sees
//	500  approve                signature, valid
//	401  decline                fault 401 USER_CANCEL
//	208  time out               fault 208 EXPIRED_TRANSACTION
//	209  phone absent           fault 209 OTA_ERROR
//	402  PIN blocked            fault 402 PIN_NR_BLOCKED
//	422  no certificate         fault 422 NO_CERT_FOUND at once; lookup 404
//	404  no key                 fault 404 NO_KEY_FOUND at once; lookup 404
//	406  busy                   fault 406 PB_SIGNATURE_PROCESS at once
//	990  wrong key              a signature by another key (the client must reject it)
//	991  signs another digest   a signature over other data (the client must reject it)
//
// For example 84905000002 approves with RSA and 84904010001 declines with
// P-256. Every other number waits for the virtual phone page or the Phone
// API, unless Options.AutoApprove is set (load tests), in which case it
// approves after Latency.
//
// # TLS
//
// The Server is an http.Handler; run it behind any listener. With
// Options.RequireClientCert the SOAP and lookup endpoints refuse callers
// without a client certificate verified against Options.ClientCAs (mutual
// TLS of the application provider); TLSConfig builds the matching server
// configuration, e.g. for httptest.NewUnstartedServer.
package mssp
