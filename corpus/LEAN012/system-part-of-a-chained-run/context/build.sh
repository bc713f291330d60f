#!/bin/sh
set -eu
javac -d build App.java && cd build && zip -r ../app.jar .
