# escape=\
# héllo wörld
ARG BASE=debian:bookworm
from --platform=linux/amd64 debian:bookworm
copy . \
    C:\app\

run ["/bin/sh", "-c", "apt-get update"]
