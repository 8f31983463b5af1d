#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# t_60_http_tenants on the TC ingress hook: the same tenants, load and checks.
SL_HTTP_HOOK=tc exec bash "$(dirname "$0")/t_60_http_tenants.sh"
