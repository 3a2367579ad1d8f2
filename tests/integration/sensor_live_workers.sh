#!/usr/bin/env bash
# Live capture with capture.workers=2 (sensor/pipeline.c: a reader thread and two
# workers): sensor_live.sh's scenario and checks, plus the worker threads, a SIGHUP
# handled, no ring drops and no sanitizer report (it also runs on TSan builds).
export LIVE_WORKERS=2
. "$(dirname "$0")/sensor_live.sh"
