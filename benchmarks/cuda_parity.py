"""Parity on a device (a GPU where one is lent): every recurrent implementation against torch.nn.RNN / LSTM
/ GRU, and the spatial transformer's grid and written-out sampler against ``affine_grid`` / ``grid_sample``,
computed on that device. Prints one line per check with the largest difference over outputs, final
states and all gradients, measured per tensor as max |ours - torch| / max(1, max |torch|) (absolute for
tensors of values up to 1, relative to the tensor's scale above: float32 gradients reach a hundred,
where 1e-5 absolute is below rounding), the tolerance (1e-5 in float32 with
TF32 off, 1e-10 in float64) and PASS or FAIL; exits 1 if any check fails. The CPU versions of these checks are in tests/.

    python benchmarks/cuda_parity.py [--device cuda|cpu]
"""

from __future__ import annotations

import argparse
import sys

import torch
import torch.nn.functional as F
from torch import nn

from descentlab.rnn import GRU, IMPLS, LSTM, RNN
from descentlab.stn import GENERATORS, affine_grid, bilinear_sample

TOL = {torch.float32: 1e-5, torch.float64: 1e-10}


def diff(a: torch.Tensor, b: torch.Tensor) -> float:
    return ((a - b).abs().max() / b.abs().max().clamp(min=1.0)).item()


def _grads(model: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    out, state = model(x)
    states = list(state) if isinstance(state, tuple) else [state]
    loss = sum((torch.cos(t) * t).sum() for t in [out, *states])
    return [out, *states, *torch.autograd.grad(loss, [x, *model.parameters()])]


def rnn_checks(device: torch.device) -> list[tuple[str, float, float]]:
    rows = []
    for kind, ours_cls, theirs_cls in (("lstm", LSTM, nn.LSTM), ("gru", GRU, nn.GRU), ("rnn", RNN, nn.RNN)):
        for dtype in (torch.float32, torch.float64):
            for impl in IMPLS:
                torch.manual_seed(0)
                theirs = theirs_cls(16, 32, num_layers=2, bidirectional=True).to(device, dtype)
                ours = ours_cls(16, 32, num_layers=2, bidirectional=True, impl=impl).to(device, dtype)
                ours.load_state_dict(theirs.state_dict())
                x = torch.randn(12, 4, 16, device=device, dtype=dtype, requires_grad=True)
                err = max(diff(a, b) for a, b in zip(_grads(ours, x), _grads(theirs, x), strict=True))
                rows.append((f"{kind} {impl} {str(dtype).removeprefix('torch.')}", err, TOL[dtype]))
    return rows


def flatten_checks(device: torch.device) -> list[tuple[str, float, float]]:
    """The fused path's weights after ``.to(device)``: on a GPU, in one cuDNN buffer (every parameter a view of
    one storage) and no warning about weights "not part of single contiguous chunk of memory" on a call; on a
    CPU, left as they are. 0 when so, 1 otherwise."""
    import warnings

    rows = []
    for kind, cls in (("lstm", LSTM), ("gru", GRU), ("rnn", RNN)):
        model = cls(16, 32, num_layers=2, impl="fused").to(device)
        storages = {p.untyped_storage().data_ptr() for p in model.parameters()}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model(torch.randn(5, 3, 16, device=device))
        copied = any("contiguous chunk" in str(w.message) for w in caught)
        ok = (
            (len(storages) == 1 and not copied)
            if device.type == "cuda"
            else len(storages) == len(list(model.parameters()))
        )
        rows.append((f"{kind} fused flatten_parameters ({len(storages)} storages)", 0.0 if ok else 1.0, 0.0))
    return rows


def stn_checks(device: torch.device) -> list[tuple[str, float, float]]:
    rows = []
    for dtype in (torch.float32, torch.float64):
        for align in (False, True):
            torch.manual_seed(0)
            theta = (GENERATORS["affine"].identity().to(device, dtype).expand(8, 6)
                     + 0.2 * torch.randn(8, 6, device=device, dtype=dtype)).view(8, 2, 3)  # fmt: skip
            grid = affine_grid(theta, (8, 3, 20, 24), align)
            ref = F.affine_grid(theta, [8, 3, 20, 24], align_corners=align)
            rows.append((f"affine_grid align_corners={align} {str(dtype).removeprefix('torch.')}",
                         diff(grid, ref), 1e-6))  # fmt: skip
            img = torch.randn(8, 3, 30, 28, device=device, dtype=dtype, requires_grad=True)
            # scaled so that some points fall outside the image (zero padding), jittered off the pixel lattice
            # where the sampler is not differentiable
            g = (1.2 * ref + 0.01 * torch.randn_like(ref)).requires_grad_(True)
            ours = bilinear_sample(img, g, align)
            theirs = F.grid_sample(img, g, "bilinear", "zeros", align_corners=align)
            w = torch.randn_like(ours)
            ga = torch.autograd.grad((w * ours).sum(), [img, g])
            gb = torch.autograd.grad((w * theirs).sum(), [img, g])
            err = max(diff(ours, theirs), *(diff(a, b) for a, b in zip(ga, gb, strict=True)))
            rows.append((f"bilinear_sample align_corners={align} {str(dtype).removeprefix('torch.')}", err, TOL[dtype]))
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    args = parser.parse_args()
    dev = torch.device(args.device)
    torch.backends.cudnn.allow_tf32 = False  # exact float32 arithmetic in cuDNN, as in matmul by default
    torch.backends.cuda.matmul.allow_tf32 = False
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu"
    print(f"device: {name}; torch {torch.__version__}")
    failed = 0
    for label, err, tol in rnn_checks(dev) + flatten_checks(dev) + stn_checks(dev):
        ok = err <= tol
        failed += not ok
        print(f"{label:<48} max diff {err:.2e}  tol {tol:.0e}  {'PASS' if ok else 'FAIL'}")
    print(f"{failed} failed")
    sys.exit(1 if failed else 0)
