"""The agreement test's comparisons (agreement.py check): tolerances, the
candidate-vs-reference checks of the initial loss, the gradients, the training
track and the validation loss, and the printed report. Pure functions of the
results; the tolerances and their reasons are in docs/reference-model.md."""

from __future__ import annotations

import dataclasses
import math

LN2 = math.log(2)


@dataclasses.dataclass
class Tolerances:
    loss_rel: float = 1e-3
    grad_rel: float = 2e-2
    track_final_bits: float = 0.02
    track_max_bits: float = 0.1
    track_final_window: int = 10
    val_bits: float = 0.02


def compare_loss(ref: float, cand: float, tol: Tolerances):
    rel = abs(cand - ref) / abs(ref)
    return {"ref": ref, "cand": cand, "rel": rel, "ok": rel <= tol.loss_rel}


def _expected_zero_slices(name: str, shape, D: int):
    """qkv bias: the key slice [D, 2D) has a zero gradient in exact arithmetic."""
    if name.endswith("attn.qkv.bias") and shape[0] == 3 * D:
        return [("q", slice(0, D), False), ("k", slice(D, 2 * D), True), ("v", slice(2 * D, 3 * D), False)]
    return None


def compare_grads(ref: dict, cand: dict, D: int, tol: Tolerances):
    rows = []
    for name, g in ref.items():
        if name not in cand:
            rows.append({"name": name, "ok": False, "note": "missing in candidate"})
            continue
        c = cand[name].float().to(g.device)
        if tuple(c.shape) != tuple(g.shape):
            rows.append({"name": name, "ok": False, "note": f"shape {tuple(c.shape)} != {tuple(g.shape)}"})
            continue
        slices = _expected_zero_slices(name, g.shape, D)
        if slices is None:
            rn = float(g.norm())
            rel = float((c - g).norm()) / rn if rn > 0 else (0.0 if float(c.norm()) == 0 else math.inf)
            rows.append({"name": name, "ref_norm": rn, "cand_norm": float(c.norm()), "rel": rel,
                         "ok": rel <= tol.grad_rel})
            continue
        whole = float(g.norm())
        for part, sl, zero in slices:
            gs, cs = g[sl], c[sl]
            rn = float(gs.norm())
            if zero:
                # checked against the whole bias' norm: both sides must be ~0
                rel = max(float(cs.norm()), rn) / whole if whole > 0 else 0.0
                note = "zero in exact arithmetic: max(|g|,|g_ref|)/|g_qkv.bias|"
            else:
                rel = float((cs - gs).norm()) / rn if rn > 0 else 0.0
                note = ""
            rows.append({"name": f"{name}[{part}]", "ref_norm": rn, "cand_norm": float(cs.norm()), "rel": rel,
                         "ok": rel <= tol.grad_rel, "note": note})
    for name in cand:
        if name not in ref:
            rows.append({"name": name, "ok": False, "note": "not a parameter of the reference"})
    return rows


def compare_tracks(ref: dict, cand: dict, tol: Tolerances):
    steps = sorted(set(ref) & set(cand))
    missing = sorted(set(ref) - set(cand))
    if not steps:
        return {"ok": False, "note": "no common steps"}
    d = [abs(cand[s] - ref[s]) / LN2 for s in steps]
    w = min(tol.track_final_window, len(steps))
    last = steps[-w:]
    final = abs(sum(cand[s] for s in last) - sum(ref[s] for s in last)) / w / LN2
    worst = max(range(len(steps)), key=lambda k: d[k])
    res = {
        "steps": len(steps), "missing_steps": len(missing),
        "max_abs_bits": d[worst], "max_at_step": steps[worst],
        "mean_abs_bits": sum(d) / len(d),
        "final_abs_bits": final, "final_window": w,
        "ref_first_bits": ref[steps[0]] / LN2, "ref_final_bits": sum(ref[s] for s in last) / w / LN2,
        "cand_final_bits": sum(cand[s] for s in last) / w / LN2,
    }
    res["ok"] = (not missing and final <= tol.track_final_bits and d[worst] <= tol.track_max_bits)
    return res


def compare_validation(ref: float, cand: float, tol: Tolerances):
    """Validation loss after the same training, both in bits per byte."""
    diff = abs(cand - ref) / LN2
    return {"ref_bits": ref / LN2, "cand_bits": cand / LN2, "abs_bits": diff, "ok": diff <= tol.val_bits}


def print_report(loss_res, grad_rows, track_res, tol: Tolerances, val_res=None):
    ok = True
    print()
    print(f"{'check':<44} {'reference':>12} {'candidate':>12} {'error':>10} {'tol':>9}  result")
    print("-" * 100)
    if loss_res is not None:
        print(f"{'initial loss (nats), relative':<44} {loss_res['ref']:12.6f} {loss_res['cand']:12.6f} "
              f"{loss_res['rel']:10.2e} {tol.loss_rel:9.1e}  {'ok' if loss_res['ok'] else 'FAIL'}")
        ok &= loss_res["ok"]
    if grad_rows is not None:
        worst = max((r.get("rel", math.inf) for r in grad_rows), default=0.0)
        for r in grad_rows:
            if "rel" in r:
                print(f"{'grad ' + r['name']:<44} {r['ref_norm']:12.4e} {r['cand_norm']:12.4e} "
                      f"{r['rel']:10.2e} {tol.grad_rel:9.1e}  {'ok' if r['ok'] else 'FAIL'}"
                      + (f"  ({r['note']})" if r.get("note") else ""))
            else:
                print(f"{'grad ' + r['name']:<44} {'':>12} {'':>12} {'':>10} {'':>9}  FAIL ({r['note']})")
            ok &= r["ok"]
        print(f"{'gradients: worst relative error':<44} {'':>12} {'':>12} {worst:10.2e} {tol.grad_rel:9.1e}  "
              f"{'ok' if all(r['ok'] for r in grad_rows) else 'FAIL'}  ({len(grad_rows)} tensors/slices)")
    if track_res is not None:
        if "max_abs_bits" in track_res:
            print(f"{'track: max |dloss| over steps (bits)':<44} {'':>12} {'':>12} "
                  f"{track_res['max_abs_bits']:10.2e} {tol.track_max_bits:9.1e}  "
                  f"{'ok' if track_res['max_abs_bits'] <= tol.track_max_bits else 'FAIL'}  (step {track_res['max_at_step']})")
            print(f"{'track: mean |dloss| over steps (bits)':<44} {'':>12} {'':>12} {track_res['mean_abs_bits']:10.2e}")
            print(f"{'track: final |dloss| (bits, last %d mean)' % track_res['final_window']:<44} "
                  f"{track_res['ref_final_bits']:12.4f} {track_res['cand_final_bits']:12.4f} "
                  f"{track_res['final_abs_bits']:10.2e} {tol.track_final_bits:9.1e}  "
                  f"{'ok' if track_res['final_abs_bits'] <= tol.track_final_bits else 'FAIL'}")
            print(f"{'track: steps compared (missing)':<44} {track_res['steps']:12d} {track_res['missing_steps']:12d}"
                  f"{'':>21}  {'ok' if not track_res['missing_steps'] else 'FAIL'}")
        else:
            print(f"{'track':<44} FAIL ({track_res.get('note')})")
        ok &= track_res["ok"]
    if val_res is not None:
        print(f"{'validation after training (bits/byte)':<44} {val_res['ref_bits']:12.4f} {val_res['cand_bits']:12.4f} "
              f"{val_res['abs_bits']:10.2e} {tol.val_bits:9.1e}  {'ok' if val_res['ok'] else 'FAIL'}")
        ok &= val_res["ok"]
    print("-" * 100)
    print("AGREEMENT:", "PASS" if ok else "FAIL")
    return ok
