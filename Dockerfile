# syntax=docker/dockerfile:1
# One image with Offboard's commands: /app/worker, /app/starter, /app/simulator, /app/codec, /app/intake.

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/ ./worker ./starter ./simulator ./codec ./intake
RUN mkdir /data

FROM debian:trixie-slim
# CA roots for Temporal Cloud, Apple and a real console; bash (in the base) serves the healthchecks.
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/ /app/
# The simulator keeps its state in /data (a volume, which takes this owner).
COPY --from=build --chown=65532:65532 /data /data
USER 65532:65532
WORKDIR /app
CMD ["/app/worker"]
