package applebusiness

import (
	"context"
	"crypto/elliptic"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestTokenVerifiedAndReused(t *testing.T) {
	key := newKey(t, elliptic.P256())
	clk := newClock()
	fake := newFakeApple(t, &key.PublicKey, clk.Now)
	fake.assigned["F2LXK0A1HG7J"] = testServerID
	fake.tokenDelay = 50 * time.Millisecond // let the concurrent callers pile up on one refresh
	c, err := New(fake.config(key))
	if err != nil {
		t.Fatal(err)
	}

	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for range 100 {
		wg.Go(func() {
			id, ok, err := c.AssignedServer(context.Background(), "F2LXK0A1HG7J")
			if err == nil && (!ok || id != testServerID) {
				err = errors.New("wrong answer " + id)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := c.TokensFetched(); got != 1 {
		t.Errorf("TokensFetched = %d after 100 calls, want 1", got)
	}
	if tokens, api := fake.counts(); tokens != 1 || api != 100 {
		t.Errorf("token requests %d, API requests %d; want 1 and 100 (rejections %v)", tokens, api, fake.rejections)
	}
}

func TestWrongCredentialsRefused(t *testing.T) {
	registered := newKey(t, elliptic.P256())
	for name, edit := range map[string]func(*Config){
		"another key":       func(c *Config) { c.PrivateKey = newKey(t, elliptic.P256()) },
		"another key id":    func(c *Config) { c.KeyID = "0000" },
		"another client id": func(c *Config) { c.ClientID = "BUSINESSAPI.other" },
	} {
		t.Run(name, func(t *testing.T) {
			fake := newFakeApple(t, &registered.PublicKey, time.Now)
			fake.assigned["S1"] = testServerID
			cfg := fake.config(registered)
			edit(&cfg)
			c, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = c.AssignedServer(context.Background(), "S1")
			ae, ok := AsAPIError(err)
			if !ok || ae.Status != http.StatusBadRequest || ae.Temporary() {
				t.Fatalf("error %v, want a permanent *APIError 400", err)
			}
			if len(fake.rejections) == 0 {
				t.Fatalf("the fake did not refuse the assertion")
			}
			for _, want := range []string{"request an access token", "APPLE_KEY_ID", "S1"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
			if c.TokensFetched() != 0 {
				t.Errorf("TokensFetched = %d", c.TokensFetched())
			}
		})
	}
}

func TestTokenRefreshedBeforeExpiry(t *testing.T) {
	key := newKey(t, elliptic.P256())
	clk := newClock()
	fake := newFakeApple(t, &key.PublicKey, clk.Now)
	fake.assigned["S1"] = ""
	c, err := New(fake.config(key))
	if err != nil {
		t.Fatal(err)
	}
	call := func() {
		t.Helper()
		if _, assigned, err := c.AssignedServer(context.Background(), "S1"); err != nil || assigned {
			t.Fatalf("AssignedServer: %v, assigned %t", err, assigned)
		}
	}
	call()
	clk.Advance(58 * time.Minute)
	call()
	if got := c.TokensFetched(); got != 1 {
		t.Errorf("after 58 minutes: TokensFetched = %d, want 1", got)
	}
	clk.Advance(90 * time.Second) // 59m30s: inside the last minute of a 3600 s token
	call()
	if got := c.TokensFetched(); got != 2 {
		t.Errorf("after 59m30s: TokensFetched = %d, want 2", got)
	}
	clk.Advance(2 * time.Hour)
	call()
	if got := c.TokensFetched(); got != 3 {
		t.Errorf("after expiry: TokensFetched = %d, want 3", got)
	}
}

func TestShortLivedToken(t *testing.T) {
	key := newKey(t, elliptic.P256())
	clk := newClock()
	fake := newFakeApple(t, &key.PublicKey, clk.Now)
	fake.expiry = 30 // shorter than the refresh margin: still used, for half its life
	fake.assigned["S1"] = ""
	c, _ := New(fake.config(key))
	for range 3 {
		if _, _, err := c.AssignedServer(context.Background(), "S1"); err != nil {
			t.Fatal(err)
		}
	}
	if c.TokensFetched() != 1 {
		t.Errorf("TokensFetched = %d, want 1", c.TokensFetched())
	}
	clk.Advance(20 * time.Second)
	c.AssignedServer(context.Background(), "S1")
	if c.TokensFetched() != 2 {
		t.Errorf("TokensFetched = %d, want 2", c.TokensFetched())
	}
}

func TestUnauthorizedRefreshesOnce(t *testing.T) {
	key := newKey(t, elliptic.P256())
	fake := newFakeApple(t, &key.PublicKey, time.Now)
	fake.assigned["S1"] = testServerID
	c, _ := New(fake.config(key))
	ctx := context.Background()
	if _, _, err := c.AssignedServer(ctx, "S1"); err != nil {
		t.Fatal(err)
	}

	fake.revokeAll() // Apple no longer accepts the cached token
	if _, _, err := c.AssignedServer(ctx, "S1"); err != nil {
		t.Fatalf("after a 401 the client should fetch a new token and succeed: %v", err)
	}
	if tokens, api := fake.counts(); c.TokensFetched() != 2 || tokens != 2 || api != 3 {
		t.Errorf("TokensFetched %d, token requests %d, API requests %d; want 2, 2, 3", c.TokensFetched(), tokens, api)
	}

	// Apple refuses every token: exactly one retry, then a 401 that says what to check.
	fake.fault = func(w http.ResponseWriter, r *http.Request) bool {
		appleError(w, 401, "NOT_AUTHORIZED", "Authentication credentials are missing or invalid.", "")
		return true
	}
	_, _, err := c.AssignedServer(ctx, "S1")
	ae, ok := AsAPIError(err)
	if !ok || ae.Status != 401 || ae.Temporary() || !strings.Contains(err.Error(), "APPLE_CLIENT_ID") {
		t.Fatalf("error %v, want a permanent 401 naming the credentials", err)
	}
	if tokens, api := fake.counts(); tokens != 3 || api != 5 {
		t.Errorf("token requests %d, API requests %d; want 3 and 5 (one retry only)", tokens, api)
	}
}

func TestTokenEndpointErrors(t *testing.T) {
	key := newKey(t, elliptic.P256())
	fake := newFakeApple(t, &key.PublicKey, time.Now)
	fake.tokenFault = func(w http.ResponseWriter, r *http.Request) bool {
		w.Header().Set("Retry-After", "12")
		appleError(w, 503, "UNAVAILABLE", "Service unavailable", "try later")
		return true
	}
	c, _ := New(fake.config(key))
	_, err := c.Activity(context.Background(), "a-1")
	ae, ok := AsAPIError(err)
	if !ok || ae.Status != 503 || !ae.Temporary() || ae.RetryAfter != 12*time.Second {
		t.Fatalf("error %v, want a temporary 503 with Retry-After 12s", err)
	}
	if !strings.Contains(err.Error(), "read activity a-1") {
		t.Errorf("error %q does not say what it was needed for", err)
	}
}

func TestCancelledWaiterLeavesRefreshToOthers(t *testing.T) {
	key := newKey(t, elliptic.P256())
	fake := newFakeApple(t, &key.PublicKey, time.Now)
	fake.assigned["S1"] = ""
	fake.tokenDelay = 100 * time.Millisecond
	c, _ := New(fake.config(key))

	ctx, cancel := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() { _, _, err := c.AssignedServer(ctx, "S1"); first <- err }()
	time.Sleep(20 * time.Millisecond) // the first caller starts the refresh
	second := make(chan error, 1)
	go func() { _, _, err := c.AssignedServer(context.Background(), "S1"); second <- err }()
	cancel()
	if err := <-first; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled caller: %v", err)
	}
	if err := <-second; err != nil {
		t.Errorf("the other caller failed with the first one's cancellation: %v", err)
	}
	if c.TokensFetched() != 1 {
		t.Errorf("TokensFetched = %d, want 1", c.TokensFetched())
	}
}
