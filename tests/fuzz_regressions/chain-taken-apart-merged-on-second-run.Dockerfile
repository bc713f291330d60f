# escape=\
from debian:bookworm
add https://example.com/a.tgz /app

run ["/bin/sh", "-c", "apt-get update"]
run ["/bin/sh", "-c", "apt-get update"]
run ["/bin/sh", "-c", "apt-get update"]

run ["/bin/sh", "-c", "apt-get update"]

run ["/bin/sh", "-c", "apt-get update"]

run apt-get update
from --platform=linux/amd64 debian:bookworm AS builder1
run ["/bin/sh", "-c", "apt-get update"]
run ["/bin/sh", "-c", "apt-get update"]
run ["/bin/sh", "-c", "apt-get update"]

from --platform=linux/amd64 debian:bookworm
run apt-get update
run rm -rf /var/lib/apt/lists/* && apt-get install -y curl

run ["/bin/sh", "-c", "apt-get update"]