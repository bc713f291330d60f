# escape=\
from debian:bookworm
run apt-get update && \
# line sep
    apt-get update

run ["/bin/sh", "-c", "apt-get update"]

run ["/bin/sh", "-c", "apt-get update"]
from debian:bookworm
from --platform=linux/amd64 debian:bookworm
run apt-get update

run ["/bin/sh", "-c", "apt-get update"]
run apt-get update && apt-get update && \
    apt-get install -y curl