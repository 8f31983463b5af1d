#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# t_90_reject on the TC ingress hook: the same clients, refusals and checks.
SL_HTTP_HOOK=tc exec bash "$(dirname "$0")/t_90_reject.sh"
