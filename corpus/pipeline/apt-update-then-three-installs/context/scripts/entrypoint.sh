#!/bin/sh
set -e
exec make -C /work "$@"
