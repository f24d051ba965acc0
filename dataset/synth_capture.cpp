#include "dataset/synth_capture.hpp"

#include <algorithm>
#include <variant>

#include "dataset/synth_process.hpp"

namespace flowpic::synth {

Trace generate_capture(const CaptureSpec& spec) {
  Rng rng(spec.seed);
  const AppModel& m = app_model(spec.category, spec.application);
  PortAllocator ports(rng);
  const Address client = Address::v4(10, 0, 2, 15);
  const Address client6 = Address::v6(0xfd00, 0, 2, 0x15);
  Trace out, inner;
  const bool wrapped = spec.encap != Encap::kNonVpn;
  Context ctx{wrapped ? inner : out, rng,           ports, Path{}, client, client6,
              m.server_group,        m.server_port, 0,     false,  1e12,   spec.application};
  switch (spec.encap) {
    case Encap::kNonVpn:
      ctx.path.rtt = rng.uniform(0.02, 0.12);
      ctx.path.jitter = rng.uniform(0.001, 0.004);
      ctx.path.loss = rng.uniform(0.001, 0.01);
      ctx.v6_share = rng.chance(m.ipv6_share) ? 0.8 : 0;
      break;
    case Encap::kVpn:
      ctx.path.rtt = rng.uniform(0.06, 0.16);  // through the VPN server
      ctx.path.jitter = rng.uniform(0.002, 0.006);
      ctx.path.loss = rng.uniform(0.001, 0.01);
      ctx.path.mss = 1360;  // the tunnel's MTU leaves room for its headers
      ctx.client_v4 = Address::v4(10, 8, 0, 6);
      break;
    case Encap::kTor:
      ctx.path.rtt = rng.uniform(0.35, 0.9);  // three relays
      ctx.path.jitter = rng.uniform(0.01, 0.03);
      ctx.path.loss = 0;
      ctx.tcp_only = true;
      break;
  }
  TorParams tor;
  tor.guard_port = rng.chance(0.5) ? 9001 : 443;
  tor.circuit_mbps = rng.uniform(1.0, 2.5);
  if (spec.encap == Encap::kTor) ctx.rate_cap_bps = tor.circuit_mbps * 1e6 * 0.9 * kTorRelayPayload / kTorCellBytes;
  const double t0 = rng.uniform(0.3, 1.5), t1 = std::max(t0 + 1, spec.duration_s - 0.5);
  const ProcessParams params = vary(m.params, rng);
  if (auto* v = std::get_if<VoipParams>(&params)) run_signalling(ctx, v->signalling_keepalive_s, t0, t1);
  if (auto* v = std::get_if<VideoCallParams>(&params)) run_signalling(ctx, v->audio.signalling_keepalive_s, t0, t1);
  run_process(ctx, params, t0 + 0.5, t1, spec.upload);
  if (wrapped) {
    finish_trace(inner, 0, true);  // sorts
    if (spec.encap == Encap::kVpn) {
      VpnParams vp;
      vp.tcp = rng.chance(0.3);
      encapsulate_vpn(inner, out, rng, ports, client, vp, spec.duration_s - 0.2);
    } else {
      encapsulate_tor(inner, out, rng, ports, client, tor, spec.duration_s - 0.2);
    }
  }
  add_background(out, rng, ports, client, 0.05, spec.duration_s - 0.2, spec.category == Category::kBrowsing ? 15 : 90,
                 spec.application);
  finish_trace(out, capture_start_ns(spec), spec.nanosecond);
  return out;
}

}  // namespace flowpic::synth
