#!/bin/sh
exec yt-dlp -o '/out/%(title)s.%(ext)s' "$@"
