// Command simulator runs the Offboard simulator as its own process: the console API, Apple's
// Apple Business API and the /sim administration API on one listener. See docs/simulator.md.
//
// Configuration (a flag wins over its environment variable):
//
//	--listen              SIM_LISTEN                 127.0.0.1:8088
//	--console-token-file  SIM_CONSOLE_TOKEN_FILE, CONSOLE_TOKEN_FILE, or the token in CONSOLE_TOKEN
//	--apple-client-id     APPLE_CLIENT_ID
//	--apple-key-id        APPLE_KEY_ID
//	--apple-public-key    SIM_APPLE_PUBLIC_KEY_FILE (PEM), or derived from APPLE_PRIVATE_KEY_FILE
//	--apple-server-id     APPLE_SERVER_ID            SIMULATED-MDM-SERVER
//	--time-scale          SIM_TIME_SCALE             3600 (an hour of device time per second)
//	--state-file          SIM_STATE_FILE             (none: state in memory only)
//	--seed                SIM_SEED                   a JSON file of device specs to add at start
//	--apple-get-per-minute  SIM_APPLE_GET_PER_MINUTE 20 (Apple's GET budget per simulated minute; 0: off)
//	--apple-post-per-hour   SIM_APPLE_POST_PER_HOUR  10 (Apple's POST budget per simulated hour; 0: off)
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/offboard/offboard/internal/applebusiness"
	"github.com/offboard/offboard/internal/simulator"
)

func main() {
	log, err := zap.NewProduction()
	if err != nil {
		fmt.Fprintln(os.Stderr, "simulator: start the logger:", err)
		os.Exit(1)
	}
	defer func() { _ = log.Sync() }()
	if err := run(log); err != nil {
		log.Error("simulator stopped", zap.Error(err))
		os.Exit(1)
	}
}

type options struct {
	listen, tokenFile, clientID, keyID, publicKeyFile, privateKeyFile, serverID, stateFile, seed string
	timeScale                                                                                    float64
	activityDelay, deleteDelay, reappearAfter                                                    time.Duration
	appleGetPerMinute, applePostPerHour                                                          int
}

func parseFlags() (options, error) {
	var o options
	scale, err := strconv.ParseFloat(envOr("3600", "SIM_TIME_SCALE"), 64)
	if err != nil {
		return o, fmt.Errorf("SIM_TIME_SCALE: %w", err)
	}
	flag.StringVar(&o.listen, "listen", envOr("127.0.0.1:8088", "SIM_LISTEN"), "listen address; keep it on localhost: /sim has no authentication")
	flag.StringVar(&o.tokenFile, "console-token-file", envOr("", "SIM_CONSOLE_TOKEN_FILE", "CONSOLE_TOKEN_FILE"), "file holding the console bearer token (else CONSOLE_TOKEN)")
	flag.StringVar(&o.clientID, "apple-client-id", envOr("", "APPLE_CLIENT_ID"), "Apple Business API client id whose assertions are accepted")
	flag.StringVar(&o.keyID, "apple-key-id", envOr("", "APPLE_KEY_ID"), "key id (kid) of the client assertions")
	flag.StringVar(&o.publicKeyFile, "apple-public-key", envOr("", "SIM_APPLE_PUBLIC_KEY_FILE"), "PEM file of the P-256 public key that verifies client assertions")
	flag.StringVar(&o.privateKeyFile, "apple-private-key", envOr("", "APPLE_PRIVATE_KEY_FILE"), "PEM file of the private key, to derive the public key from")
	flag.StringVar(&o.serverID, "apple-server-id", envOr(simulator.DefaultAppleServerID, "APPLE_SERVER_ID"), "id of the console's MDM server in Apple Business Manager")
	flag.Float64Var(&o.timeScale, "time-scale", scale, "simulated seconds per real second")
	flag.StringVar(&o.stateFile, "state-file", envOr("", "SIM_STATE_FILE"), "JSON file the state is kept in across restarts")
	flag.StringVar(&o.seed, "seed", envOr("", "SIM_SEED"), "JSON file of device specs (one or a list) to add at start; serials present already are skipped")
	flag.DurationVar(&o.activityDelay, "activity-delay", simulator.DefaultActivityDelay, "simulated time an Apple activity stays IN_PROGRESS")
	flag.DurationVar(&o.deleteDelay, "delete-delay", simulator.DefaultDeleteDelay, "simulated time a deleted record keeps answering")
	flag.DurationVar(&o.reappearAfter, "reappear-after", simulator.DefaultReappearAfter, "simulated time after which a deleted, still-assigned ADE device reappears as pre-registered")
	getBudget, err := envInt("SIM_APPLE_GET_PER_MINUTE", simulator.DefaultAppleGetPerMinute)
	if err != nil {
		return o, err
	}
	postBudget, err := envInt("SIM_APPLE_POST_PER_HOUR", simulator.DefaultApplePostPerHour)
	if err != nil {
		return o, err
	}
	flag.IntVar(&o.appleGetPerMinute, "apple-get-per-minute", getBudget, "Apple Business API GET requests allowed per simulated minute before 429 (0: no limit)")
	flag.IntVar(&o.applePostPerHour, "apple-post-per-hour", postBudget, "Apple Business API POST requests allowed per simulated hour before 429 (0: no limit)")
	flag.Parse()
	if o.appleGetPerMinute < 0 || o.applePostPerHour < 0 {
		return o, errors.New("--apple-get-per-minute and --apple-post-per-hour cannot be negative (0 turns the budget off)")
	}
	return o, nil
}

// appleBudget turns a budget flag (0: off) into the Config field (0: the default, negative: off).
func appleBudget(n int) int {
	if n == 0 {
		return simulator.AppleBudgetOff
	}
	return n
}

func envInt(name string, def int) (int, error) {
	v := envOr("", name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", name, err)
	}
	return n, nil
}

func run(log *zap.Logger) error {
	o, err := parseFlags()
	if err != nil {
		return err
	}
	token, err := consoleToken(o.tokenFile)
	if err != nil {
		return err
	}
	pub, err := applePublicKey(o.publicKeyFile, o.privateKeyFile)
	if err != nil {
		return err
	}
	if pub == nil || o.clientID == "" || o.keyID == "" {
		log.Warn("Apple Business API not configured: the token endpoint refuses every client (set APPLE_CLIENT_ID, APPLE_KEY_ID and a key file)")
	}
	sim, err := simulator.New(simulator.Config{
		ConsoleToken: token, AppleClientID: o.clientID, AppleKeyID: o.keyID, ApplePublicKey: pub,
		AppleServerID: o.serverID, TimeScale: o.timeScale, StateFile: o.stateFile,
		ActivityDelay: o.activityDelay, DeleteDelay: o.deleteDelay, ReappearAfter: o.reappearAfter,
		AppleGetPerMinute: appleBudget(o.appleGetPerMinute), ApplePostPerHour: appleBudget(o.applePostPerHour),
		Logger: log,
	})
	if err != nil {
		return err
	}
	if err := seed(sim, o.seed, log); err != nil {
		_ = sim.Close()
		return err
	}

	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		_ = sim.Close()
		return fmt.Errorf("listen on %s: %w", o.listen, err)
	}
	if host, _, _ := net.SplitHostPort(o.listen); !isLoopback(host) {
		log.Warn("listening beyond localhost: /sim has no authentication; anyone who reaches it can change the devices", zap.String("listen", o.listen))
	}
	srv := &http.Server{Handler: sim.Handler(), ReadHeaderTimeout: 10 * time.Second}
	log.Info("simulator listening", zap.String("addr", ln.Addr().String()), zap.Float64("timeScale", o.timeScale),
		zap.Int("appleGetPerMinute", o.appleGetPerMinute), zap.Int("applePostPerHour", o.applePostPerHour),
		zap.String("stateFile", o.stateFile), zap.String("appleServerID", o.serverID), zap.Time("simNow", sim.Now()))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err = <-served:
	case <-ctx.Done():
		log.Info("shutting down")
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = srv.Shutdown(shutdown)
		cancel()
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	if cerr := sim.Close(); cerr != nil {
		return errors.Join(err, cerr)
	}
	log.Info("state saved", zap.String("stateFile", o.stateFile))
	return err
}

// consoleToken reads the token from a file (preferred) or CONSOLE_TOKEN. It is never logged.
func consoleToken(file string) (string, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("read the console token file: %w", err)
		}
		if t := strings.TrimSpace(string(b)); t != "" {
			return t, nil
		}
		return "", fmt.Errorf("the console token file %s is empty", file)
	}
	if t := strings.TrimSpace(os.Getenv("CONSOLE_TOKEN")); t != "" {
		return t, nil
	}
	return "", errors.New("no console token: set SIM_CONSOLE_TOKEN_FILE (or CONSOLE_TOKEN_FILE, or CONSOLE_TOKEN)")
}

// applePublicKey reads a PEM public key, or derives it from the private key the worker uses.
func applePublicKey(publicFile, privateFile string) (*ecdsa.PublicKey, error) {
	if publicFile != "" {
		b, err := os.ReadFile(publicFile)
		if err != nil {
			return nil, fmt.Errorf("read the Apple public key file: %w", err)
		}
		block, _ := pem.Decode(b)
		if block == nil {
			return nil, fmt.Errorf("the Apple public key file %s is not PEM", publicFile)
		}
		key, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("the Apple public key file %s: %w", publicFile, err)
		}
		ec, ok := key.(*ecdsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("the Apple public key file %s does not hold an ECDSA key", publicFile)
		}
		return ec, nil
	}
	if privateFile != "" {
		key, err := applebusiness.LoadPrivateKey(privateFile)
		if err != nil {
			return nil, err
		}
		return &key.PublicKey, nil
	}
	return nil, nil
}

// seed adds the devices of a spec file that the simulator does not have yet, so a restart with
// the same --seed and a state file keeps the devices as they are.
func seed(sim *simulator.Simulator, file string, log *zap.Logger) error {
	if file == "" {
		return nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("read the seed file: %w", err)
	}
	specs, err := simulator.DecodeDeviceSpecs(b)
	if err != nil {
		return fmt.Errorf("seed file %s: %w", file, err)
	}
	var fresh []simulator.DeviceSpec
	for _, spec := range specs {
		if _, ok := sim.Device(spec.Serial); !ok {
			fresh = append(fresh, spec)
		}
	}
	if err := sim.AddDevices(fresh...); err != nil {
		return fmt.Errorf("seed file %s: %w", file, err)
	}
	log.Info("seeded devices", zap.Int("added", len(fresh)), zap.Int("present", len(specs)-len(fresh)))
	return nil
}

func envOr(def string, names ...string) string {
	for _, n := range names {
		if v := strings.TrimSpace(os.Getenv(n)); v != "" {
			return v
		}
	}
	return def
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
