// The codec server: it decodes (and encodes) Offboard's encrypted payloads for the Temporal Web UI
// and the temporal CLI, for operators who hold its token. It speaks the codec server protocol,
// POST /decode and /encode with {"payloads": [...]}.
//
//	codec                      serve (CODEC_KEY_FILE, CODEC_LISTEN, CODEC_TOKEN_FILE, CODEC_CORS_ORIGIN)
//	codec keygen -file PATH    put a new key first in a key file (made 0600 if new): it encrypts
//	                           from the next start of each worker and client; the older keys
//	                           stay to decrypt what they encrypted
//
// See docs/codec.md.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/offboard/offboard/internal/codec"
	"github.com/offboard/offboard/internal/config"
	"github.com/offboard/offboard/internal/logging"
)

func main() {
	var err error
	switch {
	case len(os.Args) > 1 && os.Args[1] == "keygen":
		err = keygen(os.Args[2:], os.Stdout)
	case len(os.Args) > 1 && os.Args[1] != "serve":
		err = fmt.Errorf("unknown command %q: codec [serve] | codec keygen -file PATH [-id ID]", os.Args[1])
	default:
		err = serve()
	}
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "codec:", err)
		os.Exit(1)
	}
}

func serve() error {
	cfg, err := config.LoadCodecServer()
	if err != nil {
		return err
	}
	logger, err := logging.New("info", "console")
	if err != nil {
		return err
	}
	defer func() { _ = logger.Sync() }()
	keys, err := codec.LoadKeyFile(cfg.KeyFile)
	if err != nil {
		return fmt.Errorf("CODEC_KEY_FILE: %w", err)
	}
	h, err := codec.NewServer(codec.ServerOptions{Codec: codec.New(keys), Token: cfg.Token, Origins: cfg.Origins(), Logger: logger})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("CODEC_LISTEN: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute,
		WriteTimeout: time.Minute, IdleTimeout: 2 * time.Minute}
	logger.Info("codec server listening", zap.String("address", "http://"+ln.Addr().String()),
		zap.Strings("corsOrigins", cfg.Origins()), zap.String("encryptingKeyID", keys.EncryptKeyID()), zap.Strings("keyIDs", keys.IDs()),
		zap.String("webUIEndpoint", "http://"+ln.Addr().String()+"/t/<token>"))

	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("stopping the codec server")
	shut, done := context.WithTimeout(context.Background(), 5*time.Second)
	defer done()
	return srv.Shutdown(shut)
}

// keygen writes a new random key as the first line of the key file, keeping the others.
func keygen(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("keygen", flag.ContinueOnError)
	file := fs.String("file", "", "the key file (created, mode 0600, when it does not exist)")
	id := fs.String("id", "k-"+time.Now().UTC().Format("20060102-150405"), "the new key's ID")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *file == "" {
		return errors.New("keygen: -file is required")
	}
	old, err := os.ReadFile(*file)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("keygen: %w", err)
	}
	raw := make([]byte, codec.KeySize)
	if _, err := rand.Read(raw); err != nil {
		return fmt.Errorf("keygen: %w", err)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s\n", *id, base64.StdEncoding.EncodeToString(raw))
	clear(raw)
	b.Write(old)
	// Check the result as the workers will read it (a duplicate ID, a broken old line).
	keys, err := codec.ParseKeys(bytes.NewReader(b.Bytes()), *file)
	if err != nil {
		return fmt.Errorf("keygen: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(*file), ".codec-keys-*")
	if err != nil {
		return fmt.Errorf("keygen: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("keygen: %w", err)
	}
	if _, err := tmp.Write(b.Bytes()); err != nil {
		tmp.Close()
		return fmt.Errorf("keygen: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("keygen: %w", err)
	}
	if err := os.Rename(tmp.Name(), *file); err != nil {
		return fmt.Errorf("keygen: %w", err)
	}
	fmt.Fprintf(out, "%s: key %s added first; it encrypts once the workers, starters and codec server restart (%s)\n", *file, *id, keys)
	return nil
}
