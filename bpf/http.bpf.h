/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The HTTP layer: recognise request starts on the policy's ports, find the key, limit tenants. */
#ifndef SLUICE_HTTP_BPF_H
#define SLUICE_HTTP_BPF_H

#include "sluice_http.h"
#include "sluice_siphash.h"
#include "bucket.bpf.h"
#include "maps.bpf.h"
#include "parse.bpf.h"

/*
 * Scope (docs/http.md): the first segment of each HTTP/1.x request on a configured TCP port,
 * i.e. a segment whose payload starts with a method token. Its first SL_HTTP_SCAN bytes are
 * copied to a per-CPU scratch buffer and scanned there (sluice_http.h states the bounds).
 * Other segments (request bodies, non-HTTP) are left to the source rules.
 */

/* Whether the first payload byte can start a method (G, P, D, H, O): a cheap early exit. */
static __always_inline int sl_http_maybe_method(__u8 c)
{
	return c == 'G' || c == 'P' || c == 'D' || c == 'H' || c == 'O';
}

/*
 * Copy up to SL_HTTP_SCAN payload bytes at `off` into the scratch buffer. Returns the count.
 * TC reads through bpf_skb_load_bytes (paged data too); XDP frames are one linear buffer,
 * copied 8 bytes at a time by a bounded loop (bpf_xdp_load_bytes needs 5.18).
 */
static __always_inline __u32 sl_http_copy(void *ctx, int is_tc, void *data, void *data_end,
					  __u32 off, __u32 avail, __u8 *buf)
{
	__u64 n = avail < SL_HTTP_SCAN ? avail : SL_HTTP_SCAN;
	__u8 *src;
	__u32 i;

	if (is_tc) {
		if (n == 0 || n > SL_HTTP_SCAN)
			return 0;
		return bpf_skb_load_bytes(ctx, off, buf, n) ? 0 : n;
	}
	if (off > 0x3fff)
		return 0;
	src = data + (off & 0x3fff);
	for (i = 0; i < SL_HTTP_SCAN / 8; i++) { /* bound: 64 words */
		if ((void *)(src + 8) > data_end)
			break;
		*(__u64 *)(buf + i * 8) = *(__u64 *)src;
		src += 8;
	}
	i *= 8;
	for (int j = 0; j < 7; j++) { /* the tail, bytewise */
		if ((void *)(src + 1) > data_end || i >= SL_HTTP_SCAN)
			break;
		buf[i & SL_HTTP_MASK] = *src;
		src++;
		i++;
	}
	return i;
}

static __always_inline void sl_tstats_count(__u16 tenant, __u32 key_id, int outcome,
					    __u64 bytes)
{
	struct sl_tstats_key k = { .tenant = tenant, .group = 0xff, .key_id = key_id };
	struct sl_tstats *st, zero = {};

	st = bpf_map_lookup_elem(&sl_tstats_v1, &k);
	if (!st) {
		bpf_map_update_elem(&sl_tstats_v1, &k, &zero, BPF_NOEXIST);
		st = bpf_map_lookup_elem(&sl_tstats_v1, &k);
		if (!st)
			return;
	}
	/* Per-CPU value: plain adds are exact. */
	if (outcome == SL_O_PASS) {
		st->req_pass++;
		st->units++;
		st->bytes_in += bytes;
	} else if (outcome == SL_O_DROP) {
		st->req_drop++;
	} else {
		st->req_dryrun++;
		st->units++;
		st->bytes_in += bytes;
	}
}

/* One request against a bucket; returns SL_O_PASS, SL_O_DROP or SL_O_DRYRUN. */
static __always_inline int sl_http_take(struct sl_bucket *b, const struct sl_gcra_params *gp,
					__u8 flags, const struct sl_gcfg *g, int dry)
{
	__u64 now = (flags & SL_RF_FINE) ? sl_now_fine() : sl_now_tick(g->jiffy_tu);
	__u64 seen;

	if (sl_bucket_take(b, now, sl_gcra_charge(1, gp->interval, gp->shift), gp->tau, &seen) ==
	    SL_TAKE_OK)
		return SL_O_PASS;
	return dry ? SL_O_DRYRUN : SL_O_DROP;
}

/*
 * The request in the scratch buffer's segment (sl_http_enter() put it there). Returns SL_V_PASS
 * or SL_V_DROP. Runs inside sl_http_xdp()/sl_http_tc(), which the verifier checks once each
 * rather than once per path that leads to them: the scanners cost ~190k verifier steps.
 */
static __always_inline int sl_http_body(void *ctx, int is_tc, void *data, void *data_end)
{
	__u32 zero = 0, key_id = 0, tidx, off, gen;
	const struct sl_httpcfg *hc;
	const struct sl_tenant_cfg *tc;
	const struct sl_config *cfg;
	const struct sl_gcfg *g;
	struct sl_tenant_state *ts;
	struct sl_bucket *b;
	struct sl_keyval *kv;
	struct sl_scratch *sc;
	__u16 tenant = SL_TENANT_UNKNOWN;
	int rl, kr, o, dry;
	__u64 h, bytes;

	sc = bpf_map_lookup_elem(&sl_scratch_v1, &zero);
	cfg = bpf_map_lookup_elem(&sl_config_v1, &zero);
	if (!sc || !cfg)
		return SL_V_PASS;
	gen = sc->gen & 1;
	g = &cfg->g[gen];
	hc = bpf_map_lookup_elem(&sl_http_v1, &gen);
	if (!hc)
		return SL_V_PASS;
	bytes = sc->bytes;
	dry = sc->dry;
	off = sc->pkt.l4_off + sc->pkt.l4_hlen;
	if (bytes <= off)
		return SL_V_PASS;

	/*
	 * The copy ends in one of ~65 states with a different known length each; laundering the
	 * length through the map makes it one unknown value, so the scanners are verified once.
	 */
	*(volatile __u32 *)&sc->len = sl_http_copy(ctx, is_tc, data, data_end, off, bytes - off,
						   sc->buf);
	rl = sl_http_request_line(sc->buf, *(volatile __u32 *)&sc->len, &sc->method,
				  &sc->path_off, &sc->path_len, &sc->line_end);
	if (rl == SL_HTTP_RL_NOT_REQ)
		return SL_V_PASS;
	kr = sl_http_find_key(sc->buf, *(volatile __u32 *)&sc->len,
			      rl == SL_HTTP_RL_OK ? sc->line_end : 0, hc->key_flags, &sc->key_off,
			      &sc->key_len);
	if (kr == SL_HTTP_KEY_FOUND) {
		sc->sk.k0 = cfg->secret[0];
		sc->sk.k1 = cfg->secret[1];
		h = sl_siphash(&sc->sk, sc->buf, sc->key_off, sc->key_len);
		kv = bpf_map_lookup_elem(&sl_keys_v1, &h);
		if (kv && kv->tenant < SL_MAX_TENANTS) {
			tenant = kv->tenant;
			key_id = kv->key_id;
		}
	}

	if (tenant < SL_MAX_TENANTS) {
		tidx = gen * SL_MAX_TENANTS + tenant;
		tc = bpf_map_lookup_elem(&sl_tenants_v1, &tidx);
		tidx = tenant;
		ts = bpf_map_lookup_elem(&sl_tstate_v1, &tidx);
		if (!tc || !ts || !tc->in_use)
			return SL_V_PASS;
		o = sl_http_take((struct sl_bucket *)&ts->req_tat, &tc->req, tc->flags, g, dry);
	} else {
		/* No key, or a key no tenant owns: a bucket per source aggregate. */
		__builtin_memset(&sc->bk, 0, sizeof(sc->bk));
		sc->bk.slot = SL_SLOT_UNKNOWN_KEY;
		sc->bk.family = sc->pkt.family;
		__builtin_memcpy(sc->bk.addr, sc->pkt.saddr, 16);
		sl_prefix_mask((__u32 *)sc->bk.addr, sc->pkt.family == SL_AF_INET ?
							     hc->unknown_prefix4 :
							     hc->unknown_prefix6);
		b = bpf_map_lookup_elem(&sl_buckets_v1, &sc->bk);
		if (!b) {
			sc->fresh.tat = 0;
			bpf_map_update_elem(&sl_buckets_v1, &sc->bk, &sc->fresh, BPF_NOEXIST);
			b = bpf_map_lookup_elem(&sl_buckets_v1, &sc->bk);
		}
		if (!b) /* table full: refuse unknown clients rather than fail open */
			o = dry ? SL_O_DRYRUN : SL_O_DROP;
		else
			o = sl_http_take(b, &hc->unknown, hc->unknown_flags, g, dry);
	}
	sl_tstats_count(tenant, key_id, o, bytes);
	return o == SL_O_DROP ? SL_V_DROP : SL_V_PASS;
}

/* Global (not static) functions: the verifier checks each once, whatever calls it. */
__attribute__((noinline)) int sl_http_xdp(struct xdp_md *ctx)
{
	return sl_http_body(ctx, 0, (void *)(long)ctx->data, (void *)(long)ctx->data_end);
}

__attribute__((noinline)) int sl_http_tc(struct __sk_buff *skb)
{
	return sl_http_body(skb, 1, (void *)(long)skb->data, (void *)(long)skb->data_end);
}

/*
 * Whether an admitted segment goes to the HTTP layer: TCP to one of the generation's HTTP
 * ports with payload starting like a method. If so, leave it in the scratch buffer for
 * sl_http_xdp()/sl_http_tc() and return 1.
 */
static __always_inline int sl_http_enter(const struct sl_pkt *p, void *data, void *data_end,
					 __u32 gen, __u64 bytes, int dry)
{
	__u32 off = p->l4_off + p->l4_hlen, zero = 0;
	const struct sl_httpcfg *hc;
	struct sl_scratch *sc;
	__u8 *first;
	int i, hit = 0;

	if (p->l4proto != IPPROTO_TCP || bytes <= off)
		return 0;
	hc = bpf_map_lookup_elem(&sl_http_v1, &gen);
	if (!hc || !hc->n_ports)
		return 0;
#pragma unroll
	for (i = 0; i < SL_MAX_HTTP_PORTS; i++)
		hit |= i < hc->n_ports && hc->ports[i] == p->dport;
	if (!hit)
		return 0;
	first = data + (off & 0x3fff); /* bounded for the verifier; headers end far sooner */
	if ((void *)(first + 1) <= data_end && !sl_http_maybe_method(*first))
		return 0; /* a body segment or not HTTP */
	sc = bpf_map_lookup_elem(&sl_scratch_v1, &zero);
	if (!sc)
		return 0;
	sc->pkt = *p;
	sc->bytes = bytes;
	sc->gen = gen;
	sc->dry = dry;
	return 1;
}

#endif /* SLUICE_HTTP_BPF_H */
