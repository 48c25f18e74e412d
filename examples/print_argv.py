#!/usr/bin/env python3
"""Prints the arguments it was started with as one JSON line, so a test (or
you) can see exactly the argv a catalog task was launched with."""

import json
import sys

print("ARGV=" + json.dumps(sys.argv[1:]), flush=True)
